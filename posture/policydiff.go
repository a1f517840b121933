package posture

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/agentwatch/agentwatch/internal/awsiam"
	"github.com/agentwatch/agentwatch/internal/inventory"
)

var (
	iamAction = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*?]+$`)
	k8sAction = regexp.MustCompile(`^k8s:(\S+) (\S+)$`)
	gcpMethod = regexp.MustCompile(`^[a-z]+(\.[a-zA-Z]+){2,3}$`)
)

// policyDiff renders the cloud-policy change for what went unused: for
// AWS, statement by statement as the role's policy has them (import-iam
// makes one playground statement per policy statement), the statements
// that go whole, the actions that go, wildcards narrowed to the actions
// used through them, the resources that go; Kubernetes RBAC rules to
// drop; GCP permissions to remove from the custom role. Empty when
// nothing unused belongs to those clouds.
func policyDiff(ag *inventory.Agent, use *agentUse, un unusedPerms) string {
	var b strings.Builder
	awsSystems := map[string]bool{}
	for _, s := range ag.Playground.Systems {
		if svc, ok := strings.CutPrefix(s, "aws:"); ok {
			awsSystems[svc] = true
		}
	}
	isAWS := func(a string) bool {
		svc, _, _ := strings.Cut(a, ":")
		return iamAction.MatchString(a) && (awsSystems[strings.ToLower(svc)] || awsiam.KnownPrefix(svc))
	}
	byRule := map[int]*unusedRule{}
	var unusedActions []string
	for i := range un.rules {
		byRule[un.rules[i].index] = &un.rules[i]
		unusedActions = append(unusedActions, un.rules[i].actions...)
	}
	var hunks []string
	for i, info := range ag.Playground.Rules() {
		var ru *ruleUse
		if use != nil && i < len(use.rules) {
			ru = &use.rules[i]
		}
		if h := iamHunk(info, ru, byRule[i], isAWS); h != "" {
			hunks = append(hunks, h)
		}
	}
	if len(hunks) > 0 {
		b.WriteString("AWS IAM policy of the agent's role or user, the statements that change:\n")
		for _, h := range hunks {
			b.WriteString(h)
		}
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

// iamHunk renders one rule's AWS statement when it changes: lines marked
// "-" go, "+" come, " " stay. A statement none of whose actions was used
// goes whole. Non-AWS actions and resources that are no ARN are not part
// of an IAM policy and are left out.
func iamHunk(info inventory.Rule, ru *ruleUse, un *unusedRule, isAWS func(string) bool) string {
	unusedAct, unusedRes := map[string]bool{}, map[string]bool{}
	whole := false
	if un != nil {
		whole = un.whole
		for _, a := range un.actions {
			unusedAct[a] = true
		}
		for _, r := range un.resources {
			unusedRes[r] = true
		}
	}
	explicit := map[string]bool{}
	for _, a := range info.Actions {
		if !strings.ContainsAny(a, "*?") {
			explicit[strings.ToLower(a)] = true
		}
	}
	var acts []string
	changed := whole
	for _, a := range info.Actions {
		if !isAWS(a) {
			continue
		}
		switch {
		case whole || unusedAct[a]:
			acts = append(acts, diffLine('-', 6, fmt.Sprintf("%q,", a)))
			changed = true
		case strings.ContainsAny(a, "*?") && ru != nil:
			// A wildcard partly used becomes the actions used through it.
			var used []string
			for _, u := range ru.iam.sorted(0) {
				if isAWS(u) && !explicit[strings.ToLower(u)] && inventory.MatchAction(a, u) {
					used = append(used, u)
					explicit[strings.ToLower(u)] = true
				}
			}
			sort.Strings(used)
			acts = append(acts, diffLine('-', 6, fmt.Sprintf("%q,", a)))
			for _, u := range used {
				// How often, so that a permission kept for one call (an
				// attack's, perhaps) stands out.
				acts = append(acts, diffLine('+', 6, fmt.Sprintf("%q,  // %s", u, calls(ru.iam.vals[u]))))
			}
			changed = true
		default:
			acts = append(acts, diffLine(' ', 6, fmt.Sprintf("%q,", a)))
		}
	}
	if len(acts) == 0 || !changed && len(unusedRes) == 0 {
		return ""
	}
	var res []string
	for _, r := range info.Resources {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			continue
		}
		m := byte(' ')
		if whole || unusedRes[r] {
			m, changed = '-', true
		}
		res = append(res, diffLine(m, 6, fmt.Sprintf("%q,", r)))
	}
	if !changed {
		return ""
	}
	outer := byte(' ')
	if whole {
		outer = '-'
	}
	var b strings.Builder
	switch {
	case info.Statement < 0:
		b.WriteString(diffLine(outer, 2, "// the playground's top-level actions and resources"))
	case info.Name != fmt.Sprintf("statements[%d]", info.Statement):
		// Named by its Sid, which the policy's statement has too.
	default:
		b.WriteString(diffLine(outer, 2, fmt.Sprintf("// %s of the playground (no Sid)", info.Name)))
	}
	b.WriteString(diffLine(outer, 2, "{"))
	if info.Statement >= 0 && info.Name != fmt.Sprintf("statements[%d]", info.Statement) {
		b.WriteString(diffLine(outer, 4, fmt.Sprintf("\"Sid\": %q,", info.Name)))
	}
	b.WriteString(diffLine(outer, 4, `"Effect": "Allow",`))
	b.WriteString(diffLine(outer, 4, `"Action": [`))
	for _, l := range acts {
		b.WriteString(l)
	}
	if len(res) > 0 {
		b.WriteString(diffLine(outer, 4, "],"))
		b.WriteString(diffLine(outer, 4, `"Resource": [`))
		for _, l := range res {
			b.WriteString(l)
		}
	}
	b.WriteString(diffLine(outer, 4, "]"))
	b.WriteString(diffLine(outer, 2, "},"))
	return b.String()
}

// diffLine is one line of a diff: its mark, then the text indented.
func diffLine(mark byte, indent int, text string) string {
	return string(mark) + strings.Repeat(" ", indent) + text + "\n"
}

func calls(n int64) string {
	if n == 1 {
		return "1 call"
	}
	return fmt.Sprintf("%d calls", n)
}
