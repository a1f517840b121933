package schemas

import _ "embed"

// AgentEventSchema and AlertSchema are the JSON Schema (draft 2020-12)
// documents of the two wire types, for consumers of the events and alerts
// topics. A test keeps them in step with the Go types.
var (
	//go:embed agent_event.schema.json
	AgentEventSchema []byte
	//go:embed alert.schema.json
	AlertSchema []byte
)
