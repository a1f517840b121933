package baseline

// Habit is one learned playground entry: an interned key (a triple id or a
// value id), how often it was seen and when first and last (unix seconds;
// uint32 lasts until 2106 and halves the entry).
type Habit struct {
	Key, Count, First, Last uint32
}

// Habits is a bounded set of habits sorted by key.
type Habits []Habit

// find returns where key is or would go. It runs several times per event,
// so it is sort.Search written out, without its closure call per step.
func (h Habits) find(key uint32) (int, bool) {
	lo, hi := 0, len(h)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if h[m].Key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(h) && h[lo].Key == key
}

// Has reports whether key was learned.
func (h Habits) Has(key uint32) bool { _, ok := h.find(key); return ok }

// Get returns the habit for key.
func (h Habits) Get(key uint32) (Habit, bool) {
	i, ok := h.find(key)
	if !ok {
		return Habit{}, false
	}
	return h[i], true
}

// observe counts key at time ts and reports whether it was new. When the
// set is full the least recently seen habit makes room: forgetting a habit
// unused for the longest is the least harmful choice.
func (h *Habits) observe(key, ts uint32, limit int) bool {
	s := *h
	i, ok := s.find(key)
	if ok {
		e := &s[i]
		if e.Count < ^uint32(0) {
			e.Count++
		}
		if ts > e.Last {
			e.Last = ts
		}
		if ts < e.First {
			e.First = ts
		}
		return false
	}
	if len(s) >= limit {
		old := 0
		for j := range s {
			if s[j].Last < s[old].Last {
				old = j
			}
		}
		s = append(s[:old], s[old+1:]...)
		i, _ = s.find(key)
	}
	s = append(s, Habit{})
	copy(s[i+1:], s[i:])
	s[i] = Habit{Key: key, Count: 1, First: ts, Last: ts}
	*h = s
	return true
}

// put inserts or replaces a habit wholesale (used by restore).
func (h *Habits) put(e Habit, limit int) {
	s := *h
	i, ok := s.find(e.Key)
	if ok {
		s[i] = e
		return
	}
	if len(s) >= limit {
		return
	}
	s = append(s, Habit{})
	copy(s[i+1:], s[i:])
	s[i] = e
	*h = s
}

// interner maps strings to dense ids so per-agent state stores 4-byte ids
// instead of string headers, and each distinct string once per process.
type interner struct {
	ids  map[string]uint32
	strs []string
}

func newInterner() *interner {
	return &interner{ids: map[string]uint32{"": 0}, strs: []string{""}}
}

// id returns the id of s, adding it when new.
func (in *interner) id(s string) uint32 {
	if v, ok := in.ids[s]; ok {
		return v
	}
	s = clone(s)
	v := uint32(len(in.strs))
	in.ids[s] = v
	in.strs = append(in.strs, s)
	return v
}

// idBytes is id for a byte slice; the map lookup does not allocate.
func (in *interner) idBytes(b []byte) uint32 {
	if v, ok := in.ids[string(b)]; ok {
		return v
	}
	return in.id(string(b))
}

func (in *interner) str(id uint32) string {
	if int(id) < len(in.strs) {
		return in.strs[id]
	}
	return ""
}

// clone copies s so an interned string never pins a large decode buffer.
func clone(s string) string { return string(append([]byte(nil), s...)) }
