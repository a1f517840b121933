package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/internal/awsiam"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// What would make an accepted incident permanent, as agents.yaml lines:
// the console shows it on the incident page and an accept records it.

// Suggestion is the inventory change that would make an accepted incident
// permanent, written for the agent's playground as it is: beside
// statements a resource goes into a statement with its action, and
// "delegators: none" is replaced, not added to; "" when the incident did
// not cross the declared playground. ag and events (the events behind the
// incident) may be missing: the suggestion then names the subjects the
// incident kept and the list each belongs in.
func Suggestion(a *schemas.Alert, ag *inventory.Agent, events []schemas.AgentEvent) string {
	if a.Boundary == schemas.BoundaryLearned || ag == nil {
		return listSuggestion(*a)
	}
	pg := &ag.Playground
	var adds []string
	switch a.Detector {
	case detect.DPlaygroundDeclared:
		if len(events) == 0 {
			return listSuggestion(*a)
		}
		adds = PlaygroundFixes(pg, events).Text()
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
			return listSuggestion(*a)
		}
		if subs := subjects(a); len(subs) > 0 {
			return fmt.Sprintf("agents.yaml, agent %s: replace delegators: none with delegators: [%s]", ag.ID, quoted(subs))
		}
	default:
		return listSuggestion(*a)
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
	for _, s := range IncidentSubjects(*a) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Widening is what a playground needs to let some events through.
type Widening struct {
	Systems, Actions, Resources []string
	Statements                  []inventory.Statement
}

// Apply returns pg widened.
func (w Widening) Apply(pg inventory.Playground) inventory.Playground {
	pg.Systems = append(slices.Clone(pg.Systems), w.Systems...)
	pg.Actions = append(slices.Clone(pg.Actions), w.Actions...)
	pg.Resources = append(slices.Clone(pg.Resources), w.Resources...)
	pg.Statements = append(slices.Clone(pg.Statements), w.Statements...)
	return pg
}

// Text writes the widening as what to add to agents.yaml.
func (w Widening) Text() []string {
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

// PlaygroundFixes is what would let a playground.declared incident's
// events through: every list they broke (the detector names only the
// first), as lists without statements, and beside statements as one
// statement per action with the resources it was refused.
func PlaygroundFixes(pg *inventory.Playground, events []schemas.AgentEvent) Widening {
	var w Widening
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
	return baseline.Glob(p)
}
