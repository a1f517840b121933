package ingest

import (
	"github.com/agentwatch/agentwatch/schemas"
)

// parseCanonical reads an agentwatch canonical event strictly: an unknown
// member is an error, so a misspelt field is reported rather than lost.
// Validation happens later, once attribution has run, so a canonical
// event may leave agent_id empty and let the rules name the agent.
func parseCanonical(b []byte, p *parsed) error {
	return schemas.UnmarshalEvent(b, &p.ev)
}
