package schemas

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Severity of an alert, lowest to highest.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Severities lists the valid severities, lowest first.
var Severities = []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Rank orders severities (info=0 .. critical=4); an unknown severity is -1.
func (s Severity) Rank() int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return -1
}

// SeverityForScore maps a 0-100 score onto a severity.
func SeverityForScore(score int) Severity {
	switch {
	case score >= 90:
		return SeverityCritical
	case score >= 70:
		return SeverityHigh
	case score >= 45:
		return SeverityMedium
	case score >= 20:
		return SeverityLow
	default:
		return SeverityInfo
	}
}

// Alert status.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Boundary says which playground an alert's behaviour left.
const (
	BoundaryDeclared = "declared" // outside what the inventory allows
	BoundaryLearned  = "learned"  // outside what the agent was seen to do
	BoundaryBoth     = "both"
)

// Identity answers "which agent, which instance, on whose behalf, with which
// credential, owned by whom" for an alert.
type Identity struct {
	AgentID          string     `json:"agent_id"`
	AgentInstance    string     `json:"agent_instance,omitempty"`
	DisplayName      string     `json:"display_name,omitempty"`
	Kind             string     `json:"kind,omitempty"`
	Owner            string     `json:"owner,omitempty"`
	SlackChannel     string     `json:"slack_channel,omitempty"`
	PagerDutyService string     `json:"pagerduty_service,omitempty"`
	Status           string     `json:"status,omitempty"`
	OnBehalfOf       string     `json:"on_behalf_of,omitempty"`
	Principal        string     `json:"principal,omitempty"`
	CredentialID     string     `json:"credential_id,omitempty"`
	CredentialType   string     `json:"credential_type,omitempty"`
	CredentialIssued *time.Time `json:"credential_issued_at,omitempty"`
	Unattributed     bool       `json:"unattributed,omitempty"`
}

// CredentialAge is how old the credential was at t, or 0 when unknown.
func (id Identity) CredentialAge(t time.Time) time.Duration {
	if id.CredentialIssued == nil || id.CredentialIssued.IsZero() {
		return 0
	}
	return t.Sub(*id.CredentialIssued)
}

// Evidence is one observed value beside the baseline it was judged against.
type Evidence struct {
	Feature  string `json:"feature"`
	Observed string `json:"observed"`
	Baseline string `json:"baseline"`
}

// Alert is what the detector raises: one per dedup key, updated in place as
// repeats arrive, and resolved when behaviour returns inside the baseline.
type Alert struct {
	ID        string            `json:"id"`
	DedupKey  string            `json:"dedup_key"`
	Detector  string            `json:"detector"`
	Severity  Severity          `json:"severity"`
	Score     int               `json:"score"`
	Boundary  string            `json:"boundary"`
	Identity  Identity          `json:"identity"`
	Subject   string            `json:"subject,omitempty"`
	Summary   string            `json:"summary"`
	Reason    string            `json:"reason,omitempty"`
	Evidence  []Evidence        `json:"evidence,omitempty"`
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
	Count     int               `json:"count"`
	EventIDs  []string          `json:"event_ids,omitempty"`
	Status    string            `json:"status"`
	Labels    map[string]string `json:"labels,omitempty"`
	// DryRun marks an alert recorded in shadow mode: stored, never notified.
	DryRun bool `json:"dry_run,omitempty"`
}

// MaxAlertEventIDs bounds EventIDs; the first ones are kept because they
// show how the behaviour started.
const MaxAlertEventIDs = 50

// DedupKeyFor builds the dedup key (agent, detector, subject).
func DedupKeyFor(agentID, detector, subject string) string {
	return agentID + "|" + detector + "|" + subject
}

// Validate checks an alert and names every offending field.
func (a *Alert) Validate() error {
	var ve ValidationError
	if a.ID == "" {
		ve.add("id", "is required")
	}
	if a.DedupKey == "" {
		ve.add("dedup_key", "is required")
	}
	if a.Detector == "" {
		ve.add("detector", "is required")
	}
	if a.Severity.Rank() < 0 {
		ve.add("severity", "%q is not a severity", a.Severity)
	}
	if a.Score < 0 || a.Score > 100 {
		ve.add("score", "%d is outside 0-100", a.Score)
	}
	switch a.Boundary {
	case BoundaryDeclared, BoundaryLearned, BoundaryBoth:
	default:
		ve.add("boundary", "%q is not one of declared, learned, both", a.Boundary)
	}
	if a.Identity.AgentID == "" {
		ve.add("identity.agent_id", "is required")
	}
	if a.Summary == "" {
		ve.add("summary", "is required")
	}
	if a.FirstSeen.IsZero() {
		ve.add("first_seen", "is required")
	}
	if a.LastSeen.Before(a.FirstSeen) {
		ve.add("last_seen", "is before first_seen")
	}
	if a.Count < 1 {
		ve.add("count", "must be at least 1")
	}
	if a.Status != StatusFiring && a.Status != StatusResolved {
		ve.add("status", "%q is not firing or resolved", a.Status)
	}
	if len(ve.Fields) == 0 {
		return nil
	}
	sortFieldErrors(ve.Fields)
	return &ve
}

// Line renders the alert as one readable console line: severity, agent,
// instance, on behalf of, credential, what happened and why it is outside
// the playground.
func (a *Alert) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %s", strings.ToUpper(string(a.Severity)), a.Identity.AgentID)
	if a.Identity.AgentInstance != "" {
		fmt.Fprintf(&b, "/%s", a.Identity.AgentInstance)
	}
	if a.Identity.OnBehalfOf != "" {
		fmt.Fprintf(&b, " for %s", a.Identity.OnBehalfOf)
	}
	if a.Identity.CredentialID != "" {
		fmt.Fprintf(&b, " cred=%s", a.Identity.CredentialID)
		if a.Identity.CredentialType != "" {
			fmt.Fprintf(&b, "(%s)", a.Identity.CredentialType)
		}
	}
	fmt.Fprintf(&b, " [%s score=%d] %s", a.Detector, a.Score, a.Summary)
	if a.Reason != "" {
		fmt.Fprintf(&b, " — %s", a.Reason)
	}
	if a.Status == StatusResolved {
		b.WriteString(" (resolved)")
	}
	return b.String()
}

func sortFieldErrors(fs []FieldError) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Field < fs[j].Field })
}
