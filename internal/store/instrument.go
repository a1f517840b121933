package store

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/schemas"
)

// Tables are the store's tables, the only values of the "table" label.
var Tables = []string{"events", "agent_windows", "agent_baselines", "agent_playground", "agents", "alerts", "actions",
	"posture_finding_states", "alert_notifications"}

// WriteMetrics are the write series every store backend exports, with a
// constant "backend" label and one "table" label value per table.
type WriteMetrics struct {
	Seconds *prometheus.HistogramVec // agentwatch_store_write_duration_seconds
	Rows    *prometheus.CounterVec   // agentwatch_store_rows_written_total
	Errors  *prometheus.CounterVec   // agentwatch_store_write_errors_total
}

// NewWriteMetrics builds the write series for backend, label values
// pre-initialised; the caller registers Collectors().
func NewWriteMetrics(backend string) *WriteMetrics {
	labels := prometheus.Labels{"backend": backend}
	m := &WriteMetrics{
		Seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "agentwatch_store_write_duration_seconds", Help: "Time to store one batch, retries included.",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"table"}),
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_store_rows_written_total", Help: "Rows stored (a redelivered row counts again; queries collapse it).", ConstLabels: labels,
		}, []string{"table"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_store_write_errors_total", Help: "Failed write attempts, each retry counted.", ConstLabels: labels,
		}, []string{"table"}),
	}
	for _, t := range Tables {
		m.Seconds.WithLabelValues(t)
		m.Rows.WithLabelValues(t)
		m.Errors.WithLabelValues(t)
	}
	return m
}

// Collectors lists the series for registration.
func (m *WriteMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Seconds, m.Rows, m.Errors}
}

// instrumented times every write of a store that has no metrics of its own
// (SQLite), with the same series the ClickHouse store exports.
type instrumented struct {
	Store
	m *WriteMetrics
}

// Instrument wraps s so that its writes are measured on reg under the
// given backend label.
func Instrument(s Store, backend string, reg prometheus.Registerer) (Store, error) {
	m := &instrumented{Store: s, m: NewWriteMetrics(backend)}
	for _, c := range m.m.Collectors() {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *instrumented) observe(table string, n int, start time.Time, err error) error {
	m.m.Seconds.WithLabelValues(table).Observe(time.Since(start).Seconds())
	if err != nil {
		m.m.Errors.WithLabelValues(table).Inc()
		return err
	}
	m.m.Rows.WithLabelValues(table).Add(float64(n))
	return nil
}

func (m *instrumented) InsertEvents(ctx context.Context, evs []schemas.AgentEvent) error {
	start := time.Now()
	return m.observe("events", len(evs), start, m.Store.InsertEvents(ctx, evs))
}

func (m *instrumented) InsertWindows(ctx context.Context, rows []schemas.WindowRow) error {
	start := time.Now()
	return m.observe("agent_windows", len(rows), start, m.Store.InsertWindows(ctx, rows))
}

func (m *instrumented) InsertBaselines(ctx context.Context, rows []schemas.BaselineRow) error {
	start := time.Now()
	return m.observe("agent_baselines", len(rows), start, m.Store.InsertBaselines(ctx, rows))
}

func (m *instrumented) InsertPlayground(ctx context.Context, rows []schemas.PlaygroundRow) error {
	start := time.Now()
	return m.observe("agent_playground", len(rows), start, m.Store.InsertPlayground(ctx, rows))
}

func (m *instrumented) UpsertAgents(ctx context.Context, rows []schemas.AgentRow) error {
	start := time.Now()
	return m.observe("agents", len(rows), start, m.Store.UpsertAgents(ctx, rows))
}

func (m *instrumented) UpsertPostureFindings(ctx context.Context, rows []schemas.PostureFindingRow) error {
	start := time.Now()
	return m.observe("posture_finding_states", len(rows), start, m.Store.UpsertPostureFindings(ctx, rows))
}

func (m *instrumented) UpsertAlerts(ctx context.Context, alerts []schemas.Alert) error {
	start := time.Now()
	return m.observe("alerts", len(alerts), start, m.Store.UpsertAlerts(ctx, alerts))
}

func (m *instrumented) UpsertNotifications(ctx context.Context, rows []schemas.NotificationRow) error {
	start := time.Now()
	return m.observe("alert_notifications", len(rows), start, m.Store.UpsertNotifications(ctx, rows))
}

func (m *instrumented) InsertActions(ctx context.Context, rows []schemas.ActionRow) error {
	start := time.Now()
	return m.observe("actions", len(rows), start, m.Store.InsertActions(ctx, rows))
}
