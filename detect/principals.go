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

// madeFor judges an event a known non-agent principal made for an agent
// (baseline.MadeFor: a platform node assuming the agent's role for its
// pod, given to the agent by an attribution rule on request parameters).
// IAM judged the call against the caller's policy, and its network and
// client are the caller's, so neither the agent's declared playground nor
// its learned habits apply, and it is not learned. What it does say about
// the agent is judged: credentials made for an agent that is
// decommissioned, suspended or expired.
func (e *Engine) madeFor(ev *schemas.AgentEvent) []schemas.Alert {
	ag := e.inv.Get(ev.AgentID)
	if ag == nil {
		return nil
	}
	fs := e.lifecycle(ag, ev, e.buf[:0])
	e.buf = fs[:0]
	if len(fs) == 0 {
		return nil
	}
	id := ag.Identity()
	id.Status = ag.StatusAt(ev.Time)
	id.AgentInstance, id.OnBehalfOf, id.Principal = ev.AgentInstance, ev.OnBehalfOf, ev.Principal
	id.CredentialID, id.CredentialType, id.CredentialIssued = ev.CredentialID, ev.CredentialType, ev.CredentialIssuedAt
	return e.emit(fs, ev.AgentID, id, ev)
}
