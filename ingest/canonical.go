package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/agentwatch/agentwatch/schemas"
)

// parseCanonical reads an agentwatch canonical event strictly: an unknown
// member is an error, so a misspelt field is reported rather than lost.
// Validation happens later, once attribution has run, so a canonical
// event may leave agent_id empty and let the rules name the agent.
func parseCanonical(b []byte, p *parsed) error {
	// Most canonical records take the allocation-light scanner; anything
	// unusual (escapes, unknown keys, errors) gets encoding/json below.
	if schemas.FastUnmarshalEvent(b, &p.ev) {
		return nil
	}
	p.ev = schemas.AgentEvent{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	// Decoding into a local keeps p itself off the heap (the decoder's
	// interface argument would make it escape).
	ev := new(schemas.AgentEvent)
	if err := dec.Decode(ev); err != nil {
		return fmt.Errorf("decode canonical event: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("decode canonical event: trailing data after the JSON object")
	}
	p.ev = *ev
	return nil
}
