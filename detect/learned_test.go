package detect

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// matureEngine returns an engine whose free-bot has 14 days of history.
func matureEngine(t *testing.T) (*Engine, *gen, time.Time) {
	t.Helper()
	e := newEngine(t, nil)
	g := &gen{}
	if as := benign(e, g, "free-bot", t0, 14); len(as) != 0 {
		t.Fatalf("warm-up raised %v", detectors(as))
	}
	return e, g, t0.Add(14*24*time.Hour + 10*time.Hour)
}

func TestLearnedIdentityDetectors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(ev *schemas.AgentEvent)
		want   string
	}{
		{"new network", func(ev *schemas.AgentEvent) { ev.SrcIP = "203.0.113.9" }, DNewSource},
		{"new client", func(ev *schemas.AgentEvent) { ev.UserAgent = "curl/8.1" }, DNewUserAgent},
		{"client upgrade is not new", func(ev *schemas.AgentEvent) { ev.UserAgent = "bot/1.3" }, ""},
		{"same subnet is not new", func(ev *schemas.AgentEvent) { ev.SrcIP = "10.0.1.200" }, ""},
		{"new delegator", func(ev *schemas.AgentEvent) { ev.OnBehalfOf = "bob@example.com" }, DFirstDelegator},
		{"shared credential", func(ev *schemas.AgentEvent) { ev.CredentialID = "tok-support-bot" }, DCredShared},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, g, at := matureEngine(t)
			// support-bot uses its own token once, so that it is known.
			e.Process(g.ev("support-bot", at.Add(-time.Hour), "tickets.read", "tickets/1"))
			ev := g.ev("free-bot", at, "tickets.read", "tickets/77")
			c.mutate(ev)
			as := e.Process(ev)
			if c.want == "" {
				if len(as) != 0 {
					t.Fatalf("raised %v", detectors(as))
				}
				return
			}
			if len(as) != 1 || as[0].Detector != c.want || as[0].Boundary != schemas.BoundaryLearned || as[0].Validate() != nil {
				t.Fatalf("got %v, want %s", detectors(as), c.want)
			}
			if len(as[0].Evidence) == 0 || as[0].Evidence[0].Baseline == "" {
				t.Fatalf("no baseline in evidence: %+v", as[0].Evidence)
			}
		})
	}
}

func TestDormantAndUnusualHour(t *testing.T) {
	e, g, _ := matureEngine(t)
	back := t0.Add(60 * 24 * time.Hour).Add(11 * time.Hour)
	as := e.Process(g.ev("free-bot", back, "tickets.read", "tickets/5"))
	if len(as) != 1 || as[0].Detector != DDormant {
		t.Fatalf("after 46 days of silence: %v", detectors(as))
	}

	e = newEngine(t, nil)
	g = &gen{}
	// Day-only agent: 08:00-18:00 on weekdays and weekends alike.
	for d := 0; d < 14; d++ {
		for h := 8; h < 18; h++ {
			for i := 0; i < 10; i++ {
				e.Process(g.ev("free-bot", t0.Add(time.Duration(d*24+h)*time.Hour+time.Duration(i)*5*time.Minute), "tickets.read", "tickets/1"))
			}
		}
	}
	night := t0.Add(14*24*time.Hour + 3*time.Hour)
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, detectors(e.Process(g.ev("free-bot", night.Add(time.Duration(i)*time.Minute), "tickets.read", "tickets/1")))...)
	}
	if len(got) != 1 || got[0] != DUnusualHour+"/firing" {
		t.Fatalf("night activity: %v", got)
	}
}

func TestFanoutAndFailures(t *testing.T) {
	e, g, at := matureEngine(t)
	var got []schemas.Alert
	for i := 0; i < 40; i++ {
		ev := g.ev("free-bot", at.Add(time.Duration(i)*time.Minute), "tickets.read", "tickets/1")
		ev.OnBehalfOf = fmt.Sprintf("user%d@example.com", i)
		got = append(got, e.Process(ev)...)
	}
	found := false
	for _, a := range got {
		found = found || a.Detector == DFanout
	}
	if !found {
		t.Fatalf("acting for 40 people in an hour: %v", detectors(got))
	}

	e, g, at = matureEngine(t)
	got = nil
	for i := 0; i < 30; i++ {
		ev := g.ev("free-bot", at.Add(time.Duration(i)*time.Minute), "tickets.read", "tickets/1")
		ev.Outcome = schemas.OutcomeDenied
		got = append(got, e.Process(ev)...)
	}
	if len(got) == 0 || got[0].Detector != DVolumeFailures {
		t.Fatalf("30 denials: %v", detectors(got))
	}
}

func TestLifecycleDetectors(t *testing.T) {
	past := t0.Add(-24 * time.Hour)
	inv, err := inventory.New([]inventory.Agent{
		{ID: "paused", Owner: "o", Status: inventory.StatusSuspended},
		{ID: "expired", Owner: "o", Expires: &past},
		{ID: "orphan"},
		{ID: "nightshift", Owner: "o", Playground: inventory.Playground{Hours: []string{"Mon-Fri 08:00-18:00"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(DefaultConfig(), inv)
	if err != nil {
		t.Fatal(err)
	}
	var g gen
	for id, want := range map[string]string{"paused": DSuspended, "expired": DExpired, "orphan": DOwnerless, "nightshift": DOutsideHours} {
		as := e.Process(g.ev(id, t0.Add(2*time.Hour), "tickets.read", "tickets/1"))
		if len(as) != 1 || as[0].Detector != want || as[0].Boundary != schemas.BoundaryDeclared {
			t.Errorf("%s: got %v, want %s", id, detectors(as), want)
		}
	}
}

func TestDisabledDetector(t *testing.T) {
	e := newEngine(t, func(c *Config) { c.Detectors = map[string]bool{DDecommissioned: false} })
	var g gen
	if as := e.Process(g.ev("old-bot", t0, "tickets.read", "x")); len(as) != 0 {
		t.Fatalf("disabled detector raised %v", detectors(as))
	}
}

func TestCollection(t *testing.T) {
	for in, want := range map[string]string{
		"tickets/{n}":              "tickets",
		"tickets":                  "tickets",
		"arn:aws:s3:::lake/docs/*": "arn:aws:s3:::lake",
		"arn:aws:s3:::lake":        "arn:aws:s3:::",
		"arn:aws:lambda:us-east-1:{n}:function:api-orders":             "arn:aws:lambda:us-east-1:{n}:function",
		"arn:aws:cloudwatch:us-east-1:{n}:alarm:5xx-rate":              "arn:aws:cloudwatch:us-east-1:{n}:alarm",
		"arn:aws:secretsmanager:us-east-1:{n}:secret:prod/devex/token": "arn:aws:secretsmanager:us-east-1:{n}:secret:prod",
		"arn:aws:ecr:us-east-1:{n}:repository/api-orders":              "arn:aws:ecr:us-east-1:{n}:repository",
		"arn:aws:sns:us-east-1:{n}:alerts":                             "arn:aws:sns:us-east-1:{n}:",
		"arn:aws:iam::{n}":                                             "arn:aws:iam::{n}",
	} {
		if got := collection(in); got != want {
			t.Errorf("collection(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNovelResourceInAKnownCollection: a deploy agent updating a new
// Lambda function, when it already updates others, is a new name in a
// collection it uses; a function-less resource type is not.
func TestNovelResourceInAKnownCollection(t *testing.T) {
	e := newEngine(t, nil)
	g := &gen{}
	fn := func(name string) string { return "arn:aws:lambda:us-east-1:123456789012:function:" + name }
	for h := 0; h < 14*24; h++ {
		for i := 0; i < 4; i++ {
			ev := g.ev("free-bot", t0.Add(time.Duration(h)*time.Hour+time.Duration(i*15)*time.Minute), "lambda:UpdateFunctionCode", fn([]string{"api-orders", "notifier"}[i%2]))
			if as := e.Process(ev); len(as) != 0 {
				t.Fatalf("warm-up raised %v", detectors(as))
			}
		}
	}
	at := t0.Add(14*24*time.Hour + 10*time.Hour)
	if as := e.Process(g.ev("free-bot", at, "lambda:UpdateFunctionCode", fn("billing-webhook"))); len(as) != 0 {
		t.Fatalf("a new function: %v", detectors(as))
	}
	if as := e.Process(g.ev("free-bot", at, "lambda:UpdateFunctionCode", "arn:aws:lambda:us-east-1:123456789012:layer:shared")); len(as) != 1 || as[0].Detector != DNovelResource {
		t.Fatalf("a layer: %v", detectors(as))
	}
}
