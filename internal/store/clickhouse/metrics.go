package clickhouse

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/internal/store"
)

// metrics are the write series every backend shares (store.WriteMetrics)
// plus what only the batched, retrying ClickHouse writer has.
type metrics struct {
	*store.WriteMetrics
	retries     *prometheus.CounterVec
	pendingRows prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	labels := prometheus.Labels{"backend": "clickhouse"}
	m := &metrics{
		WriteMetrics: store.NewWriteMetrics("clickhouse"),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "agentwatch_store_write_retries_total",
			Help:        "Write attempts after the first, per table.",
			ConstLabels: labels,
		}, []string{"table"}),
		pendingRows: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "agentwatch_store_pending_rows",
			Help:        "Event rows accepted by InsertEvents and not yet stored.",
			ConstLabels: labels,
		}),
	}
	for _, t := range store.Tables {
		m.retries.WithLabelValues(t)
	}
	if reg != nil {
		for _, c := range append(m.Collectors(), m.retries, m.pendingRows) {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
