package detect

import (
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// knownPrincipal reports whether an unattributed event's principal is
// known not to be an agent: ingest marked it (principal_kind), or the
// inventory's principals list covers it and the action. The second check
// serves events that did not pass through this inventory's ingest (the
// simulator's, or ones ingested before the entry was written). A known
// principal's events are stored and queryable, but raise no
// identity.unattributed.
func (e *Engine) knownPrincipal(ev *schemas.AgentEvent) bool {
	if ev.PrincipalKind != "" {
		return true
	}
	if len(e.inv.Principals()) == 0 {
		return false
	}
	p, ok := e.principals[ev.Principal]
	if !ok {
		p = e.inv.Principal(ev.Principal)
		if len(e.principals) >= 1<<16 {
			clear(e.principals) // bounded: a cache, not state
		}
		if e.principals == nil {
			e.principals = map[string]*inventory.Principal{}
		}
		e.principals[ev.Principal] = p
	}
	return p != nil && p.Covers(ev.Action)
}
