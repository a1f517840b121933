package digest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/agentwatch/agentwatch/alerts/outbox"
)

// Owner is one owner's open findings at a slot, as the caller sees them.
type Owner struct {
	Owner   string
	Channel string
	Open    []Item // status is set by Deliver
}

// Result counts what one Deliver did.
type Result struct {
	Sent, Empty, Failed int
}

// Deliverer sends owners' digests for scheduled slots and remembers, in
// the outbox, which findings each digest reported: the next digest marks
// findings new, still open or fixed against the owner's last delivered
// one, also after a restart, and a slot already delivered is never sent
// again.
type Deliverer struct {
	Outbox *outbox.Outbox
	Slack  *Slack // nil: no Slack digest
	OCSF   *OCSF  // nil: no OCSF findings
	Now    func() time.Time
}

// RetryAfter backs a failed digest off: 2, 4, 8 ... minutes, at most an hour.
func RetryAfter(attempts int) time.Duration {
	return min(time.Minute<<min(attempts, 6), time.Hour)
}

// Due reports whether some owner's digest of slot is not sent yet and may
// be tried now.
func (d *Deliverer) Due(ctx context.Context, owners []string, slot time.Time) (bool, error) {
	for _, o := range owners {
		prev, err := d.Outbox.GetDigest(ctx, o, slot)
		if err != nil {
			return false, err
		}
		if d.mayTry(prev) {
			return true, nil
		}
	}
	return false, nil
}

func (d *Deliverer) mayTry(prev *outbox.Digest) bool {
	return prev == nil || (prev.State != outbox.DigestSent && !d.Now().Before(prev.UpdatedAt.Add(RetryAfter(prev.Attempts))))
}

// Deliver sends slot's digest of every owner not yet served. fixed looks
// up a finding that is no longer open (its last known details), for the
// "fixed since" part. An owner with nothing open now and nothing in the
// last digest is recorded without a message.
func (d *Deliverer) Deliver(ctx context.Context, slot time.Time, owners []Owner, fixed func(id string) Item) (Result, error) {
	var res Result
	var errs []error
	for _, o := range owners {
		prev, err := d.Outbox.GetDigest(ctx, o.Owner, slot)
		if err != nil {
			return res, err
		}
		if !d.mayTry(prev) {
			continue
		}
		last, err := d.Outbox.LastSentDigest(ctx, o.Owner, slot)
		if err != nil {
			return res, err
		}
		dg := Digest{Owner: o.Owner, Channel: o.Channel, Slot: slot}
		before := map[string]bool{}
		if last != nil {
			dg.Since = last.Slot
			for _, id := range last.FindingIDs {
				before[id] = true
			}
		}
		ids := make([]string, 0, len(o.Open))
		for _, it := range o.Open {
			it.Status = StatusNew
			if before[it.ID] {
				it.Status = StatusOpen
				delete(before, it.ID)
			}
			ids = append(ids, it.ID)
			dg.Items = append(dg.Items, it)
		}
		gone := make([]string, 0, len(before))
		for id := range before {
			gone = append(gone, id)
		}
		sort.Strings(gone)
		for _, id := range gone {
			it := fixed(id)
			it.ID, it.Status = id, StatusFixed
			dg.Items = append(dg.Items, it)
		}
		rec := outbox.Digest{Owner: o.Owner, Slot: slot, FindingIDs: ids, Channel: o.Channel, UpdatedAt: d.Now().UTC()}
		if prev != nil {
			rec.Attempts = prev.Attempts
		}
		switch {
		case len(dg.Items) == 0:
			rec.State = outbox.DigestSent
			res.Empty++
		default:
			rec.Attempts++
			if err := d.send(ctx, &dg, &rec); err != nil {
				rec.State, rec.LastError = outbox.DigestFailed, err.Error()
				res.Failed++
				errs = append(errs, fmt.Errorf("digest for %s: %w", o.Owner, err))
			} else {
				rec.State = outbox.DigestSent
				res.Sent++
			}
		}
		if err := d.Outbox.PutDigest(ctx, rec); err != nil {
			return res, err
		}
	}
	return res, errors.Join(errs...)
}

func (d *Deliverer) send(ctx context.Context, dg *Digest, rec *outbox.Digest) error {
	if d.Slack != nil {
		ch, ts, _, err := d.Slack.Send(ctx, *dg)
		if err != nil {
			return err
		}
		rec.Channel, rec.TS = ch, ts
	}
	if d.OCSF != nil {
		if _, err := d.OCSF.Send(ctx, *dg, d.Now()); err != nil {
			return err
		}
	}
	return nil
}
