package ingest

import (
	"hash/maphash"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/agentwatch/agentwatch/schemas"
)

// interner hands out one shared copy of the short strings that repeat
// across records (event names, services, regions, principals, user
// agents), so the hot path does not allocate for them. It is a
// direct-mapped cache with atomic slots: bounded, lock-free, and a
// collision just replaces the slot.
type interner struct {
	seed  maphash.Seed
	slots [1 << 13]atomic.Pointer[string]
}

// maxInterned bounds the strings worth caching; longer ones are rarely
// repeated exactly.
const maxInterned = 200

func newInterner() *interner { return &interner{seed: maphash.MakeSeed()} }

func (in *interner) get(b []byte) string {
	if in == nil || len(b) > maxInterned || len(b) == 0 {
		return string(b)
	}
	slot := &in.slots[maphash.Bytes(in.seed, b)&(1<<13-1)]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}

// attrMaps shares one attributes map among events whose attributes are
// equal (CloudTrail records of one account, region and role, say): a map
// per event was a fifth of the normalisation time. The maps are never
// written after they are cached; events' Attributes must be treated as
// read-only, which holds as they are only encoded and published.
type attrMaps struct {
	seed  maphash.Seed
	slots [1 << 12]atomic.Pointer[attrEntry]
}

type attrEntry struct {
	pairs []kv
	m     map[string]string
}

func newAttrMaps() *attrMaps { return &attrMaps{seed: maphash.MakeSeed()} }

func (a *attrMaps) get(pairs []kv) map[string]string {
	var h maphash.Hash
	h.SetSeed(a.seed)
	for _, p := range pairs {
		h.WriteString(p.k)
		h.WriteByte(0)
		h.WriteString(p.v)
		h.WriteByte(0)
	}
	slot := &a.slots[h.Sum64()&(1<<12-1)]
	if e := slot.Load(); e != nil && equalPairs(e.pairs, pairs) {
		return e.m
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p.k] = p.v
	}
	slot.Store(&attrEntry{pairs: append([]kv(nil), pairs...), m: m})
	return m
}

func equalPairs(a, b []kv) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// str is str() through the interner: JSON strings without escapes are
// looked up by their bytes.
func (in *interner) str(v []byte) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return ""
	}
	body := v[1 : len(v)-1]
	for _, c := range body {
		if c == '\\' {
			s, _ := unescape(body)
			return s
		}
	}
	return in.get(body)
}

// join2 interns a+sep+b without building the string first when it is
// already cached.
func (in *interner) join(a, sep, b string) string {
	var buf [maxInterned]byte
	if len(a)+len(sep)+len(b) > len(buf) {
		return a + sep + b
	}
	n := copy(buf[:], a)
	n += copy(buf[n:], sep)
	n += copy(buf[n:], b)
	return in.get(buf[:n])
}

// timeBytes parses the JSON string v as an RFC 3339 UTC time
// ("2006-01-02T15:04:05[.frac]Z") without allocating; anything else goes
// to parseTime.
func timeBytes(field string, v []byte) (time.Time, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		b := v[1 : len(v)-1]
		// ParseUTC does not keep its argument, so viewing the bytes as a
		// string without copying is safe.
		if t, ok := schemas.ParseUTC(unsafe.String(unsafe.SliceData(b), len(b))); ok {
			return t, nil
		}
	}
	return parseTime(field, str(v))
}
