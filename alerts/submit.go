package alerts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/schemas"
)

// InvalidAlertsError reports alerts Submit refused because they fail
// schemas.Alert.Validate. The valid alerts of the same call are durable
// when it is returned, so the caller can dead-letter the invalid ones
// (with these reasons) and commit, instead of redelivering a poison
// message forever.
type InvalidAlertsError struct {
	Alerts []schemas.Alert
	Errs   []error
}

func (e *InvalidAlertsError) Error() string {
	parts := make([]string, len(e.Alerts))
	for i, a := range e.Alerts {
		parts[i] = fmt.Sprintf("alert %q: %v", a.ID, e.Errs[i])
	}
	return fmt.Sprintf("submit: %d invalid alerts not routed: %s", len(e.Alerts), strings.Join(parts, "; "))
}

// Submit routes the alerts and records one pending notification per
// receiver in the outbox, all in one transaction; it returns nil only once
// that transaction is committed, so the caller may then commit its Kafka
// offset. Alerts with DryRun are recorded nowhere here (the alerts table
// keeps them) and counted. Invalid alerts are left out and returned in an
// *InvalidAlertsError after the valid ones are committed; any other error
// means nothing was recorded.
func (d *Dispatcher) Submit(ctx context.Context, in ...schemas.Alert) error {
	var invalid *InvalidAlertsError
	alerts := make([]schemas.Alert, 0, len(in))
	for i := range in {
		if err := in[i].Validate(); err != nil {
			if invalid == nil {
				invalid = &InvalidAlertsError{}
			}
			invalid.Alerts, invalid.Errs = append(invalid.Alerts, in[i]), append(invalid.Errs, err)
			continue
		}
		alerts = append(alerts, in[i])
	}
	if err := d.submit(ctx, alerts); err != nil {
		return err
	}
	if invalid != nil {
		return invalid
	}
	return nil
}

func (d *Dispatcher) submit(ctx context.Context, alerts []schemas.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	now := d.clock.Now().UTC()
	silences, err := d.silences.active(ctx)
	if err != nil {
		return fmt.Errorf("submit alerts: %w", err)
	}
	var suppressed []string
	woken := map[string]bool{}
	err = d.ob.Update(ctx, func(tx *outbox.Tx) error {
		suppressed, woken = suppressed[:0], map[string]bool{}
		for _, a := range alerts {
			if a.DryRun {
				suppressed = append(suppressed, reasonDryRun)
				continue
			}
			d.enrich(&a)
			if err := tx.PutAlertState(a, now); err != nil {
				return err
			}
			// The agent's firing alerts are loaded only when needed: for an
			// alert some inhibit rule could mute, or a coarse resolve.
			var firing []schemas.Alert
			loaded := false
			loadFiring := func() ([]schemas.Alert, error) {
				if !loaded {
					f, err := tx.FiringAlerts(a.Identity.AgentID)
					if err != nil {
						return nil, err
					}
					firing, loaded = f, true
				}
				return firing, nil
			}
			why, reason := "", ""
			if mayBeInhibited(d.inhibit, &a) {
				if _, err := loadFiring(); err != nil {
					return err
				}
			}
			if src, ok := inhibitedBy(d.inhibit, &a, firing); ok {
				why, reason = fmt.Sprintf("inhibited by alert %s (%s)", src.ID, src.Detector), reasonInhibited
			} else if id, ok := silencedBy(silences, &a); ok {
				why, reason = fmt.Sprintf("silenced by silence %d", id), reasonSilenced
			}
			if reason != "" {
				suppressed = append(suppressed, reason)
			}
			for _, t := range d.router.targets(&a) {
				r := d.receivers[t.receiver]
				if r.kind == "log" {
					// The console is a live view: show every change at once.
					t.groupWait, t.groupInterval = 0, 0
				}
				key := notifyKey(&a, t.dedup, r.kind)
				if a.Status == schemas.StatusResolved && key != a.NotifyKey() {
					f, err := loadFiring()
					if err != nil {
						return err
					}
					if othersFiring(f, &a, t.dedup) {
						// A coarse PagerDuty key stays open while another
						// alert under it still fires.
						continue
					}
				}
				prev, err := tx.Get(r.name, t.channel, key)
				if err != nil {
					return err
				}
				n := schedule(prev, a, t, r.updates, why, now)
				if n == nil {
					suppressed = append(suppressed, reasonResolvedUnsent)
					continue
				}
				n.Receiver, n.Target, n.Key = r.name, t.channel, key
				if err := tx.Put(n); err != nil {
					return err
				}
				woken[r.name] = woken[r.name] || n.State == outbox.StatePending
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("submit %d alerts to the outbox: %w", len(alerts), err)
	}
	d.m.submitted.Add(float64(len(alerts)))
	for _, r := range suppressed {
		d.m.suppressed.WithLabelValues(r).Inc()
	}
	for name, pending := range woken {
		if pending {
			select {
			case d.receivers[name].wake <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// enrich fills the owner half of the identity (and the agent's labels)
// from the inventory where the detector left it empty, so routes can
// match on owner and owner routing knows the agent's channel.
func (d *Dispatcher) enrich(a *schemas.Alert) {
	ag := d.inv.Get(a.Identity.AgentID)
	if ag == nil {
		return
	}
	id := &a.Identity
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&id.DisplayName, ag.DisplayName)
	fill(&id.Kind, ag.Kind)
	fill(&id.Owner, ag.Owner)
	fill(&id.SlackChannel, ag.Contact.SlackChannel)
	fill(&id.PagerDutyService, ag.Contact.PagerDutyService)
	fill(&id.Status, ag.Status)
	if len(ag.Labels) > 0 {
		labels := make(map[string]string, len(a.Labels)+len(ag.Labels))
		for k, v := range ag.Labels {
			labels[k] = v
		}
		for k, v := range a.Labels {
			labels[k] = v
		}
		a.Labels = labels
	}
}

func othersFiring(firing []schemas.Alert, a *schemas.Alert, dedup string) bool {
	for i := range firing {
		if firing[i].ID != a.ID && sameKey(&firing[i], a, dedup) {
			return true
		}
	}
	return false
}

// schedule returns the row to store for a new version of an alert, or nil
// when there is nothing to record (a resolution of something never
// notified). why, when set, suppresses it.
//
// The rules: a first notification waits group_wait (coalescing the
// burst of updates a new alert brings); a change of state or severity
// waits group_interval after the last send; a count change does too for
// receivers that edit in place (Slack Web API), and waits repeat_interval
// for the others (webhooks, PagerDuty), so repeats never flood.
func schedule(prev *outbox.Notification, a schemas.Alert, t target, updates bool, why string, now time.Time) *outbox.Notification {
	if prev == nil {
		if a.Status == schemas.StatusResolved {
			return nil
		}
		n := &outbox.Notification{Alert: a, Version: 1, State: outbox.StatePending, NextAttemptAt: now.Add(t.groupWait),
			GroupInterval: t.groupInterval, RepeatInterval: t.repeatInterval, EnqueuedAt: now, CreatedAt: now, UpdatedAt: now}
		if why != "" {
			n.State, n.LastError = outbox.StateSuppressed, why
		}
		return n
	}
	n := *prev
	n.Alert, n.Version, n.EnqueuedAt, n.UpdatedAt = a, prev.Version+1, now, now
	n.GroupInterval, n.RepeatInterval = t.groupInterval, t.repeatInterval
	reset := func(next time.Time) {
		n.State, n.Attempts, n.FirstAttemptAt, n.LastError, n.NextAttemptAt = outbox.StatePending, 0, time.Time{}, "", next
	}
	if why != "" {
		n.State, n.LastError = outbox.StateSuppressed, why
		return &n
	}
	if !prev.Sent.Sent {
		switch {
		case a.Status == schemas.StatusResolved:
			n.State, n.LastError = outbox.StateSuppressed, "resolved before it was notified"
		case prev.State == outbox.StatePending:
			// Still waiting for its first delivery: the new version rides
			// along at the time already set (group_wait or backoff).
		default:
			reset(now)
		}
		return &n
	}
	changed := a.Status != prev.Sent.Status || a.Severity != prev.Sent.Severity
	if !changed && a.Count == prev.Sent.Count {
		if prev.State != outbox.StatePending {
			n.State, n.LastError = outbox.StateDelivered, ""
		}
		return &n
	}
	gap := t.groupInterval
	if !changed && !updates {
		gap = t.repeatInterval
	}
	earliest := prev.LastSentAt.Add(gap)
	if earliest.Before(now) {
		earliest = now
	}
	switch {
	case prev.State == outbox.StatePending && prev.Attempts > 0:
		// Retrying: keep the backoff, deliver the newest content.
	case prev.State == outbox.StatePending && prev.NextAttemptAt.Before(earliest):
		// An earlier change is already due sooner; this one joins it.
	default:
		reset(earliest)
	}
	return &n
}
