package posture

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agentwatch/agentwatch/internal/awsiam"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// maxSuggestedResources bounds the suggested resource globs: past it,
// sibling globs fold into their parent's "/**".
const maxSuggestedResources = 12

// privilege: declared entries that nothing the agent did in the window
// used (systems; the actions and resources of each statement, and of the
// top-level lists; networks and client families), with, for a playground
// of top-level lists, the smallest one covering what was used, and for
// AWS, Kubernetes and GCP the policy change that removes the rest.
func (c *checks) privilege() {
	from := c.now.Add(-c.cfg.UnusedAfter)
	days := fmt.Sprintf("%d days", int(c.cfg.UnusedAfter.Hours()/24))
	for _, ag := range c.inv.Agents() {
		if ag.Status != inventory.StatusActive {
			continue
		}
		if ag.Created != nil && ag.Created.After(from) {
			// Younger than the look-back: too early to call anything unused.
			continue
		}
		use := c.own(ag.ID)
		// Usage inside the look-back only (the scan may reach further back
		// for dormancy): with no event after `from`, nothing was used.
		if use != nil && use.last.Before(from) {
			use = nil
		}
		un := unusedOf(ag, use)
		n := un.count()
		if n == 0 {
			continue
		}
		sev := schemas.SeverityInfo
		switch {
		case len(un.systems) > 0 || un.actions() > 0:
			sev = schemas.SeverityMedium
		case un.resources() > 0:
			sev = schemas.SeverityLow
		}
		base := "used in the last " + days
		ev := []schemas.Evidence{}
		add := func(feature string, vals []string) {
			if len(vals) > 0 {
				ev = append(ev, evidence(feature, strings.Join(vals, ", "), base))
			}
		}
		add("unused_systems", un.systems)
		var whole, acts, res []string
		for _, r := range un.rules {
			if r.info.Statement < 0 {
				add("unused_actions", r.actions)
				add("unused_resources", r.resources)
				continue
			}
			switch {
			case r.whole:
				whole = append(whole, r.info.Name)
			default:
				if len(r.actions) > 0 {
					acts = append(acts, r.info.Name+": "+strings.Join(r.actions, ", "))
				}
				if len(r.resources) > 0 {
					res = append(res, r.info.Name+": "+strings.Join(r.resources, ", "))
				}
			}
		}
		add("unused_statements", whole)
		if len(acts) > 0 {
			ev = append(ev, evidence("unused_statement_actions", strings.Join(acts, "; "), base))
		}
		if len(res) > 0 {
			ev = append(ev, evidence("unused_statement_resources", strings.Join(res, "; "), base))
		}
		add("unused_networks", un.networks)
		add("unused_clients", un.clients)
		pg := &ag.Playground
		fix := fmt.Sprintf("Shrink %s's playground in agents.yaml (line %d) to the suggested one, and remove the same permissions from its cloud policies.", ag.ID, ag.Line)
		if pg.HasStatements() {
			fix = fmt.Sprintf("Remove the unused statements, actions and resources from %s's playground in agents.yaml (line %d), and make the same change to its role's policy (the policy change below).", ag.ID, ag.Line)
		} else {
			suggest := suggestPlayground(use)
			ev = append(ev, evidence("suggested_playground", suggest.text(), "covers every use in the last "+days))
		}
		if len(un.networks)+len(un.clients) > 0 {
			fix += " Drop the networks and clients no call came from (and any aws:SourceIp condition naming those networks)."
		}
		what := fmt.Sprintf("agent %s did not use %d of its %d declared permissions in the last %s (%s)", ag.ID, n, declaredCount(pg), days, un.parts())
		if use == nil {
			what = fmt.Sprintf("agent %s did not act in the last %s: none of its %d declared permissions was used", ag.ID, days, declaredCount(pg))
		}
		f := newFinding(TUnusedPermissions, sev, ag.ID, ag.Owner, "", what, fix, ev...)
		f.PolicyDiff = policyDiff(ag, use, un)
		c.add(f)
	}
}

// own is the agent's own activity in the window: nil for an agent that
// did not act (credentials made for it are not its activity).
func (c *checks) own(agent string) *agentUse {
	a := c.u.agents[agent]
	if a == nil || a.unattributed || a.events == 0 {
		return nil
	}
	return a
}

// unusedPerms is what an agent declares and did not use.
type unusedPerms struct {
	systems           []string
	rules             []unusedRule // rules with something unused, in rule order
	networks, clients []string
}

// unusedRule is the unused part of one rule.
type unusedRule struct {
	index              int // in Playground.Rules()
	info               inventory.Rule
	actions, resources []string
	// whole: none of its actions was used; the statement can go.
	whole bool
}

func (u *unusedPerms) actions() int {
	n := 0
	for _, r := range u.rules {
		n += len(r.actions)
	}
	return n
}

func (u *unusedPerms) resources() int {
	n := 0
	for _, r := range u.rules {
		n += len(r.resources)
	}
	return n
}

func (u *unusedPerms) count() int {
	return len(u.systems) + u.actions() + u.resources() + len(u.networks) + len(u.clients)
}

// parts says what the count is made of: "2 whole statements, 3 actions, 1 network".
func (u *unusedPerms) parts() string {
	var out []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			out = append(out, "1 "+one)
		case n > 1:
			out = append(out, fmt.Sprintf("%d %s", n, many))
		}
	}
	whole, acts, res := 0, 0, 0
	for _, r := range u.rules {
		if r.whole && r.info.Statement >= 0 {
			whole++
			continue
		}
		acts += len(r.actions)
		res += len(r.resources)
	}
	add(len(u.systems), "system", "systems")
	add(whole, "whole statement", "whole statements")
	add(acts, "action", "actions")
	add(res, "resource", "resources")
	add(len(u.networks), "network", "networks")
	add(len(u.clients), "client", "clients")
	return strings.Join(out, ", ")
}

// declaredCount is how many entries the playground declares, counted as
// unusedPerms counts them.
func declaredCount(pg *inventory.Playground) int {
	n := len(pg.Systems) + len(pg.Networks) + len(pg.Clients)
	for _, r := range pg.Rules() {
		n += len(r.Actions) + len(r.Resources)
	}
	return n
}

// unusedOf compares the declared playground with what the agent used
// (nil: it did not act).
func unusedOf(ag *inventory.Agent, use *agentUse) unusedPerms {
	pg := &ag.Playground
	pick := func(list []string, used []bool) []string {
		var out []string
		for i, v := range list {
			if use == nil || !used[i] {
				out = append(out, v)
			}
		}
		return out
	}
	var u unusedPerms
	if use != nil {
		u.systems, u.networks, u.clients = pick(pg.Systems, use.usedSys), pick(pg.Networks, use.usedNet), pick(pg.Clients, use.usedClient)
	} else {
		u.systems, u.networks, u.clients = pg.Systems, pg.Networks, pg.Clients
	}
	for i, info := range pg.Rules() {
		var ru *ruleUse
		if use != nil && i < len(use.rules) {
			ru = &use.rules[i]
		}
		r := unusedRule{index: i, info: info}
		for j, a := range info.Actions {
			if ru != nil && permissionOnly[strings.ToLower(a)] {
				continue // no record can show it used
			}
			if ru == nil || !ru.acts[j] {
				r.actions = append(r.actions, a)
			}
		}
		r.whole = len(info.Actions) > 0 && len(r.actions) == len(info.Actions)
		switch {
		case r.whole || ru == nil:
			r.resources = append(r.resources, info.Resources...)
		default:
			for j, res := range info.Resources {
				if !ru.res[j] {
					r.resources = append(r.resources, res)
				}
			}
			if len(r.resources) == len(info.Resources) && len(info.Actions) > 0 {
				// Its actions were used, on resources outside it only
				// (playground.declared alerts on those): emptying its
				// resources would not make a statement.
				r.resources = nil
			}
		}
		if len(r.actions)+len(r.resources) > 0 {
			u.rules = append(u.rules, r)
		}
	}
	u.systems = keepNeededSystems(pg, u)
	return u
}

// keepNeededSystems drops from the unused systems those an action that
// stays needs (iam:PassRole, which no record shows, needs aws:iam): a
// playground naming an AWS action of an undeclared system does not load.
func keepNeededSystems(pg *inventory.Playground, u unusedPerms) []string {
	if len(u.systems) == 0 {
		return nil
	}
	gone := map[int]map[string]bool{}
	for _, r := range u.rules {
		m := map[string]bool{}
		for _, a := range r.actions {
			m[a] = true
		}
		gone[r.index] = m
	}
	var needed []string
	for i, info := range pg.Rules() {
		for _, a := range info.Actions {
			if svc, _, ok := strings.Cut(a, ":"); ok && awsiam.LooksLikeAction(a) && !gone[i][a] {
				needed = append(needed, "aws:"+strings.ToLower(svc))
			}
		}
	}
	var out []string
	for _, s := range u.systems {
		keep := false
		for _, n := range needed {
			keep = keep || inventory.Glob(s, n)
		}
		if !keep {
			out = append(out, s)
		}
	}
	return out
}

// suggestion is the smallest playground covering what was used.
type suggestion struct{ systems, actions, resources []string }

func (s suggestion) text() string {
	if len(s.systems)+len(s.actions)+len(s.resources) == 0 {
		return "nothing (no activity: the agent may not need a playground at all)"
	}
	return fmt.Sprintf("systems: [%s]; actions: [%s]; resources: [%s]",
		strings.Join(s.systems, ", "), strings.Join(s.actions, ", "), strings.Join(s.resources, ", "))
}

func suggestPlayground(use *agentUse) suggestion {
	var s suggestion
	if use == nil {
		return s
	}
	s.systems = use.systems.sorted(0)
	sort.Strings(s.systems)
	seen := map[string]bool{}
	for _, sa := range use.actions.sorted(0) {
		_, a, _ := strings.Cut(sa, " ")
		if !seen[a] {
			seen[a] = true
			s.actions = append(s.actions, a)
		}
	}
	sort.Strings(s.actions)
	s.resources = foldGlobs(use.resources.sorted(0), maxSuggestedResources)
	return s
}

// foldGlobs reduces resource globs to at most limit by replacing the
// children of the directory with the most of them by "dir/**", repeatedly.
func foldGlobs(globs []string, limit int) []string {
	cur := map[string]bool{}
	for _, g := range globs {
		cur[g] = true
	}
	for len(cur) > limit {
		byParent := map[string]int{}
		for g := range cur {
			if i := strings.LastIndexByte(strings.TrimSuffix(g, "/**"), '/'); i > 0 {
				byParent[g[:i]]++
			}
		}
		best, bestN := "", 1
		for p, n := range byParent {
			if n > bestN || (n == bestN && n > 1 && p < best) {
				best, bestN = p, n
			}
		}
		if best == "" {
			break
		}
		for g := range cur {
			if strings.HasPrefix(g, best+"/") {
				delete(cur, g)
			}
		}
		cur[best+"/**"] = true
	}
	out := make([]string, 0, len(cur))
	for g := range cur {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}
