package schemas

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// Decoder decodes canonical events like DecodeEvent and UnmarshalEvent,
// with the same results and errors, but cheaper when it decodes many: the
// values of the low-cardinality fields (agent, principal, credential,
// source, action, system, outcome, delegator, address, user agent...)
// repeat from event to event, and the decoder hands out one shared string
// for each instead of a fresh copy. It keeps them in a bounded cache
// (8192 values of at most 128 bytes: 256 KiB of entries, set up on first
// use, and at most 1 MiB of strings), which replaces values when a set is
// full, so memory stays bounded however many distinct values the stream
// holds. The fields that are unique per event (event id, resource,
// attribute values, longer values) share one allocation per event.
//
// The zero value is ready to use. A Decoder is not safe for concurrent
// use: each goroutine that decodes needs its own. The events it returns
// share nothing with the input and do not change afterwards.
type Decoder struct {
	seed uint64
	tab  *[internSets][internWays]entry
	// victim picks the way a new value replaces in a full set.
	victim uint32
	// last is each string field's latest value: many repeat the previous
	// event's, which is then found without hashing.
	last [numStrFields]string

	// Per event: string fields, hops and attributes whose strings are cut
	// from the event's one allocation at the end (see finish).
	pending  uint32 // bit f set: field f is carved from spans[f]
	spans    [numStrFields]span
	hops     []hopSpan
	attrs    []attrSpan
	hasAttrs bool
}

// entry is one cached string: where its bytes are, and its length (low
// byte) and first 23 bytes, zero-padded, as the lookup key. Most values
// are that short, so a hit is checked within the entry itself, without
// reading the string's bytes elsewhere in memory.
type entry struct {
	p unsafe.Pointer
	w [3]uint64
}

type span struct{ i, j int32 }

type hopSpan struct {
	k    int
	i, j int32
}

type attrSpan struct{ ki, kj, vi, vj int32 }

const (
	internWays = 4 // a set is two 64-byte cache lines
	internBits = 11
	internSets = 1 << internBits
	// maxInterned bounds the strings worth sharing; longer ones are cut
	// from the event's allocation.
	maxInterned = 128
)

// Decode parses and validates one canonical event into ev, as DecodeEvent
// does: on error ev holds what DecodeEvent would have returned with it.
func (d *Decoder) Decode(data []byte, ev *AgentEvent) error {
	if err := d.Unmarshal(data, ev); err != nil {
		return err
	}
	return ev.Validate()
}

// Unmarshal parses one canonical event into ev without validating it, as
// UnmarshalEvent does into a zero AgentEvent (whatever ev held before is
// overwritten).
func (d *Decoder) Unmarshal(data []byte, ev *AgentEvent) error {
	if len(data) > MaxEventBytes {
		*ev = AgentEvent{}
		return errTooLarge(len(data))
	}
	*ev = AgentEvent{}
	if d.tab == nil {
		d.seed = rand.Uint64() | 1
		d.tab = new([internSets][internWays]entry)
	}
	d.pending, d.hops, d.attrs, d.hasAttrs = 0, d.hops[:0], d.attrs[:0], false
	s := scanner{b: data, dec: d}
	if s.event(ev) {
		d.finish(data, ev)
		return nil
	}
	var local AgentEvent
	err := unmarshalStandard(data, &local)
	*ev = local
	return err
}

// str sets string field f to b[i:j]: shared when it is a repeating kind of
// value, cut from the event's allocation otherwise.
func (d *Decoder) str(f int, b []byte, i, j int, ev *AgentEvent) {
	if f != fEventID && f != fResource && j-i <= maxInterned {
		s := d.last[f]
		if s != string(b[i:j]) {
			s = d.intern(b[i:j])
			d.last[f] = s
		}
		*ev.strField(f) = s
		d.pending &^= 1 << f // a repeated key: the last one wins
		return
	}
	d.spans[f] = span{int32(i), int32(j)}
	d.pending |= 1 << f
}

// repeat sets string field f and moves the scanner past the value when the
// value next in the input is the field's previous one, which is then known
// to need neither a scan nor a lookup; it reports whether it did.
func (d *Decoder) repeat(f int, sc *scanner, ev *AgentEvent) bool {
	if f == fEventID || f == fResource {
		return false
	}
	s := d.last[f] // came from span: no quote, backslash or control byte in it
	sc.ws()
	p, b := sc.pos, sc.b
	if len(b)-p < len(s)+2 || b[p] != '"' || b[p+1+len(s)] != '"' || sc.view(p+1, p+1+len(s)) != s {
		return false
	}
	sc.pos = p + 2 + len(s)
	*ev.strField(f) = s
	d.pending &^= 1 << f
	return true
}

// hop returns delegation hop k, or "" when finish sets it later.
func (d *Decoder) hop(k int, b []byte, i, j int) string {
	if j-i <= maxInterned {
		return d.intern(b[i:j])
	}
	d.hops = append(d.hops, hopSpan{k, int32(i), int32(j)})
	return ""
}

// intern returns b as a string, the same one as for earlier equal values
// while the cache still holds it.
func (d *Decoder) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	w := [3]uint64{uint64(len(b)) | word(b, 0)<<8, word(b, 7), word(b, 15)}
	h := hashWords(&w, b, d.seed)
	set := &d.tab[h>>(64-internBits)]
	free := -1
	for k := range set {
		e := &set[k]
		if e.w == w {
			if s := unsafe.String((*byte)(e.p), len(b)); len(b) <= inlineLen || s[inlineLen:] == string(b[inlineLen:]) {
				return s
			}
		}
		if e.p == nil {
			free = k
		}
	}
	if free < 0 { // a full set: replace ways in turn
		free = int(d.victim % internWays)
		d.victim++
	}
	s := string(b)
	set[free] = entry{unsafe.Pointer(unsafe.StringData(s)), w}
	return s
}

// finish gives the pending fields their strings, all cut from one
// allocation, and builds the attributes map.
func (d *Decoder) finish(b []byte, ev *AgentEvent) {
	n := 0
	for m := d.pending; m != 0; m &= m - 1 {
		sp := d.spans[bits.TrailingZeros32(m)]
		n += int(sp.j - sp.i)
	}
	for _, h := range d.hops {
		n += int(h.j - h.i)
	}
	for _, a := range d.attrs {
		n += int(a.vj - a.vi)
		if a.kj-a.ki > maxInterned {
			n += int(a.kj - a.ki)
		}
	}
	var c carver
	if n > 0 {
		c.buf = make([]byte, n)
		c.s = unsafe.String(unsafe.SliceData(c.buf), n) // buf is not written after the copies below
	}
	for m := d.pending; m != 0; m &= m - 1 {
		f := bits.TrailingZeros32(m)
		*ev.strField(f) = c.cut(b, d.spans[f].i, d.spans[f].j)
	}
	for _, h := range d.hops {
		ev.DelegationChain[h.k] = c.cut(b, h.i, h.j)
	}
	if d.hasAttrs {
		ev.Attributes = make(map[string]string, len(d.attrs))
		for _, a := range d.attrs {
			var k string
			if a.kj-a.ki > maxInterned {
				k = c.cut(b, a.ki, a.kj)
			} else {
				k = d.intern(b[a.ki:a.kj])
			}
			ev.Attributes[k] = c.cut(b, a.vi, a.vj)
		}
	}
}

// carver hands out consecutive pieces of one string.
type carver struct {
	buf []byte
	s   string
	n   int
}

func (c *carver) cut(b []byte, i, j int32) string {
	if i == j {
		return ""
	}
	k := copy(c.buf[c.n:], b[i:j])
	s := c.s[c.n : c.n+k]
	c.n += k
	return s
}

// inlineLen is how many bytes of a value its cache entry holds.
const inlineLen = 23

// word returns the (up to) eight bytes of b from i on as a little-endian
// word, zero beyond len(b). It reads b's spare capacity rather than
// assembling bytes when it can.
func word(b []byte, i int) uint64 {
	n := len(b) - i
	if n <= 0 {
		return 0
	}
	if cap(b)-i >= 8 {
		x := binary.LittleEndian.Uint64(b[i : i+8])
		if n < 8 {
			x &= 1<<(8*n) - 1
		}
		return x
	}
	var x uint64
	for k := 0; k < n && k < 8; k++ {
		x |= uint64(b[i+k]) << (8 * k)
	}
	return x
}

// hashWords is a fast seeded hash of a value given its entry key w (which
// covers the first 23 bytes) and the value itself, for the cache only: the
// cache compares whole values, so a poor spread costs hits, never
// correctness. The result's high bits are the best mixed.
func hashWords(w *[3]uint64, b []byte, seed uint64) uint64 {
	const m1, m2 = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9
	h := bits.RotateLeft64((seed^w[0])*m1, 29) ^ w[1]
	h = bits.RotateLeft64(h*m2, 31) ^ w[2]
	for i := inlineLen; i < len(b); i += 8 {
		h = bits.RotateLeft64(h*m1, 29) ^ word(b, i)
	}
	h *= m2
	return (h ^ h>>31) * m1
}
