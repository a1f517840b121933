package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Digest states.
const (
	DigestSent   = "sent"
	DigestFailed = "failed" // retried until the next slot
)

// Digest is one owner's posture digest for one scheduled slot.
type Digest struct {
	Owner      string
	Slot       time.Time
	FindingIDs []string // open findings the digest reported
	State      string
	Channel    string
	TS         string
	Attempts   int
	LastError  string
	UpdatedAt  time.Time
}

// PutDigest records (or rewrites) the digest of d.Owner for d.Slot.
func (o *Outbox) PutDigest(ctx context.Context, d Digest) error {
	ids, err := json.Marshal(d.FindingIDs)
	if err != nil {
		return fmt.Errorf("put digest: %w", err)
	}
	_, err = o.db.ExecContext(ctx, `INSERT INTO digests (owner, slot, finding_ids, state, channel, ts, attempts,
		last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (owner, slot) DO UPDATE SET finding_ids = excluded.finding_ids, state = excluded.state,
		channel = excluded.channel, ts = excluded.ts, attempts = excluded.attempts,
		last_error = excluded.last_error, updated_at = excluded.updated_at`,
		d.Owner, nanos(d.Slot), string(ids), d.State, d.Channel, d.TS, d.Attempts, d.LastError, nanos(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put digest of %s: %w", d.Owner, err)
	}
	return nil
}

// GetDigest returns the digest of owner for slot, or nil.
func (o *Outbox) GetDigest(ctx context.Context, owner string, slot time.Time) (*Digest, error) {
	return o.oneDigest(ctx, `WHERE owner = ? AND slot = ?`, owner, nanos(slot))
}

// LastSentDigest returns owner's latest delivered digest before slot, or nil.
func (o *Outbox) LastSentDigest(ctx context.Context, owner string, before time.Time) (*Digest, error) {
	return o.oneDigest(ctx, `WHERE owner = ? AND state = ? AND slot < ? ORDER BY slot DESC LIMIT 1`, owner, DigestSent, nanos(before))
}

func (o *Outbox) oneDigest(ctx context.Context, where string, args ...any) (*Digest, error) {
	var d Digest
	var ids string
	var slot, updated int64
	err := o.db.QueryRowContext(ctx, `SELECT owner, slot, finding_ids, state, channel, ts, attempts, last_error,
		updated_at FROM digests `+where, args...).Scan(&d.Owner, &slot, &ids, &d.State, &d.Channel, &d.TS,
		&d.Attempts, &d.LastError, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get digest: %w", err)
	}
	if err := json.Unmarshal([]byte(ids), &d.FindingIDs); err != nil {
		return nil, fmt.Errorf("digest of %s: decode finding ids: %w", d.Owner, err)
	}
	d.Slot, d.UpdatedAt = fromNanos(slot), fromNanos(updated)
	return &d, nil
}
