package schemas

import (
	"math/bits"
	"unsafe"
)

// Decoder decodes canonical events; DecodeEvent and UnmarshalEvent use a
// fresh one per call, and a kept one is cheaper when it decodes many. The
// strings of an event are cut from one allocation sized to them alone,
// and a field whose value is the same as in the previous event the
// decoder returned (source, system, outcome, user agent... often are)
// shares that event's string: it is neither scanned nor copied again. So
// the decoder holds on to the latest value of each field, which keeps at
// most that many earlier events' string allocations alive. Likewise a
// credential time equal to the previous event's is the same *time.Time.
//
// The zero value is ready to use. A Decoder is not safe for concurrent
// use: each goroutine that decodes needs its own. The events it returns
// share nothing with the input, and must not be changed through their
// pointers (they may share them with other events).
type Decoder struct {
	// last is each string field's latest value (not event id or resource,
	// which do not repeat).
	last [numStrFields]string

	// Per event: string fields, hops and attributes whose strings are cut
	// from the event's one allocation at the end (see finish).
	pending  uint32 // bit f set: field f is cut from spans[f]
	spans    [numStrFields]span
	hops     []hopSpan
	attrs    []attrSpan
	hasAttrs bool

	// minute speeds up parsing times that share the previous one's minute.
	minute minuteMemo
	// cred are the latest credential issued and expiry times (see
	// scanner.credTime).
	cred [2]credMemo
}

type span struct{ i, j int32 }

type hopSpan struct {
	k    int
	i, j int32
}

type attrSpan struct{ ki, kj, vi, vj int32 }

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
	*ev = AgentEvent{}
	if len(data) > MaxEventBytes {
		return errTooLarge(len(data))
	}
	if d.fast(data, ev) {
		return nil
	}
	var local AgentEvent
	err := unmarshalStandard(data, &local)
	*ev = local
	return err
}

// fast decodes the common shape of a canonical event (known keys spelt
// exactly, strings without escapes or non-ASCII bytes) with one
// allocation for all strings. It reports false for anything else,
// leaving ev in an unspecified state; Unmarshal then uses the standard
// decoder, so unusual input and every error get encoding/json's handling.
func (d *Decoder) fast(data []byte, ev *AgentEvent) bool {
	d.pending, d.hops, d.attrs, d.hasAttrs = 0, d.hops[:0], d.attrs[:0], false
	s := scanner{b: data, dec: d}
	if !s.event(ev) {
		return false
	}
	d.finish(data, ev)
	return true
}

// str marks string field f as b[i:j], to be cut at the end.
func (d *Decoder) str(f int, i, j int) {
	d.spans[f] = span{int32(i), int32(j)}
	d.pending |= 1 << f // a repeated key: the last one wins
}

// repeat sets string field f and moves the scanner past the value when the
// value next in the input is the field's previous one, which then needs
// neither a scan nor a copy; it reports whether it did.
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
	d.pending &^= 1 << f // a repeated key: the last one wins
	return true
}

// hop marks delegation hop k as b[i:j], to be cut at the end.
func (d *Decoder) hop(k int, i, j int) {
	d.hops = append(d.hops, hopSpan{k, int32(i), int32(j)})
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
		n += int(a.kj-a.ki) + int(a.vj-a.vi)
	}
	var c carver
	if n > 0 {
		c.buf = make([]byte, n)
		c.s = unsafe.String(unsafe.SliceData(c.buf), n) // buf is not written after the copies below
	}
	for m := d.pending; m != 0; m &= m - 1 {
		f := bits.TrailingZeros32(m)
		v := c.cut(b, d.spans[f].i, d.spans[f].j)
		*ev.strField(f) = v
		if f != fEventID && f != fResource {
			d.last[f] = v
		}
	}
	for _, h := range d.hops {
		ev.DelegationChain[h.k] = c.cut(b, h.i, h.j)
	}
	if d.hasAttrs {
		ev.Attributes = make(map[string]string, len(d.attrs))
		for _, a := range d.attrs {
			ev.Attributes[c.cut(b, a.ki, a.kj)] = c.cut(b, a.vi, a.vj)
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
