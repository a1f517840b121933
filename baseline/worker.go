package baseline

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// WorkerStore is what the baseline worker needs from the store.
type WorkerStore interface {
	InsertEvents(ctx context.Context, evs []schemas.AgentEvent) error
	InsertWindows(ctx context.Context, rows []schemas.WindowRow) error
	InsertBaselines(ctx context.Context, rows []schemas.BaselineRow) error
	InsertPlayground(ctx context.Context, rows []schemas.PlaygroundRow) error
	LoadBaselines(ctx context.Context, agentIDs []string) ([]schemas.BaselineRow, error)
	ScanEvents(ctx context.Context, agentIDs []string, from, to time.Time, fn func(schemas.AgentEvent) error) error
}

var _ WorkerStore = store.Store(nil)

// Item is one event with where it came from, so redelivered messages can
// be recognised.
type Item struct {
	Event     schemas.AgentEvent
	Partition int
	Offset    int64
}

// endOfTime bounds event scans from above.
var endOfTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// Worker is the baseline stage: it stores events, closes tumbling windows,
// and persists windows, profiles and playground.
//
// Exactly-once counting rests on three rules. Events are stored first
// (idempotent by event_id). An agent's persisted state is taken at the
// moment a window closes, so it covers exactly the events before its open
// window. An agent loaded from the store replays its open window's events
// from the events table, and every event id of the open window is
// remembered, so a redelivered event is recognised and an event older than
// the open window (late, or redelivered after its window closed) is
// stored but not counted.
type Worker struct {
	cfg Config
	st  WorkerStore
	log *slog.Logger
	tr  *Tracker
	m   workerMetrics

	loaded map[string]bool // agents whose state came from the store
	// seen holds a 64-bit hash of each event id counted in an agent's
	// open window, so a redelivered or re-published event is not counted
	// twice. Hashes rather than the ids: 8 bytes an event, and no
	// reference that would keep a decoded event's strings alive. Two ids
	// of one window sharing a hash (odds about n²/2⁶⁵ for n events)
	// would undercount that window by one.
	seen    map[string]map[uint64]struct{}
	seed    maphash.Seed
	partOf  map[string]int      // agent -> partition it arrived on
	maxOff  map[int]int64       // partition -> highest offset counted
	windows []schemas.WindowRow // closed windows awaiting persistence
	states  map[string]*Agent   // agents whose state awaits persistence
	baseRow []schemas.BaselineRow
	playRow []schemas.PlaygroundRow
	maxTime time.Time // latest event time seen
	now     func() time.Time
}

type workerMetrics struct {
	events *prometheus.CounterVec
	// The per-event results, resolved once.
	counted, duplicate, late, unattributed prometheus.Counter
	windows                                prometheus.Counter
	errors                                 *prometheus.CounterVec
	agents                                 prometheus.Gauge
}

func newWorkerMetrics(reg prometheus.Registerer) workerMetrics {
	m := workerMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentwatch_baseline_events_total",
			Help: "Events handled by the baseline worker, by result."}, []string{"result"}),
		windows: prometheus.NewCounter(prometheus.CounterOpts{Name: "agentwatch_baseline_windows_closed_total",
			Help: "Non-empty windows closed and persisted."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentwatch_baseline_store_errors_total",
			Help: "Store operations that failed, by operation."}, []string{"op"}),
		agents: prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentwatch_baseline_tracked_agents", Help: "Agents with state in memory."}),
	}
	for _, r := range []string{"counted", "duplicate", "late", "invalid", "unattributed"} {
		m.events.WithLabelValues(r)
	}
	m.counted, m.duplicate = m.events.WithLabelValues("counted"), m.events.WithLabelValues("duplicate")
	m.late, m.unattributed = m.events.WithLabelValues("late"), m.events.WithLabelValues("unattributed")
	for _, op := range []string{"insert_events", "load_state", "persist"} {
		m.errors.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(m.events, m.windows, m.errors, m.agents)
	}
	return m
}

// NewWorker builds the baseline stage.
func NewWorker(cfg Config, st WorkerStore, inv *inventory.Inventory, reg prometheus.Registerer, log *slog.Logger) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil {
		return nil, errors.New("new baseline worker: store is nil")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if inv == nil {
		inv = inventory.Empty()
	}
	w := &Worker{cfg: cfg, st: st, log: log, tr: NewTracker(cfg, inv), m: newWorkerMetrics(reg),
		loaded: map[string]bool{}, seen: map[string]map[uint64]struct{}{}, seed: maphash.MakeSeed(), partOf: map[string]int{},
		maxOff: map[int]int64{}, states: map[string]*Agent{}, now: time.Now}
	w.tr.OnWindow = func(_ *Agent, row schemas.WindowRow) {
		row.UpdatedAt = w.now().UTC()
		w.windows = append(w.windows, row)
	}
	w.tr.OnClose = w.capture
	return w, nil
}

// capture snapshots an agent's state at a window close (see Tracker.OnClose).
func (w *Worker) capture(a *Agent) {
	delete(w.seen, a.ID) // a new window: its event ids start afresh
	rows, err := w.tr.BaselineRows(a, w.now())
	if err != nil {
		w.log.Error("encode baseline state", "agent", a.ID, "err", err)
		return
	}
	// Only the latest capture of an agent matters; drop earlier ones.
	if w.states[a.ID] != nil {
		w.baseRow = dropAgent(w.baseRow, a.ID)
		w.playRow = dropAgentPlay(w.playRow, a.ID)
	}
	w.states[a.ID] = a
	w.baseRow = append(w.baseRow, rows...)
	w.playRow = append(w.playRow, w.tr.PlaygroundRows(a)...)
}

func dropAgent(rows []schemas.BaselineRow, id string) []schemas.BaselineRow {
	out := rows[:0]
	for _, r := range rows {
		if r.AgentID != id {
			out = append(out, r)
		}
	}
	return out
}

func dropAgentPlay(rows []schemas.PlaygroundRow, id string) []schemas.PlaygroundRow {
	out := rows[:0]
	for _, r := range rows {
		if r.AgentID != id {
			out = append(out, r)
		}
	}
	return out
}

// Tracker exposes the worker's state (read-only use).
func (w *Worker) Tracker() *Tracker { return w.tr }

// HandleBatch returns nil only once the batch's effects are durable in the
// store; the caller then commits the Kafka offsets. On error, the state of
// the batch's agents is dropped from memory and reloaded from the store on
// their next event, so a retry counts every event exactly once.
func (w *Worker) HandleBatch(ctx context.Context, items []Item) error {
	evs := make([]schemas.AgentEvent, 0, len(items))
	keep := make([]int, 0, len(items))
	for i := range items {
		it := &items[i]
		if max, ok := w.maxOff[it.Partition]; ok && it.Offset <= max {
			w.m.duplicate.Inc()
			continue
		}
		if err := it.Event.Validate(); err != nil {
			w.m.events.WithLabelValues("invalid").Inc()
			w.log.Error("invalid event on the events topic; stored nowhere", "partition", it.Partition, "offset", it.Offset, "err", err)
			continue
		}
		evs = append(evs, it.Event)
		keep = append(keep, i)
	}
	if len(evs) > 0 {
		if err := w.st.InsertEvents(ctx, evs); err != nil {
			w.m.errors.WithLabelValues("insert_events").Inc()
			return fmt.Errorf("baseline: insert events: %w", err)
		}
	}
	touched := map[string]bool{}
	err := w.count(ctx, items, keep, touched)
	if err == nil {
		err = w.persist(ctx)
	}
	if err != nil {
		w.forget(touched)
		return err
	}
	for _, i := range keep {
		it := &items[i]
		if cur, ok := w.maxOff[it.Partition]; !ok || it.Offset > cur {
			w.maxOff[it.Partition] = it.Offset
		}
	}
	w.m.agents.Set(float64(w.tr.Len()))
	return nil
}

func (w *Worker) count(ctx context.Context, items []Item, keep []int, touched map[string]bool) error {
	var load []string
	for _, i := range keep {
		it := &items[i]
		if it.Event.Unattributed || MadeFor(&it.Event) {
			continue
		}
		id := it.Event.AgentID
		if !touched[id] {
			touched[id] = true
			if !w.loaded[id] {
				load = append(load, id)
			}
		}
		w.partOf[id] = it.Partition
	}
	// Agents new to this worker (after a start or a rebalance) are loaded
	// together: one state query and one scan per distinct replay start,
	// rather than two round trips per agent.
	if err := w.load(ctx, load); err != nil {
		return err
	}
	for _, i := range keep {
		ev := &items[i].Event
		if ev.Unattributed {
			w.m.unattributed.Inc()
			continue
		}
		if MadeFor(ev) {
			continue // stored, not learned: the caller acted, not the agent
		}
		w.observe(ev)
	}
	return nil
}

// observe counts one event unless it is a duplicate or late.
func (w *Worker) observe(ev *schemas.AgentEvent) {
	if ev.Time.After(w.maxTime) {
		w.maxTime = ev.Time
	}
	h := maphash.String(w.seed, ev.EventID)
	if ids := w.seen[ev.AgentID]; ids != nil {
		if _, dup := ids[h]; dup {
			w.m.duplicate.Inc()
			return
		}
	}
	if w.tr.IsLate(ev.AgentID, ev.Time) {
		w.m.late.Inc()
		return
	}
	w.tr.Observe(ev) // may close windows, which resets seen for the agent
	ids := w.seen[ev.AgentID]
	if ids == nil {
		ids = map[uint64]struct{}{}
		w.seen[ev.AgentID] = ids
	}
	ids[h] = struct{}{}
	w.m.counted.Inc()
}

// load restores agents from their persisted state and replays the events
// of each one's open window (all its events when it has no state yet).
// Agents whose replay starts at the same time share one scan.
func (w *Worker) load(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := w.st.LoadBaselines(ctx, ids)
	if err != nil {
		w.m.errors.WithLabelValues("load_state").Inc()
		return fmt.Errorf("baseline: load state of %d agents (first %q): %w", len(ids), ids[0], err)
	}
	byAgent := make(map[string][]schemas.BaselineRow, len(ids))
	for _, r := range rows {
		byAgent[r.AgentID] = append(byAgent[r.AgentID], r)
	}
	// Replay groups, keyed by where the replay starts.
	groups := map[int64][]string{}
	for _, id := range ids {
		var from int64
		if st, ok := DecodeState(byAgent[id]); ok {
			if _, err := w.tr.Import(st); err != nil {
				return fmt.Errorf("baseline: restore agent %q: %w", id, err)
			}
			from = st.WindowStart
		}
		w.loaded[id] = true
		groups[from] = append(groups[from], id)
	}
	starts := make([]int64, 0, len(groups))
	for from := range groups {
		starts = append(starts, from)
	}
	slices.Sort(starts)
	for _, from := range starts {
		group := groups[from]
		err = w.st.ScanEvents(ctx, group, time.Unix(from, 0), endOfTime, func(ev schemas.AgentEvent) error {
			if !ev.Unattributed && !MadeFor(&ev) {
				w.observe(&ev)
			}
			return nil
		})
		if err != nil {
			w.m.errors.WithLabelValues("load_state").Inc()
			return fmt.Errorf("baseline: replay open windows of %d agents (first %q): %w", len(group), group[0], err)
		}
	}
	return nil
}

// persist writes closed windows and captured states.
func (w *Worker) persist(ctx context.Context) error {
	if len(w.windows) > 0 {
		if err := w.st.InsertWindows(ctx, w.windows); err != nil {
			w.m.errors.WithLabelValues("persist").Inc()
			return fmt.Errorf("baseline: insert windows: %w", err)
		}
		w.m.windows.Add(float64(len(w.windows)))
	}
	if len(w.baseRow) > 0 {
		if err := w.st.InsertBaselines(ctx, w.baseRow); err != nil {
			w.m.errors.WithLabelValues("persist").Inc()
			return fmt.Errorf("baseline: insert baselines: %w", err)
		}
	}
	if len(w.playRow) > 0 {
		if err := w.st.InsertPlayground(ctx, w.playRow); err != nil {
			w.m.errors.WithLabelValues("persist").Inc()
			return fmt.Errorf("baseline: insert playground: %w", err)
		}
	}
	w.windows, w.baseRow, w.playRow = w.windows[:0], w.baseRow[:0], w.playRow[:0]
	clear(w.states)
	return nil
}

// forget drops agents (and anything pending for them) so their next event
// reloads them from durable state.
func (w *Worker) forget(ids map[string]bool) {
	for id := range w.states {
		ids[id] = true
	}
	for id := range ids {
		w.tr.Drop(id)
		delete(w.loaded, id)
		delete(w.seen, id)
	}
	w.windows, w.baseRow, w.playRow = w.windows[:0], w.baseRow[:0], w.playRow[:0]
	clear(w.states)
}

// Flush closes the windows of quiet agents once the stream's event time
// has moved a full window past their end, and persists pending state.
// Call it on shutdown and periodically.
func (w *Worker) Flush(ctx context.Context) error {
	if !w.maxTime.IsZero() {
		due := w.maxTime.Add(-w.cfg.Window)
		w.tr.Advance(due)
	}
	if err := w.persist(ctx); err != nil {
		w.forget(map[string]bool{})
		return err
	}
	return nil
}

// Assigned is the rebalance hook: agents last seen on a partition no
// longer owned are dropped; they reload lazily from the store if they
// come back. Call Flush before a rebalance to persist pending state.
func (w *Worker) Assigned(partitions []int) {
	owned := map[int]bool{}
	for _, p := range partitions {
		owned[p] = true
	}
	for id, p := range w.partOf {
		if !owned[p] {
			w.tr.Drop(id)
			delete(w.loaded, id)
			delete(w.seen, id)
			delete(w.partOf, id)
		}
	}
	for p := range w.maxOff {
		if !owned[p] {
			delete(w.maxOff, p)
		}
	}
	w.m.agents.Set(float64(w.tr.Len()))
}
