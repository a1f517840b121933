package ingest

import (
	"context"

	"github.com/agentwatch/agentwatch/schemas"
)

// Sink is where collectors put results; the lead implements it over the
// bus (events -> agentwatch.events keyed by agent_id, dead letters ->
// agentwatch.dlq). It returns ErrBackpressure when the bus is backed up,
// and nil only once everything is durably published.
type Sink interface {
	Publish(ctx context.Context, evs []schemas.AgentEvent, dead []DeadLetter) error
}
