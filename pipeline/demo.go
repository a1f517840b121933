package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
	"github.com/agentwatch/agentwatch/sim"
)

// DemoOptions configure RunDemo.
type DemoOptions struct {
	Agents  int
	Days    int
	Seed    int64
	Speed   float64 // simulated seconds per real second; 0 = unthrottled
	DataDir string
	Log     *slog.Logger
	Out     io.Writer
	// BatchSize overrides pipeline.batch_size (0 = the default); tests use
	// it to show the output does not depend on how stages batch.
	BatchSize int
	// Serve, when set, runs once the fleet's events are processed and the
	// summary printed, with the pipeline still running (the console of
	// `demo --serve`), until it returns.
	Serve func(ctx context.Context, a *App) error
	// CollectorListen starts the HTTP collector there ("" = none), so a
	// served demo can take more events.
	CollectorListen string
}

// DemoResult counts what the demo pushed through.
type DemoResult struct {
	Events int64
	// Incidents counts alert ids (each incident once); Updates the alert
	// messages that changed one after it opened (growth, severity,
	// resolution), which sinks show by editing what they sent.
	Incidents int64
	Updates   int64
}

// demoStart is a fixed Monday so that the same seed always yields the same
// hours of the week, whatever day the demo runs.
var demoStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// RunDemo runs the embedded pipeline on a simulated fleet: every stage in
// this process, the simulator publishing canonical events on the ingest
// topic through a real Kafka client, alerts printed as they fire and a
// summary of incidents caught at the end.
func RunDemo(ctx context.Context, opt DemoOptions) (DemoResult, error) {
	var res DemoResult
	fleet, err := sim.NewFleet(sim.Config{Agents: opt.Agents, Days: opt.Days, Seed: opt.Seed, Start: demoStart})
	if err != nil {
		return res, err
	}
	cfg := DefaultConfig()
	cfg.DataDir = opt.DataDir
	cfg.HTTP.Listen = opt.CollectorListen
	cfg.HTTP.MetricsListen = ""
	// One partition per topic keeps the order of events, and so the alerts
	// printed, the same from run to run.
	cfg.Bus.Embedded.Partitions = 1
	cfg.Bus.Partitions = 1
	cfg.Log.Level = "error"
	if opt.BatchSize > 0 {
		cfg.Pipeline.BatchSize = opt.BatchSize
		cfg.Pipeline.BaselineBatchSize = opt.BatchSize
	}
	// Simulated time is in the past; retention by wall clock would drop it.
	cfg.Store.RetentionDays = 0
	cfg.resolvePaths()
	if err := cfg.Validate(); err != nil {
		return res, err
	}
	// The inventory the demo simulates, beside its store, dated for its
	// simulated weeks: `agentwatch posture --data-dir D --inventory
	// D/agents.yaml --at latest` reports on a kept demo with it.
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return res, fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cfg.DataDir, "agents.yaml"), fleet.InventoryYAML(), 0o644); err != nil {
		return res, fmt.Errorf("demo: write the fleet's inventory: %w", err)
	}
	a, err := Open(ctx, cfg, Options{Log: opt.Log, Inventory: fleet.Inventory()})
	if err != nil {
		return res, err
	}
	defer a.Close()

	scorer := sim.NewScorer(fleet.Incidents())
	var mu sync.Mutex
	seen := map[string]schemas.Severity{}
	ids := map[string]bool{}
	var updates int64
	hooks := Hooks{
		OnAlert: func(al schemas.Alert) {
			mu.Lock()
			defer mu.Unlock()
			if ids[al.ID] {
				updates++
			}
			ids[al.ID] = true
			scorer.Observe(al, al.FirstSeen)
			// One line when an incident opens and one when its severity
			// rises; its growth and resolution update it silently, as the
			// Slack message is edited in place.
			prev, ok := seen[al.ID]
			if al.Status == schemas.StatusFiring && (!ok || al.Severity.Rank() > prev.Rank()) {
				fmt.Fprintln(opt.Out, al.Line())
				seen[al.ID] = al.Severity
			}
		},
	}
	// The demo prints its own line per alert (below), so the console
	// receiver, which would print each notification as it is delivered,
	// writes nowhere.
	disp, err := alerts.NewDispatcher(cfg.Alerts, a.Inventory, alerts.WithRegisterer(a.Reg), alerts.WithLogger(opt.Log), alerts.WithConsole(io.Discard))
	if err != nil {
		return res, err
	}
	defer disp.Close()
	hooks.Dispatcher = disp
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- a.RunStages(runCtx, AllStages, hooks) }()

	// Publish the fleet's events on the ingest topic, in time order.
	var batch []bus.Message
	var published int64
	var simStart, wallStart time.Time
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := a.Producer.Publish(ctx, batch...); err != nil {
			return err
		}
		published += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	err = fleet.Events(func(l sim.Labeled) error {
		// The scorer is shared with OnAlert, which the alerts stage calls
		// while events are still being published.
		mu.Lock()
		scorer.ObserveEvent(l)
		mu.Unlock()
		if opt.Speed > 0 {
			if simStart.IsZero() {
				simStart, wallStart = l.Event.Time, time.Now()
			}
			due := wallStart.Add(time.Duration(float64(l.Event.Time.Sub(simStart)) / opt.Speed))
			if d := time.Until(due); d > 0 {
				if err := flush(); err != nil {
					return err
				}
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		b := schemas.AppendEventJSON(make([]byte, 0, 512), &l.Event)
		batch = append(batch, bus.Message{Topic: cfg.Bus.Topics.Ingest, Key: []byte(l.Event.AgentID), Value: b, Headers: map[string]string{"format": "canonical"}})
		if len(batch) >= 2000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return res, fmt.Errorf("demo: publish events: %w", err)
	}
	res.Events = published

	// Wait until every stage has committed everything upstream gave it.
	drained := func() bool { return a.Drained(published) }
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !drained() {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case err := <-runErr:
			return res, fmt.Errorf("demo: pipeline stopped early: %w", err)
		case <-tick.C:
		}
	}
	if opt.Serve != nil {
		fmt.Fprintln(opt.Out)
		mu.Lock()
		res.Incidents, res.Updates = int64(len(ids)), updates
		err := scorer.WriteSummary(opt.Out)
		mu.Unlock()
		if err != nil {
			return res, err
		}
		// Restart, as after any stop of `agentwatch run` on the same data
		// directory: the baseline stage persists every agent's state and
		// closes quiet agents' windows on the way down (its periodic flush
		// runs only while events arrive), so the pages show every agent's
		// whole day; the new process resumes from the store.
		stop()
		if err := <-runErr; err != nil {
			return res, err
		}
		a.Close()
		return res, serveDemo(ctx, cfg, fleet.Inventory(), opt)
	}
	stop()
	if err := <-runErr; err != nil {
		return res, err
	}
	fmt.Fprintln(opt.Out)
	mu.Lock()
	defer mu.Unlock()
	res.Incidents, res.Updates = int64(len(ids)), updates
	return res, scorer.WriteSummary(opt.Out)
}

// serveDemo runs the demo's pipeline anew on its data directory and calls
// opt.Serve with it until Serve returns.
func serveDemo(ctx context.Context, cfg Config, inv *inventory.Inventory, opt DemoOptions) error {
	a, err := Open(ctx, cfg, Options{Log: opt.Log, Inventory: inv})
	if err != nil {
		return err
	}
	defer a.Close()
	disp, err := alerts.NewDispatcher(cfg.Alerts, a.Inventory, alerts.WithRegisterer(a.Reg), alerts.WithLogger(opt.Log), alerts.WithConsole(io.Discard))
	if err != nil {
		return err
	}
	defer disp.Close()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- a.RunStages(runCtx, AllStages, Hooks{Dispatcher: disp}) }()
	// Serve once the collector listens, so its address can be shown.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for cfg.HTTP.Listen != "" && a.CollectorAddr() == "" {
		select {
		case err := <-runErr:
			return fmt.Errorf("demo: pipeline stopped early: %w", err)
		case <-ctx.Done():
			stop()
			return errors.Join(ctx.Err(), <-runErr)
		case <-tick.C:
		}
	}
	err = opt.Serve(ctx, a)
	stop()
	return errors.Join(err, <-runErr)
}
