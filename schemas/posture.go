package schemas

import "time"

// Posture finding statuses: open while an evaluation still finds it, fixed
// once one no longer does.
const (
	FindingOpen  = "open"
	FindingFixed = "fixed"
)

// PostureFindingRow is the state of one standing-risk finding as a posture
// evaluation left it (table posture_finding_states, view posture_findings).
// Version is the evaluation time in nanoseconds: the highest wins.
type PostureFindingRow struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Severity    Severity  `json:"severity"`
	AgentID     string    `json:"agent_id"`
	Owner       string    `json:"owner"`
	Subject     string    `json:"subject"`
	Summary     string    `json:"summary"`
	Evidence    string    `json:"evidence"` // JSON array of Evidence
	Fix         string    `json:"fix"`
	Status      string    `json:"status"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	EvaluatedAt time.Time `json:"evaluated_at"`
	Version     int64     `json:"version"`
}
