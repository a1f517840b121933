package detect

import (
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Accepted is a behaviour a person accepted as normal for an agent (from
// the console or `agentwatch accept`): the same agent, detector and
// subject raise nothing until Until (zero: no end). For a learned
// boundary this widens the learned playground; for a declared one it
// allows the habit while the inventory change it suggests is made.
type Accepted struct {
	AgentID, Detector, Subject string
	Until                      time.Time
}

// SetAccepted replaces the accepted behaviours. The pipeline reloads them
// from the actions table, as the engine reloads its suppressions file.
func (e *Engine) SetAccepted(list []Accepted) {
	m := make(map[string]time.Time, len(list))
	for _, a := range list {
		key := schemas.DedupKeyFor(a.AgentID, a.Detector, a.Subject)
		if prev, ok := m[key]; ok && (prev.IsZero() || (!a.Until.IsZero() && prev.After(a.Until))) {
			continue // the longest acceptance wins
		}
		m[key] = a.Until
	}
	e.accepted = m
}

// isAccepted reports whether a finding at event time t is accepted.
func (e *Engine) isAccepted(agentID, detector, subject string, t time.Time) bool {
	if len(e.accepted) == 0 {
		return false
	}
	until, ok := e.accepted[schemas.DedupKeyFor(agentID, detector, subject)]
	return ok && (until.IsZero() || t.Before(until))
}

// ForgetAlerts drops the open alerts with these ids, which a person
// resolved or accepted: a recurrence then opens a new incident instead of
// counting as a repeat of the closed one. It returns how many it dropped.
func (e *Engine) ForgetAlerts(ids map[string]bool) int {
	n := 0
	for key, st := range e.alerts {
		if ids[st.alert.ID] {
			delete(e.alerts, key)
			n++
		}
	}
	return n
}
