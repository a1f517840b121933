package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// finding is one detector's verdict on one event.
type finding struct {
	detector string
	subject  string
	score    int
	boundary string
	summary  string
	reason   string
	evidence []schemas.Evidence
}

// alertState is one open incident, kept until its quiet period passes.
type alertState struct {
	alert         schemas.Alert
	quiet         time.Duration
	res, act, sub spread
	// base is the highest score of its findings; the alert's score adds
	// the spread bonus to it.
	base int
	// top is the evidence of the finding whose words the alert shows (the
	// latest of those with the highest score), copied out of the event's
	// buffers only when the alert is next sent (topRaw until then);
	// escalations say why the severity rose since the incident opened.
	top, topRaw, escalations []schemas.Evidence
}

// alertID derives the incident id from the grouping key and its first
// event, so that the same input always gives the same id and each episode
// of a key its own.
func alertID(key, firstEvent string) string {
	h := sha256.Sum256([]byte(key + "\x00" + firstEvent))
	return hex.EncodeToString(h[:12])
}

// raise adds a finding to its incident, opening one when none is open for
// its grouping key (or the open one has been quiet for its quiet period,
// which then resolves first). It appends to out the alerts sinks should see:
// a new incident, or one changed enough to update the message (severity,
// boundary, a count or distinct-count milestone, a new example).
func (e *Engine) raise(out []schemas.Alert, f *finding, agentID string, id schemas.Identity, ev *schemas.AgentEvent) []schemas.Alert {
	pol := e.policies[f.detector]
	if pol == nil {
		pol = e.defaultPolicy
	}
	e.keyBuf = pol.appendKey(e.keyBuf[:0], agentID, f, ev)
	f.score = min(f.score, 100)
	t := ev.Time.UTC()
	st := e.alerts[string(e.keyBuf)]
	if st != nil && t.Sub(st.alert.LastSeen) >= st.quiet {
		// The episode ended before this event: close it, then start anew.
		out = append(out, e.close(string(e.keyBuf), st))
		st = nil
	}
	if st == nil {
		return append(out, e.open(pol, f, id, ev))
	}
	a := &st.alert
	// An event this incident already counted is a redelivery: a stage
	// replaying its log from the last committed offset after a crash, or
	// a shipper sending again what it was not sure had arrived. Counting
	// it again would change the incident and notify its owner a second
	// time. (The incident keeps the ids of its first ten events and of
	// those that brought something new, so a later ordinary event sent
	// again still adds to the count.)
	if slices.Contains(a.EventIDs, ev.EventID) {
		return out
	}
	a.Count++
	if t.After(a.LastSeen) {
		a.LastSeen = t
	}
	n := e.cfg.Incidents.Examples
	resB, resA := st.res.add(ev.Resource, n)
	actB, actA := st.act.add(ev.Action, n)
	subB, subA := st.sub.add(f.subject, n)
	a.DistinctResources, a.DistinctActions, a.DistinctSubjects = resA, actA, subA
	brought := resA > resB || actA > actB || subA > subB
	if len(a.EventIDs) < schemas.MaxAlertEventIDs && (a.Count <= 10 || brought) {
		a.EventIDs = append(a.EventIDs, strings.Clone(ev.EventID))
	}
	changed := milestone(a.Count) || grew(resB, resA, n) || grew(actB, actA, n) || grew(subB, subA, n)
	var causes []string
	if f.score >= st.base {
		if f.score > st.base {
			causes = append(causes, e.joined(f, ev))
			st.base = f.score
		}
		// The words follow the latest of the worst findings, so a sensitive
		// event is not hidden by the ordinary ones after it.
		a.Summary, a.Reason = f.summary, f.reason
		st.topRaw = f.evidence
	}
	if b := spreadBonus(max(resA, actA, subA)); b > spreadBonus(max(resB, actB, subB)) {
		causes = append(causes, spreadCause(resA, actA, subA))
	}
	if score := min(st.base+spreadBonus(max(resA, actA, subA)), 100); score > a.Score {
		sev := schemas.SeverityForScore(score)
		if sev.Rank() > a.Severity.Rank() {
			st.escalations = append(st.escalations, schemas.Evidence{Feature: "severity",
				Observed: fmt.Sprintf("%s (score %d)", sev, score),
				Baseline: fmt.Sprintf("was %s (score %d): %s", a.Severity, a.Score, strings.Join(causes, "; "))})
			changed = true
		}
		a.Score, a.Severity = score, sev
	}
	if f.boundary != a.Boundary && a.Boundary != schemas.BoundaryBoth {
		a.Boundary = schemas.BoundaryBoth
		changed = true
	}
	if !changed {
		return out
	}
	e.refresh(st)
	e.metrics.alertUpdated.Inc()
	return append(out, cloneAlert(a))
}

// open starts an incident with its first finding.
func (e *Engine) open(pol *incidentPolicy, f *finding, id schemas.Identity, ev *schemas.AgentEvent) schemas.Alert {
	// Event strings may be slices of a whole decoded record; copies keep a
	// long-lived incident from pinning those buffers.
	key := string(e.keyBuf)
	n := e.cfg.Incidents.Examples
	st := &alertState{quiet: pol.quiet, base: f.score, top: cloneEvidence(f.evidence)}
	st.res.add(ev.Resource, n)
	st.act.add(ev.Action, n)
	st.sub.add(f.subject, n)
	t := ev.Time.UTC()
	st.alert = schemas.Alert{
		ID: alertID(key, ev.EventID), DedupKey: key, Detector: f.detector, Severity: schemas.SeverityForScore(f.score), Score: f.score,
		Boundary: f.boundary, Identity: cloneIdentity(id), Subject: strings.Clone(f.subject), Summary: f.summary, Reason: f.reason,
		FirstSeen: t, LastSeen: t, Count: 1, EventIDs: []string{strings.Clone(ev.EventID)}, Status: schemas.StatusFiring, DryRun: e.cfg.DryRun,
		DistinctResources: st.res.count(), DistinctActions: st.act.count(), DistinctSubjects: st.sub.count(),
	}
	e.refresh(st)
	e.alerts[key] = st
	e.metrics.alertNew.Inc()
	return cloneAlert(&st.alert)
}

// refresh copies the state's examples and evidence into the alert.
func (e *Engine) refresh(st *alertState) {
	a := &st.alert
	if st.topRaw != nil {
		st.top, st.topRaw = cloneEvidence(st.topRaw), nil
	}
	a.ResourceExamples, a.ActionExamples, a.SubjectExamples = st.res.examples, st.act.examples, st.sub.examples
	a.Evidence = append(append(make([]schemas.Evidence, 0, len(st.top)+len(st.escalations)), st.top...), st.escalations...)
}

// close resolves an open incident and forgets it.
func (e *Engine) close(key string, st *alertState) schemas.Alert {
	st.alert.Status = schemas.StatusResolved
	e.refresh(st)
	delete(e.alerts, key)
	e.metrics.alertResol.Inc()
	return cloneAlert(&st.alert)
}

// grew reports whether a distinct count moved in a way the message shows:
// a new example, or a milestone passed.
func grew(before, after, examples int) bool {
	return after > before && (after <= examples || nextMilestone(before) <= after)
}

// joined says which event raised an incident's base score.
func (e *Engine) joined(f *finding, ev *schemas.AgentEvent) string {
	if cat := e.cat.category(ev.Action); cat != "" {
		return fmt.Sprintf("a sensitive action joined: %s on %s (%s)", ev.Action, resOrSystem(ev), categoryNames[cat])
	}
	return fmt.Sprintf("a graver event joined (score %d): %s", f.score, f.summary)
}

// spreadCause says which distinct count earned the spread bonus.
func spreadCause(res, act, sub int) string {
	n, what := res, "resources"
	if act > n {
		n, what = act, "actions"
	}
	if sub > n {
		n, what = sub, "distinct subjects"
	}
	return fmt.Sprintf("the incident reached %s distinct %s (+%d)", schemas.Thousands(n), strings.TrimPrefix(what, "distinct "), spreadBonus(n))
}

// resolve closes the incidents quiet for their quiet period.
func (e *Engine) resolve(now time.Time) []schemas.Alert {
	var out []schemas.Alert
	for key, st := range e.alerts {
		if now.Sub(st.alert.LastSeen) < st.quiet {
			continue
		}
		out = append(out, e.close(key, st))
	}
	sortAlerts(out)
	return out
}

// restoreState rebuilds an open incident from its stored alert.
func (e *Engine) restoreState(a schemas.Alert) *alertState {
	pol := e.policies[a.Detector]
	if pol == nil {
		pol = e.defaultPolicy
	}
	st := &alertState{alert: a, quiet: pol.quiet,
		res: restoreSpread(a.DistinctResources, a.ResourceExamples),
		act: restoreSpread(a.DistinctActions, a.ActionExamples),
		sub: restoreSpread(a.DistinctSubjects, a.SubjectExamples)}
	st.base = max(a.Score-spreadBonus(max(a.DistinctResources, a.DistinctActions, a.DistinctSubjects)), 0)
	for _, ev := range a.Evidence {
		if ev.Feature == "severity" {
			st.escalations = append(st.escalations, ev)
		} else {
			st.top = append(st.top, ev)
		}
	}
	return st
}

func cloneIdentity(id schemas.Identity) schemas.Identity {
	for _, p := range []*string{&id.AgentID, &id.AgentInstance, &id.OnBehalfOf, &id.Principal, &id.CredentialID, &id.CredentialType} {
		*p = strings.Clone(*p)
	}
	if id.CredentialIssued != nil {
		t := *id.CredentialIssued
		id.CredentialIssued = &t
	}
	return id
}

func cloneEvidence(evs []schemas.Evidence) []schemas.Evidence {
	out := make([]schemas.Evidence, len(evs))
	for i, ev := range evs {
		out[i] = schemas.Evidence{Feature: strings.Clone(ev.Feature), Observed: strings.Clone(ev.Observed), Baseline: strings.Clone(ev.Baseline)}
	}
	return out
}

func cloneAlert(a *schemas.Alert) schemas.Alert {
	c := *a
	c.EventIDs = append([]string(nil), a.EventIDs...)
	c.Evidence = append([]schemas.Evidence(nil), a.Evidence...)
	c.ResourceExamples = append([]string(nil), a.ResourceExamples...)
	c.ActionExamples = append([]string(nil), a.ActionExamples...)
	c.SubjectExamples = append([]string(nil), a.SubjectExamples...)
	return c
}

// sortAlerts orders alerts by dedup key then first seen, so output is
// deterministic even though incident state lives in a map.
func sortAlerts(as []schemas.Alert) {
	sort.Slice(as, func(i, j int) bool {
		if as[i].DedupKey != as[j].DedupKey {
			return as[i].DedupKey < as[j].DedupKey
		}
		return as[i].FirstSeen.Before(as[j].FirstSeen)
	})
}

// openCount is the event count of the open incident a finding of detector
// with subject on ev would join (0 if none), for detectors whose words
// count the events.
func (e *Engine) openCount(agentID, detector, subject string, ev *schemas.AgentEvent) int {
	pol := e.policies[detector]
	if pol == nil {
		pol = e.defaultPolicy
	}
	e.keyBuf = pol.appendKey(e.keyBuf[:0], agentID, &finding{detector: detector, subject: subject}, ev)
	if st := e.alerts[string(e.keyBuf)]; st != nil && ev.Time.Sub(st.alert.LastSeen) < st.quiet {
		return st.alert.Count
	}
	return 0
}
