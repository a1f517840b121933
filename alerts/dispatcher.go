package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/alerts/pagerduty"
	"github.com/agentwatch/agentwatch/alerts/slack"
	"github.com/agentwatch/agentwatch/alerts/webhook"
	"github.com/agentwatch/agentwatch/internal/inventory"
)

// Notification is one outbox row as ListFailed returns it.
type Notification = outbox.Notification

// defaultTimeout bounds one delivery attempt when a receiver sets none.
const defaultTimeout = 10 * time.Second

// receiver is one configured destination.
type receiver struct {
	name    string
	kind    string
	n       notify.Notifier
	timeout time.Duration
	updates bool // edits earlier messages in place
	wake    chan struct{}
}

// Dispatcher routes alerts into the outbox (Submit) and delivers from it
// (Run). Submit is safe to call concurrently with Run.
type Dispatcher struct {
	cfg       Config
	inv       *inventory.Inventory
	opts      options
	log       *slog.Logger
	clock     Clock
	ob        *outbox.Outbox
	silences  *Silences
	router    *router
	inhibit   []inhibitRule
	receivers map[string]*receiver
	order     []string
	m         *metrics
	running   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// NewDispatcher validates cfg, opens the outbox and builds every receiver
// (resolving *_file secrets). inv may be nil.
func NewDispatcher(cfg Config, inv *inventory.Inventory, opts ...Option) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := defaultOptions()
	for _, f := range opts {
		f(&o)
	}
	d := &Dispatcher{cfg: cfg, inv: inv, opts: o, log: o.log, clock: o.clock, receivers: map[string]*receiver{}}
	var err error
	if d.router, err = newRouter(&cfg); err != nil {
		return nil, err
	}
	if d.inhibit, err = compileInhibit(cfg.Inhibit); err != nil {
		return nil, err
	}
	if err := d.buildReceivers(); err != nil {
		return nil, err
	}
	if d.ob, err = outbox.Open(cfg.OutboxPath); err != nil {
		return nil, err
	}
	d.silences = &Silences{ob: d.ob, clock: d.clock}
	if d.m, err = newMetrics(o.reg, d.order, d.ob); err != nil {
		d.ob.Close()
		return nil, fmt.Errorf("register alert metrics: %w", err)
	}
	return d, nil
}

func (d *Dispatcher) buildReceivers() error {
	cfgs := []ReceiverConfig{}
	if !d.hasConfigured(ConsoleReceiver) {
		cfgs = append(cfgs, ReceiverConfig{Name: ConsoleReceiver, Log: &LogConfig{}})
	}
	cfgs = append(cfgs, d.cfg.Receivers...)
	defFormat := webhook.FormatAlert
	if d.cfg.OCSF {
		defFormat = webhook.FormatOCSF
	}
	for i, rc := range cfgs {
		key := fmt.Sprintf("alerts.receivers[%d]", i-(len(cfgs)-len(d.cfg.Receivers)))
		r := &receiver{name: rc.Name, kind: rc.Kind(), timeout: defaultTimeout, wake: make(chan struct{}, 1)}
		var err error
		var timeout time.Duration
		client := d.opts.client
		switch {
		case rc.Slack != nil:
			r.n, err = slack.New(key+".slack", rc.Name, *rc.Slack, client)
			timeout = rc.Slack.Timeout
		case rc.PagerDuty != nil:
			r.n, err = pagerduty.New(key+".pagerduty", rc.Name, *rc.PagerDuty, client)
			timeout = rc.PagerDuty.Timeout
		case rc.Webhook != nil:
			r.n, err = webhook.New(key+".webhook", rc.Name, *rc.Webhook, defFormat, client)
			timeout = rc.Webhook.Timeout
		case rc.Log != nil:
			r.n = &logNotifier{w: d.opts.console, log: d.log, slog: rc.Log.Format == "slog"}
		}
		if err != nil {
			return err
		}
		if u, ok := r.n.(notify.Updater); ok {
			r.updates = u.UpdatesInPlace()
		}
		if timeout > 0 {
			r.timeout = timeout
		}
		d.receivers[r.name] = r
		d.order = append(d.order, r.name)
	}
	return nil
}

func (d *Dispatcher) hasConfigured(name string) bool {
	for _, r := range d.cfg.Receivers {
		if r.Name == name {
			return true
		}
	}
	return false
}

// Receivers returns the receiver names (the built-in console first).
func (d *Dispatcher) Receivers() []string { return append([]string(nil), d.order...) }

// Silences manages the silences in this dispatcher's outbox.
func (d *Dispatcher) Silences() *Silences { return d.silences }

// Close releases the outbox. Call it after Run has returned.
func (d *Dispatcher) Close() error {
	d.closeOnce.Do(func() {
		if d.ob != nil {
			d.closeErr = d.ob.Close()
		}
	})
	return d.closeErr
}

// ListUpdatedSince returns the notifications changed at or after since,
// in the order they changed.
func (d *Dispatcher) ListUpdatedSince(ctx context.Context, since time.Time) ([]Notification, error) {
	return values(d.ob.ListUpdatedSince(ctx, since))
}

// ListFailed returns the notifications that failed for good (permanent
// error or give_up_after exceeded), oldest first.
func (d *Dispatcher) ListFailed(ctx context.Context) ([]Notification, error) {
	return d.List(ctx, outbox.StateFailed)
}

// List returns notifications in the given states (all when none).
func (d *Dispatcher) List(ctx context.Context, states ...string) ([]Notification, error) {
	return values(d.ob.List(ctx, states...))
}

// values copies the outbox's rows out, so callers cannot change them.
func values(rows []*Notification, err error) ([]Notification, error) {
	if err != nil {
		return nil, err
	}
	out := make([]Notification, len(rows))
	for i, r := range rows {
		out[i] = *r
	}
	return out, nil
}

// Retry makes failed notifications pending again, due now. A running
// dispatcher in another process picks them up within its idle poll.
func (d *Dispatcher) Retry(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 {
		return errors.New("retry: no notification ids given")
	}
	if err := d.ob.Retry(ctx, d.clock.Now().UTC(), ids...); err != nil {
		return err
	}
	for _, r := range d.receivers {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// SendTest sends a synthetic alert to receiver right away (not through the
// outbox) and returns the receiver's error, for `agentwatch alerts test`.
func (d *Dispatcher) SendTest(ctx context.Context, name string) error {
	r, ok := d.receivers[name]
	if !ok {
		names := append([]string(nil), d.order...)
		sort.Strings(names)
		return fmt.Errorf("send test alert: no receiver %q (configured: %s)", name, strings.Join(names, ", "))
	}
	now := d.clock.Now().UTC()
	a := notify.TestAlert(name, now)
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if _, _, err := r.n.Notify(ctx, notify.Delivery{Key: a.NotifyKey(), Alert: a, Now: now, Test: true}); err != nil {
		return fmt.Errorf("send test alert to %s: %w", name, r.scrub(err))
	}
	return nil
}
