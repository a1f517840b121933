package detect

import (
	"fmt"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// lifecycle judges an event by the agent's inventory status in force at
// the event's time (inventory.Agent.StatusAt), not the status today: an
// agent decommissioned on the 10th that acted on the 9th did nothing
// wrong, so replaying last month's logs gives the alerts a live run gave.
func (e *Engine) lifecycle(ag *inventory.Agent, ev *schemas.AgentEvent, out []finding) []finding {
	status := ag.StatusAt(ev.Time)
	var since *time.Time
	if status != inventory.StatusActive {
		since = ag.StatusSince(ev.Time)
	}
	switch {
	case status == inventory.StatusDecommissioned && e.cfg.enabled(DDecommissioned):
		f := finding{detector: DDecommissioned, score: 95, boundary: schemas.BoundaryDeclared,
			summary: fmt.Sprintf("decommissioned agent %s performed %s on %s", ag.ID, ev.Action, resOrSystem(ev)),
			reason:  "the inventory marks this agent decommissioned: it should not act at all"}
		if since != nil {
			f.summary += fmt.Sprintf(", %s after it was decommissioned", days(ev.Time.Sub(*since)))
			f.reason = "the inventory marks this agent decommissioned since " + since.UTC().Format(time.RFC3339) + ": it should not act at all"
			f.evidence = []schemas.Evidence{{Feature: "decommissioned_at", Observed: ev.Time.UTC().Format(time.RFC3339), Baseline: since.UTC().Format(time.RFC3339)}}
		}
		out = append(out, f)
	case status == inventory.StatusSuspended && e.cfg.enabled(DSuspended):
		f := finding{detector: DSuspended, score: 85, boundary: schemas.BoundaryDeclared,
			summary: fmt.Sprintf("suspended agent %s performed %s on %s", ag.ID, ev.Action, resOrSystem(ev)),
			reason:  "the inventory marks this agent suspended"}
		if since != nil {
			f.reason = "the inventory marks this agent suspended since " + since.UTC().Format(time.RFC3339)
			if ag.ResumedAt != nil {
				f.reason += " until " + ag.ResumedAt.UTC().Format(time.RFC3339)
			}
			f.evidence = []schemas.Evidence{{Feature: "suspended_at", Observed: ev.Time.UTC().Format(time.RFC3339), Baseline: since.UTC().Format(time.RFC3339)}}
		}
		out = append(out, f)
	}
	if ag.Expired(ev.Time) && e.cfg.enabled(DExpired) {
		out = append(out, finding{detector: DExpired, score: 80, boundary: schemas.BoundaryDeclared,
			summary:  fmt.Sprintf("agent %s acted after its expiry (%s)", ag.ID, ag.Expires.UTC().Format(time.DateOnly)),
			reason:   "the inventory entry expired on " + ag.Expires.UTC().Format(time.RFC3339),
			evidence: []schemas.Evidence{{Feature: "expires", Observed: ev.Time.UTC().Format(time.RFC3339), Baseline: ag.Expires.UTC().Format(time.RFC3339)}}})
	}
	if ag.Owner == "" && status == inventory.StatusActive && e.cfg.enabled(DOwnerless) {
		out = append(out, finding{detector: DOwnerless, score: 40, boundary: schemas.BoundaryDeclared,
			summary: fmt.Sprintf("agent %s is active but has no owner", ag.ID),
			reason:  "no owner in the inventory: nobody would answer an alert about it"})
	}
	return out
}
