package alerts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

func TestMatchers(t *testing.T) {
	a := alertAt("support-bot", "novelty.action", "x", time.Now())
	a.Labels = map[string]string{"env": "prod"}
	for _, tc := range []struct {
		m    string
		want bool
	}{
		{"severity=high", true}, {`severity="low"`, false}, {"severity>=medium", true}, {"severity>=critical", false},
		{"severity<=high", true}, {"detector=~novelty\\..*", true}, {"detector!~novelty.*", false},
		{"agent=support-bot", true}, {"agent!=support-bot", false}, {"owner=team-support", true},
		{"env=prod", true}, {"env=dev", false}, {"missing=", true}, {"status=firing", true}, {"boundary=learned", true},
	} {
		m, err := ParseMatcher(tc.m)
		if err != nil {
			t.Fatalf("ParseMatcher(%q): %v", tc.m, err)
		}
		if got := m.Matches(&a); got != tc.want {
			t.Errorf("%s on alert = %v, want %v", tc.m, got, tc.want)
		}
	}
	for _, bad := range []string{"severity=urgent", "noop", "agent>=x", "detector=~(", "=x", "bad name=x"} {
		if _, err := ParseMatcher(bad); err == nil {
			t.Errorf("ParseMatcher(%q) accepted", bad)
		}
	}
}

func TestRoutingTree(t *testing.T) {
	cfg := testConfig(t)
	cfg.Receivers = []ReceiverConfig{
		pdReceiver("pd-critical", "http://pd"), pdReceiver("pd-payments", "http://pd"),
		webhookReceiver("siem", "http://siem"), slackHookReceiver("slack-sec", "http://slack"),
	}
	cfg.Route.Receiver = "slack-sec"
	cfg.Route.Routes = []RouteConfig{
		{Receiver: "siem", Continue: true},
		{Receiver: "pd-critical", Matchers: []string{"severity=critical"}, Continue: true},
		{Matchers: []string{"owner=team-payments"}, Receiver: "pd-payments", Routes: []RouteConfig{
			{Matchers: []string{"detector=lifecycle.decommissioned"}, Receiver: "pd-critical"},
		}},
		{Matchers: []string{"env=staging"}, Receiver: "slack-sec", GroupWait: dur(5 * time.Minute)},
	}
	rt, err := newRouter(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(f func(*schemas.Alert)) schemas.Alert {
		a := alertAt("bot", "novelty.action", "x", time.Now())
		f(&a)
		return a
	}
	for _, tc := range []struct {
		name string
		a    schemas.Alert
		want string
	}{
		{"siem always, then default", mk(func(a *schemas.Alert) {}), "siem slack-sec"},
		{"critical fans out", mk(func(a *schemas.Alert) { a.Severity = "critical" }), "siem pd-critical slack-sec"},
		{"owner route", mk(func(a *schemas.Alert) { a.Identity.Owner = "team-payments" }), "siem pd-payments"},
		{"nested route", mk(func(a *schemas.Alert) { a.Identity.Owner = "team-payments"; a.Detector = "lifecycle.decommissioned" }), "siem pd-critical"},
		{"critical and owner", mk(func(a *schemas.Alert) { a.Severity = "critical"; a.Identity.Owner = "team-payments" }), "siem pd-critical pd-payments"},
		{"label route", mk(func(a *schemas.Alert) { a.Labels = map[string]string{"env": "staging"} }), "siem slack-sec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, tg := range rt.targets(&tc.a) {
				got = append(got, tg.receiver)
			}
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("receivers = %v, want %s", got, tc.want)
			}
		})
	}
	// Timings inherit, and a route's own override wins.
	a := mk(func(a *schemas.Alert) { a.Labels = map[string]string{"env": "staging"} })
	ts := rt.targets(&a)
	if ts[1].groupWait != 5*time.Minute || ts[1].repeatInterval != 4*time.Hour || ts[0].groupWait != 0 {
		t.Fatalf("timings = %+v", ts)
	}
}

func TestOwnerRouting(t *testing.T) {
	inv, err := inventory.New([]inventory.Agent{
		{ID: "support-bot", Owner: "team-support", Contact: inventory.Contact{SlackChannel: "#support-alerts", PagerDutyService: "support"}},
		{ID: "etl-bot", Owner: "team-data", Contact: inventory.Contact{SlackChannel: "#data-alerts"}},
		{ID: "quiet-bot", Owner: "team-quiet"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := fakes.NewSlack()
	defer s.Close()
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	cfg := testConfig(t)
	support := pdReceiver("pd-support", pd.URL)
	support.PagerDuty.Service = "support"
	cfg.Receivers = []ReceiverConfig{slackAPIReceiver("slack", s.URL, "#security"), support, webhookReceiver("siem", "http://127.0.0.1:1")}
	cfg.Route.Receiver = "slack"
	cfg.Route.Routes = []RouteConfig{{Matchers: []string{"severity=critical"}, Receiver: "siem"}}
	td := newTestDispatcher(t, cfg, inv)
	now := td.clock.Now()
	sup := alertAt("support-bot", "novelty.action", "x", now)
	sup.Identity.Owner = "" // the dispatcher fills it from the inventory
	etl := alertAt("etl-bot", "novelty.action", "x", now)
	quiet := alertAt("quiet-bot", "novelty.action", "x", now)
	crit := alertAt("support-bot", "novelty.system", "x", now)
	crit.Severity = schemas.SeverityCritical
	td.submit(t, sup, etl, quiet, crit)
	got := map[string]string{}
	for _, r := range td.rows(t) {
		got[r.Alert.ID] += r.Receiver + ":" + r.Target + " "
	}
	want := map[string]string{
		sup.ID:   "slack:#support-alerts pd-support: ",
		etl.ID:   "slack:#data-alerts ",
		quiet.ID: "slack: ",
		crit.ID:  "siem: ", // a route says otherwise
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s → %q, want %q", id, got[id], w)
		}
	}
	td.flush(t)
	chans := map[string]bool{}
	for _, m := range s.Messages() {
		chans[m.Channel] = true
	}
	if !chans[fakes.ChannelID("#support-alerts")] || !chans[fakes.ChannelID("#data-alerts")] || !chans[fakes.ChannelID("#security")] || len(pd.Triggers()) != 1 {
		t.Fatalf("slack channels %v, pagerduty %v", chans, pd.Triggers())
	}
	if !strings.Contains(string(mustJSON(t, s.Messages()[0].Blocks)), "team-support") {
		t.Fatal("owner from the inventory missing in the message")
	}
}

func TestInhibition(t *testing.T) {
	for _, tc := range []struct {
		name      string
		source    *schemas.Alert
		target    schemas.Alert
		inhibited bool
	}{
		{"decommissioned mutes first action", ptr(alertAt("bot", "lifecycle.decommissioned", "", time.Now())),
			alertAt("bot", "playground.first_action", "x", time.Now()), true},
		{"decommissioned mutes new source", ptr(alertAt("bot", "lifecycle.decommissioned", "", time.Now())),
			alertAt("bot", "network.new_source", "10.0.0.0/8", time.Now()), true},
		{"other agent is not muted", ptr(alertAt("bot", "lifecycle.decommissioned", "", time.Now())),
			alertAt("other", "playground.first_action", "x", time.Now()), false},
		{"non-novelty is not muted", ptr(alertAt("bot", "lifecycle.decommissioned", "", time.Now())),
			alertAt("bot", "playground.declared", "x", time.Now()), false},
		{"resolved source mutes nothing", ptr(resolved(alertAt("bot", "lifecycle.decommissioned", "", time.Now()))),
			alertAt("bot", "playground.first_action", "x", time.Now()), false},
		{"no source", nil, alertAt("bot", "playground.first_action", "x", time.Now()), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := newTestDispatcher(t, testConfig(t), nil)
			if tc.source != nil {
				td.submit(t, *tc.source)
			}
			td.submit(t, tc.target)
			var row *Notification
			for _, r := range td.rows(t) {
				if r.Alert.ID == tc.target.ID {
					row = &r
				}
			}
			if row == nil {
				t.Fatal("no row for the target")
			}
			if got := row.State == outbox.StateSuppressed; got != tc.inhibited {
				t.Fatalf("state %s (%s), inhibited want %v", row.State, row.LastError, tc.inhibited)
			}
			if tc.inhibited && !strings.Contains(row.LastError, "inhibited by alert") {
				t.Fatalf("reason = %q", row.LastError)
			}
		})
	}
}

// TestInhibitionAtDelivery: the source arrives after the target was
// submitted but before it was sent; the target is still muted.
func TestInhibitionAtDelivery(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	cfg := pdConfig(t, pd.URL)
	cfg.Route.GroupWait = dur(30 * time.Second)
	td := newTestDispatcher(t, cfg, nil)
	now := td.clock.Now()
	novel := alertAt("bot", "playground.first_action", "x", now)
	td.submit(t, novel, alertAt("bot", "lifecycle.decommissioned", "", now))
	td.clock.Advance(30 * time.Second)
	td.flush(t)
	if got := pd.Triggers(); len(got) != 1 || got[novel.NotifyKey()] != 0 {
		t.Fatalf("triggers = %v, want only the decommission alert", got)
	}
}

func resolved(a schemas.Alert) schemas.Alert { a.Status = schemas.StatusResolved; return a }
func ptr[T any](v T) *T                      { return &v }

// TestGroupTimings checks group_wait, group_interval and repeat_interval
// for a receiver that edits in place (Slack Web API) and one that cannot
// (signed webhook).
func TestGroupTimings(t *testing.T) {
	s := fakes.NewSlack()
	defer s.Close()
	hook := newRecorder()
	defer hook.Close()
	cfg := testConfig(t)
	cfg.Receivers = []ReceiverConfig{slackAPIReceiver("slack", s.URL, "#sec"), webhookReceiver("hook", hook.URL)}
	cfg.Route = RouteConfig{Receiver: "slack", GroupWait: dur(30 * time.Second), GroupInterval: dur(5 * time.Minute),
		RepeatInterval: dur(time.Hour), Routes: []RouteConfig{{Receiver: "hook", Continue: true}, {Receiver: "slack"}}}
	td := newTestDispatcher(t, cfg, nil)
	a := alertAt("bot", "novelty.action", "x", td.clock.Now())
	step := func(d time.Duration, count int, wantSlackUpdates, wantHooks int) {
		t.Helper()
		td.clock.Advance(d)
		if count > 0 {
			a.Count, a.LastSeen = count, td.clock.Now()
			td.submit(t, a)
		}
		td.flush(t)
		updates := 0
		if m := s.Messages(); len(m) > 0 {
			updates = 1 + m[0].Updates
		}
		if updates != wantSlackUpdates || hook.count() != wantHooks {
			t.Fatalf("at +%s count %d: slack posts+updates %d (want %d), webhook posts %d (want %d)",
				td.clock.Now().Sub(a.FirstSeen), count, updates, wantSlackUpdates, hook.count(), wantHooks)
		}
	}
	step(0, 1, 0, 0)              // group_wait holds the first notification
	step(10*time.Second, 2, 0, 0) // a repeat during group_wait joins it
	step(20*time.Second, 0, 1, 1) // group_wait over: one message each, count 2
	step(time.Minute, 3, 1, 1)    // repeat inside group_interval waits
	step(4*time.Minute, 0, 2, 1)  // group_interval over: Slack updates; the webhook waits for repeat_interval
	step(30*time.Minute, 4, 3, 1) // group_interval long over: Slack updates at once; the webhook is inside repeat_interval
	step(25*time.Minute, 0, 3, 2) // repeat_interval over: the webhook gets count 4
	// A growing count only edits the message: no thread replies.
	if len(s.Messages()) != 1 || len(s.Replies()) != 0 {
		t.Fatalf("slack messages %d replies %d, want one message and no thread replies", len(s.Messages()), len(s.Replies()))
	}
	// A resolution waits only group_interval, for both.
	a.Status = schemas.StatusResolved
	step(time.Minute, a.Count, 4, 2) // Slack's last send is older than group_interval
	step(5*time.Minute, 0, 4, 3)     // the webhook's group_interval since its last send is over
	if last := s.Replies()[len(s.Replies())-1]; !strings.Contains(last.Text, "Resolved") {
		t.Fatalf("last reply %q", last.Text)
	}
}

func TestSilences(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	td := newTestDispatcher(t, pdConfig(t, pd.URL), nil)
	ctx := context.Background()
	sil := td.Silences()
	if _, err := sil.Add(ctx, Silence{Matchers: []string{"agent=bot"}, EndsAt: td.clock.Now().Add(time.Hour)}); err == nil {
		t.Fatal("silence without a comment accepted")
	}
	if _, err := sil.Add(ctx, Silence{Matchers: []string{"agent=~("}, Comment: "x", EndsAt: td.clock.Now().Add(time.Hour)}); err == nil {
		t.Fatal("silence with a bad matcher accepted")
	}
	id, err := sil.Add(ctx, Silence{Matchers: []string{"agent=bot", "detector=novelty.action"}, Comment: "deploy added deletes", CreatedBy: "alice", EndsAt: td.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	td.submit(t, alertAt("bot", "novelty.action", "x", td.clock.Now()), alertAt("bot", "novelty.system", "y", td.clock.Now()))
	td.flush(t)
	if got := pd.Triggers(); len(got) != 1 || got["bot|novelty.system|y|bot-novelty.system-y"] != 1 {
		t.Fatalf("triggers during silence = %v", got)
	}
	list, _ := sil.List(ctx, false)
	if len(list) != 1 || list[0].ID != id || list[0].CreatedBy != "alice" {
		t.Fatalf("List = %+v", list)
	}
	// The silence expires by itself.
	td.clock.Advance(61 * time.Minute)
	if list, _ := sil.List(ctx, false); len(list) != 0 {
		t.Fatalf("expired silence still listed as active: %+v", list)
	}
	if all, _ := sil.List(ctx, true); len(all) != 1 {
		t.Fatalf("List(includeExpired) = %d", len(all))
	}
	a := alertAt("bot", "novelty.action", "x", td.clock.Now())
	a.Count = 2
	td.submit(t, a)
	td.flush(t)
	if got := pd.Triggers()["bot|novelty.action|x|bot-novelty.action-x"]; got != 1 {
		t.Fatalf("after expiry triggers = %d, want 1", got)
	}

	// Expire by hand; a silence added after Submit still mutes delivery.
	id2, err := sil.Add(ctx, Silence{Matchers: []string{"agent=late"}, Comment: "c", EndsAt: td.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := sil.Expire(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if err := sil.Expire(ctx, id2); err == nil {
		t.Fatal("expiring twice succeeded")
	}
	td.submit(t, alertAt("late", "novelty.action", "x", td.clock.Now()))
	if _, err := sil.Add(ctx, Silence{Matchers: []string{"agent=late"}, Comment: "c", EndsAt: td.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	td.flush(t)
	if got := pd.Triggers()["late|novelty.action|x|late-novelty.action-x"]; got != 0 {
		t.Fatalf("silence added after submit did not mute delivery")
	}

	// OpenSilences works on the file without a dispatcher.
	s2, err := OpenSilences(td.cfg.OutboxPath, WithClock(td.clock))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if all, _ := s2.List(ctx, true); len(all) != 3 {
		t.Fatalf("OpenSilences list = %d, want 3", len(all))
	}
}

func TestPagerDutyDedupGranularity(t *testing.T) {
	for _, tc := range []struct {
		dedup string
		keys  int
	}{{DedupAlert, 3}, {DedupAgentDetector, 2}, {DedupAgent, 1}} {
		t.Run(tc.dedup, func(t *testing.T) {
			pd := fakes.NewPagerDuty()
			defer pd.Close()
			cfg := pdConfig(t, pd.URL)
			cfg.Route.PagerDutyDedup = tc.dedup
			td := newTestDispatcher(t, cfg, nil)
			now := td.clock.Now()
			a1, a2, a3 := alertAt("bot", "novelty.action", "x", now), alertAt("bot", "novelty.action", "y", now), alertAt("bot", "novelty.system", "z", now)
			td.submit(t, a1, a2, a3)
			td.flush(t)
			if got := len(pd.Triggers()); got != tc.keys {
				t.Fatalf("distinct dedup keys = %d, want %d (%v)", got, tc.keys, pd.Triggers())
			}
			// Resolving one alert closes its incident only when nothing
			// else under the same key still fires.
			td.clock.Advance(10 * time.Minute)
			td.submit(t, resolved(a1))
			td.flush(t)
			resolves := 0
			for _, e := range pd.Events() {
				if e.EventAction == "resolve" {
					resolves++
				}
			}
			want := map[string]int{DedupAlert: 1, DedupAgentDetector: 0, DedupAgent: 0}[tc.dedup]
			if resolves != want {
				t.Fatalf("resolves = %d, want %d", resolves, want)
			}
		})
	}
}
