package ingest

import "sync"

// sessionCache remembers what an STS AssumeRole* call said about the
// session it created (session tags, source identity), keyed by the new
// access key id. CloudTrail writes session tags only on the call that
// creates the session, never on the calls the session then makes; this
// cache carries them over so attribution rules and on_behalf_of can use
// them. It is best effort: bounded, in memory, per process.
type sessionCache struct {
	mu  sync.Mutex
	max int
	m   map[string]sessionInfo
}

type sessionInfo struct {
	tags           map[string]string
	sourceIdentity string
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, m: make(map[string]sessionInfo)}
}

func (c *sessionCache) put(keyID string, info sessionInfo) {
	if c == nil || keyID == "" || (len(info.tags) == 0 && info.sourceIdentity == "") {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		// Dropping an arbitrary half keeps this O(1) amortised; sessions
		// last an hour or so, so old entries are mostly dead anyway.
		i := 0
		for k := range c.m {
			if i%2 == 0 {
				delete(c.m, k)
			}
			i++
		}
	}
	c.m[keyID] = info
}

func (c *sessionCache) get(keyID string) (sessionInfo, bool) {
	if c == nil || keyID == "" {
		return sessionInfo{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	info, ok := c.m[keyID]
	return info, ok
}
