package posture

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/schemas"
)

// StateStore keeps finding states (the store's posture_finding_states).
type StateStore interface {
	UpsertPostureFindings(ctx context.Context, rows []schemas.PostureFindingRow) error
	LoadPostureFindings(ctx context.Context) ([]schemas.PostureFindingRow, error)
}

// Changes is what one saved evaluation changed, by finding id.
type Changes struct {
	New   []string // open now, not open before
	Fixed []string // open before, not found now
	Open  []string // open before and now
}

// Save records the report's findings as open and every previously open
// finding it no longer has as fixed, with the evaluation time as version,
// so the posture_findings view shows the latest evaluation.
func Save(ctx context.Context, st StateStore, r *Report) (Changes, error) {
	var ch Changes
	prev, err := st.LoadPostureFindings(ctx)
	if err != nil {
		return ch, fmt.Errorf("posture: load finding states: %w", err)
	}
	before := map[string]schemas.PostureFindingRow{}
	for _, p := range prev {
		before[p.ID] = p
	}
	at := r.GeneratedAt.UTC().Truncate(time.Second)
	version := r.GeneratedAt.UnixNano()
	rows := make([]schemas.PostureFindingRow, 0, len(r.Findings))
	now := map[string]bool{}
	for _, f := range r.Findings {
		if now[f.ID] {
			continue
		}
		now[f.ID] = true
		ev, err := json.Marshal(f.Evidence)
		if err != nil {
			return ch, fmt.Errorf("posture: encode evidence of %s: %w", f.ID, err)
		}
		first := at
		if p, ok := before[f.ID]; ok && p.Status == schemas.FindingOpen {
			first = p.FirstSeen
			ch.Open = append(ch.Open, f.ID)
		} else {
			ch.New = append(ch.New, f.ID)
		}
		rows = append(rows, schemas.PostureFindingRow{ID: f.ID, Type: f.Type, Severity: f.Severity, AgentID: f.AgentID,
			Owner: f.Owner, Subject: f.Subject, Summary: f.Summary, Evidence: string(ev), Fix: f.Fix,
			Status: schemas.FindingOpen, FirstSeen: first, LastSeen: at, EvaluatedAt: at, Version: version})
	}
	for _, p := range prev {
		if p.Status != schemas.FindingOpen || now[p.ID] || p.Version >= version {
			continue
		}
		p.Status, p.EvaluatedAt, p.Version = schemas.FindingFixed, at, version
		rows = append(rows, p)
		ch.Fixed = append(ch.Fixed, p.ID)
	}
	sort.Strings(ch.New)
	sort.Strings(ch.Fixed)
	sort.Strings(ch.Open)
	if len(rows) == 0 {
		return ch, nil
	}
	if err := st.UpsertPostureFindings(ctx, rows); err != nil {
		return ch, fmt.Errorf("posture: save %d finding states: %w", len(rows), err)
	}
	return ch, nil
}

// Metrics are the posture gauges: one series per finding type and
// severity (a closed set), the time of the last evaluation, and digests.
type Metrics struct {
	findings *prometheus.GaugeVec
	last     prometheus.Gauge
	digests  *prometheus.CounterVec
}

// NewMetrics registers the posture metrics on reg (nil: kept, not exported).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentwatch_posture_findings",
			Help: "Open posture findings of the last evaluation, by finding type and severity.",
		}, []string{"type", "severity"}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agentwatch_posture_last_evaluation_timestamp_seconds",
			Help: "When posture was last evaluated (Unix time).",
		}),
		digests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_posture_digests_total",
			Help: "Posture digests per owner, by result (sent, failed, empty).",
		}, []string{"result"}),
	}
	for _, t := range Types {
		for _, s := range schemas.Severities {
			m.findings.WithLabelValues(t, string(s))
		}
	}
	for _, r := range []string{"sent", "failed", "empty"} {
		m.digests.WithLabelValues(r)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.findings, m.last, m.digests} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register posture metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Observe sets the gauges from a report.
func (m *Metrics) Observe(r *Report) {
	if m == nil {
		return
	}
	counts := map[[2]string]int{}
	for _, f := range r.Findings {
		counts[[2]string{f.Type, string(f.Severity)}]++
	}
	for _, t := range Types {
		for _, s := range schemas.Severities {
			m.findings.WithLabelValues(t, string(s)).Set(float64(counts[[2]string{t, string(s)}]))
		}
	}
	m.last.Set(float64(r.GeneratedAt.Unix()))
}

// Digest counts one owner's digest by result.
func (m *Metrics) Digest(result string) {
	if m != nil {
		m.digests.WithLabelValues(result).Inc()
	}
}
