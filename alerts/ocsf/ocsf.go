// Package ocsf renders an alert as an OCSF Detection Finding (class 2004),
// the shape SIEMs that speak the Open Cybersecurity Schema Framework
// ingest without a custom parser.
package ocsf

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/schemas"
)

// Version is the OCSF schema version the findings follow.
const Version = "1.3.0"

// Class and category identifiers of a Detection Finding.
const (
	CategoryFindings      = 2
	ClassDetectionFinding = 2004
)

// Activity ids: the first report of an incident is Create, a report of
// the same incident grown since is Update (same finding_info.uid, new
// counts), its resolution Close.
const (
	ActivityCreate = 1
	ActivityUpdate = 2
	ActivityClose  = 3
)

var severityID = map[schemas.Severity]int{
	schemas.SeverityInfo: 1, schemas.SeverityLow: 2, schemas.SeverityMedium: 3,
	schemas.SeverityHigh: 4, schemas.SeverityCritical: 5,
}

var activityName = map[int]string{ActivityCreate: "Create", ActivityUpdate: "Update", ActivityClose: "Close"}

// Finding is the OCSF object; fields follow the schema's names.
type Finding struct {
	ActivityID   int            `json:"activity_id"`
	ActivityName string         `json:"activity_name"`
	CategoryUID  int            `json:"category_uid"`
	CategoryName string         `json:"category_name"`
	ClassUID     int            `json:"class_uid"`
	ClassName    string         `json:"class_name"`
	TypeUID      int            `json:"type_uid"`
	TypeName     string         `json:"type_name"`
	Time         int64          `json:"time"`
	StartTime    int64          `json:"start_time"`
	EndTime      int64          `json:"end_time"`
	Count        int            `json:"count"`
	Message      string         `json:"message"`
	SeverityID   int            `json:"severity_id"`
	Severity     string         `json:"severity"`
	StatusID     int            `json:"status_id"`
	Status       string         `json:"status"`
	RiskScore    int            `json:"risk_score"`
	Metadata     map[string]any `json:"metadata"`
	FindingInfo  map[string]any `json:"finding_info"`
	Actor        map[string]any `json:"actor"`
	Evidences    []evidence     `json:"evidences,omitempty"`
	Resources    []resource     `json:"resources,omitempty"`
	Unmapped     map[string]any `json:"unmapped,omitempty"`
}

// resource is an OCSF Resource Details object: one of the incident's
// example resources.
type resource struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
}

type evidence struct {
	Data schemas.Evidence `json:"data"`
}

// Build maps the alert onto a Detection Finding, taking it as an update
// once it holds more than one event. A sender that knows whether it
// reported the incident before uses BuildFor.
func Build(a schemas.Alert) Finding { return BuildFor(a, a.Count > 1) }

// BuildFor maps the alert onto a Detection Finding: Create the first time
// the incident is reported (update false), Update after, Close when it
// resolved. finding_info.uid is the incident and stays the same across
// its reports; metadata.uid names this report.
func BuildFor(a schemas.Alert, update bool) Finding {
	act := ActivityCreate
	statusID, status := 1, "New"
	switch {
	case a.Status == schemas.StatusResolved:
		act, statusID, status = ActivityClose, 4, "Resolved"
	case update:
		act, statusID, status = ActivityUpdate, 2, "In Progress"
	}
	sev := severityID[a.Severity]
	analytic := map[string]any{"name": a.Detector, "uid": a.Detector, "type_id": 1, "type": "Rule"}
	if a.Boundary == schemas.BoundaryLearned {
		analytic["type_id"], analytic["type"] = 2, "Behavioral"
	}
	user := map[string]any{"uid": a.Identity.AgentID, "type_id": 99, "type": "AI Agent"}
	if a.Identity.DisplayName != "" {
		user["name"] = a.Identity.DisplayName
	}
	actor := map[string]any{"user": user}
	if a.Identity.AgentInstance != "" {
		actor["session"] = map[string]any{"uid": a.Identity.AgentInstance}
	}
	f := Finding{
		ActivityID: act, ActivityName: activityName[act],
		CategoryUID: CategoryFindings, CategoryName: "Findings",
		ClassUID: ClassDetectionFinding, ClassName: "Detection Finding",
		TypeUID: ClassDetectionFinding*100 + act, TypeName: "Detection Finding: " + activityName[act],
		Time: a.LastSeen.UnixMilli(), StartTime: a.FirstSeen.UnixMilli(), EndTime: a.LastSeen.UnixMilli(),
		Count: a.Count, Message: a.Summary, SeverityID: sev, Severity: severityName(sev),
		StatusID: statusID, Status: status, RiskScore: a.Score,
		Metadata: map[string]any{
			"version": Version, "uid": a.ID + "/" + strconv.Itoa(a.Count) + "/" + a.Status, "correlation_uid": a.DedupKey,
			"product": map[string]any{"name": "agentwatch", "vendor_name": "agentwatch"},
		},
		FindingInfo: map[string]any{
			"uid": a.ID, "title": a.Summary, "desc": a.Reason, "types": []string{a.Detector},
			"first_seen_time": a.FirstSeen.UnixMilli(), "last_seen_time": a.LastSeen.UnixMilli(),
			"analytic": analytic, "related_events_count": a.Count,
		},
		Actor: actor,
		Unmapped: map[string]any{
			"owner": a.Identity.Owner, "on_behalf_of": a.Identity.OnBehalfOf, "principal": a.Identity.Principal,
			"credential_id": a.Identity.CredentialID, "credential_type": a.Identity.CredentialType,
			"boundary": a.Boundary, "event_ids": a.EventIDs, "labels": a.Labels,
			"investigate_query":  notify.InvestigateQuery(a.Identity.AgentID),
			"distinct_resources": a.DistinctResources, "distinct_actions": a.DistinctActions, "distinct_subjects": a.DistinctSubjects,
			"action_examples": a.ActionExamples, "subject_examples": a.SubjectExamples,
		},
	}
	for _, e := range a.Evidence {
		f.Evidences = append(f.Evidences, evidence{Data: e})
	}
	for _, r := range a.ResourceExamples {
		f.Resources = append(f.Resources, resource{UID: r, Name: r})
	}
	return f
}

func severityName(id int) string {
	return [...]string{"Unknown", "Informational", "Low", "Medium", "High", "Critical"}[id]
}

// Marshal returns the finding as JSON (see Build).
func Marshal(a schemas.Alert) ([]byte, error) { return MarshalFor(a, a.Count > 1) }

// MarshalFor returns the finding as JSON (see BuildFor).
func MarshalFor(a schemas.Alert, update bool) ([]byte, error) {
	b, err := json.Marshal(BuildFor(a, update))
	if err != nil {
		return nil, fmt.Errorf("encode OCSF finding for alert %q: %w", a.ID, err)
	}
	return b, nil
}
