package detect

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Agent.Flags bits the detector keeps across windows.
const flagCredSharedSeen = 1 << 0

// Window.Flags bits: one alert of a family per window.
const (
	wfVolume = 1 << iota
	wfFanout
	wfUnusualHour
	wfInstances
)

// learned runs the detectors judged against the learned playground and
// profile. own is true when the agent's own history is mature; otherwise
// its mature peer group stands in (cold start).
func (e *Engine) learned(ag *inventory.Agent, ev *schemas.AgentEvent, o *baseline.Obs, own bool, brokeDeclared bool, out []finding) []finding {
	a := o.Agent
	out = e.playground(ev, o, own, brokeDeclared, out)
	if own {
		if o.NewNetwork && len(a.Networks) > 1 && e.cfg.enabled(DNewSource) {
			if f, ok := e.newSource(ag, ev, o); ok {
				out = append(out, f)
			}
		}
		if o.NewUserAgent && len(a.UserAgents) > 1 && e.cfg.enabled(DNewUserAgent) {
			ua := e.tr.Str(o.UserAgent)
			out = append(out, finding{detector: DNewUserAgent, subject: ua, score: 30, boundary: schemas.BoundaryLearned,
				summary:  fmt.Sprintf("%s with user agent %q, a client it has never used", verb(ev), ev.UserAgent),
				reason:   "outside the learned playground: new user agent",
				evidence: []schemas.Evidence{{Feature: "user_agent", Observed: ua, Baseline: e.known(a.UserAgents, 3)}}})
		}
		if o.NewDelegator && len(a.Delegators) > 1 && len(a.Delegators) <= e.cfg.MaxDelegators && e.cfg.enabled(DFirstDelegator) {
			out = append(out, finding{detector: DFirstDelegator, subject: ev.OnBehalfOf, score: 45, boundary: schemas.BoundaryLearned,
				summary:  fmt.Sprintf("%s on behalf of %s for the first time", verb(ev), ev.OnBehalfOf),
				reason:   "outside the learned playground: new delegator",
				evidence: []schemas.Evidence{{Feature: "on_behalf_of", Observed: ev.OnBehalfOf, Baseline: e.known(a.Delegators, 5)}}})
		}
		if o.Gap >= e.cfg.DormantAfter && e.cfg.enabled(DDormant) {
			out = append(out, finding{detector: DDormant, score: 55, boundary: schemas.BoundaryLearned,
				summary:  fmt.Sprintf("became active again after %s of silence: %s", days(o.Gap), verb(ev)),
				reason:   "dormant for longer than " + days(e.cfg.DormantAfter),
				evidence: []schemas.Evidence{{Feature: "silence", Observed: days(o.Gap), Baseline: "less than " + days(e.cfg.DormantAfter)}}})
		}
		out = e.unusualHour(ev, o, out)
	}
	if o.CredSharedWith != "" && e.cfg.enabled(DCredShared) {
		out = append(out, finding{detector: DCredShared, subject: ev.CredentialID, score: 70, boundary: schemas.BoundaryLearned,
			summary:  fmt.Sprintf("used credential %s, which agent %s also uses", ev.CredentialID, o.CredSharedWith),
			reason:   "one credential shared by several agents: actions cannot be told apart",
			evidence: []schemas.Evidence{{Feature: "credential_agents", Observed: a.ID + ", " + o.CredSharedWith, Baseline: o.CredSharedWith}}})
	}
	if ag != nil && ag.Instances > 0 && !o.Late && a.W.Flags&wfInstances == 0 && e.cfg.enabled(DCredShared) {
		// A rolling restart briefly doubles the instance count, hence 2x.
		if n := a.W.Inst.Count(); n > int64(2*ag.Instances) {
			a.W.Flags |= wfInstances
			out = append(out, finding{detector: DCredShared, subject: "instances", score: 60, boundary: schemas.BoundaryLearned,
				summary:  fmt.Sprintf("%d instances acted within one window, the agent runs %d", n, ag.Instances),
				reason:   "more instances than the inventory declares: its credentials may be used elsewhere",
				evidence: []schemas.Evidence{{Feature: "instances", Observed: fmt.Sprint(n), Baseline: fmt.Sprint(ag.Instances)}}})
		}
	}
	return e.volume(ev, o, own, out)
}

// playground raises at most one first-time finding per event: a new
// system explains a new action, which explains a new resource pattern.
func (e *Engine) playground(ev *schemas.AgentEvent, o *baseline.Obs, own, brokeDeclared bool, out []finding) []finding {
	if o.Late || brokeDeclared {
		return out
	}
	newSys, newAct, newTriple := o.NewSystem, o.NewAction, o.NewTriple
	scope := "it has never performed"
	if !own {
		newSys, newAct, newTriple = o.PeerNewSystem, o.PeerNewAction, o.PeerNewTriple
		scope = "no agent of its kind has performed"
	}
	cat := e.cat.category(ev.Action)
	bonus := 0
	if cat != "" {
		bonus += 25
	}
	var extra []string
	if own && o.PeerNewAction && o.Peer != nil {
		bonus += 10
		extra = append(extra, "new among its peers ("+o.Peer.Kind+")")
	}
	if o.FleetNewAction {
		bonus += 15
		extra = append(extra, "new in the whole fleet")
	}
	note := ""
	if len(extra) > 0 {
		note = "; " + strings.Join(extra, ", ")
	}
	a := o.Agent
	switch {
	case newSys && e.cfg.enabled(DFirstSystem):
		return append(out, finding{detector: DFirstSystem, subject: ev.System, score: 55 + bonus, boundary: schemas.BoundaryLearned,
			summary:  fmt.Sprintf("%s, a system %s%s%s", verb(ev), scope, sensitiveNote(cat), note),
			reason:   "outside the learned playground: first use of system " + ev.System,
			evidence: []schemas.Evidence{{Feature: "system", Observed: ev.System, Baseline: e.known(a.Systems, 5)}}})
	case newAct && e.cfg.enabled(DFirstAction):
		return append(out, finding{detector: DFirstAction, subject: ev.Action, score: 45 + bonus, boundary: schemas.BoundaryLearned,
			summary:  fmt.Sprintf("%s, an action %s%s%s", verb(ev), scope, sensitiveNote(cat), note),
			reason:   "outside the learned playground: first use of action " + ev.Action,
			evidence: []schemas.Evidence{{Feature: "action", Observed: ev.Action, Baseline: e.known(a.Actions, 5)}}})
	case newTriple && own && e.cfg.enabled(DNovelResource):
		pat := e.tr.Str(o.Pattern)
		known, sameCollection := e.patternsOf(a, o)
		if sameCollection {
			// A new name in a collection it already uses (docs/a, docs/b)
			// is ordinary; a new collection (secrets/ after tickets/) is not.
			return out
		}
		score := 35
		if cat != "" {
			score += 25
		}
		return append(out, finding{detector: DNovelResource, subject: ev.Action + " " + pat, score: score, boundary: schemas.BoundaryLearned,
			summary:  fmt.Sprintf("%s, outside the resources it uses for %s%s", verb(ev), ev.Action, sensitiveNote(cat)),
			reason:   "outside the learned playground: resource pattern " + pat + " is new",
			evidence: []schemas.Evidence{{Feature: "resource_pattern", Observed: pat, Baseline: known}}})
	}
	return out
}

// patternsOf lists the learned patterns of the event's (system, action)
// other than the event's own, and reports whether one of them shares the
// event pattern's collection (first path segment).
func (e *Engine) patternsOf(a *baseline.Agent, o *baseline.Obs) (string, bool) {
	sys, act := e.tr.Str(o.System), e.tr.Str(o.Action)
	coll := collection(e.tr.Str(o.Pattern))
	var names []string
	same := false
	for _, h := range a.Triples {
		if h.Key == o.Triple {
			continue
		}
		s, ac, p := e.tr.TripleOf(h.Key)
		if s != sys || ac != act {
			continue
		}
		if collection(p) == coll {
			same = true
		}
		if len(names) < 5 {
			names = append(names, p)
		}
	}
	if len(names) == 0 {
		return "(none)", same
	}
	return strings.Join(names, ", "), same
}

// collection is the set of like resources a pattern belongs to: its
// first segment ("tickets/{n}" -> "tickets"). For an ARN that is the ARN
// up to the first "/" of its resource part (an S3 object's bucket,
// secret:prod/..., repository/...), and for a resource part without one,
// up to its last ":" (function:api-orders and function:billing-webhook
// are both functions, alarm:x and alarm:y both alarms); an S3 bucket's
// collection is every bucket.
func collection(p string) string {
	if strings.HasPrefix(p, "arn:") {
		return arnCollection(p)
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

func arnCollection(p string) string {
	// arn:partition:service:region:account:resource
	f := strings.SplitN(p, ":", 6)
	if len(f) < 6 {
		return p
	}
	res := f[5]
	head := p[:len(p)-len(res)]
	if i := strings.IndexByte(res, '/'); i >= 0 {
		return head + res[:i]
	}
	if i := strings.LastIndexByte(res, ':'); i >= 0 && f[2] != "s3" {
		return head + res[:i]
	}
	return head
}

// unusualHour fires once per window when an agent with a learned daily
// rhythm is busy in an hour where it is normally silent.
func (e *Engine) unusualHour(ev *schemas.AgentEvent, o *baseline.Obs, out []finding) []finding {
	a := o.Agent
	w := &a.W
	if o.Late || w.Flags&wfUnusualHour != 0 || w.Events < 3 || !e.cfg.enabled(DUnusualHour) || a.P.Seasonality() == "flat" {
		return out
	}
	h := ev.Time.UTC().Hour()
	if a.P.HodN[h] < 7 || a.P.Hod[baseline.FEvents][h] >= 0.05 || a.P.Stats[baseline.FEvents].Mean < 0.5 {
		return out
	}
	w.Flags |= wfUnusualHour
	return append(out, finding{detector: DUnusualHour, subject: fmt.Sprintf("%02d:00", h), score: 40, boundary: schemas.BoundaryLearned,
		summary:  fmt.Sprintf("active at %s UTC, an hour it is normally silent: %s", ev.Time.UTC().Format("15:04"), verb(ev)),
		reason:   "outside the learned daily rhythm",
		evidence: []schemas.Evidence{{Feature: "events_this_hour", Observed: fmt.Sprint(w.Events), Baseline: fmt.Sprintf("%.2f per window at %02d:00", a.P.Hod[baseline.FEvents][h], h)}}})
}

// known lists up to n learned values for evidence.
func (e *Engine) known(hs baseline.Habits, n int) string {
	var parts []string
	for _, h := range hs {
		if len(parts) == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(hs)-n))
			break
		}
		parts = append(parts, e.tr.Str(h.Key))
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

// hourLabel formats a window's start for evidence.
func hourLabel(ws int64) string { return time.Unix(ws, 0).UTC().Format("Mon 15:04") }
