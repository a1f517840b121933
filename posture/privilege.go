package posture

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// maxSuggestedResources bounds the suggested resource globs: past it,
// sibling globs fold into their parent's "/**".
const maxSuggestedResources = 12

// privilege: declared systems, actions and resource globs that nothing
// used in the window, the smallest playground covering what was used, and
// for AWS, Kubernetes and GCP the policy change that removes the rest.
func (c *checks) privilege() {
	from := c.now.Add(-c.cfg.UnusedAfter)
	for _, ag := range c.inv.Agents() {
		if ag.Status != inventory.StatusActive {
			continue
		}
		if ag.Created != nil && ag.Created.After(from) {
			// Younger than the look-back: too early to call anything unused.
			continue
		}
		use := c.u.agents[ag.ID]
		if use != nil && use.unattributed {
			use = nil
		}
		pg := &ag.Playground
		// Usage inside the look-back only (the scan may reach further back
		// for dormancy): with no event after `from`, nothing was used.
		if use != nil && use.last.Before(from) {
			use = nil
		}
		unused := func(list []string, used []bool) []string {
			var out []string
			for i, v := range list {
				if use == nil || !used[i] {
					out = append(out, v)
				}
			}
			return out
		}
		var us, ua, ur []string
		if use != nil {
			us, ua, ur = unused(pg.Systems, use.usedSys), unused(pg.Actions, use.usedAct), unused(pg.Resources, use.usedRes)
		} else {
			us, ua, ur = pg.Systems, pg.Actions, pg.Resources
		}
		if len(us)+len(ua)+len(ur) == 0 {
			continue
		}
		sev := schemas.SeverityLow
		if len(ua) > 0 || len(us) > 0 {
			sev = schemas.SeverityMedium
		}
		n := len(us) + len(ua) + len(ur)
		days := fmt.Sprintf("%d days", int(c.cfg.UnusedAfter.Hours()/24))
		ev := []schemas.Evidence{}
		if len(us) > 0 {
			ev = append(ev, evidence("unused_systems", strings.Join(us, ", "), "used in the last "+days))
		}
		if len(ua) > 0 {
			ev = append(ev, evidence("unused_actions", strings.Join(ua, ", "), "used in the last "+days))
		}
		if len(ur) > 0 {
			ev = append(ev, evidence("unused_resources", strings.Join(ur, ", "), "used in the last "+days))
		}
		suggest := suggestPlayground(use)
		ev = append(ev, evidence("suggested_playground", suggest.text(), "covers every use in the last "+days))
		f := newFinding(TUnusedPermissions, sev, ag.ID, ag.Owner, "",
			fmt.Sprintf("agent %s has %d declared permissions it did not use in the last %s", ag.ID, n, days),
			fmt.Sprintf("Shrink %s's playground in agents.yaml (line %d) to the suggested one, and remove the same permissions from its cloud policies.", ag.ID, ag.Line),
			ev...)
		f.PolicyDiff = policyDiff(ag, use, ua)
		c.add(f)
	}
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

var (
	iamAction = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*?]+$`)
	k8sAction = regexp.MustCompile(`^k8s:(\S+) (\S+)$`)
	gcpMethod = regexp.MustCompile(`^[a-z]+(\.[a-zA-Z]+){2,3}$`)
)

// policyDiff renders the cloud-policy change for the unused actions: an
// AWS IAM policy diff (declared actions of AWS services against the ones
// used), Kubernetes RBAC rules to drop, GCP permissions to remove from the
// custom role. Empty when no unused action belongs to those clouds.
func policyDiff(ag *inventory.Agent, use *agentUse, unusedActions []string) string {
	var b strings.Builder
	awsSystems := map[string]bool{}
	for _, s := range ag.Playground.Systems {
		if svc, ok := strings.CutPrefix(s, "aws:"); ok {
			awsSystems[svc] = true
		}
	}
	usedAWS := map[string][]string{} // service → actions used
	if use != nil {
		for sa := range use.actions.vals {
			sys, a, _ := strings.Cut(sa, " ")
			if svc, ok := strings.CutPrefix(sys, "aws:"); ok {
				awsSystems[svc] = true
				usedAWS[svc] = append(usedAWS[svc], a)
			}
		}
	}
	isAWS := func(a string) bool {
		svc, _, _ := strings.Cut(a, ":")
		return iamAction.MatchString(a) && awsSystems[svc]
	}
	unused := map[string]bool{}
	for _, a := range unusedActions {
		unused[a] = true
	}
	// AWS: the declared actions are the policy's Action list; unused ones
	// go, wildcards that were partly used become the actions used.
	var lines []string
	changed := false
	for _, a := range ag.Playground.Actions {
		if !isAWS(a) {
			continue
		}
		svc, _, _ := strings.Cut(a, ":")
		switch {
		case unused[a]:
			lines = append(lines, fmt.Sprintf("-      %q,", a))
			changed = true
		case strings.ContainsAny(a, "*?"):
			var used []string
			for _, u := range usedAWS[svc] {
				if inventory.MatchAction(a, u) {
					used = append(used, u)
				}
			}
			sort.Strings(used)
			used = dedup(used)
			lines = append(lines, fmt.Sprintf("-      %q,", a))
			for _, u := range used {
				lines = append(lines, fmt.Sprintf("+      %q,", u))
			}
			changed = true
		default:
			lines = append(lines, fmt.Sprintf("       %q,", a))
		}
	}
	if changed {
		b.WriteString("AWS IAM policy (the agent's role or user):\n")
		b.WriteString("   {\n     \"Effect\": \"Allow\",\n     \"Action\": [\n")
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
		b.WriteString("     ]\n   }\n")
	}
	// Kubernetes: verbs on resources no event used.
	var k8s []string
	for _, a := range unusedActions {
		if m := k8sAction.FindStringSubmatch(a); m != nil {
			res := m[2]
			group := ""
			if i := strings.IndexByte(res, '.'); i > 0 && !strings.Contains(res, "/") {
				res, group = res[:i], res[i+1:]
			}
			k8s = append(k8s, fmt.Sprintf("- remove verb %q on resource %q (apiGroup %q) from the agent's Role/ClusterRole", m[1], res, group))
		}
	}
	if len(k8s) > 0 {
		b.WriteString("Kubernetes RBAC (the role bound to the agent's service account):\n")
		for _, l := range k8s {
			b.WriteString("  " + l + "\n")
		}
	}
	// GCP: audit logs name methods; for the services whose permission has
	// the method's name (storage.objects.get), that permission can go.
	var gcp []string
	for _, a := range unusedActions {
		if gcpMethod.MatchString(a) && !strings.HasPrefix(a, "google.") {
			gcp = append(gcp, a)
		}
	}
	if len(gcp) > 0 {
		b.WriteString("GCP IAM (the service account's custom role): remove permissions " + strings.Join(gcp, ", ") + "\n")
	}
	return b.String()
}

func dedup(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
