package posture

import (
	"strings"

	"github.com/agentwatch/agentwatch/internal/awsiam"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// ruleUse is what an agent's own events used of one rule of its declared
// playground: a statement, or the top-level actions and resources, which
// form one rule more (inventory.Rule).
type ruleUse struct {
	info inventory.Rule
	acts []bool // per action entry
	res  []bool // per resource entry
	// iam are the actions used through the rule, by their IAM names, to
	// narrow its wildcards to them.
	iam *set
}

func newRuleUse(r inventory.Rule) ruleUse {
	return ruleUse{info: r, acts: make([]bool, len(r.Actions)), res: make([]bool, len(r.Resources)), iam: newSet(maxActions)}
}

// useCache keeps what is dear to recompute per event and repeats from
// event to event: the client entry of a user agent, the networks of an
// address, the IAM name of an action.
type useCache struct {
	clients  memo[clientKey, int]
	networks memo[agentValue, []int]
	iam      memo[string, string]
}

type clientKey struct {
	agent, ua string
	noIP      bool
}

type agentValue struct{ agent, v string }

func newUseCache() *useCache {
	return &useCache{clients: newMemo[clientKey, int](1 << 16), networks: newMemo[agentValue, []int](1 << 16),
		iam: newMemo[string, string](1 << 14)}
}

func (c *useCache) network(agent string, pg *inventory.Playground, ip string) []int {
	return c.networks.get(agentValue{agent, ip}, func() []int { return pg.NetworkEntries(ip) })
}

func (c *useCache) iamAction(action string) string {
	return c.iam.get(action, func() string { return awsiam.IAMAction(action) })
}

func (c *useCache) client(agent string, pg *inventory.Playground, ev *schemas.AgentEvent) int {
	return c.clients.get(clientKey{agent, ev.UserAgent, ev.SrcIP == ""}, func() int { return pg.ClientEntry(ev.UserAgent, ev.SrcIP) })
}

// memo keeps the results of a function of its key. It is cleared when it
// grows past its bound: a cache, not state.
type memo[K comparable, V any] struct {
	m     map[K]V
	limit int
}

func newMemo[K comparable, V any](limit int) memo[K, V] {
	return memo[K, V]{m: map[K]V{}, limit: limit}
}

// get returns k's value, computing it with f when it is not kept.
func (c *memo[K, V]) get(k K, f func() V) V {
	if v, ok := c.m[k]; ok {
		return v
	}
	if len(c.m) > c.limit {
		clear(c.m)
	}
	v := f()
	c.m[k] = v
	return v
}

// use records which declared entries one of the agent's own events used,
// judged as the detectors judge it (the inventory's compiled rules). A
// call counts whatever its outcome, as IAM's last-accessed information
// counts attempts: a refused call still shows the agent reaching for the
// permission.
func (a *agentUse) use(pg *inventory.Playground, ev *schemas.AgentEvent, c *useCache) {
	if len(a.rules) > 0 {
		if mask := pg.ActionRules(ev.Action); mask != 0 && mask != inventory.AnyRule {
			a.useRules(pg, ev, mask, c.iamAction(ev.Action))
		}
	}
	if len(a.usedNet) > 0 && ev.SrcIP != "" {
		for _, i := range c.network(a.id, pg, ev.SrcIP) {
			a.usedNet[i] = true
		}
	}
	if len(a.usedClient) > 0 && ev.UserAgent != "" {
		if i := c.client(a.id, pg, ev); i >= 0 {
			a.usedClient[i] = true
		}
	}
}

// useRules marks the entries of the rules in mask (those whose actions
// match the event's) that the event used. As in IAM, a call is allowed by
// the statements whose actions and resources both match it; only those
// were used. A call on a resource no such statement names crossed the
// declared playground (playground.declared alerts on it): its action
// still counts as used in every statement that names it, since removing
// it on the strength of that call could break what the agent does, but
// no resource does.
func (a *agentUse) useRules(pg *inventory.Playground, ev *schemas.AgentEvent, mask uint64, iam string) {
	type hit struct {
		i         int
		acts, res []int
		in        bool
	}
	var buf [4]hit
	hits := buf[:0]
	inside := false
	for i := range a.rules {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		acts, res := pg.RuleEntries(i, ev.Action, ev.Resource)
		r := &a.rules[i]
		in := ev.Resource == "" || len(r.info.Resources) == 0 || len(res) > 0
		inside = inside || in
		hits = append(hits, hit{i, acts, res, in})
	}
	for _, h := range hits {
		if inside && !h.in {
			continue
		}
		r := &a.rules[h.i]
		for _, j := range h.acts {
			r.acts[j] = true
		}
		r.iam.add(iam)
		if !inside {
			continue
		}
		for _, j := range h.res {
			r.res[j] = true
		}
		if ev.Resource != "" {
			for j, res := range r.info.Resources {
				if !r.res[j] && alsoAuthorised(iam, ev.Resource, res) {
					r.res[j] = true
				}
			}
		} else {
			// The source names no resource: IAM checked the call against
			// one agentwatch does not see ("*" for most list and describe
			// calls). Any entry that could have been it counts as used:
			// an ARN of the action's service, or a pattern that is no ARN.
			svc, _, _ := strings.Cut(ev.Action, ":")
			for j, res := range r.info.Resources {
				if !strings.HasPrefix(res, "arn:") || strings.EqualFold(arnService(res), svc) {
					r.res[j] = true
				}
			}
		}
	}
}
