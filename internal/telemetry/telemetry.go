// Package telemetry serves /metrics, /healthz and /readyz and holds the
// pipeline-level metrics every stage shares. Metrics are registered on an
// injected registry so tests and embedded runs never touch the global one.
package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Stage names, the only values of the "stage" label.
var Stages = []string{"collector", "ingest", "baseline", "detect", "alerts"}

// Results of handling one record, the only values of the "result" label.
var Results = []string{"in", "out", "rejected"}

// Metrics are the pipeline counters every stage updates.
type Metrics struct {
	Events      *prometheus.CounterVec   // agentwatch_stage_events_total{stage,result}
	Rejected    *prometheus.CounterVec   // agentwatch_stage_rejected_total{stage,reason}
	Alerts      *prometheus.CounterVec   // agentwatch_alerts_total{detector,severity}
	BatchSecond *prometheus.HistogramVec // agentwatch_stage_batch_seconds{stage}
	Latency     prometheus.Histogram     // agentwatch_event_to_alert_seconds
}

// NewMetrics registers the pipeline metrics on reg and pre-initialises the
// bounded label sets so dashboards show zeros rather than gaps.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_stage_events_total",
			Help: "Records handled per pipeline stage: in (received), out (passed on), rejected (dead-lettered).",
		}, []string{"stage", "result"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_stage_rejected_total",
			Help: "Records rejected per stage and reason class.",
		}, []string{"stage", "reason"}),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_alerts_total",
			Help: "Alerts raised or updated, by detector and severity.",
		}, []string{"detector", "severity"}),
		BatchSecond: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agentwatch_stage_batch_seconds",
			Help:    "Time to handle one fetched batch, per stage (including the store write where there is one).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"stage"}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "agentwatch_event_to_alert_seconds",
			Help:    "Wall-clock time from an event's arrival on the events topic to the detector publishing the alert it caused.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	reg.MustRegister(m.Events, m.Rejected, m.Alerts, m.BatchSecond, m.Latency)
	for _, s := range Stages {
		for _, r := range Results {
			m.Events.WithLabelValues(s, r)
		}
		m.BatchSecond.WithLabelValues(s)
	}
	return m
}

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Health tracks readiness checks; /healthz answers as long as the process
// serves, /readyz only when every registered check passes.
type Health struct {
	mu     sync.Mutex
	checks map[string]func(context.Context) error
}

// NewHealth returns an empty set of checks.
func NewHealth() *Health { return &Health{checks: map[string]func(context.Context) error{}} }

// Add registers a named readiness check.
func (h *Health) Add(name string, check func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = check
}

// Ready runs every check and returns the failures by name.
func (h *Health) Ready(ctx context.Context) map[string]string {
	h.mu.Lock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	checks := h.checks
	h.mu.Unlock()
	sort.Strings(names)
	failed := map[string]string{}
	for _, n := range names {
		if err := checks[n](ctx); err != nil {
			failed[n] = err.Error()
		}
	}
	return failed
}

// Handler serves /metrics, /healthz and /readyz.
func Handler(reg *prometheus.Registry, h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		failed := h.Ready(ctx)
		w.Header().Set("Content-Type", "application/json")
		if len(failed) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "not ready", "failed": failed})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "ready"})
	})
	return mux
}

// Server is an HTTP server bound to an address, started and stopped with a
// context. Start returns once the listener is bound, so Addr is known.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Listen binds addr and serves h in the background.
func Listen(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, ln: ln, done: make(chan error, 1)}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	log.Info("http server listening", "addr", ln.Addr().String())
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops accepting, waits for in-flight requests until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if e := <-s.done; err == nil {
		err = e
	}
	return err
}
