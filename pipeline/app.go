package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/clickhouse"
	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/internal/telemetry"
	"github.com/agentwatch/agentwatch/schemas"
)

// App holds what every stage of one process shares: configuration, logger,
// metrics, the bus, the store and the inventory. Open builds it; Close
// releases it in reverse order.
type App struct {
	Cfg     Config
	Log     *slog.Logger
	Reg     *prometheus.Registry
	Metrics *telemetry.Metrics
	// held counts publishes that waited for the stages downstream
	// (embedded mode's backlog bound), by stage.
	held      *prometheus.CounterVec
	Health    *telemetry.Health
	Inventory *inventory.Inventory
	Store     store.Store
	Producer  *bus.Producer
	Brokers   []string

	// eventsOut and alertsOut count what the stages published, so callers
	// (the demo, tests) can wait until downstream stages caught up.
	eventsOut atomic.Int64
	alertsOut atomic.Int64
	committed [4]atomic.Int64 // per stage of AllStages, messages committed

	console  io.Writer
	embedded *bus.Embedded
	// actions (accept, silence, resolve) and their generation, which the
	// detect stage watches to reload at once (see actions.go).
	actions     *Actions
	actionsOnce sync.Once
	actionsGen  atomic.Int64
	// collectorAddr is the HTTP collector's bound address, once listening.
	collectorAddr atomic.Value
	closers       []func() error
	once          sync.Once
}

// NewLogger builds the slog logger the configuration asks for.
func NewLogger(c LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Options adjust Open for tests and the demo.
type Options struct {
	Log      *slog.Logger
	Registry *prometheus.Registry
	// Inventory, if set, is used instead of loading cfg.Inventory.
	Inventory *inventory.Inventory
	// NoStore skips opening the store (stages that do not need it).
	NoStore bool
	// Console is where the console alert receiver writes (default stdout).
	Console io.Writer
}

// Open starts the embedded broker when configured, connects the producer,
// creates the topics, opens and migrates the store and loads the inventory
// into it.
func Open(ctx context.Context, cfg Config, opt Options) (_ *App, err error) {
	a := &App{Cfg: cfg, Log: opt.Log, Reg: opt.Registry, Health: telemetry.NewHealth(), console: opt.Console}
	if a.console == nil {
		a.console = os.Stdout
	}
	if a.Log == nil {
		a.Log = NewLogger(cfg.Log, os.Stderr)
	}
	if a.Reg == nil {
		a.Reg = telemetry.NewRegistry()
	}
	a.Metrics = telemetry.NewMetrics(a.Reg)
	a.held = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "agentwatch_stage_held_total",
		Help: "Publishes by collectors and the ingest stage that waited because the stages downstream were more than bus.embedded.max_backlog records behind (embedded mode).",
	}, []string{"stage"})
	if err := a.Reg.Register(a.held); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	a.Inventory = opt.Inventory
	if a.Inventory == nil {
		if cfg.Inventory != "" {
			if a.Inventory, err = inventory.Load(cfg.Inventory); err != nil {
				return nil, err
			}
		} else {
			a.Inventory = inventory.Empty()
			a.Log.Warn("no agent inventory configured (inventory: path/to/agents.yaml); declared-playground and lifecycle detectors have nothing to check")
		}
	}

	if err := a.openBus(ctx); err != nil {
		return nil, err
	}
	if !opt.NoStore {
		if err := a.openStore(ctx); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *App) openBus(ctx context.Context) error {
	bc := a.Cfg.Bus
	if a.Cfg.Mode == "embedded" {
		emb, err := bus.StartEmbedded(ctx, bc.Embedded, a.Reg, a.Log)
		if err != nil {
			return fmt.Errorf("start embedded broker: %w", err)
		}
		a.embedded = emb
		a.closers = append(a.closers, func() error { emb.Close(); return nil })
		bc.Brokers = emb.Addrs()
		if err := emb.Prepare(ctx, a.flow(), bc.Partitions); err != nil {
			return fmt.Errorf("start embedded broker: %w", err)
		}
		if err := emb.WaitMeasured(ctx); err != nil {
			return fmt.Errorf("start embedded broker: %w", err)
		}
		a.logResume(emb)
		a.Health.Add("embedded-log", func(context.Context) error {
			return emb.WriteError(time.Now().Add(-healthWindow))
		})
	}
	a.Brokers = bc.Brokers
	a.Cfg.Bus = bc
	if err := bus.EnsureTopics(ctx, bc); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	p, err := bus.NewProducer(bc, a.Reg, a.Log)
	if err != nil {
		return fmt.Errorf("connect producer: %w", err)
	}
	a.Producer = p
	a.closers = append(a.closers, p.Close)
	return nil
}

// OpenStore opens the configured store for writing (creating the SQLite
// file's directory when needed). reg may be nil.
func OpenStore(ctx context.Context, cfg Config, reg prometheus.Registerer) (store.Store, error) {
	switch cfg.Store.Backend {
	case "clickhouse":
		if reg == nil {
			reg = prometheus.NewRegistry()
		}
		s, err := clickhouse.Open(ctx, cfg.Store.ClickHouse, clickhouse.WithRegisterer(reg))
		if err != nil {
			return nil, fmt.Errorf("open clickhouse store: %w", err)
		}
		return s, nil
	default:
		if err := os.MkdirAll(filepath.Dir(cfg.Store.SQLitePath), 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		s, err := sqlite.Open(ctx, cfg.Store.SQLitePath)
		if err != nil {
			return nil, fmt.Errorf("open sqlite store %s: %w", cfg.Store.SQLitePath, err)
		}
		if reg == nil {
			return s, nil
		}
		return store.Instrument(s, "sqlite", reg)
	}
}

// OpenStoreReadOnly opens the configured store for queries only: SQLite
// read-only, ClickHouse with readonly=1 on every query.
func OpenStoreReadOnly(ctx context.Context, cfg Config) (store.Store, error) {
	switch cfg.Store.Backend {
	case "clickhouse":
		// Queries run with readonly=1; opening must not migrate either.
		s, err := clickhouse.Open(ctx, cfg.Store.ClickHouse, clickhouse.WithoutMigrate())
		if err != nil {
			return nil, fmt.Errorf("open clickhouse store: %w", err)
		}
		return s, nil
	default:
		if _, err := os.Stat(cfg.Store.SQLitePath); err != nil {
			return nil, fmt.Errorf("open sqlite store read-only: %w (has agentwatch run with this data_dir?)", err)
		}
		s, err := sqlite.OpenReadOnly(cfg.Store.SQLitePath)
		if err != nil {
			return nil, fmt.Errorf("open sqlite store %s read-only: %w", cfg.Store.SQLitePath, err)
		}
		return s, nil
	}
}

func (a *App) openStore(ctx context.Context) error {
	st, err := OpenStore(ctx, a.Cfg, a.Reg)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return fmt.Errorf("migrate store: %w", err)
	}
	a.Store = st
	a.closers = append(a.closers, st.Close)
	a.Health.Add("store", func(ctx context.Context) error {
		_, err := st.Query(ctx, "SELECT 1")
		return err
	})
	if a.Inventory.Len() > 0 {
		now := time.Now().UTC()
		rows := make([]schemas.AgentRow, 0, a.Inventory.Len())
		for _, ag := range a.Inventory.Agents() {
			rows = append(rows, ag.Row(now))
		}
		if err := st.UpsertAgents(ctx, rows); err != nil {
			return fmt.Errorf("store agent inventory: %w", err)
		}
	}
	return nil
}

// Close releases everything Open acquired, newest first.
func (a *App) Close() error {
	var errs []error
	a.once.Do(func() {
		for i := len(a.closers) - 1; i >= 0; i-- {
			if err := a.closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

// consumer joins group on topic.
func (a *App) consumer(group, topic string, opts ...bus.ConsumerOption) (*bus.Consumer, error) {
	c, err := bus.NewConsumer(a.Cfg.Bus, group, topic, a.Reg, a.Log, opts...)
	if err != nil {
		return nil, fmt.Errorf("join consumer group %s on %s: %w", group, topic, err)
	}
	return c, nil
}

// Committed is how many messages stage has committed since Open.
func (a *App) Committed(stage string) int64 {
	for i, s := range AllStages {
		if s == stage {
			return a.committed[i].Load()
		}
	}
	return 0
}

// logResume says what the stages will replay from the embedded log: after
// a crash, everything acknowledged and not yet committed by every stage.
func (a *App) logResume(emb *bus.Embedded) {
	lags := emb.Lags()
	var behind []any
	var total int64
	for _, g := range slices.Sorted(maps.Keys(lags)) {
		behind = append(behind, slog.Int64(g, lags[g]))
		total += lags[g]
	}
	attrs := []any{"log_dir", emb.Dir(), slog.Group("behind", behind...)}
	switch {
	case emb.Recovered():
		a.Log.Warn("the embedded log was not closed by the last run (a crash, kill -9 or power loss); every acknowledged record is in it, and each stage resumes from its last committed offset", attrs...)
	case total > 0:
		a.Log.Info("each stage resumes from its last committed offset in the embedded log", attrs...)
	}
}

// healthWindow is how long after a failed write of the embedded log the
// readiness check reports it.
const healthWindow = 10 * time.Second

// flow tells the embedded broker which consumer groups read which topic
// (retention deletes only what all of them committed; their lag is the
// backlog), that outside shippers produce to the ingest topic (held while
// the backlog is past its bound), and that no stage reads the dead-letter
// topic (kept by size and age).
func (a *App) flow() bus.Flow {
	t, g := a.Cfg.Bus.Topics, a.Cfg.Pipeline.Groups
	return bus.Flow{
		Readers: map[string][]string{
			t.Ingest: {g.Ingest},
			t.Events: {g.Baseline, g.Detect},
			t.Alerts: {g.Alerts},
		},
		Held: []string{t.Ingest},
		Kept: []string{t.DLQ},
	}
}

// downstreamGroups are the groups that read what collectors publish (the
// events topic) and what follows from it (the alerts topic).
func (a *App) downstreamGroups() []string {
	g := a.Cfg.Pipeline.Groups
	return []string{g.Baseline, g.Detect, g.Alerts}
}

// slowestCommitted is the fewest events any of the ingest, baseline and
// detect stages has committed.
func (a *App) slowestCommitted() int64 {
	return min(a.Committed(StageIngest), a.Committed(StageBaseline), a.Committed(StageDetect))
}

// Drained reports whether every stage has committed everything upstream
// produced, given that ingested messages were put on the ingest topic.
func (a *App) Drained(ingested int64) bool {
	if a.Committed(StageIngest) < ingested {
		return false
	}
	out := a.eventsOut.Load()
	if a.Committed(StageBaseline) < out || a.Committed(StageDetect) < out {
		return false
	}
	return a.Committed(StageAlerts) >= a.alertsOut.Load()
}

// CollectorAddr is the HTTP collector's bound address ("" until it
// listens, or when it is off).
func (a *App) CollectorAddr() string {
	s, _ := a.collectorAddr.Load().(string)
	return s
}
