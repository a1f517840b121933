package ingest

import (
	"github.com/agentwatch/agentwatch/schemas"
)

// parseCanonical reads an agentwatch canonical event strictly: an unknown
// member is an error, so a misspelt field is reported rather than lost.
// Validation happens later, once attribution has run, so a canonical
// event may leave agent_id empty and let the rules name the agent.
func parseCanonical(b []byte, p *parsed) error {
	if schemas.FastUnmarshalEvent(b, &p.ev) {
		return nil
	}
	p.ev = schemas.AgentEvent{}
	// Decoding into a local keeps p itself off the heap (the standard
	// decoder's interface argument would make it escape).
	ev := new(schemas.AgentEvent)
	if err := schemas.UnmarshalEvent(b, ev); err != nil {
		return err
	}
	p.ev = *ev
	return nil
}
