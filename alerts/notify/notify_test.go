package notify

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

func TestRetryable(t *testing.T) {
	for code, want := range map[int]bool{200: false, 400: false, 401: false, 403: false, 404: false, 410: false, 413: false,
		429: true, 500: true, 502: true, 503: true, 504: true} {
		if got := Retryable(code); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "30": 30 * time.Second, " 5 ": 5 * time.Second, "-1": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestInvestigateQueryEscapes(t *testing.T) {
	q := InvestigateQuery(`evil' OR 1=1 --\`)
	want := `agent_id = 'evil'' OR 1=1 --\\' AND`
	if !strings.Contains(q, want) {
		t.Fatalf("query = %s, want it to contain %s", q, want)
	}
	if !strings.HasPrefix(q, "SELECT time, action, system, resource, outcome FROM events WHERE") || !strings.HasSuffix(q, "LIMIT 50") {
		t.Fatalf("query = %s", q)
	}
}

func TestChange(t *testing.T) {
	a := schemas.Alert{Status: schemas.StatusResolved, Severity: schemas.SeverityHigh, Count: 4}
	for _, tc := range []struct {
		prev State
		want string
	}{
		{State{}, ""},
		{State{Sent: true, Status: "firing", Severity: "high", Count: 4}, "resolved"},
		{State{Sent: true, Status: "resolved", Severity: "medium", Count: 1}, "severity medium → high; count 1 → 4"},
	} {
		if got := Change(tc.prev, a); got != tc.want {
			t.Errorf("Change(%+v) = %q, want %q", tc.prev, got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate("héllo wörld", 5); got != "héll…" {
		t.Fatalf("Truncate = %q", got)
	}
	if got := Truncate("abc", 5); got != "abc" {
		t.Fatalf("Truncate = %q", got)
	}
}

func TestScrubURLSecrets(t *testing.T) {
	u := "https://user:p4ssw0rd@hooks.example.com/services/T000/B000/XXXXSECRETXXXX?token=qtoken123"
	msg := "POST /services/T000/B000/XXXXSECRETXXXX?token=qtoken123 failed; path XXXXSECRETXXXX; pw p4ssw0rd; q qtoken123; url " + u
	got := Scrub(msg, URLSecrets(u))
	for _, s := range []string{"XXXXSECRETXXXX", "qtoken123", "p4ssw0rd"} {
		if strings.Contains(got, s) {
			t.Fatalf("scrubbed text still contains %q: %s", s, got)
		}
	}
	if !strings.Contains(got, "failed") {
		t.Fatalf("scrub removed the message: %s", got)
	}
}

func TestIdentityFields(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	issued := now.Add(-3 * time.Hour)
	a := schemas.Alert{Identity: schemas.Identity{AgentID: "bot", CredentialID: "k1", CredentialIssued: &issued}}
	f := IdentityFields(a, now)
	if len(f) != 6 || f[1].Value != "unknown" || f[5].Value != "k1, 3h old" {
		t.Fatalf("fields = %+v", f)
	}
}
