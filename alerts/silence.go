package alerts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/schemas"
)

// Silence mutes matching alerts until EndsAt; it needs a comment (the
// reason, so the change is auditable) and expires by itself.
type Silence struct {
	ID        int64     `json:"id"`
	Matchers  []string  `json:"matchers"`
	Comment   string    `json:"comment"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	// ExpiredAt is set when the silence was ended early by hand.
	ExpiredAt time.Time `json:"expired_at,omitzero"`
	// ActionID is the actions-table row the silence was made from (the
	// console's or `agentwatch silence`'s action); adding the same action
	// again returns the silence already made.
	ActionID string `json:"action_id,omitempty"`
}

// Active reports whether s mutes alerts at t.
func (s Silence) Active(t time.Time) bool {
	return !t.Before(s.StartsAt) && t.Before(s.EndsAt) && s.ExpiredAt.IsZero()
}

// Silences manages silences in an outbox file; the dispatcher consults
// them, and `agentwatch silence add|list|expire` uses them directly.
type Silences struct {
	ob    *outbox.Outbox
	own   bool
	clock Clock
}

// OpenSilences opens the outbox at path for silence management.
func OpenSilences(path string, opts ...Option) (*Silences, error) {
	o := defaultOptions()
	for _, f := range opts {
		f(&o)
	}
	ob, err := outbox.Open(path)
	if err != nil {
		return nil, err
	}
	return &Silences{ob: ob, own: true, clock: o.clock}, nil
}

// Close releases the outbox if OpenSilences opened it.
func (s *Silences) Close() error {
	if s == nil || !s.own {
		return nil
	}
	return s.ob.Close()
}

// Add validates and stores a silence, returning its id. StartsAt defaults
// to now; EndsAt must be in the future.
func (s *Silences) Add(ctx context.Context, sl Silence) (int64, error) {
	now := s.clock.Now().UTC()
	if len(sl.Matchers) == 0 {
		return 0, errors.New("add silence: at least one matcher is required (e.g. agent=support-bot)")
	}
	if _, err := ParseMatchers(sl.Matchers); err != nil {
		return 0, fmt.Errorf("add silence: %w", err)
	}
	if strings.TrimSpace(sl.Comment) == "" {
		return 0, errors.New("add silence: a comment (the reason) is required")
	}
	if sl.StartsAt.IsZero() {
		sl.StartsAt = now
	}
	if !sl.EndsAt.After(now) || !sl.EndsAt.After(sl.StartsAt) {
		return 0, errors.New("add silence: ends_at must be in the future and after starts_at")
	}
	sl.CreatedAt = now
	return s.ob.AddSilence(ctx, outbox.SilenceRow{Matchers: sl.Matchers, Comment: sl.Comment, CreatedBy: sl.CreatedBy,
		CreatedAt: sl.CreatedAt, StartsAt: sl.StartsAt.UTC(), EndsAt: sl.EndsAt.UTC(), ActionID: sl.ActionID})
}

// List returns silences by id: only those in force now, or every silence
// ever added when includeExpired is set.
func (s *Silences) List(ctx context.Context, includeExpired bool) ([]Silence, error) {
	var at time.Time
	if !includeExpired {
		at = s.clock.Now()
	}
	rows, err := s.ob.ListSilences(ctx, at)
	if err != nil {
		return nil, err
	}
	out := make([]Silence, 0, len(rows))
	for _, r := range rows {
		out = append(out, Silence{ID: r.ID, Matchers: r.Matchers, Comment: r.Comment, CreatedBy: r.CreatedBy,
			CreatedAt: r.CreatedAt, StartsAt: r.StartsAt, EndsAt: r.EndsAt, ExpiredAt: r.ExpiredAt, ActionID: r.ActionID})
	}
	return out, nil
}

// Expire ends silence id now.
func (s *Silences) Expire(ctx context.Context, id int64) error {
	return s.ob.ExpireSilence(ctx, id, s.clock.Now())
}

// activeSilence is a silence with parsed matchers.
type activeSilence struct {
	id       int64
	matchers []Matcher
}

func (s *Silences) active(ctx context.Context) ([]activeSilence, error) {
	list, err := s.List(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]activeSilence, 0, len(list))
	for _, sl := range list {
		ms, err := ParseMatchers(sl.Matchers)
		if err != nil {
			return nil, fmt.Errorf("silence %d: %w", sl.ID, err)
		}
		out = append(out, activeSilence{id: sl.ID, matchers: ms})
	}
	return out, nil
}

// silencedBy returns the id of a silence muting a. Like inhibition, a
// silence never holds back a resolution.
func silencedBy(ss []activeSilence, a *schemas.Alert) (int64, bool) {
	if a.Status != schemas.StatusFiring {
		return 0, false
	}
	for _, s := range ss {
		if matchAll(s.matchers, a) {
			return s.id, true
		}
	}
	return 0, false
}
