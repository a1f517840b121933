package console

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/internal/awsiam"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

// How an incident reads on its page: its scope in the words of its
// detector, its evidence with feature names people read, the times its
// severity rose apart from the evidence, and the inventory change that
// would make it permanent.

// scopeRow is one distinct count of an incident.
type scopeRow struct {
	What     string
	N        int
	Examples string
}

// evidenceRow is one piece of evidence, its feature named for people.
type evidenceRow struct {
	Feature, Observed, Against string
}

// riseRow is one rise of an incident's severity.
type riseRow struct {
	To, From, Why string
}

// subjectNames names an incident's subjects by its detector.
var subjectNames = map[string]string{
	detect.DPlaygroundDeclared: "what crossed the playground",
	detect.DNetworkUndeclared:  "source networks", detect.DNewSource: "source networks",
	detect.DClientUndeclared: "client families", detect.DNewUserAgent: "user agents",
	detect.DCredNotRotated: "credentials", detect.DCredTooOld: "credentials", detect.DCredShared: "credentials",
	detect.DCredDisallowedType: "credential types",
	detect.DDelegNotAllowed:    "on behalf of", detect.DFirstDelegator: "on behalf of",
	detect.DFirstAction: "actions", detect.DFirstSystem: "systems", detect.DNovelResource: "resource patterns",
}

// featureNames are the evidence features in words.
var featureNames = map[string]string{
	"declared_playground": "declared playground", "src_ip": "source address", "source_network": "source network",
	"client_family": "client family", "user_agent": "user agent", "credential_age": "credential age",
	"credential_type": "credential type", "on_behalf_of": "on behalf of", "time": "time (UTC)",
	"distinct_resources": "distinct resources", "distinct_actions": "distinct actions",
}

func incidentScope(a *schemas.Alert) []scopeRow {
	var out []scopeRow
	if a.DistinctSubjects > 0 {
		what := subjectNames[a.Detector]
		if what == "" {
			what = "subjects (what crossed)"
		}
		ex := strings.Join(a.SubjectExamples, ", ")
		if ex == "" {
			ex = a.Subject
		}
		out = append(out, scopeRow{what, a.DistinctSubjects, ex})
	}
	// A count of none says nothing (a call naming no resource): left out.
	if a.DistinctActions > 0 {
		out = append(out, scopeRow{"actions", a.DistinctActions, strings.Join(a.ActionExamples, ", ")})
	}
	if a.DistinctResources > 0 {
		out = append(out, scopeRow{"resources", a.DistinctResources, strings.Join(a.ResourceExamples, ", ")})
	}
	return out
}

// incidentEvidence splits the evidence from the severity rises the engine
// keeps beside it (feature "severity": observed the new severity, baseline
// the old one and why).
func incidentEvidence(a *schemas.Alert) (ev []evidenceRow, rises []riseRow) {
	for _, e := range a.Evidence {
		if e.Feature == "severity" {
			from, why, _ := strings.Cut(e.Baseline, ": ")
			rises = append(rises, riseRow{To: e.Observed, From: strings.TrimPrefix(from, "was "), Why: why})
			continue
		}
		name := featureNames[e.Feature]
		if name == "" {
			name = strings.ReplaceAll(e.Feature, "_", " ")
		}
		ev = append(ev, evidenceRow{name, e.Observed, e.Baseline})
	}
	return ev, rises
}

// evidenceHeads names the evidence table's last column and title by the
// boundary the incident crossed.
func evidenceHeads(boundary string) (title, against string) {
	switch boundary {
	case schemas.BoundaryDeclared:
		return "Evidence: observed against the declared playground", "Declared"
	case schemas.BoundaryLearned:
		return "Evidence: observed against the learned baseline", "Learned baseline"
	}
	return "Evidence: observed against the declared playground and the learned baseline", "Declared or learned"
}

// suggestion is the inventory change that would make an accepted incident
// permanent, written for the agent's playground as it is: beside
// statements a resource goes into a statement with its action, and
// "delegators: none" is replaced, not added to. Other cases are the
// pipeline's (what an accept records).
func suggestion(a *schemas.Alert, ag *inventory.Agent, events []schemas.AgentEvent) string {
	if a.Boundary == schemas.BoundaryLearned || ag == nil {
		return pipeline.DeclaredSuggestion(*a)
	}
	pg := &ag.Playground
	var adds []string
	switch a.Detector {
	case detect.DPlaygroundDeclared:
		if len(events) == 0 {
			return pipeline.DeclaredSuggestion(*a)
		}
		adds = playgroundFixes(pg, events).text()
	case detect.DNetworkUndeclared, detect.DClientUndeclared:
		key := "networks"
		if a.Detector == detect.DClientUndeclared {
			key = "clients"
		}
		if subs := subjects(a); len(subs) > 0 {
			adds = append(adds, quoted(subs)+" to playground."+key)
		}
	case detect.DDelegNotAllowed:
		if !pg.ActsForNobody() {
			return pipeline.DeclaredSuggestion(*a)
		}
		if subs := subjects(a); len(subs) > 0 {
			return fmt.Sprintf("agents.yaml, agent %s: replace delegators: none with delegators: [%s]", ag.ID, quoted(subs))
		}
	default:
		return pipeline.DeclaredSuggestion(*a)
	}
	if len(adds) == 0 {
		return ""
	}
	return fmt.Sprintf("agents.yaml, agent %s: add %s", ag.ID, strings.Join(adds, "; "))
}

func quoted(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func subjects(a *schemas.Alert) []string {
	var out []string
	for _, s := range pipeline.IncidentSubjects(*a) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// widening is what a playground needs to let some events through.
type widening struct {
	Systems, Actions, Resources []string
	Statements                  []inventory.Statement
}

// apply returns pg widened.
func (w widening) apply(pg inventory.Playground) inventory.Playground {
	pg.Systems = append(slices.Clone(pg.Systems), w.Systems...)
	pg.Actions = append(slices.Clone(pg.Actions), w.Actions...)
	pg.Resources = append(slices.Clone(pg.Resources), w.Resources...)
	pg.Statements = append(slices.Clone(pg.Statements), w.Statements...)
	return pg
}

// text writes the widening as what to add to agents.yaml.
func (w widening) text() []string {
	var out []string
	for _, l := range []struct {
		key  string
		vals []string
	}{{"systems", w.Systems}, {"actions", w.Actions}, {"resources", w.Resources}} {
		if len(l.vals) > 0 {
			out = append(out, quoted(l.vals)+" to playground."+l.key)
		}
	}
	for _, st := range w.Statements {
		out = append(out, fmt.Sprintf("a statement {actions: [%s], resources: [%s]}", quoted(st.Actions), quoted(st.Resources)))
	}
	return out
}

// playgroundFixes is what would let a playground.declared incident's
// events through: every list they broke (the detector names only the
// first), as lists without statements, and beside statements as one
// statement per action with the resources it was refused.
func playgroundFixes(pg *inventory.Playground, events []schemas.AgentEvent) widening {
	var w widening
	add := func(list *[]string, v string) {
		if !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	stmt := map[string]int{} // action → index in w.Statements
	for i := range events {
		ev := &events[i]
		if !pg.AllowsSystem(ev.System) {
			add(&w.Systems, ev.System)
		}
		// A policy names the IAM action (s3:ListBucket), which matches
		// the CloudTrail event name (s3:ListObjects) too.
		action := awsiam.IAMAction(ev.Action)
		mask := pg.ActionRules(ev.Action)
		if !pg.HasStatements() {
			if mask == 0 {
				add(&w.Actions, action)
			}
			if ev.Resource != "" && pg.ConstrainsResources() && !pg.AllowsResource(ev.Resource) {
				add(&w.Resources, resourceGlob(ev.Resource))
			}
			continue
		}
		if mask != 0 && pg.ResourceAllowed(mask, ev.Resource) {
			continue
		}
		r := "*"
		if ev.Resource != "" {
			r = resourceGlob(ev.Resource)
		}
		k, ok := stmt[action]
		if !ok {
			k = len(w.Statements)
			stmt[action] = k
			w.Statements = append(w.Statements, inventory.Statement{Actions: []string{action}})
		}
		add(&w.Statements[k].Resources, r)
	}
	return w
}

// resourceGlob writes a resource as a pattern of its habit, for a
// suggestion: the identifiers in its name become "*"; an ARN keeps its
// partition, service, region and account as they are.
func resourceGlob(r string) string {
	p := baseline.Generalize(r)
	if strings.HasPrefix(r, "arn:") {
		raw, gen := strings.SplitN(r, ":", 6), strings.SplitN(p, ":", 6)
		if len(raw) == 6 && len(gen) == 6 {
			p = strings.Join(raw[:5], ":") + ":" + gen[5]
		}
	}
	for _, ph := range []string{"{uuid}", "{date}", "{hash}", "{email}", "{id}", "{n}"} {
		p = strings.ReplaceAll(p, ph, "*")
	}
	return p
}
