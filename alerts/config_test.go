package alerts

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/pagerduty"
	"github.com/agentwatch/agentwatch/alerts/slack"
	"github.com/agentwatch/agentwatch/alerts/webhook"
	"github.com/agentwatch/agentwatch/internal/config"
)

type rootConfig struct {
	Alerts Config `koanf:"alerts"`
}

// TestLoadTestdata loads testdata/config.yaml through the project's koanf
// loader on top of the defaults and compares with the exact struct.
func TestLoadTestdata(t *testing.T) {
	got := rootConfig{Alerts: DefaultConfig()}
	if err := config.Load(&got, config.Sources{File: "testdata/config.yaml", Environ: func() []string { return nil }}); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.OutboxPath = "/var/lib/agentwatch/outbox.db"
	want.GiveUpAfter = 2 * time.Hour
	want.OCSF = true
	want.Receivers = []ReceiverConfig{
		{Name: "slack-security", Slack: &slack.Config{TokenFile: "/run/secrets/slack_token", Channel: "#security-alerts"}},
		{Name: "slack-hook", Slack: &slack.Config{WebhookURL: "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"}},
		{Name: "pd-support", PagerDuty: &pagerduty.Config{RoutingKey: "R0UT1NGKEY0000000000000000000000", Service: "support", Timeout: 5 * time.Second}},
		{Name: "siem", Webhook: &webhook.Config{URL: "https://siem.example.com/ingest?token=hooktokensecret", SecretFile: "/run/secrets/webhook_hmac"}},
	}
	want.Route = RouteConfig{Receiver: "slack-security", GroupWait: dur(30 * time.Second), GroupInterval: dur(5 * time.Minute),
		RepeatInterval: dur(4 * time.Hour), PagerDutyDedup: DedupAlert, Routes: []RouteConfig{
			{Receiver: "siem", Continue: true},
			{Matchers: []string{"severity>=critical"}, Receiver: "pd-support", PagerDutyDedup: DedupAgentDetector, GroupWait: dur(0)},
		}}
	want.OwnerRouting = OwnerRoutingConfig{Enabled: true, SlackReceiver: "slack-security"}
	if !reflect.DeepEqual(got.Alerts, want) {
		t.Fatalf("loaded config:\n%#v\nwant:\n%#v", got.Alerts, want)
	}
	if err := got.Alerts.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesKeys(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.OutboxPath = "/tmp/x.db"
		c.Receivers = []ReceiverConfig{
			{Name: "a", Log: &LogConfig{}},
			{Name: "b", PagerDuty: &pagerduty.Config{RoutingKey: "k"}},
			{Name: "c", Slack: &slack.Config{Token: "xoxb-1", Channel: "C1"}},
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"ok", func(*Config) {}, ""},
		{"slack channel", func(c *Config) { c.Receivers[2].Slack.Channel = "" }, "alerts.receivers[2].slack.channel: is required"},
		{"no name", func(c *Config) { c.Receivers[1].Name = "" }, "alerts.receivers[1].name: is required"},
		{"dup name", func(c *Config) { c.Receivers[1].Name = "a" }, `alerts.receivers[1].name: "a" is already used`},
		{"two kinds", func(c *Config) { c.Receivers[0].Webhook = &webhook.Config{} }, "alerts.receivers[0]: set exactly one"},
		{"unknown receiver", func(c *Config) { c.Route.Routes = []RouteConfig{{Receiver: "zz"}} }, `alerts.route.routes[0].receiver: "zz" is not a configured receiver`},
		{"bad matcher", func(c *Config) { c.Route.Routes = []RouteConfig{{Matchers: []string{"severity=urgent"}}} }, "alerts.route.routes[0].matchers"},
		{"root matchers", func(c *Config) { c.Route.Matchers = []string{"agent=x"} }, "alerts.route: the root route"},
		{"dedup", func(c *Config) { c.Route.PagerDutyDedup = "team" }, "alerts.route.pagerduty_dedup"},
		{"negative", func(c *Config) { c.Route.Routes = []RouteConfig{{GroupWait: dur(-time.Second)}} }, "alerts.route.routes[0].group_wait"},
		{"inhibit", func(c *Config) { c.Inhibit[0].TargetMatchers = nil }, "alerts.inhibit_rules[0]"},
		{"owner slack", func(c *Config) { c.OwnerRouting.SlackReceiver = "b" }, "alerts.owner_routing.slack_receiver"},
		{"outbox", func(c *Config) { c.OutboxPath = "" }, "alerts.outbox_path"},
		{"give up", func(c *Config) { c.GiveUpAfter = 0 }, "alerts.give_up_after"},
		{"root timing", func(c *Config) { c.Route.GroupWait = nil }, "alerts.route.group_wait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(&c)
			err := c.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDefaultConfigGoesToConsole(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OutboxPath = t.TempDir() + "/outbox.db"
	td := newTestDispatcher(t, cfg, nil)
	a := alertAt("bot", "novelty.action", "x", td.clock.Now())
	td.submit(t, a)
	td.flush(t) // the console ignores group_wait
	if got := td.console.String(); !strings.Contains(got, "HIGH     bot/bot-7f9c for alice@example.com") {
		t.Fatalf("console = %q", got)
	}
	a.Count = 2
	td.submit(t, a)
	td.flush(t)
	if got := td.console.String(); !strings.Contains(got, "[count 1 → 2]") {
		t.Fatalf("console = %q", got)
	}
}
