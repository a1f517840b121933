package posture

import (
	"sort"
	"time"
)

// span is when one instance of an agent acted: its first and last event.
type span struct{ first, last time.Time }

// instanceSlack extends each instance's span: an instance that acted once
// a minute before another started was running beside it.
const instanceSlack = 15 * time.Minute

func (a *agentUse) span(inst string, t time.Time) {
	if inst == "" {
		return
	}
	s := a.spans[inst]
	switch {
	case s != nil:
		if t.Before(s.first) {
			s.first = t
		}
		if t.After(s.last) {
			s.last = t
		}
	case len(a.spans) < maxInstances:
		a.spans[inst] = &span{t, t}
	}
}

// peak is how many instances ran at once at most, when, and which: a
// fleet redeployed twice a week has many distinct pod names in a month
// but never more than its replicas (and those of a rolling update) at the
// same time, while a copied credential adds instances beside them.
func (a *agentUse) peak() (n int, at time.Time, which []string) {
	type edge struct {
		t     time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(a.spans))
	for _, s := range a.spans {
		edges = append(edges, edge{s.first, +1}, edge{s.last.Add(instanceSlack), -1})
	}
	// Starts before ends at the same instant: touching spans overlap.
	sort.Slice(edges, func(i, j int) bool {
		if !edges[i].t.Equal(edges[j].t) {
			return edges[i].t.Before(edges[j].t)
		}
		return edges[i].delta > edges[j].delta
	})
	cur := 0
	for _, e := range edges {
		cur += e.delta
		if cur > n {
			n, at = cur, e.t
		}
	}
	for inst, s := range a.spans {
		if !at.Before(s.first) && !at.After(s.last.Add(instanceSlack)) {
			which = append(which, inst)
		}
	}
	sort.Strings(which)
	return n, at, which
}
