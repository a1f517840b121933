package alerts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/schemas"
)

func pdConfig(t *testing.T, url string) Config {
	cfg := testConfig(t)
	cfg.Receivers = []ReceiverConfig{pdReceiver("pd", url)}
	cfg.Route.Receiver = "pd"
	return cfg
}

func TestSubmitIsDurableBeforeDelivery(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	cfg := pdConfig(t, pd.URL)
	cfg.Route.GroupWait = dur(30 * time.Second)
	td := newTestDispatcher(t, cfg, nil)
	a := alertAt("support-bot", "novelty.action", "s3:DeleteObject", td.clock.Now())
	td.submit(t, a)

	// Durable: a second handle on the file sees the pending row at once.
	ob, err := outbox.Open(cfg.OutboxPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	rows, err := ob.List(context.Background(), outbox.StatePending)
	if err != nil || len(rows) != 1 || rows[0].Alert.ID != a.ID || rows[0].Receiver != "pd" {
		t.Fatalf("pending rows = %+v, %v; want one for %s", rows, err, a.ID)
	}

	td.flush(t) // group_wait not over
	if n := len(pd.Events()); n != 0 {
		t.Fatalf("delivered %d events before group_wait", n)
	}
	td.clock.Advance(30 * time.Second)
	td.flush(t)
	if got := pd.Triggers(); got[a.NotifyKey()] != 1 || len(got) != 1 {
		t.Fatalf("triggers = %v, want one for %q", got, a.NotifyKey())
	}
	if r := td.rows(t); r[0].State != outbox.StateDelivered {
		t.Fatalf("state = %s, want delivered", r[0].State)
	}
}

func TestDeliveryOutcomes(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		retryAfter int
		wantState  string
		wantNext   time.Duration // after the failed attempt
		wantReason string
	}{
		{"5xx is retried with backoff", 503, 0, outbox.StatePending, time.Second * 3 / 4, "HTTP 503"},
		{"429 honours Retry-After", 429, 120, outbox.StatePending, 120 * time.Second, "HTTP 429"},
		{"400 fails at once with the reason", 400, 0, outbox.StateFailed, 0, "routing_key"},
		{"403 fails at once", 403, 0, outbox.StateFailed, 0, "HTTP 403"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pd := fakes.NewPagerDuty()
			defer pd.Close()
			if tc.status == 400 {
				pd.RoutingKey = "another-key"
			} else {
				pd.FailNext(1, tc.status, tc.retryAfter, `{"status":"error"}`)
			}
			td := newTestDispatcher(t, pdConfig(t, pd.URL), nil)
			td.submit(t, alertAt("bot", "novelty.action", "x", td.clock.Now()))
			start := td.clock.Now()
			td.flush(t)
			row := td.rows(t)[0]
			if row.State != tc.wantState || row.Attempts != 1 || !strings.Contains(row.LastError, tc.wantReason) {
				t.Fatalf("row = state %s attempts %d error %q; want %s, 1, containing %q", row.State, row.Attempts, row.LastError, tc.wantState, tc.wantReason)
			}
			if strings.Contains(row.LastError, "R0UT1NGKEY") {
				t.Fatalf("last_error leaks the routing key: %q", row.LastError)
			}
			if tc.wantState == outbox.StatePending {
				if got := row.NextAttemptAt.Sub(start); got != tc.wantNext {
					t.Fatalf("next attempt in %s, want %s", got, tc.wantNext)
				}
				td.clock.Advance(tc.wantNext)
				td.flush(t)
				if row := td.rows(t)[0]; row.State != outbox.StateDelivered {
					t.Fatalf("after retry state = %s (%s), want delivered", row.State, row.LastError)
				}
			}
		})
	}
}

func TestGiveUpListFailedAndRetry(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	cfg := pdConfig(t, pd.URL)
	cfg.GiveUpAfter = 10 * time.Minute
	td := newTestDispatcher(t, cfg, nil)
	pd.FailNext(1000, 500, 0, "boom")
	a := alertAt("bot", "novelty.action", "x", td.clock.Now())
	td.submit(t, a)
	var delays []time.Duration
	for i := 0; i < 50; i++ {
		td.flush(t)
		row := td.rows(t)[0]
		if row.State == outbox.StateFailed {
			break
		}
		d := row.NextAttemptAt.Sub(td.clock.Now())
		delays = append(delays, d)
		td.clock.Advance(d)
	}
	failed, err := td.ListFailed(context.Background())
	if err != nil || len(failed) != 1 {
		t.Fatalf("ListFailed = %v, %v; want one (delays %v)", failed, err, delays)
	}
	if !strings.Contains(failed[0].LastError, "gave up after") || !strings.Contains(failed[0].LastError, "HTTP 500") {
		t.Fatalf("last_error = %q", failed[0].LastError)
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] < delays[i-1] {
			t.Fatalf("backoff shrank: %v", delays)
		}
	}
	if len(delays) < 4 {
		t.Fatalf("only %d retries before giving up: %v", len(delays), delays)
	}

	pd.FailNext(0, 0, 0, "")
	pdReset(pd)
	if err := td.Retry(context.Background(), failed[0].ID); err != nil {
		t.Fatal(err)
	}
	td.flush(t)
	if got := pd.Triggers()[a.NotifyKey()]; got != 1 {
		t.Fatalf("after Retry triggers = %d, want 1", got)
	}
	if err := td.Retry(context.Background(), failed[0].ID); err == nil {
		t.Fatal("Retry of a delivered notification succeeded; want an error naming it")
	}
}

// pdReset drops the queued failures.
func pdReset(pd *fakes.PagerDuty) { pd.ClearFailures() }

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n          int
		jitter     float64
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, 0, 500 * time.Millisecond},
		{1, 0.999999, 0, 999 * time.Millisecond},
		{2, 0, 0, time.Second},
		{4, 1, 0, 8 * time.Second},
		{30, 0, 0, 150 * time.Second},
		{30, 1, 0, 300 * time.Second},
		{1, 0, 90 * time.Second, 90 * time.Second},
	} {
		got := backoff(tc.n, time.Second, 5*time.Minute, tc.jitter, tc.retryAfter).Truncate(time.Millisecond)
		if got != tc.want {
			t.Errorf("backoff(%d, jitter %v, retry-after %v) = %v, want %v", tc.n, tc.jitter, tc.retryAfter, got, tc.want)
		}
	}
}

// TestCrashWithPendingDeliveries submits alerts, delivers some, "crashes"
// (the dispatcher is abandoned without Close, its rows half done, and the
// detector resubmits what it had not committed), then a new dispatcher on
// the same outbox delivers the rest: every dedup key triggers exactly once.
func TestCrashWithPendingDeliveries(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	cfg := pdConfig(t, pd.URL)
	first := newTestDispatcher(t, cfg, nil)
	now := first.clock.Now()
	var batch []schemas.Alert
	for i := range 20 {
		batch = append(batch, alertAt(fmt.Sprintf("agent-%02d", i), "novelty.action", "s", now))
	}
	first.submit(t, batch...)
	// Five go through, the sixth meets a 503 and waits for its retry.
	pd.FailNext(0, 0, 0, "")
	limitDeliveries(t, first, 5)
	pd.FailNext(1, 503, 0, "")
	limitDeliveries(t, first, 1)
	delivered := len(pd.Triggers())
	if delivered != 5 {
		t.Fatalf("before the crash %d keys delivered; the test needs some pending", delivered)
	}

	// Restart: a new dispatcher, later clock, the detector resubmits the
	// batch it never committed.
	second := newTestDispatcher(t, cfg, nil)
	second.clock.Advance(time.Hour)
	second.submit(t, batch...)
	second.flush(t)
	got := pd.Triggers()
	if len(got) != 20 {
		t.Fatalf("after restart %d of 20 keys delivered", len(got))
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("dedup key %q triggered %d times", k, n)
		}
	}
	for _, r := range second.rows(t) {
		if r.State != outbox.StateDelivered {
			t.Errorf("row %d state %s (%s)", r.ID, r.State, r.LastError)
		}
	}
}

// limitDeliveries delivers exactly n rows of the first receiver.
func limitDeliveries(t *testing.T, td *testDispatcher, n int) {
	t.Helper()
	r := td.receivers[td.order[len(td.order)-1]]
	rows, err := td.ob.Due(context.Background(), r.name, td.clock.Now(), n)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if err := td.deliverOne(context.Background(), r, row, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDryRunAndInvalidAlerts(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	td := newTestDispatcher(t, pdConfig(t, pd.URL), nil)
	a := alertAt("bot", "novelty.action", "x", td.clock.Now())
	a.DryRun = true
	td.submit(t, a)
	if rows := td.rows(t); len(rows) != 0 {
		t.Fatalf("dry-run alert produced %d notifications", len(rows))
	}
	bad := alertAt("bot", "novelty.action", "y", td.clock.Now())
	bad.Severity = "urgent"
	good := alertAt("bot", "novelty.action", "z", td.clock.Now())
	err := td.Submit(context.Background(), bad, good)
	var inv *InvalidAlertsError
	if !errors.As(err, &inv) || len(inv.Alerts) != 1 || inv.Alerts[0].ID != bad.ID || !strings.Contains(err.Error(), "severity") {
		t.Fatalf("Submit(invalid, valid) = %v, want an InvalidAlertsError naming severity", err)
	}
	if rows := td.rows(t); len(rows) != 1 || rows[0].Alert.ID != good.ID {
		t.Fatalf("rows = %+v, want the valid alert recorded", rows)
	}
}

// TestSlowReceiverDoesNotBlock runs the real loop: one receiver hangs,
// the other still gets its alert promptly.
func TestSlowReceiverDoesNotBlock(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	release := make(chan struct{})
	slow := newHangingServer(release)
	defer slow.Close()
	defer close(release)
	cfg := testConfig(t)
	cfg.Receivers = []ReceiverConfig{pdReceiver("pd", pd.URL), webhookReceiver("slow", slow.URL)}
	cfg.Route.Receiver = "pd"
	cfg.Route.Routes = []RouteConfig{{Receiver: "slow", Continue: true}, {Receiver: "pd"}}
	d, err := NewDispatcher(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	now := time.Now()
	for i := range 3 {
		if err := d.Submit(ctx, alertAt(fmt.Sprintf("a%d", i), "novelty.action", "x", now)); err != nil {
			t.Fatal(err)
		}
	}
	// The fake records a trigger when it receives it; the outbox row turns
	// delivered only after the response, so wait for the rows themselves.
	waitFor(t, 5*time.Second, func() bool {
		rows, err := d.List(context.Background(), outbox.StateDelivered)
		return err == nil && len(rows) == 3
	})
	if n := len(pd.Triggers()); n != 3 {
		t.Fatalf("PagerDuty received %d triggers, want 3", n)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	rows, _ := d.List(context.Background(), outbox.StatePending)
	if len(rows) != 3 || rows[0].Receiver != "slow" {
		t.Fatalf("pending after shutdown = %d rows, want the 3 for the slow receiver", len(rows))
	}
}

func newHangingServer(release chan struct{}) *httpServer {
	return newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSendTest(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	td := newTestDispatcher(t, pdConfig(t, pd.URL), nil)
	if err := td.SendTest(context.Background(), "pd"); err != nil {
		t.Fatal(err)
	}
	ev := pd.Events()
	if len(ev) != 1 || ev[0].EventAction != "trigger" || !strings.Contains(fmt.Sprint(ev[0].Payload["summary"]), "Test alert") {
		t.Fatalf("events = %+v", ev)
	}
	if err := td.SendTest(context.Background(), "console"); err != nil || !strings.Contains(td.console.String(), "TEST ") {
		t.Fatalf("console test: %v, %q", err, td.console.String())
	}
	if err := td.SendTest(context.Background(), "nope"); err == nil || !strings.Contains(err.Error(), "configured: console, pd") {
		t.Fatalf("SendTest(nope) = %v", err)
	}
	if rows := td.rows(t); len(rows) != 0 {
		t.Fatalf("test alerts went through the outbox: %d rows", len(rows))
	}
}

// TestRunSleepsUntilDue runs the real loop on the fake clock: it waits for
// group_wait on the clock, then delivers once the clock passes it.
func TestRunSleepsUntilDue(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	cfg := pdConfig(t, pd.URL)
	cfg.Route.GroupWait = dur(20 * time.Second)
	td := newTestDispatcher(t, cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- td.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// Both receiver loops and the prune loop park on the clock.
	waitFor(t, 5*time.Second, func() bool { return td.clock.waiting() >= 3 })
	td.submit(t, alertAt("bot", "novelty.action", "x", td.clock.Now()))
	// The pd loop wakes on Submit and parks again until group_wait.
	waitFor(t, 5*time.Second, func() bool { return td.clock.waiting() >= 3 && td.pdWaitingFor(20*time.Second) })
	if n := len(pd.Events()); n != 0 {
		t.Fatalf("delivered %d events before group_wait", n)
	}
	td.clock.Advance(20 * time.Second)
	waitFor(t, 5*time.Second, func() bool { return len(pd.Triggers()) == 1 })
	if err := td.Run(ctx); err == nil {
		t.Fatal("a second concurrent Run was accepted")
	}
}

// pdWaitingFor reports whether some loop waits exactly d from now.
func (td *testDispatcher) pdWaitingFor(d time.Duration) bool {
	td.clock.mu.Lock()
	defer td.clock.mu.Unlock()
	for _, w := range td.clock.waiters {
		if w.at.Equal(td.clock.now.Add(d)) {
			return true
		}
	}
	return false
}

// TestResubmittedAlertIsNotNotifiedAgain: the alerts stage submits a
// batch again when a later step of the same batch fails (the alerts table
// write is retried after the outbox write), and after a crash before its
// commit. The same alert submitted again must not page or post again.
func TestResubmittedAlertIsNotNotifiedAgain(t *testing.T) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	s := fakes.NewSlack()
	defer s.Close()
	cfg := testConfig(t)
	cfg.Receivers = []ReceiverConfig{pdReceiver("pd", pd.URL), slackAPIReceiver("slack", s.URL, "#security")}
	cfg.Route.Receiver = "slack"
	cfg.Route.Routes = []RouteConfig{{Matchers: []string{"severity=critical"}, Receiver: "pd", Continue: true}}
	td := newTestDispatcher(t, cfg, nil)
	a := alertAt("support-bot", "novelty.action", "s3:DeleteObject", td.clock.Now())
	a.Severity = schemas.SeverityCritical
	td.submit(t, a)
	td.flush(t)
	calls := len(s.Calls())
	if got := pd.Triggers(); got[a.NotifyKey()] != 1 || calls == 0 {
		t.Fatalf("first submit: triggers %v, Slack calls %v; want one trigger and a Slack post", got, s.Calls())
	}
	for range 3 {
		td.submit(t, a)
		td.clock.Advance(time.Minute)
		td.flush(t)
	}
	if got := pd.Triggers(); got[a.NotifyKey()] != 1 || len(pd.Events()) != 1 {
		t.Errorf("after resubmitting: PagerDuty events %d, triggers %v; want the one trigger", len(pd.Events()), got)
	}
	if got := s.Calls(); len(got) != calls {
		t.Errorf("after resubmitting: Slack calls %v; want the %d of the first submit", got, calls)
	}
}
