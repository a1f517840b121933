package inventory

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Lifecycle dates. An agent's status is what it is now; these dates say
// since when, so that an event is judged by the status in force at the
// event's time and a replay of last month gives the alerts a live run
// gave then:
//
//	status: decommissioned
//	decommissioned_at: 2026-03-10T17:00:00Z   # events before: active; from then: lifecycle.decommissioned
//	suspended_at: 2026-03-01                  # optional: suspended from then until decommissioned_at
//
//	status: suspended
//	suspended_at: 2026-03-01                  # active before, suspended from then
//
//	status: active
//	suspended_at: 2026-02-01                  # a suspension that is over:
//	resumed_at: 2026-02-03T09:30:00Z          # suspended during [suspended_at, resumed_at)
//
// A status without its date holds for all time, as before dates existed.
// The rules (checkLifecycle) reject what cannot be meant.

// futureSlack is how far ahead of the loading clock a status-change date
// may be: a date written as a whole day ("2026-03-10", midnight UTC) is
// still in the future for people east of UTC on that day.
const futureSlack = 24 * time.Hour

// StatusAt returns the agent's status in force at t: active, suspended or
// decommissioned.
func (a *Agent) StatusAt(t time.Time) string {
	if a.Status == StatusDecommissioned && (a.DecommissionedAt == nil || !t.Before(*a.DecommissionedAt)) {
		return StatusDecommissioned
	}
	if a.SuspendedAt != nil {
		if !t.Before(*a.SuspendedAt) && (a.ResumedAt == nil || t.Before(*a.ResumedAt)) {
			return StatusSuspended
		}
		return StatusActive
	}
	if a.Status == StatusSuspended {
		return StatusSuspended
	}
	return StatusActive
}

// StatusSince returns when the status in force at t began, or nil when
// it holds for all time (a status written without its date, or active).
func (a *Agent) StatusSince(t time.Time) *time.Time {
	switch a.StatusAt(t) {
	case StatusDecommissioned:
		return a.DecommissionedAt
	case StatusSuspended:
		return a.SuspendedAt
	}
	return nil
}

// keyError is a problem with one key of an agent's entry; Parse turns
// the key into the line it is on.
type keyError struct {
	key string
	msg string
}

func (e *keyError) Error() string { return "key " + e.key + ": " + e.msg }

// checkLifecycle enforces the rules on status and its dates. now is the
// loading clock for "not in the future"; zero skips that rule (inventories
// built in code, such as the simulator's, run on their own clock).
func (a *Agent) checkLifecycle(now time.Time) error {
	day := func(t *time.Time) string { return t.UTC().Format(time.RFC3339) }
	bad := func(key, f string, args ...any) error { return &keyError{key: key, msg: fmt.Sprintf(f, args...)} }
	switch a.Status {
	case StatusActive:
		if a.DecommissionedAt != nil {
			return bad("decommissioned_at", "is set but status is active: set status: decommissioned to date a decommissioning that happened, or use expires for a planned end")
		}
		if a.SuspendedAt != nil && a.ResumedAt == nil {
			return bad("suspended_at", "is set but status is active: set status: suspended, or add resumed_at to date the end of a past suspension")
		}
	case StatusSuspended:
		if a.DecommissionedAt != nil {
			return bad("decommissioned_at", "is set but status is suspended: set status: decommissioned")
		}
		if a.ResumedAt != nil {
			return bad("resumed_at", "is set but status is suspended: an agent that resumed is active (status: active with suspended_at and resumed_at)")
		}
	}
	if a.ResumedAt != nil && a.SuspendedAt == nil {
		return bad("resumed_at", "needs suspended_at (when the suspension began)")
	}
	if a.ResumedAt != nil && !a.ResumedAt.After(*a.SuspendedAt) {
		return bad("resumed_at", "%s is not after suspended_at %s", day(a.ResumedAt), day(a.SuspendedAt))
	}
	if a.DecommissionedAt != nil {
		if a.SuspendedAt != nil && a.SuspendedAt.After(*a.DecommissionedAt) {
			return bad("suspended_at", "%s is after decommissioned_at %s", day(a.SuspendedAt), day(a.DecommissionedAt))
		}
		if a.ResumedAt != nil && a.ResumedAt.After(*a.DecommissionedAt) {
			return bad("resumed_at", "%s is after decommissioned_at %s", day(a.ResumedAt), day(a.DecommissionedAt))
		}
	}
	for _, d := range []struct {
		key string
		t   *time.Time
	}{{"suspended_at", a.SuspendedAt}, {"resumed_at", a.ResumedAt}, {"decommissioned_at", a.DecommissionedAt}} {
		if d.t == nil {
			continue
		}
		if a.Created != nil && d.t.Before(*a.Created) {
			return bad(d.key, "%s is before created %s", day(d.t), day(a.Created))
		}
		if !now.IsZero() && d.t.After(now.Add(futureSlack)) {
			return bad(d.key, "%s is in the future (now %s): the status says what has happened; date it when it happens, or use expires for a planned end",
				day(d.t), now.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// keyLine finds the line of a dotted key ("playground.hours") inside a
// mapping node, or returns the node's own line.
func keyLine(n *yaml.Node, key string) int {
	line := n.Line
	for _, part := range strings.Split(key, ".") {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				line, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}
