package bus

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by every producer and consumer built on one
// registerer; labels are only topic and group, both bounded by config.
type metrics struct {
	published     *prometheus.CounterVec // topic
	publishErrors *prometheus.CounterVec // topic
	consumed      *prometheus.CounterVec // topic, group
	committed     *prometheus.CounterVec // topic, group
	commitSkipped *prometheus.CounterVec // topic, group
	lag           *prometheus.GaugeVec   // topic, group
	rebalances    *prometheus.CounterVec // topic, group
}

func newMetrics(reg prometheus.Registerer) *metrics {
	tg := []string{"topic", "group"}
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_bus_messages_published_total",
			Help: "Messages the broker acknowledged (acks=all).",
		}, []string{"topic"}),
		publishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_bus_publish_errors_total",
			Help: "Messages whose publish failed.",
		}, []string{"topic"}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_bus_messages_consumed_total",
			Help: "Messages handed to a stage by a consumer group member.",
		}, tg),
		committed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_bus_messages_committed_total",
			Help: "Messages whose offsets were committed.",
		}, tg),
		commitSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_bus_commits_skipped_total",
			Help: "Offsets not committed because their partition moved to another member in a rebalance; the new owner redelivers those messages.",
		}, tg),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentwatch_bus_consumer_lag",
			Help: "Messages between the committed offset and the high watermark, summed over the partitions this member owns.",
		}, tg),
		rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_bus_rebalances_total",
			Help: "Partition assignments this member received.",
		}, tg),
	}
	if reg == nil {
		return m
	}
	m.published = register(reg, m.published)
	m.publishErrors = register(reg, m.publishErrors)
	m.consumed = register(reg, m.consumed)
	m.committed = register(reg, m.committed)
	m.commitSkipped = register(reg, m.commitSkipped)
	m.lag = register(reg, m.lag)
	m.rebalances = register(reg, m.rebalances)
	return m
}

// register adds c to reg, or returns the collector already registered
// under the same name, so several producers and consumers can share one
// registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A clash with a differently shaped collector is a programming
		// error in this binary; metrics then stay unregistered rather
		// than taking the bus down.
	}
	return c
}

// embeddedMetrics are the embedded broker's: its log and its backlog.
type embeddedMetrics struct {
	backlog        *prometheus.GaugeVec // group
	bound          prometheus.Gauge
	logBytes       *prometheus.GaugeVec // topic
	syncSeconds    prometheus.Histogram
	writeErrors    prometheus.Counter
	produceHeld    prometheus.Counter
	produceRefused prometheus.Counter
	deleted        *prometheus.CounterVec // topic
}

func newEmbeddedMetrics(reg prometheus.Registerer) *embeddedMetrics {
	m := &embeddedMetrics{
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentwatch_bus_embedded_backlog_records",
			Help: "Records a consumer group has yet to commit on the embedded broker's topics it reads (from its committed offset to the end of the log, over all partitions).",
		}, []string{"group"}),
		bound: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agentwatch_bus_embedded_backlog_bound_records",
			Help: "bus.embedded.max_backlog: past it, collectors and producers are held until the slowest group catches up.",
		}),
		logBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "agentwatch_bus_embedded_log_bytes",
			Help: "Bytes of records the embedded broker's log holds, per topic.",
		}, []string{"topic"}),
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "agentwatch_bus_embedded_log_sync_seconds",
			Help:    "Duration of one group-commit fsync round of the embedded log; produce answers wait for one.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12),
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agentwatch_bus_embedded_log_write_errors_total",
			Help: "Failures to write or fsync the embedded log (a full disk, an I/O error); the produce requests concerned were not acknowledged.",
		}),
		produceHeld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agentwatch_bus_embedded_produce_held_total",
			Help: "Produce requests to a held topic that waited because the backlog was past its bound.",
		}),
		produceRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agentwatch_bus_embedded_produce_refused_total",
			Help: "Produce requests answered with a retriable error after waiting their time for the backlog to shrink.",
		}),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_bus_embedded_deleted_records_total",
			Help: "Records retention deleted from the embedded log after every reading group had committed them.",
		}, []string{"topic"}),
	}
	if reg == nil {
		return m
	}
	m.backlog = register(reg, m.backlog)
	m.bound = register(reg, m.bound)
	m.logBytes = register(reg, m.logBytes)
	m.syncSeconds = register(reg, m.syncSeconds)
	m.writeErrors = register(reg, m.writeErrors)
	m.produceHeld = register(reg, m.produceHeld)
	m.produceRefused = register(reg, m.produceRefused)
	m.deleted = register(reg, m.deleted)
	return m
}
