package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// parseCanonical reads an agentwatch canonical event strictly: an unknown
// member is an error, so a misspelt field is reported rather than lost.
// Validation happens later, once attribution has run, so a canonical
// event may leave agent_id empty and let the rules name the agent.
func parseCanonical(b []byte, p *parsed) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.ev); err != nil {
		return fmt.Errorf("decode canonical event: %w", err)
	}
	return nil
}
