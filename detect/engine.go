package detect

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// Engine judges events one at a time against declared and learned
// boundaries, learning from each event after judging it. It is not safe
// for concurrent use: the detector stage owns one per consumer.
type Engine struct {
	cfg    Config
	inv    *inventory.Inventory
	tr     *baseline.Tracker
	cat    *catalogue
	alerts map[string]*alertState
	// verdicts caches declared-playground checks (see verdict).
	verdicts map[verdictKey]uint8
	// principals caches the inventory's principals entry of a principal
	// (see knownPrincipal).
	principals map[string]*inventory.Principal
	supp       *suppressions
	// accepted maps dedup keys people accepted to when that ends.
	accepted map[string]time.Time
	log      *slog.Logger
	clock    func() time.Time
	metrics  *metrics

	now        time.Time // latest event or Advance time
	nextWindow int64     // unix seconds: when the clock next crosses a window
	nextReload time.Time
	buf        []finding

	// policies is each detector's incident grouping (detect.incidents).
	policies      map[string]*incidentPolicy
	defaultPolicy *incidentPolicy
	keyBuf        []byte
	obs           Observer
}

// Observer hears what the engine decides, for reports such as playground
// check and the dry-run report. It is called on the engine's goroutine.
// Events are passed by value (or only their time): a pointer handed to an
// interface would make every caller's event escape to the heap, one
// allocation per event even with no observer.
type Observer interface {
	// Event hears the time of every event before it is judged.
	Event(t time.Time)
	// Finding hears every finding that was not suppressed, before it joins
	// its incident.
	Finding(agentID string, f FindingInfo, ev schemas.AgentEvent)
	// Alert hears every alert the engine returns (new, updated, resolved).
	Alert(a *schemas.Alert)
}

// FindingInfo is what an Observer learns of a finding.
type FindingInfo struct {
	Detector, Subject, Boundary string
	Score                       int
}

// WithObserver makes the engine report its findings and alerts to o.
func WithObserver(o Observer) Option { return func(e *Engine) { e.obs = o } }

// Option configures an Engine.
type Option func(*Engine)

// WithRegisterer registers the engine's metrics with reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(e *Engine) { e.metrics = newMetrics(reg) }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithClock sets the wall clock (used for version stamps and timestamps
// that are not event time).
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.clock = now } }

type metrics struct {
	events     prometheus.Counter
	findings   *prometheus.CounterVec
	suppressed *prometheus.CounterVec
	alerts     *prometheus.CounterVec
	agents     prometheus.Gauge
	reloads    *prometheus.CounterVec

	// The children of the vectors above, looked up once: WithLabelValues
	// hashes its labels and takes a lock on every call.
	byDetector                         map[string]detectorCounters
	alertNew, alertUpdated, alertResol prometheus.Counter
}

type detectorCounters struct{ findings, suppressed prometheus.Counter }

// detector returns the counters of a detector.
func (m *metrics) detector(name string) detectorCounters {
	if c, ok := m.byDetector[name]; ok {
		return c
	}
	return detectorCounters{m.findings.WithLabelValues(name), m.suppressed.WithLabelValues(name)}
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "agentwatch_detect_events_total", Help: "Events evaluated by the detector."}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentwatch_detect_findings_total",
			Help: "Findings by detector, before dedup and suppression."}, []string{"detector"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentwatch_detect_suppressed_total",
			Help: "Findings silenced by a suppression, by detector."}, []string{"detector"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentwatch_detect_alert_changes_total",
			Help: "Alert changes emitted: new, updated, resolved."}, []string{"change"}),
		agents: prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentwatch_detect_tracked_agents", Help: "Agents with state in memory."}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentwatch_detect_suppression_reloads_total",
			Help: "Suppression file reloads by result."}, []string{"result"}),
	}
	m.byDetector = make(map[string]detectorCounters, len(Detectors))
	for _, d := range Detectors {
		m.byDetector[d] = detectorCounters{m.findings.WithLabelValues(d), m.suppressed.WithLabelValues(d)}
	}
	m.alertNew, m.alertUpdated, m.alertResol = m.alerts.WithLabelValues("new"), m.alerts.WithLabelValues("updated"), m.alerts.WithLabelValues("resolved")
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(m.events, m.findings, m.suppressed, m.alerts, m.agents, m.reloads)
	}
	return m
}

// NewEngine validates cfg and builds an engine. A suppressions file that
// is configured must load now; later reload errors keep the last good set.
func NewEngine(cfg Config, inv *inventory.Inventory, opts ...Option) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if inv == nil {
		inv = inventory.Empty()
	}
	cat, err := parseCatalogue("data/sensitive.txt", sensitiveData)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, inv: inv, tr: baseline.NewTracker(cfg.Baseline, inv), cat: cat,
		alerts: map[string]*alertState{}, verdicts: map[verdictKey]uint8{}, log: slog.New(slog.DiscardHandler), clock: time.Now,
		policies: cfg.Incidents.policies(), defaultPolicy: &incidentPolicy{parts: cfg.Incidents.GroupBy, quiet: cfg.Incidents.QuietPeriod}}
	for _, o := range opts {
		o(e)
	}
	if e.metrics == nil {
		e.metrics = newMetrics(nil)
	}
	e.supp = &suppressions{path: cfg.SuppressionsFile}
	if cfg.SuppressionsFile != "" {
		if _, err := e.supp.reload(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Tracker exposes the engine's learned state (for tools and tests).
func (e *Engine) Tracker() *baseline.Tracker { return e.tr }

// Process evaluates one event, learns from it, and returns the alerts that
// are new or changed because of it (including incidents resolved by the
// passage of event time).
func (e *Engine) Process(ev *schemas.AgentEvent) []schemas.Alert {
	if e.obs != nil {
		e.obs.Event(ev.Time)
	}
	out := e.process(ev)
	if e.obs != nil {
		for i := range out {
			e.obs.Alert(&out[i])
		}
	}
	return out
}

func (e *Engine) process(ev *schemas.AgentEvent) []schemas.Alert {
	e.metrics.events.Inc()
	var out []schemas.Alert
	if ev.Time.After(e.now) {
		out, _ = e.tick(ev.Time)
	}
	if ev.Unattributed {
		return append(out, e.unattributed(ev)...)
	}
	if ev.PrincipalKind != "" { // baseline.MadeFor
		return append(out, e.madeFor(ev)...)
	}
	o := e.tr.Observe(ev)
	ag := o.Agent.Decl // the tracker's inventory is e.inv
	fs := e.buf[:0]
	broke := false
	if ag != nil {
		fs, broke = e.declared(ag, ev, &o, fs)
	}
	own := e.tr.Mature(o.Agent)
	if own || (o.Agent.P.N < uint32(e.cfg.Baseline.MinWindows) && e.tr.PeerMature(o.Peer)) {
		n := len(fs)
		fs = e.learned(ag, ev, &o, own, broke, fs)
		if len(fs) > n && n == 0 && ag != nil {
			fs = e.declaredSlot(ag, ev, fs)
		}
	}
	e.buf = fs[:0]
	if len(fs) == 0 {
		return out
	}
	id := schemas.Identity{AgentID: ev.AgentID}
	if ag != nil {
		id = ag.Identity()
		id.Status = ag.StatusAt(ev.Time) // the status then, so a replay names what a live run named
	}
	id.AgentInstance, id.OnBehalfOf, id.Principal = ev.AgentInstance, ev.OnBehalfOf, ev.Principal
	id.CredentialID, id.CredentialType, id.CredentialIssued = ev.CredentialID, ev.CredentialType, ev.CredentialIssuedAt
	return append(out, e.emit(fs, ev.AgentID, id, ev)...)
}

// emit applies suppressions and dedup to findings.
func (e *Engine) emit(fs []finding, agentID string, id schemas.Identity, ev *schemas.AgentEvent) []schemas.Alert {
	var out []schemas.Alert
	for i := range fs {
		f := &fs[i]
		c := e.metrics.detector(f.detector)
		c.findings.Inc()
		if e.supp.match(agentID, f.detector, f.subject, ev.Time) || e.isAccepted(agentID, f.detector, f.subject, ev.Time) {
			c.suppressed.Inc()
			continue
		}
		if e.obs != nil {
			e.obs.Finding(agentID, FindingInfo{Detector: f.detector, Subject: f.subject, Boundary: f.boundary, Score: f.score}, *ev)
		}
		out = e.raise(out, f, agentID, id, ev)
	}
	return out
}

// tick moves the event clock: window boundaries close windows and resolve
// alerts; the suppressions file is checked every ReloadEvery. It reports
// whether it ran resolve.
func (e *Engine) tick(now time.Time) ([]schemas.Alert, bool) {
	e.now = now
	if !now.Before(e.nextReload) {
		e.nextReload = now.Add(e.cfg.ReloadEvery)
		e.reloadSuppressions()
	}
	if now.Unix() < e.nextWindow {
		return nil, false
	}
	e.nextWindow = e.tr.WindowStart(now.Unix()) + int64(e.cfg.Baseline.Window/time.Second)
	// Quiet agents' windows close one window late, so that sources a few
	// minutes behind the others still count; an agent's own next event
	// closes its window anyway.
	e.tr.Advance(now.Add(-e.cfg.Baseline.Window))
	e.metrics.agents.Set(float64(e.tr.Len()))
	return e.resolve(now), true
}

func (e *Engine) reloadSuppressions() {
	changed, err := e.supp.reload()
	switch {
	case err != nil:
		e.metrics.reloads.WithLabelValues("error").Inc()
		e.log.Error("reload suppressions; keeping the previous set", "err", err)
	case changed:
		e.metrics.reloads.WithLabelValues("ok").Inc()
		e.log.Info("suppressions reloaded", "file", e.supp.path, "entries", e.supp.len())
	}
}

// Advance moves the engine's clock to now (event time, for compressed-time
// runs), closing windows and resolving alerts; it returns changed alerts.
// It is cheap unless now crosses a window boundary, so callers may call it
// after every batch.
func (e *Engine) Advance(now time.Time) []schemas.Alert {
	if !now.After(e.now) {
		return nil
	}
	out, resolved := e.tick(now)
	if !resolved {
		out = e.resolve(now) // tick resolves on window boundaries only
	}
	if e.obs != nil {
		for i := range out {
			e.obs.Alert(&out[i])
		}
	}
	return out
}

// Snapshot persists what only the detector knows: its open incidents (so
// they keep growing after a restart even if the dispatcher has not stored them
// yet). Profiles and playgrounds are written by the baseline worker, whose
// state is exact (taken at window close, deduplicated by event id); the
// detector restores from it rather than overwriting it with its own
// approximate copy.
func (e *Engine) Snapshot(ctx context.Context, st store.Store) error {
	as := make([]schemas.Alert, 0, len(e.alerts))
	for _, st := range e.alerts {
		e.refresh(st)
		as = append(as, cloneAlert(&st.alert))
	}
	if len(as) == 0 {
		return nil
	}
	sortAlerts(as)
	if err := st.UpsertAlerts(ctx, as); err != nil {
		return fmt.Errorf("snapshot firing alerts: %w", err)
	}
	return nil
}

// Restore loads the baseline worker's state of agentIDs (all stored agents
// when empty) and the firing alerts, so dedup and learning resume where
// they stopped. The open window's counts restart from zero, which can only
// delay a volume alert, never invent one.
func (e *Engine) Restore(ctx context.Context, st store.Store, agentIDs []string) error {
	rows, err := st.LoadBaselines(ctx, agentIDs)
	if err != nil {
		return fmt.Errorf("restore detector baselines: %w", err)
	}
	byAgent := map[string][]schemas.BaselineRow{}
	for _, r := range rows {
		byAgent[r.AgentID] = append(byAgent[r.AgentID], r)
	}
	for id, rs := range byAgent {
		s, ok := baseline.DecodeState(rs)
		if !ok {
			e.log.Warn("no usable state for agent; it relearns", "agent", id)
			continue
		}
		if _, err := e.tr.Import(s); err != nil {
			return fmt.Errorf("restore detector state: %w", err)
		}
	}
	want := map[string]bool{}
	for _, id := range agentIDs {
		want[id] = true
	}
	alerts, err := st.LoadAlerts(ctx, store.AlertFilter{Status: schemas.StatusFiring})
	if err != nil {
		return fmt.Errorf("restore firing alerts: %w", err)
	}
	for _, a := range alerts {
		if len(want) > 0 && !want[a.Identity.AgentID] {
			continue
		}
		e.alerts[a.DedupKey] = e.restoreState(a)
	}
	return nil
}
