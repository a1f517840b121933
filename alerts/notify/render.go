package notify

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentwatch/agentwatch/schemas"
)

// Field is one labelled line of the identity block.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// IdentityFields answers "which agent, which instance, owned by whom, on
// whose behalf, as which principal, with which credential and how old"
// in a fixed order; unknown values read "unknown" so a missing answer is
// visible rather than silently absent.
func IdentityFields(a schemas.Alert, now time.Time) []Field {
	id := a.Identity
	agent := id.AgentID
	if id.DisplayName != "" && id.DisplayName != id.AgentID {
		agent = id.DisplayName + " (" + id.AgentID + ")"
	}
	if id.Unattributed {
		agent += " (unattributed)"
	}
	return []Field{
		{"Agent", agent},
		{"Instance", orUnknown(id.AgentInstance)},
		{"Owner", orUnknown(id.Owner)},
		{"On behalf of", orUnknown(id.OnBehalfOf)},
		{"Principal", orUnknown(id.Principal)},
		{"Credential", Credential(id, now)},
	}
}

// Credential renders "AKIA…(static_key), 412d old".
func Credential(id schemas.Identity, now time.Time) string {
	if id.CredentialID == "" && id.CredentialType == "" {
		return "unknown"
	}
	s := orUnknown(id.CredentialID)
	if id.CredentialType != "" {
		s += " (" + id.CredentialType + ")"
	}
	if age := id.CredentialAge(now); age > 0 {
		s += ", " + Age(age) + " old"
	}
	return s
}

// Age renders a duration the way people say it: 45m, 7h, 12d.
func Age(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	default:
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// InvestigateQuery is the SQL that shows the agent's recent events; it
// runs unchanged on ClickHouse and SQLite-compatible front ends. The id is
// escaped as a SQL string literal (quotes doubled, backslashes escaped for
// ClickHouse), so a hostile agent id cannot break out of the literal.
func InvestigateQuery(agentID string) string {
	esc := strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(agentID)
	return "SELECT time, action, system, resource, outcome FROM events WHERE agent_id = '" + esc +
		"' AND time >= now() - INTERVAL 1 DAY ORDER BY time DESC LIMIT 50"
}

// IncidentURL is the console page of incident id under the console's
// external URL base; "" when base is "".
func IncidentURL(base, id string) string {
	if base == "" || id == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/incidents/" + url.PathEscape(id)
}

// Title is the one-line headline: "HIGH · support-bot: summary", followed
// by the incident's scope once it holds more than one event
// ("[412 events, 380 resources]").
func Title(a schemas.Alert) string {
	s := strings.ToUpper(string(a.Severity)) + " · " + a.Identity.AgentID + ": " + a.Summary
	if sc := a.Scope(); sc != "" {
		s += " [" + sc + "]"
	}
	if a.Status == schemas.StatusResolved {
		s = "RESOLVED · " + s
	}
	return s
}

// ScopeLines describe how far an incident reaches, one line per
// dimension: how many events since when, and the distinct resources,
// actions and subjects with their first examples. A single event has none.
func ScopeLines(a schemas.Alert) []string {
	if a.Count <= 1 && a.DistinctResources <= 1 && a.DistinctActions <= 1 && a.DistinctSubjects <= 1 {
		return nil
	}
	out := []string{fmt.Sprintf("%s events from %s to %s", schemas.Thousands(a.Count),
		a.FirstSeen.UTC().Format("2006-01-02 15:04"), a.LastSeen.UTC().Format("2006-01-02 15:04 UTC"))}
	for _, d := range []struct {
		noun     string
		n        int
		examples []string
	}{{"resources", a.DistinctResources, a.ResourceExamples}, {"actions", a.DistinctActions, a.ActionExamples}, {"subjects", a.DistinctSubjects, a.SubjectExamples}} {
		if d.n == 0 || (d.noun == "subjects" && d.n <= 1) {
			continue
		}
		line := schemas.Thousands(d.n) + " distinct " + d.noun
		if d.n == 1 {
			line = "1 " + strings.TrimSuffix(d.noun, "s")
		}
		if len(d.examples) > 0 {
			sep := ": "
			if d.n > len(d.examples) {
				sep = ", e.g. "
			}
			line += sep + strings.Join(d.examples, ", ")
		}
		out = append(out, line)
	}
	return out
}

// EvidenceLines renders each evidence item as "feature: observed X, baseline Y".
func EvidenceLines(a schemas.Alert) []string {
	out := make([]string, 0, len(a.Evidence))
	for _, e := range a.Evidence {
		out = append(out, fmt.Sprintf("%s: observed %s, baseline %s", e.Feature, orUnknown(e.Observed), orUnknown(e.Baseline)))
	}
	return out
}

// Truncate shortens s to at most max characters (runes), ending with "…"
// when cut, so limits of the receiving API are met without breaking UTF-8.
func Truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= 1 {
		return string([]rune(s)[:max])
	}
	return string([]rune(s)[:max-1]) + "…"
}

// TestAlert is the synthetic alert `agentwatch alerts test` sends.
func TestAlert(receiver string, now time.Time) schemas.Alert {
	issued := now.Add(-30 * 24 * time.Hour)
	return schemas.Alert{
		ID: "test-" + receiver + "-" + now.UTC().Format("20060102T150405Z"), DedupKey: schemas.DedupKeyFor("agentwatch-test", "test.delivery", receiver),
		Detector: "test.delivery", Severity: schemas.SeverityInfo, Score: 0, Boundary: schemas.BoundaryDeclared,
		Identity: schemas.Identity{AgentID: "agentwatch-test", AgentInstance: "test-1", Owner: "agentwatch",
			OnBehalfOf: "nobody", Principal: "agentwatch", CredentialID: "test-credential", CredentialType: schemas.CredStaticKey, CredentialIssued: &issued},
		Summary:   "Test alert from agentwatch: delivery to receiver " + receiver + " works",
		Reason:    "sent by `agentwatch alerts test`; no agent did anything",
		Evidence:  []schemas.Evidence{{Feature: "test", Observed: "1", Baseline: "0"}},
		FirstSeen: now, LastSeen: now, Count: 1, Status: schemas.StatusFiring,
	}
}
