package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// Actions are what people do to incidents, from the console or the CLI:
// accept (the behaviour is normal), silence (stop notifying for a while)
// and resolve (the incident is over). Each is recorded in the actions
// table with who, when and why before it takes effect.
//
// How each reaches detection: the detect stage reloads accepted
// behaviours and closed incidents from the actions table (every
// actionsReloadEvery, and at once when the action was taken in the same
// process), so an accepted behaviour raises nothing more and a resolved
// incident that recurs opens a new one. Closing an incident publishes its
// resolved state on the alerts topic, so the alerts stage updates Slack
// and resolves the PagerDuty incident as it would for a resolution by the
// detector. A silence is a row of the actions table that the alerts stage
// copies into its outbox (at once when the outbox is on this host, else
// within silencesSyncEvery): detection goes on, notifications are held.
type Actions struct {
	st  store.Store
	pub func(ctx context.Context, al []schemas.Alert) error
	// outbox is the alert outbox holding silences, when it is on this
	// host; a silence is otherwise applied by the alerts stage.
	outbox string
	now    func() time.Time
	// changed tells an engine in this process to reload now.
	changed *atomic.Int64
	// inv, when set, lets an accept record the inventory change written
	// for the agent's playground as it is (statements, delegators: none).
	inv *inventory.Inventory

	mu       sync.Mutex
	silences *alerts.Silences
}

// ActionRequest is one action on one incident.
type ActionRequest struct {
	AlertID string
	Actor   string
	Reason  string
	// For is how long an accept or a silence lasts (required for both).
	For time.Duration
	// Matchers narrow a silence; default: the incident's agent and detector.
	Matchers []string
}

// ErrNotFound is returned for an incident id the store does not hold.
var ErrNotFound = errors.New("no such incident")

// NewActions builds actions over st. publish, when set, puts closed
// incidents on the alerts topic; otherwise they are written to the store
// directly (nobody is notified). A silence goes into the outbox at
// outboxPath at once when that file exists here; otherwise (a console on
// another host than the alerts stage) the alerts stage applies it from the
// actions table.
func NewActions(st store.Store, publish func(context.Context, []schemas.Alert) error, outboxPath string, now func() time.Time) *Actions {
	if now == nil {
		now = time.Now
	}
	return &Actions{st: st, pub: publish, outbox: outboxPath, now: now, changed: new(atomic.Int64)}
}

// WithInventory lets an accept write the change that would make it
// permanent for the agent's playground as the inventory declares it.
func (x *Actions) WithInventory(inv *inventory.Inventory) *Actions {
	x.inv = inv
	return x
}

// suggestion is what would make an accepted incident permanent, read with
// the agent's playground and the events behind the incident when they
// can be had; a failed read of the events only makes it less precise.
func (x *Actions) suggestion(ctx context.Context, al *schemas.Alert) string {
	ag := x.inv.Get(al.Identity.AgentID)
	var events []schemas.AgentEvent
	if ag != nil && len(al.EventIDs) > 0 && al.Boundary != schemas.BoundaryLearned {
		events, _ = x.st.SearchEvents(ctx, store.EventSearch{AgentID: al.Identity.AgentID, EventIDs: al.EventIDs, Limit: len(al.EventIDs)})
	}
	return Suggestion(al, ag, events)
}

// Actions returns the process's actions, publishing closed incidents
// through the App's producer and notifying the App's detect stage at once.
func (a *App) Actions() *Actions {
	a.actionsOnce.Do(func() {
		var pub func(context.Context, []schemas.Alert) error
		if a.Producer != nil {
			pub = AlertPublisher(a.Producer, a.Cfg.Bus.Topics.Alerts)
		}
		a.actions = NewActions(a.Store, pub, a.Cfg.Alerts.OutboxPath, time.Now).WithInventory(a.Inventory)
		a.actions.changed = &a.actionsGen
		a.closers = append(a.closers, a.actions.Close)
	})
	return a.actions
}

// AlertPublisher puts alerts on the alerts topic through p, keyed by agent
// as the detect stage publishes them.
func AlertPublisher(p bus.Publisher, topic string) func(context.Context, []schemas.Alert) error {
	return func(ctx context.Context, al []schemas.Alert) error {
		msgs := make([]bus.Message, 0, len(al))
		for i := range al {
			b, err := json.Marshal(&al[i])
			if err != nil {
				return fmt.Errorf("encode alert %s: %w", al[i].ID, err)
			}
			msgs = append(msgs, bus.Message{Topic: topic, Key: []byte(al[i].Identity.AgentID), Value: b})
		}
		return p.Publish(ctx, msgs...)
	}
}

// Close releases the outbox if a silence opened it.
func (x *Actions) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.silences == nil {
		return nil
	}
	err := x.silences.Close()
	x.silences = nil
	return err
}

// Alert returns the current state of incident id.
func (x *Actions) Alert(ctx context.Context, id string) (schemas.Alert, error) {
	as, err := x.st.LoadAlerts(ctx, store.AlertFilter{ID: id})
	if err != nil {
		return schemas.Alert{}, err
	}
	if len(as) == 0 {
		return schemas.Alert{}, fmt.Errorf("incident %q: %w", id, ErrNotFound)
	}
	return as[0], nil
}

// incident checks r and returns the incident it acts on; errors start
// with verb.
func (x *Actions) incident(ctx context.Context, verb string, r ActionRequest, needFor bool) (schemas.Alert, error) {
	if err := check(r, needFor); err != nil {
		return schemas.Alert{}, fmt.Errorf("%s: %w", verb, err)
	}
	al, err := x.Alert(ctx, r.AlertID)
	if err != nil {
		return schemas.Alert{}, fmt.Errorf("%s: %w", verb, err)
	}
	return al, nil
}

func check(r ActionRequest, needFor bool) error {
	var problems []string
	if strings.TrimSpace(r.Actor) == "" {
		problems = append(problems, "actor: who acts is required")
	}
	if strings.TrimSpace(r.Reason) == "" {
		problems = append(problems, "reason: is required, so the change is auditable")
	}
	if needFor && r.For <= 0 {
		problems = append(problems, "for: a positive duration is required, so the change expires")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func (x *Actions) row(kind string, al schemas.Alert, r ActionRequest) schemas.ActionRow {
	now := x.now().UTC().Truncate(time.Second)
	row := schemas.ActionRow{ID: newActionID(), Time: now, Actor: strings.TrimSpace(r.Actor), Action: kind,
		AlertID: al.ID, AgentID: al.Identity.AgentID, Detector: al.Detector, Subject: al.Subject,
		DedupKey: al.DedupKey, Boundary: al.Boundary, Reason: strings.TrimSpace(r.Reason)}
	if r.For > 0 {
		until := now.Add(r.For)
		row.ExpiresAt = &until
	}
	return row
}

// Accept records that the incident's behaviour is normal for the agent
// until r.For from now, and closes the incident. For a declared boundary
// the row's Detail holds the inventory change that would make it permanent.
func (x *Actions) Accept(ctx context.Context, r ActionRequest) (schemas.ActionRow, error) {
	al, err := x.incident(ctx, "accept", r, true)
	if err != nil {
		return schemas.ActionRow{}, err
	}
	row := x.row(schemas.ActionAccept, al, r)
	row.Subjects = IncidentSubjects(al)
	var notes []string
	if s := x.suggestion(ctx, &al); s != "" {
		notes = append(notes, s)
	}
	if al.DistinctSubjects > len(row.Subjects) {
		notes = append(notes, fmt.Sprintf("the incident had %d distinct subjects and kept %d as examples: the others still raise", al.DistinctSubjects, len(row.Subjects)))
	}
	row.Detail = strings.Join(notes, "; ")
	if err := x.st.InsertActions(ctx, []schemas.ActionRow{row}); err != nil {
		return row, fmt.Errorf("accept: record: %w", err)
	}
	x.changed.Add(1)
	return row, x.close(ctx, al, "accepted by "+row.Actor)
}

// Resolve records that the incident is over and closes it now; a
// recurrence opens a new incident.
func (x *Actions) Resolve(ctx context.Context, r ActionRequest) (schemas.ActionRow, error) {
	al, err := x.incident(ctx, "resolve", r, false)
	if err != nil {
		return schemas.ActionRow{}, err
	}
	if al.Status == schemas.StatusResolved {
		return schemas.ActionRow{}, fmt.Errorf("resolve: incident %s is already resolved", al.ID)
	}
	row := x.row(schemas.ActionResolve, al, r)
	if err := x.st.InsertActions(ctx, []schemas.ActionRow{row}); err != nil {
		return row, fmt.Errorf("resolve: record: %w", err)
	}
	x.changed.Add(1)
	return row, x.close(ctx, al, "resolved by "+row.Actor)
}

// close publishes the incident's resolved state (or stores it, with no
// publisher), unless it is resolved already.
func (x *Actions) close(ctx context.Context, al schemas.Alert, how string) error {
	if al.Status == schemas.StatusResolved {
		return nil
	}
	al.Status = schemas.StatusResolved
	labels := make(map[string]string, len(al.Labels)+1)
	for k, v := range al.Labels {
		labels[k] = v
	}
	labels["resolution"] = how
	al.Labels = labels
	if x.pub != nil {
		if err := x.pub(ctx, []schemas.Alert{al}); err != nil {
			return fmt.Errorf("close incident %s: publish: %w", al.ID, err)
		}
		return nil
	}
	if err := x.st.UpsertAlerts(ctx, []schemas.Alert{al}); err != nil {
		return fmt.Errorf("close incident %s: %w", al.ID, err)
	}
	return nil
}

// Silence holds the notifications of alerts matching r.Matchers (by
// default the incident's agent and detector) for r.For; detection goes on
// and the incident keeps counting.
func (x *Actions) Silence(ctx context.Context, r ActionRequest) (schemas.ActionRow, error) {
	al, err := x.incident(ctx, "silence", r, true)
	if err != nil {
		return schemas.ActionRow{}, err
	}
	matchers := r.Matchers
	if len(matchers) == 0 {
		matchers = []string{"agent=" + al.Identity.AgentID, "detector=" + al.Detector}
	}
	if _, err := alerts.ParseMatchers(matchers); err != nil {
		return schemas.ActionRow{}, fmt.Errorf("silence: %w", err)
	}
	row := x.row(schemas.ActionSilence, al, r)
	row.Matchers = matchers
	// The outbox is the alerts stage's file. When it is here, the silence
	// holds from now on; when it is not (a console on another host), a
	// silence opened here would hold nothing, so the row says it is the
	// alerts stage's to apply.
	local := false
	if x.outbox != "" {
		_, err := os.Stat(x.outbox)
		local = err == nil
	}
	if local {
		row.Detail = "silence in " + x.outbox
	} else {
		row.Detail = fmt.Sprintf("applied by the alerts stage from the actions table within %s", silencesSyncEvery)
	}
	// The row first: it is what the alerts stage copies (once per action
	// id), so a failure after it is repaired by the next sync.
	if err := x.st.InsertActions(ctx, []schemas.ActionRow{row}); err != nil {
		return row, fmt.Errorf("silence: record: %w", err)
	}
	x.changed.Add(1)
	if !local {
		return row, nil
	}
	x.mu.Lock()
	if x.silences == nil {
		if x.silences, err = alerts.OpenSilences(x.outbox); err != nil {
			x.mu.Unlock()
			return row, fmt.Errorf("silence: recorded; the alerts stage will apply it: %w", err)
		}
	}
	sil := x.silences
	x.mu.Unlock()
	if _, err := sil.Add(ctx, silenceOf(row)); err != nil {
		return row, fmt.Errorf("silence: recorded; the alerts stage will apply it: %w", err)
	}
	return row, nil
}

// silenceOf is the outbox silence an action row asks for.
func silenceOf(r schemas.ActionRow) alerts.Silence {
	s := alerts.Silence{ActionID: r.ID, Matchers: r.Matchers, Comment: r.Reason, CreatedBy: r.Actor, StartsAt: r.Time}
	if r.ExpiresAt != nil {
		s.EndsAt = *r.ExpiresAt
	}
	return s
}

// silencesSyncEvery is how often the alerts stage copies silences from
// the actions table into its outbox, and its notification states into the
// store.
const silencesSyncEvery = 5 * time.Second

// NotificationRow is the store's copy of one outbox notification.
func NotificationRow(n alerts.Notification) schemas.NotificationRow {
	return schemas.NotificationRow{AlertID: n.Alert.ID, Receiver: n.Receiver, Target: n.Target, State: n.State,
		Attempts: n.Attempts, Count: int64(n.Sent.Count), LastSentAt: n.LastSentAt, LastError: n.LastError, UpdatedAt: n.UpdatedAt}
}

// NotificationSync copies into the store the notification states the
// outbox changed since the last copy. The zero value starts from the
// beginning (the first copy after a start is whole, which repairs any copy
// a stop missed).
type NotificationSync struct {
	since time.Time
	// atSince holds the ids already copied whose update time is since:
	// the next read starts at since (another row may share the instant),
	// and these are not copied again.
	atSince map[int64]bool
}

// Sync copies what changed and returns how many rows it wrote.
func (s *NotificationSync) Sync(ctx context.Context, st store.Store, d *alerts.Dispatcher) (int, error) {
	ns, err := d.ListUpdatedSince(ctx, s.since)
	if err != nil {
		return 0, err
	}
	rows := make([]schemas.NotificationRow, 0, len(ns))
	next, at := s.since, s.atSince
	for _, n := range ns {
		if n.UpdatedAt.Equal(s.since) && s.atSince[n.ID] {
			continue
		}
		if n.Alert.ID != "" {
			rows = append(rows, NotificationRow(n))
		}
		if n.UpdatedAt.After(next) {
			next, at = n.UpdatedAt, map[int64]bool{}
		}
		if n.UpdatedAt.Equal(next) {
			if at == nil {
				at = map[int64]bool{}
			}
			at[n.ID] = true
		}
	}
	if len(rows) > 0 {
		if err := st.UpsertNotifications(ctx, rows); err != nil {
			return 0, fmt.Errorf("copy notification states: %w", err)
		}
	}
	s.since, s.atSince = next, at
	return len(rows), nil
}

// SyncSilences copies into sil every silence of the actions table still in
// force at now that it does not hold yet (one per action id), and returns
// how many it added. The alerts stage calls it every silencesSyncEvery.
func SyncSilences(ctx context.Context, st store.Store, sil *alerts.Silences, now time.Time) (int, error) {
	rows, err := st.LoadActions(ctx, store.ActionFilter{Action: schemas.ActionSilence})
	if err != nil {
		return 0, fmt.Errorf("load silences: %w", err)
	}
	have, err := sil.List(ctx, true)
	if err != nil {
		return 0, err
	}
	held := make(map[string]bool, len(have))
	for _, s := range have {
		if s.ActionID != "" {
			held[s.ActionID] = true
		}
	}
	n := 0
	for _, r := range rows {
		if held[r.ID] || r.ExpiresAt == nil || !r.ExpiresAt.After(now) || len(r.Matchers) == 0 {
			continue
		}
		if _, err := sil.Add(ctx, silenceOf(r)); err != nil {
			return n, fmt.Errorf("silence of action %s: %w", r.ID, err)
		}
		n++
	}
	return n, nil
}

// IncidentSubjects lists what crossed the boundary in an incident: its
// first subject and the examples it kept, each once, in order. An accept
// covers each of them.
func IncidentSubjects(al schemas.Alert) []string {
	out := []string{al.Subject}
	for _, s := range al.SubjectExamples {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// listSuggestion is Suggestion when neither the agent's playground nor the
// incident's events are at hand: each subject the incident kept, named
// with the list of the playground it belongs in.
func listSuggestion(al schemas.Alert) string {
	if al.Boundary == schemas.BoundaryLearned {
		return ""
	}
	var adds []string
	for _, subject := range IncidentSubjects(al) {
		key, value := "", ""
		switch al.Detector {
		case detect.DPlaygroundDeclared:
			kind, v, _ := strings.Cut(subject, ":")
			value = v
			switch kind {
			case "system":
				key = "playground.systems"
			case "action":
				key = "playground.actions"
			case "resource":
				key = "playground.resources"
			}
		case detect.DDelegNotAllowed:
			key, value = "playground.delegators", subject
		case detect.DCredDisallowedType:
			key, value = "playground.credentials.allowed_types", subject
		}
		if key != "" && value != "" {
			adds = append(adds, fmt.Sprintf("%q to %s", value, key))
		}
	}
	if len(adds) == 0 {
		return ""
	}
	return fmt.Sprintf("agents.yaml, agent %s: add %s", al.Identity.AgentID, strings.Join(adds, ", "))
}

func newActionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// actionsReloadEvery is how often the detect stage rereads the actions
// table for actions taken by other processes.
const actionsReloadEvery = 5 * time.Second

// actionSync brings a detect engine up to date with the actions table.
type actionSync struct {
	st      store.Store
	changed *atomic.Int64
	seen    int64
	next    time.Time
	now     func() time.Time
}

// maybeApply reloads when the interval passed or this process took an
// action since the last load. A failed load keeps what the engine had and
// is tried again at the next batch.
func (s *actionSync) maybeApply(ctx context.Context, eng *detect.Engine) error {
	now := s.now()
	gen := s.changed.Load()
	if gen == s.seen && now.Before(s.next) {
		return nil
	}
	accepted, closed, err := LoadDetectorActions(ctx, s.st)
	if err != nil {
		return err
	}
	eng.SetAccepted(accepted)
	eng.ForgetAlerts(closed)
	s.seen, s.next = gen, now.Add(actionsReloadEvery)
	return nil
}

// LoadDetectorActions reads what detection must know from the actions
// table: the accepted behaviours (expired ones included: the engine
// compares with event time) and the ids of incidents people closed.
func LoadDetectorActions(ctx context.Context, st store.Store) ([]detect.Accepted, map[string]bool, error) {
	rows, err := st.LoadActions(ctx, store.ActionFilter{Action: schemas.ActionAccept})
	if err != nil {
		return nil, nil, fmt.Errorf("load accepted behaviours: %w", err)
	}
	resolved, err := st.LoadActions(ctx, store.ActionFilter{Action: schemas.ActionResolve})
	if err != nil {
		return nil, nil, fmt.Errorf("load resolved incidents: %w", err)
	}
	closed := map[string]bool{}
	acc := make([]detect.Accepted, 0, len(rows))
	for _, r := range rows {
		subjects := r.Subjects
		if len(subjects) == 0 {
			subjects = []string{r.Subject}
		}
		for _, s := range subjects {
			a := detect.Accepted{AgentID: r.AgentID, Detector: r.Detector, Subject: s}
			if r.ExpiresAt != nil {
				a.Until = *r.ExpiresAt
			}
			acc = append(acc, a)
		}
		closed[r.AlertID] = true
	}
	for _, r := range resolved {
		closed[r.AlertID] = true
	}
	return acc, closed, nil
}
