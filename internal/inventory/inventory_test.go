package inventory

import (
	"strings"
	"testing"
	"time"
)

const sample = `agents:
  - id: support-bot
    kind: support-bot
    owner: team-support
    contact:
      slack_channel: "#support-agents"
    status: active
    playground:
      systems: [zendesk, crm]
      actions: ["tickets.*", "customers.read"]
      resources: ["tickets/*", "customers/**"]
      hours: ["Mon-Fri 07:00-20:00"]
      delegators: ["customer:*"]
      credentials:
        allowed_types: [oauth_token]
        max_age: 1d
  - id: old-bot
    status: decommissioned
    expires: 2026-01-01T00:00:00Z
`

func TestParseAndMatch(t *testing.T) {
	inv, err := Parse("agents.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Len() != 2 || strings.Join(inv.IDs(), ",") != "old-bot,support-bot" {
		t.Fatalf("ids = %v", inv.IDs())
	}
	a := inv.Get("support-bot")
	p := &a.Playground
	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"system allowed", p.AllowsSystem("crm"), true},
		{"system denied", p.AllowsSystem("github"), false},
		{"action glob", p.AllowsAction("tickets.read"), true},
		{"action denied", p.AllowsAction("customers.delete"), false},
		{"resource one segment", p.AllowsResource("tickets/123"), true},
		{"resource star stops at slash", p.AllowsResource("tickets/123/attachments"), false},
		{"resource double star", p.AllowsResource("customers/eu/42"), true},
		{"delegator", p.AllowsDelegator("customer:77"), true},
		{"delegator denied", p.AllowsDelegator("admin:root"), false},
		{"weekday hours", p.AllowsTime(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)), true},
		{"weekday night", p.AllowsTime(time.Date(2026, 3, 4, 21, 0, 0, 0, time.UTC)), false},
		{"sunday", p.AllowsTime(time.Date(2026, 3, 8, 9, 0, 0, 0, time.UTC)), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v want %v", c.name, c.got, c.want)
		}
	}
	if time.Duration(p.CredentialPolicy.MaxAge) != 24*time.Hour {
		t.Errorf("max_age = %v", time.Duration(p.CredentialPolicy.MaxAge))
	}
	old := inv.Get("old-bot")
	if !old.Expired(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) || old.Status != StatusDecommissioned {
		t.Errorf("old-bot: %+v", old)
	}
	if row := a.Row(time.Unix(0, 0)); row.SlackChannel != "#support-agents" || !strings.Contains(row.Declared, "customers.read") {
		t.Errorf("row = %+v", row)
	}
}

func TestErrorsNameFileLineAndKey(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"unknown key", "agents:\n  - id: a\n    playgroud:\n      systems: [x]\n", "agents.yaml:3"},
		{"bad status", "agents:\n  - id: a\n  - id: b\n    status: retired\n", "agents.yaml:3: agent \"b\": key status"},
		{"bad hours", "agents:\n  - id: a\n    playground:\n      hours: [\"Mon-Fri 9-5\"]\n", "key playground.hours"},
		{"bad credential type", "agents:\n  - id: a\n    playground:\n      credentials:\n        allowed_types: [magic]\n", "allowed_types"},
		{"duplicate", "agents:\n  - id: a\n  - id: a\n", "agents.yaml:3: agent \"a\": id already declared at line 2"},
		{"missing id", "agents:\n  - owner: x\n", "agents.yaml:2: agent \"\": key id: is required"},
		{"bad duration", "agents:\n  - id: a\n    playground:\n      credentials:\n        max_age: forever\n", "forever"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("agents.yaml", []byte(c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"s3:Get*", "s3:GetObject", true},
		{"s3:Get*", "s3:PutObject", false},
		{"arn:aws:s3:::bucket/**", "arn:aws:s3:::bucket/a/b/c", true},
		{"**", "anything/at/all", true},
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/b/x/c", false},
	}
	for _, c := range cases {
		if got := Glob(c.pattern, c.name); got != c.want {
			t.Errorf("Glob(%q,%q)=%v", c.pattern, c.name, got)
		}
	}
}
