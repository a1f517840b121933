package alerts

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/alerts/outbox"
)

// Delivery outcomes, the values of the status label.
const (
	statusDelivered  = "delivered"
	statusFailed     = "failed"
	statusSuppressed = "suppressed"
)

type metrics struct {
	deliveries *prometheus.CounterVec   // receiver, status
	retries    *prometheus.CounterVec   // receiver
	latency    *prometheus.HistogramVec // receiver
	suppressed *prometheus.CounterVec   // reason: silenced, inhibited, dry_run, resolved_unsent
	submitted  prometheus.Counter
}

// Suppression reasons (the reason label).
const (
	reasonSilenced       = "silenced"
	reasonInhibited      = "inhibited"
	reasonDryRun         = "dry_run"
	reasonResolvedUnsent = "resolved_unsent"
)

// newMetrics builds the metrics and registers them on reg when it is not
// nil. Label values are receiver names (from configuration, so bounded)
// and fixed enums, never agent ids; every pair is pre-initialised so a
// dashboard shows zeros rather than gaps.
func newMetrics(reg prometheus.Registerer, receivers []string, ob *outbox.Outbox) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_alert_deliveries_total",
			Help: "Notifications finished, by receiver and status (delivered, failed, suppressed).",
		}, []string{"receiver", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_alert_delivery_retries_total",
			Help: "Delivery attempts that failed retryably and were rescheduled, by receiver.",
		}, []string{"receiver"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agentwatch_alert_delivery_latency_seconds",
			Help:    "Time from an alert version entering the outbox to its receiver accepting it (includes group_wait and retries).",
			Buckets: []float64{0.05, 0.25, 1, 5, 15, 30, 60, 300, 900, 3600},
		}, []string{"receiver"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_alerts_suppressed_total",
			Help: "Alert notifications not sent, by reason (silenced, inhibited, dry_run, resolved_unsent).",
		}, []string{"reason"}),
		submitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agentwatch_alerts_submitted_total",
			Help: "Alerts submitted to the dispatcher.",
		}),
	}
	for _, r := range receivers {
		for _, s := range []string{statusDelivered, statusFailed, statusSuppressed} {
			m.deliveries.WithLabelValues(r, s)
		}
		m.retries.WithLabelValues(r)
		m.latency.WithLabelValues(r)
	}
	for _, r := range []string{reasonSilenced, reasonInhibited, reasonDryRun, reasonResolvedUnsent} {
		m.suppressed.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.retries, m.latency, m.suppressed, m.submitted, &depthCollector{ob: ob}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// depthCollector reads the outbox depth at scrape time, so the gauge is
// exact even after a restart or a `alerts retry` from another process.
type depthCollector struct{ ob *outbox.Outbox }

var depthDesc = prometheus.NewDesc("agentwatch_alert_outbox_depth",
	"Notifications in the outbox by state (pending, failed, delivered, suppressed).", []string{"state"}, nil)

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.ob.Counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(depthDesc, err)
		return
	}
	for _, s := range []string{outbox.StatePending, outbox.StateFailed, outbox.StateDelivered, outbox.StateSuppressed} {
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(counts[s]), s)
	}
}
