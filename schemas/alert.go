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

// Alert is what the detector raises: one incident. Every event that
// crosses the same boundary (the same DedupKey: by default the same agent
// and detector) while the incident is open adds to it: its count, its
// distinct resources, actions and subjects (the first few kept as
// examples), its last-seen time and possibly its severity. It resolves once
// no event has crossed the boundary for the quiet period; a later crossing
// opens a new incident, with a new ID, under the same DedupKey.
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

	// The incident's scope: how many distinct resources, actions and
	// subjects (what crossed the boundary: an action, a network, a
	// credential, a delegator...) its events touched, with the first few
	// of each as examples. Counts are exact up to 16 values and
	// estimated beyond (about 1% error up to a few thousand, 2.3% above).
	DistinctResources int      `json:"distinct_resources,omitempty"`
	ResourceExamples  []string `json:"resource_examples,omitempty"`
	DistinctActions   int      `json:"distinct_actions,omitempty"`
	ActionExamples    []string `json:"action_examples,omitempty"`
	DistinctSubjects  int      `json:"distinct_subjects,omitempty"`
	SubjectExamples   []string `json:"subject_examples,omitempty"`
}

// MaxAlertEventIDs bounds EventIDs: the first events of the incident and
// then each event that brought a new resource, action or subject, since
// those show how the behaviour started and spread.
const MaxAlertEventIDs = 50

// MaxAlertExamples bounds each list of examples.
const MaxAlertExamples = 10

// DedupKeyFor builds a dedup key from its parts, joined by "|": the
// detector's default grouping gives (agent, detector), the finest
// (agent, detector, subject).
func DedupKeyFor(parts ...string) string {
	return strings.Join(parts, "|")
}

// NotifyKey identifies the incident to a receiver: one Slack message, one
// PagerDuty dedup_key, one outbox row per incident. It is the dedup key
// (readable: agent and detector) followed by the incident's ID, so a new
// episode under the same dedup key opens a new message and a new page
// instead of editing a resolved one.
func (a *Alert) NotifyKey() string {
	return a.DedupKey + "|" + a.ID
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
	for _, sp := range []struct {
		name     string
		distinct int
		examples []string
	}{{"resource", a.DistinctResources, a.ResourceExamples}, {"action", a.DistinctActions, a.ActionExamples}, {"subject", a.DistinctSubjects, a.SubjectExamples}} {
		switch {
		case len(sp.examples) > MaxAlertExamples:
			ve.add(sp.name+"_examples", "has %d items, at most %d", len(sp.examples), MaxAlertExamples)
		case sp.distinct < len(sp.examples):
			ve.add("distinct_"+sp.name+"s", "%d is fewer than its %d examples", sp.distinct, len(sp.examples))
		}
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
	if s := a.Scope(); s != "" {
		fmt.Fprintf(&b, " (%s)", s)
	}
	if a.Status == StatusResolved {
		b.WriteString(" (resolved)")
	}
	return b.String()
}

// Scope says how far the incident reaches, e.g. "412 events, 380
// resources, 2 actions"; empty while it is a single event.
func (a *Alert) Scope() string {
	if a.Count <= 1 {
		return ""
	}
	parts := []string{plural(a.Count, "event")}
	if a.DistinctResources > 1 {
		parts = append(parts, plural(a.DistinctResources, "resource"))
	}
	if a.DistinctActions > 1 {
		parts = append(parts, plural(a.DistinctActions, "action"))
	}
	return strings.Join(parts, ", ")
}

// plural renders "1 event", "1,412 events".
func plural(n int, noun string) string {
	s := Thousands(n) + " " + noun
	if n != 1 {
		s += "s"
	}
	return s
}

// Thousands renders n with comma separators: 14000 -> "14,000".
func Thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func sortFieldErrors(fs []FieldError) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Field < fs[j].Field })
}
