package ocsf

import (
	"encoding/json"
	"fmt"

	"github.com/agentwatch/agentwatch/schemas"
)

// ClassComplianceFinding is the OCSF Compliance Finding class: a control
// checked against a resource, failed or passed. Posture findings are
// sent as these (one per finding and digest).
const ClassComplianceFinding = 2003

// Control is one posture finding as a compliance check of an agent.
type Control struct {
	ID        string // stable finding id
	Type      string // the control: posture finding type
	Severity  schemas.Severity
	AgentID   string
	Owner     string
	Summary   string
	Fix       string
	Evidence  []schemas.Evidence
	FirstSeen int64 // Unix milliseconds
	Time      int64 // Unix milliseconds of this report
	// Fixed is true once the finding no longer holds: the check passes.
	Fixed bool
	// New is true the first time the finding is reported.
	New bool
}

// Compliance renders a control as an OCSF Compliance Finding: activity
// Create for a new finding, Update for one still open, Close once fixed;
// compliance.status Fail while open, Pass once fixed.
func Compliance(c Control) map[string]any {
	act, statusID, status, cstatusID, cstatus := ActivityUpdate, 2, "In Progress", 3, "Fail"
	switch {
	case c.Fixed:
		act, statusID, status, cstatusID, cstatus = ActivityClose, 4, "Resolved", 1, "Pass"
	case c.New:
		act, statusID, status = ActivityCreate, 1, "New"
	}
	sev := severityID[c.Severity]
	var evidences []map[string]any
	for _, e := range c.Evidence {
		evidences = append(evidences, map[string]any{"data": e})
	}
	return map[string]any{
		"activity_id": act, "activity_name": activityName[act],
		"category_uid": CategoryFindings, "category_name": "Findings",
		"class_uid": ClassComplianceFinding, "class_name": "Compliance Finding",
		"type_uid": ClassComplianceFinding*100 + act, "type_name": "Compliance Finding: " + activityName[act],
		"time": c.Time, "message": c.Summary,
		"severity_id": sev, "severity": severityName(sev),
		"status_id": statusID, "status": status,
		"metadata": map[string]any{"version": Version, "uid": c.ID,
			"product": map[string]any{"name": "agentwatch", "vendor_name": "agentwatch", "feature": map[string]any{"name": "posture"}}},
		"finding_info": map[string]any{"uid": c.ID, "title": c.Summary, "types": []string{c.Type},
			"first_seen_time": c.FirstSeen, "last_seen_time": c.Time},
		"compliance": map[string]any{"standards": []string{"agentwatch posture"}, "control": c.Type,
			"status_id": cstatusID, "status": cstatus},
		"remediation": map[string]any{"desc": c.Fix},
		"resources":   []map[string]any{{"uid": c.AgentID, "type": "AI Agent", "owner": map[string]any{"name": c.Owner}}},
		"evidences":   evidences,
	}
}

// MarshalCompliance returns the compliance finding as JSON.
func MarshalCompliance(c Control) ([]byte, error) {
	b, err := json.Marshal(Compliance(c))
	if err != nil {
		return nil, fmt.Errorf("encode OCSF compliance finding %q: %w", c.ID, err)
	}
	return b, nil
}
