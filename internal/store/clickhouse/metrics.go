package clickhouse

import "github.com/prometheus/client_golang/prometheus"

// tables whose label values the metrics pre-initialise; the set is fixed,
// so the label stays bounded.
var tables = []string{"events", "agent_windows", "agent_baselines", "agent_playground", "agents", "alerts"}

type metrics struct {
	writeSeconds *prometheus.HistogramVec
	rows         *prometheus.CounterVec
	errors       *prometheus.CounterVec
	retries      *prometheus.CounterVec
	pendingRows  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		writeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "agentwatch_store_write_duration_seconds",
			Help:        "Time to store one batch, retries included.",
			ConstLabels: prometheus.Labels{"backend": "clickhouse"},
			Buckets:     prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"table"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "agentwatch_store_rows_written_total",
			Help:        "Rows stored (a redelivered row counts again; queries collapse it).",
			ConstLabels: prometheus.Labels{"backend": "clickhouse"},
		}, []string{"table"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "agentwatch_store_write_errors_total",
			Help:        "Failed write attempts, each retry counted.",
			ConstLabels: prometheus.Labels{"backend": "clickhouse"},
		}, []string{"table"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "agentwatch_store_write_retries_total",
			Help:        "Write attempts after the first, per table.",
			ConstLabels: prometheus.Labels{"backend": "clickhouse"},
		}, []string{"table"}),
		pendingRows: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "agentwatch_store_pending_rows",
			Help:        "Event rows accepted by InsertEvents and not yet stored.",
			ConstLabels: prometheus.Labels{"backend": "clickhouse"},
		}),
	}
	for _, t := range tables {
		m.writeSeconds.WithLabelValues(t)
		m.rows.WithLabelValues(t)
		m.errors.WithLabelValues(t)
		m.retries.WithLabelValues(t)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.writeSeconds, m.rows, m.errors, m.retries, m.pendingRows} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
