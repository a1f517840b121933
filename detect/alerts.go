package detect

import (
	"crypto/sha256"
	"encoding/hex"
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

// alertState is one firing alert, kept until it resolves.
type alertState struct {
	alert schemas.Alert
}

// milestone reports whether a repeat count is worth re-sending: the sinks
// update their message on these counts rather than on every repeat.
func milestone(n int) bool {
	for m := 1; m <= n; m *= 10 {
		if n == m || n == 2*m || n == 5*m {
			return true
		}
	}
	return false
}

// alertID derives the alert id from the dedup key and the first event, so
// that the same input always gives the same id.
func alertID(key, firstEvent string) string {
	h := sha256.Sum256([]byte(key + "\x00" + firstEvent))
	return hex.EncodeToString(h[:12])
}

// raise records a finding and returns the alert when it is new or changed
// in a way sinks should see (severity rise, count milestone).
func (e *Engine) raise(f *finding, agentID string, id schemas.Identity, ev *schemas.AgentEvent) (schemas.Alert, bool) {
	key := schemas.DedupKeyFor(agentID, f.detector, f.subject)
	if f.score > 100 {
		f.score = 100
	}
	sev := schemas.SeverityForScore(f.score)
	st := e.alerts[key]
	if st == nil {
		// Event strings may be slices of a whole decoded record; copies
		// keep a long-lived alert from pinning those buffers.
		id = cloneIdentity(id)
		key = strings.Clone(key)
		st = &alertState{alert: schemas.Alert{
			ID: alertID(key, ev.EventID), DedupKey: key, Detector: f.detector, Severity: sev, Score: f.score,
			Boundary: f.boundary, Identity: id, Subject: strings.Clone(f.subject), Summary: f.summary, Reason: f.reason,
			Evidence: f.evidence, FirstSeen: ev.Time.UTC(), LastSeen: ev.Time.UTC(), Count: 1,
			EventIDs: []string{strings.Clone(ev.EventID)}, Status: schemas.StatusFiring, DryRun: e.cfg.DryRun,
		}}
		e.alerts[key] = st
		e.metrics.alertNew.Inc()
		return cloneAlert(&st.alert), true
	}
	a := &st.alert
	// An event this alert already counted is a redelivery: a stage
	// replaying its log from the last committed offset after a crash, or
	// a shipper sending again what it was not sure had arrived. Counting
	// it again would change the alert and notify its owner a second time.
	// (Only the first MaxAlertEventIDs event ids are kept, so this holds
	// for alerts of up to that many events.)
	if slices.Contains(a.EventIDs, ev.EventID) {
		return schemas.Alert{}, false
	}
	a.Count++
	if t := ev.Time.UTC(); t.After(a.LastSeen) {
		a.LastSeen = t
	}
	if len(a.EventIDs) < schemas.MaxAlertEventIDs {
		a.EventIDs = append(a.EventIDs, strings.Clone(ev.EventID))
	}
	changed := milestone(a.Count)
	if f.score > a.Score {
		if sev.Rank() > a.Severity.Rank() {
			changed = true
		}
		a.Score, a.Severity = f.score, sev
		a.Summary, a.Reason, a.Evidence = f.summary, f.reason, f.evidence
	} else if changed {
		// Refresh the words (counts in them) when the update is sent.
		a.Summary, a.Evidence = f.summary, f.evidence
	}
	if f.boundary != a.Boundary && a.Boundary != schemas.BoundaryBoth {
		a.Boundary = schemas.BoundaryBoth
		changed = true
	}
	if !changed {
		return schemas.Alert{}, false
	}
	e.metrics.alertUpdated.Inc()
	return cloneAlert(a), true
}

// resolve closes alerts whose behaviour has not recurred for ResolveAfter.
func (e *Engine) resolve(now time.Time) []schemas.Alert {
	var out []schemas.Alert
	for key, st := range e.alerts {
		a := &st.alert
		if now.Sub(a.LastSeen) < e.cfg.ResolveAfter {
			continue
		}
		a.Status = schemas.StatusResolved
		out = append(out, cloneAlert(a))
		delete(e.alerts, key)
		e.metrics.alertResol.Inc()
	}
	sortAlerts(out)
	return out
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

func cloneAlert(a *schemas.Alert) schemas.Alert {
	c := *a
	c.EventIDs = append([]string(nil), a.EventIDs...)
	c.Evidence = append([]schemas.Evidence(nil), a.Evidence...)
	return c
}

// sortAlerts orders alerts by dedup key so output is deterministic even
// though alert state lives in a map.
func sortAlerts(as []schemas.Alert) {
	sort.Slice(as, func(i, j int) bool { return as[i].DedupKey < as[j].DedupKey })
}
