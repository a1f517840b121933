package baseline

import "math/bits"

// shortCache is a direct-mapped cache in front of a map keyed by strings,
// for the lookups every event makes (its agent, credential, delegator,
// network, user agent, system and action). A map lookup reads its control
// word, its slot and the stored key's bytes, often three cache misses in
// a large state; a slot here holds the key's bytes itself (keys of at
// most shortMax bytes), so a hit reads one slot. It keeps no strings, so
// it pins no decode buffer. Longer keys bypass it.
type shortCache[V any] struct {
	slots *[shortSlots]shortSlot[V]
}

type shortSlot[V any] struct {
	key [3]uint64 // length (low byte) and bytes, zero-padded; all zero when empty
	v   V
}

const (
	shortBits  = 12
	shortSlots = 1 << shortBits
	shortMax   = 23
)

func newShortCache[V any]() shortCache[V] {
	return shortCache[V]{slots: new([shortSlots]shortSlot[V])}
}

// shortKey returns the slot key of s, or false when s is empty or longer
// than shortMax.
func shortKey(s string) ([3]uint64, bool) {
	n := len(s)
	if n == 0 || n > shortMax {
		return [3]uint64{}, false
	}
	return [3]uint64{uint64(n) | strWord(s, 0)<<8, strWord(s, 7), strWord(s, 15)}, true
}

// strWord is the (up to) eight bytes of s from i on, little-endian, zero
// beyond the end.
func strWord(s string, i int) uint64 {
	if len(s)-i >= 8 {
		return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
	}
	var x uint64
	for k := 0; i+k < len(s); k++ {
		x |= uint64(s[i+k]) << (8 * k)
	}
	return x
}

// slot returns where key lives. The cache answers for key when the slot's
// key equals it.
func (c shortCache[V]) slot(key *[3]uint64) *shortSlot[V] {
	const m1, m2 = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9
	h := bits.RotateLeft64(key[0]*m1, 29) ^ key[1]
	h = bits.RotateLeft64(h*m2, 31) ^ key[2]
	h *= m1
	return &c.slots[(h^h>>29)>>(64-shortBits)]
}
