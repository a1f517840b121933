package alerts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/alerts/ocsf"
	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/schemas"
)

const (
	// batchSize is how many due rows one receiver loop takes at a time.
	batchSize = 50
	// idlePoll bounds how long a loop sleeps without a wake-up, so rows
	// retried from another process (`alerts retry`) are picked up.
	idlePoll = 30 * time.Second
)

// Run delivers from the outbox until ctx ends. Each receiver has its own
// loop, so a slow or failing receiver delays only its own notifications;
// rows left pending by a crash are simply due and get delivered. Run
// returns nil when ctx ends; it must not be called twice at once.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("alert dispatcher: Run is already running")
	}
	defer d.running.Store(false)
	var wg sync.WaitGroup
	wg.Go(func() { d.pruneLoop(ctx) })
	for _, name := range d.order {
		r := d.receivers[name]
		wg.Go(func() { d.loop(ctx, r) })
	}
	wg.Wait()
	return nil
}

func (d *Dispatcher) loop(ctx context.Context, r *receiver) {
	for {
		n, err := d.deliverDue(ctx, r)
		if ctx.Err() != nil {
			return
		}
		wait := idlePoll
		switch {
		case err != nil:
			d.log.Error("alert delivery loop", "receiver", r.name, "err", err)
			wait = d.cfg.RetryInitial
		case n == batchSize:
			continue
		default:
			next, ok, err := d.ob.NextDue(ctx, r.name)
			if err != nil {
				d.log.Error("alert delivery loop", "receiver", r.name, "err", err)
				wait = d.cfg.RetryInitial
			} else if ok {
				wait = min(wait, max(next.Sub(d.clock.Now()), 0))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-d.clock.After(wait):
		}
	}
}

// pruneLoop trims the outbox at start and then hourly.
func (d *Dispatcher) pruneLoop(ctx context.Context) {
	for {
		if n, err := d.ob.Prune(ctx, d.clock.Now().Add(-d.cfg.Retention)); err != nil {
			if ctx.Err() != nil {
				return
			}
			d.log.Error("prune alert outbox", "err", err)
		} else if n > 0 {
			d.log.Info("pruned alert outbox", "notifications", n, "older_than", d.cfg.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.clock.After(time.Hour):
		}
	}
}

// deliverDue delivers receiver r's due rows once and returns how many it
// took. It stops early only when ctx ends.
func (d *Dispatcher) deliverDue(ctx context.Context, r *receiver) (int, error) {
	rows, err := d.ob.Due(ctx, r.name, d.clock.Now().UTC(), batchSize)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	silences, err := d.silences.active(ctx)
	if err != nil {
		return 0, err
	}
	for _, n := range rows {
		if err := d.deliverOne(ctx, r, n, silences); err != nil {
			return len(rows), err
		}
	}
	return len(rows), nil
}

// deliverOne makes one attempt and records its outcome: delivered,
// rescheduled with backoff, or failed with the receiver's reason.
func (d *Dispatcher) deliverOne(ctx context.Context, r *receiver, n *outbox.Notification, silences []activeSilence) error {
	now := d.clock.Now().UTC()
	a := n.Alert
	// A silence added, or an inhibiting alert raised, after Submit (the
	// decommission alert may arrive just after the novelty alert it
	// mutes) still holds back what is not yet sent.
	if id, ok := silencedBy(silences, &a); ok {
		d.m.deliveries.WithLabelValues(r.name, statusSuppressed).Inc()
		d.m.suppressed.WithLabelValues(reasonSilenced).Inc()
		return d.ob.MarkSuppressed(ctx, n.ID, n.Version, fmt.Sprintf("silenced by silence %d", id), now)
	}
	if mayBeInhibited(d.inhibit, &a) {
		firing, err := d.ob.FiringAlerts(ctx, a.Identity.AgentID)
		if err != nil {
			return err
		}
		if src, ok := inhibitedBy(d.inhibit, &a, firing); ok {
			d.m.deliveries.WithLabelValues(r.name, statusSuppressed).Inc()
			d.m.suppressed.WithLabelValues(reasonInhibited).Inc()
			return d.ob.MarkSuppressed(ctx, n.ID, n.Version, fmt.Sprintf("inhibited by alert %s (%s)", src.ID, src.Detector), now)
		}
	}
	actx, cancel := context.WithTimeout(ctx, r.timeout)
	st, retry, err := r.n.Notify(actx, notify.Delivery{ID: n.ID, Key: n.Key, Alert: a, Target: n.Target, Prev: n.Sent, Now: now,
		ConsoleURL: notify.IncidentURL(d.opts.consoleURL, a.ID)})
	cancel()
	if ctx.Err() != nil {
		// Shutting down: the row stays pending and is sent after restart.
		return ctx.Err()
	}
	done := d.clock.Now().UTC()
	if err != nil {
		err = r.scrub(err)
	}
	if err == nil {
		if err := d.ob.MarkDelivered(ctx, n.ID, n.Version, st, done); err != nil {
			return err
		}
		d.m.deliveries.WithLabelValues(r.name, statusDelivered).Inc()
		d.m.latency.WithLabelValues(r.name).Observe(done.Sub(n.EnqueuedAt).Seconds())
		d.log.Debug("alert delivered", "receiver", r.name, "notification", n.ID, "alert", a.ID, "status", a.Status)
		return nil
	}
	attempts := n.Attempts + 1
	first := n.FirstAttemptAt
	if first.IsZero() {
		first = now
	}
	if !retry || done.Sub(first) >= d.cfg.GiveUpAfter {
		reason := err.Error()
		if retry {
			reason = fmt.Sprintf("gave up after %d attempts over %s: %s", attempts, done.Sub(first).Round(time.Second), reason)
		}
		if err := d.ob.MarkFailed(ctx, n.ID, n.Version, attempts, reason, done); err != nil {
			return err
		}
		d.m.deliveries.WithLabelValues(r.name, statusFailed).Inc()
		d.log.Warn("alert delivery failed", "receiver", r.name, "notification", n.ID, "alert", a.ID, "attempts", attempts, "err", reason)
		return nil
	}
	delay := backoff(attempts, d.cfg.RetryInitial, d.cfg.RetryMax, d.opts.jitter(), notify.RetryAfterOf(err))
	if err := d.ob.MarkRetry(ctx, n.ID, n.Version, attempts, first, done.Add(delay), err.Error(), done); err != nil {
		return err
	}
	d.m.retries.WithLabelValues(r.name).Inc()
	d.log.Debug("alert delivery will be retried", "receiver", r.name, "notification", n.ID, "attempt", attempts, "in", delay, "err", err)
	return nil
}

// scrub rewrites err so that no secret of the receiver survives in its
// text, keeping Retry-After for the backoff.
func (r *receiver) scrub(err error) error {
	sh, ok := r.n.(notify.SecretHolder)
	if !ok {
		return err
	}
	msg := err.Error()
	clean := notify.Scrub(msg, sh.Secrets())
	if clean == msg {
		return err
	}
	return &notify.Error{Receiver: r.name, Reason: strings.TrimPrefix(clean, r.name+": "), RetryAfter: notify.RetryAfterOf(err)}
}

// logNotifier is the console receiver: one Alert.Line() per delivery,
// and every change shown at once (it "updates in place" by printing).
type logNotifier struct {
	mu   sync.Mutex
	w    io.Writer
	log  *slog.Logger
	slog bool
}

func (l *logNotifier) UpdatesInPlace() bool { return true }

func (l *logNotifier) Notify(ctx context.Context, d notify.Delivery) (notify.State, bool, error) {
	line := d.Alert.Line()
	if change := notify.Change(d.Prev, d.Alert); change != "" {
		line += " [" + change + "]"
	}
	if d.Test {
		line = "TEST " + line
	}
	if l.slog {
		l.log.LogAttrs(ctx, slog.LevelWarn, "alert", slog.String("line", line), slog.String("alert_id", d.Alert.ID),
			slog.String("agent_id", d.Alert.Identity.AgentID), slog.String("detector", d.Alert.Detector))
		return notify.StateOf(d.Alert), false, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := io.WriteString(l.w, line+"\n"); err != nil {
		return notify.State{}, true, fmt.Errorf("console: %w", err)
	}
	return notify.StateOf(d.Alert), false, nil
}

// OCSF renders the alert as an OCSF Detection Finding (class 2004) for
// SIEMs; the webhook receiver's "ocsf" format sends the same JSON.
func OCSF(a schemas.Alert) ([]byte, error) { return ocsf.Marshal(a) }
