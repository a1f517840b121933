package ingest

import "sync"

// sessionCache remembers what an STS AssumeRole* call said about the
// session it created (session tags, source identity), keyed by the new
// access key id. CloudTrail writes session tags only on the call that
// creates the session, never on the calls the session then makes; this
// cache carries them over so attribution rules and on_behalf_of can use
// them. It is best effort: bounded, in memory, per process.
type sessionCache = boundedMap[sessionInfo]

type sessionInfo struct {
	tags           map[string]string
	sourceIdentity string
}

func (s sessionInfo) empty() bool { return len(s.tags) == 0 && s.sourceIdentity == "" }

func newSessionCache(max int) *sessionCache { return newBoundedMap[sessionInfo](max) }

// boundedMap is a map of at most max entries, safe for concurrent use,
// for what one record says about later ones (sessionCache, athenaCache).
// A nil map keeps nothing; an empty key is never stored or found.
type boundedMap[V any] struct {
	mu  sync.Mutex
	max int
	m   map[string]V
}

func newBoundedMap[V any](max int) *boundedMap[V] {
	return &boundedMap[V]{max: max, m: make(map[string]V)}
}

func (c *boundedMap[V]) put(key string, v V) {
	if c == nil || key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		// Dropping an arbitrary half keeps this O(1) amortised; what the
		// entries describe (sessions, queries) lasts an hour or so, so
		// old entries are mostly dead anyway.
		i := 0
		for k := range c.m {
			if i%2 == 0 {
				delete(c.m, k)
			}
			i++
		}
	}
	c.m[key] = v
}

func (c *boundedMap[V]) get(key string) (V, bool) {
	if c == nil || key == "" {
		var zero V
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}
