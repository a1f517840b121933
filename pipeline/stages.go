package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/telemetry"
	"github.com/agentwatch/agentwatch/posture"
	"github.com/agentwatch/agentwatch/schemas"
)

// Stage names as the CLI and the stages list use them.
const (
	StageIngest   = "ingest"
	StageBaseline = "baseline"
	StageDetect   = "detect"
	StageAlerts   = "alerts"
)

// AllStages is what `agentwatch run` runs.
var AllStages = []string{StageIngest, StageBaseline, StageDetect, StageAlerts}

// Hooks let the demo and tests watch the pipeline without scraping logs.
type Hooks struct {
	// OnAlert hears every alert once the alerts stage has put it in the
	// outbox (queued for notification), in order, before the alerts table
	// records it; a batch retried after a failure is heard again.
	OnAlert func(schemas.Alert)
	// Dispatcher, if set, receives the alerts instead of one built from
	// the configuration (tests use it to capture deliveries).
	Dispatcher *alerts.Dispatcher
	// DetectObserver, if set, hears the detect stage's findings and
	// alerts (the dry-run report of `run --dry-run`).
	DetectObserver detect.Observer
}

// RunStages runs the named stages until ctx ends, then drains them. The
// HTTP collector runs with the ingest stage; telemetry always runs.
func (a *App) RunStages(parent context.Context, stages []string, hooks Hooks) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	start := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}

	// Ready only once every stage (and the collector) has started.
	var started atomic.Bool
	a.Health.Add("stages", func(context.Context) error {
		if !started.Load() {
			return errors.New("stages are starting")
		}
		return nil
	})
	if a.Cfg.HTTP.MetricsListen != "" {
		srv, err := telemetryServer(a)
		if err != nil {
			return err
		}
		defer func() {
			c, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			_ = srv.Shutdown(c)
		}()
	}

	for _, s := range stages {
		switch s {
		case StageIngest:
			if err := a.startIngest(ctx, start, hooks); err != nil {
				cancel()
				wg.Wait()
				return ignoreShutdown(parent, err)
			}
		case StageBaseline:
			if err := a.startBaseline(ctx, start, hooks); err != nil {
				cancel()
				wg.Wait()
				return ignoreShutdown(parent, err)
			}
		case StageDetect:
			if err := a.startDetect(ctx, start, hooks); err != nil {
				cancel()
				wg.Wait()
				return ignoreShutdown(parent, err)
			}
		case StageAlerts:
			if err := a.startAlerts(ctx, start, hooks); err != nil {
				cancel()
				wg.Wait()
				return ignoreShutdown(parent, err)
			}
		default:
			return fmt.Errorf("unknown stage %q (want one of ingest, baseline, detect, alerts)", s)
		}
	}
	started.Store(true)
	a.Log.Info("agentwatch running", "stages", stages, "mode", a.Cfg.Mode, "brokers", a.Brokers, "store", a.Store.Backend())
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func telemetryServer(a *App) (*telemetry.Server, error) {
	return telemetry.Listen(a.Cfg.HTTP.MetricsListen, telemetry.Handler(a.Reg, a.Health), a.Log)
}

func (a *App) newLoop(stage, group, topic string, h handler, hooks Hooks, opts ...bus.ConsumerOption) (*loop, error) {
	c, err := a.consumer(group, topic, opts...)
	if err != nil {
		return nil, err
	}
	l := &loop{
		stage: stage, fetcher: c, handle: h,
		batch: a.Cfg.Pipeline.BatchSize, wait: a.Cfg.Pipeline.BatchWait, drain: a.Cfg.Pipeline.DrainTimeout,
		metrics: a.Metrics, log: a.Log,
	}
	var counter *atomic.Int64
	for i, s := range AllStages {
		if s == stage {
			counter = &a.committed[i]
		}
	}
	l.progress = func(n int) { counter.Add(int64(n)) }
	return l, nil
}

func (a *App) runLoop(l *loop) func(context.Context) error {
	return func(ctx context.Context) error {
		defer l.fetcher.Close()
		return l.run(ctx)
	}
}

func (a *App) startIngest(ctx context.Context, start func(string, func(context.Context) error), hooks Hooks) error {
	n, err := ingest.NewNormalizer(a.Cfg.Ingest, a.Reg, ingest.WithPrincipals(a.Inventory.Principals()))
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	sink := newBusSink(a, "ingest", 64, 0)
	l, err := a.newLoop(StageIngest, a.Cfg.Pipeline.Groups.Ingest, a.Cfg.Bus.Topics.Ingest, func(ctx context.Context, msgs []bus.Message) error {
		return ingest.HandleMessages(ctx, n, sink, msgs)
	}, hooks)
	if err != nil {
		return err
	}
	start("ingest", a.runLoop(l))

	if a.Cfg.HTTP.Listen != "" {
		httpSink := newBusSink(a, "collector", 32, 2*time.Second)
		h := ingest.NewHTTPCollector(a.Cfg.Ingest.HTTP, n, httpSink, a.Reg, a.Log)
		srv, err := telemetry.Listen(a.Cfg.HTTP.Listen, h, a.Log)
		if err != nil {
			return fmt.Errorf("http collector: listen %s: %w", a.Cfg.HTTP.Listen, err)
		}
		a.collectorAddr.Store(srv.Addr())
		start("http collector", func(ctx context.Context) error {
			<-ctx.Done()
			c, done := context.WithTimeout(context.Background(), a.Cfg.Pipeline.DrainTimeout)
			defer done()
			return srv.Shutdown(c)
		})
	}
	if len(a.Cfg.Ingest.Files.Paths) > 0 {
		t, err := ingest.NewTailer(a.Cfg.Ingest.Files, n, newBusSink(a, "collector", 8, 0), a.Log)
		if err != nil {
			return fmt.Errorf("file collector: %w", err)
		}
		start("file collector", t.Run)
	}
	return nil
}

func (a *App) startBaseline(ctx context.Context, start func(string, func(context.Context) error), hooks Hooks) error {
	w, err := baseline.NewWorker(a.Cfg.Detect.Baseline, a.Store, a.Inventory, a.Reg, a.Log)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	// The handler runs on the loop's goroutine only, so it owns the decoder.
	var dec schemas.Decoder
	l, err := a.newLoop(StageBaseline, a.Cfg.Pipeline.Groups.Baseline, a.Cfg.Bus.Topics.Events, func(ctx context.Context, msgs []bus.Message) error {
		items := make([]baseline.Item, 0, len(msgs))
		for _, m := range msgs {
			// Decode only: the worker validates each event itself, and
			// the detect stage dead-letters what does not decode.
			var ev schemas.AgentEvent
			if err := dec.Unmarshal(m.Value, &ev); err != nil {
				continue
			}
			items = append(items, baseline.Item{Event: ev, Partition: m.Partition, Offset: m.Offset})
		}
		if err := w.HandleBatch(ctx, items); err != nil {
			return err
		}
		a.Metrics.Events.WithLabelValues(StageBaseline, "out").Add(float64(len(items)))
		return nil
	}, hooks, bus.OnAssign(w.Assigned))
	if err != nil {
		return err
	}
	l.batch, l.wait = a.Cfg.Pipeline.BaselineBatchSize, a.Cfg.Pipeline.BaselineBatchWait
	// Windows of agents that went quiet close on a flush, so flush now and
	// then rather than only at shutdown.
	lastFlush := time.Now()
	l.tick = func(ctx context.Context) {
		if time.Since(lastFlush) < a.Cfg.Pipeline.FlushEvery {
			return
		}
		lastFlush = time.Now()
		if err := w.Flush(ctx); err != nil {
			a.Log.Warn("periodic baseline flush failed; retried at the next one", "err", err)
		}
	}
	// Retention drops whole days; every baseline worker may run it, since
	// dropping a partition twice is harmless.
	start("retention", func(ctx context.Context) error {
		store.RunRetention(ctx, a.Store, store.RetentionConfig{Days: a.Cfg.Store.RetentionDays, Every: time.Hour}, time.Now, a.Log)
		return nil
	})
	start("baseline", func(ctx context.Context) error {
		defer l.fetcher.Close()
		err := l.run(ctx)
		fctx, done := context.WithTimeout(context.Background(), a.Cfg.Pipeline.DrainTimeout)
		defer done()
		if ferr := w.Flush(fctx); ferr != nil {
			err = errors.Join(err, fmt.Errorf("flush baselines: %w", ferr))
		}
		return err
	})
	return nil
}

func (a *App) startDetect(ctx context.Context, start func(string, func(context.Context) error), hooks Hooks) error {
	opts := []detect.Option{detect.WithRegisterer(a.Reg), detect.WithLogger(a.Log)}
	if hooks.DetectObserver != nil {
		opts = append(opts, detect.WithObserver(hooks.DetectObserver))
	}
	eng, err := detect.NewEngine(a.Cfg.Detect, a.Inventory, opts...)
	if err != nil {
		return fmt.Errorf("detect: %w", err)
	}
	if err := eng.Restore(ctx, a.Store, nil); err != nil {
		return fmt.Errorf("detect: restore state: %w", err)
	}
	// Accepted behaviours and closed incidents come from the actions table.
	acts := &actionSync{st: a.Store, changed: &a.actionsGen, seen: -1, now: time.Now}
	// Processing changes the engine's state, so a batch is processed once
	// and only its publish is retried.
	var doneFirst *bus.Message
	var pending []bus.Message
	// The handler runs on the loop's goroutine only, so it owns the decoder.
	var dec schemas.Decoder
	l, err := a.newLoop(StageDetect, a.Cfg.Pipeline.Groups.Detect, a.Cfg.Bus.Topics.Events, func(ctx context.Context, msgs []bus.Message) error {
		if doneFirst == nil || doneFirst.Partition != msgs[0].Partition || doneFirst.Offset != msgs[0].Offset {
			if err := acts.maybeApply(ctx, eng); err != nil {
				return fmt.Errorf("detect: %w", err)
			}
			pending = a.detectBatch(eng, &dec, msgs)
			first := msgs[0]
			doneFirst = &first
		}
		if err := a.Producer.Publish(ctx, pending...); err != nil {
			return fmt.Errorf("publish %d alerts: %w", len(pending), err)
		}
		return nil
	}, hooks)
	if err != nil {
		return err
	}
	start("detect", func(ctx context.Context) error {
		defer l.fetcher.Close()
		err := l.run(ctx)
		sctx, done := context.WithTimeout(context.Background(), a.Cfg.Pipeline.DrainTimeout)
		defer done()
		if serr := eng.Snapshot(sctx, a.Store); serr != nil {
			err = errors.Join(err, fmt.Errorf("snapshot detector state: %w", serr))
		}
		return err
	})
	return nil
}

// detectBatch runs the engine over a batch and returns the messages to
// publish: alerts for the alerts topic, dead letters for events that do not
// decode. dec belongs to the calling goroutine.
func (a *App) detectBatch(eng *detect.Engine, dec *schemas.Decoder, msgs []bus.Message) []bus.Message {
	var out []bus.Message
	emit := func(al []schemas.Alert, enqueued time.Time) {
		for i := range al {
			b, err := json.Marshal(&al[i])
			if err != nil {
				a.Log.Error("encode alert", "alert", al[i].ID, "err", err)
				continue
			}
			out = append(out, bus.Message{Topic: a.Cfg.Bus.Topics.Alerts, Key: []byte(al[i].Identity.AgentID), Value: b})
			a.alertsOut.Add(1)
			a.Metrics.Alerts.WithLabelValues(al[i].Detector, string(al[i].Severity)).Inc()
			if !enqueued.IsZero() {
				a.Metrics.Latency.Observe(time.Since(enqueued).Seconds())
			}
		}
	}
	for _, m := range msgs {
		var ev schemas.AgentEvent
		if err := dec.Decode(m.Value, &ev); err != nil {
			// Reasons start with ingest's reason class, as ingest's own
			// dead letters do.
			class := ingest.ReasonMalformed
			var ve *schemas.ValidationError
			if errors.As(err, &ve) {
				class = ingest.ReasonInvalid
			}
			d := ingest.DeadLetter{Source: "topic:" + m.Topic, Format: ingest.FormatCanonical, Reason: class + ": " + err.Error(), Raw: m.Value, Time: time.Now().UTC()}
			out = append(out, d.Message(a.Cfg.Bus.Topics.DLQ))
			a.Metrics.Events.WithLabelValues(StageDetect, "rejected").Inc()
			a.Metrics.Rejected.WithLabelValues(StageDetect, class).Inc()
			continue
		}
		// Process moves the engine's clock itself (event time), closing
		// windows and resolving alerts at window boundaries; calling
		// Advance at batch ends would make results depend on how the
		// consumer happened to batch.
		emit(eng.Process(&ev), m.Time)
	}
	a.Metrics.Events.WithLabelValues(StageDetect, "out").Add(float64(len(msgs)))
	return out
}

// syncOutbox keeps the outbox and the store in step for what crosses
// hosts, at start and every silencesSyncEvery until ctx ends: it copies
// the silences people took (rows of the actions table, possibly from a
// console on another host) into the outbox, and the outbox's notification
// states into the store (for such a console's incident pages). A failed
// copy is logged once and tried again.
func (a *App) syncOutbox(ctx context.Context, d *alerts.Dispatcher) {
	t := time.NewTicker(silencesSyncEvery)
	defer t.Stop()
	var notes NotificationSync
	failing := false
	for {
		n, err := SyncSilences(ctx, a.Store, d.Silences(), time.Now())
		if err == nil {
			_, err = notes.Sync(ctx, a.Store, d)
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			a.Log.Warn("outbox and store not in step (silences from the actions table, notification states); retrying", "err", err)
			failing = true
		case err == nil:
			if failing {
				a.Log.Info("outbox and store in step again")
			}
			failing = false
			if n > 0 {
				a.Log.Info("silences applied from the actions table", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			// One last copy, so what was delivered while stopping is
			// in the store for the next console page.
			if _, err := notes.Sync(context.WithoutCancel(ctx), a.Store, d); err != nil {
				a.Log.Warn("notification states not copied to the store at stop", "err", err)
			}
			return
		case <-t.C:
		}
	}
}

func (a *App) startAlerts(ctx context.Context, start func(string, func(context.Context) error), hooks Hooks) error {
	d := hooks.Dispatcher
	if d == nil {
		var err error
		d, err = alerts.NewDispatcher(a.Cfg.Alerts, a.Inventory, alerts.WithRegisterer(a.Reg), alerts.WithLogger(a.Log), alerts.WithConsole(a.console),
			alerts.WithConsoleURL(a.Cfg.Console.ExternalURL))
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
	}
	l, err := a.newLoop(StageAlerts, a.Cfg.Pipeline.Groups.Alerts, a.Cfg.Bus.Topics.Alerts, func(ctx context.Context, msgs []bus.Message) error {
		batch := make([]schemas.Alert, 0, len(msgs))
		for _, m := range msgs {
			var al schemas.Alert
			if err := json.Unmarshal(m.Value, &al); err != nil {
				a.Log.Error("alerts topic holds a record that is not an alert; skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
				continue
			}
			batch = append(batch, al)
		}
		// The outbox first: it is what notifies, and the store's one write
		// connection may be held by the baseline stage's insert of a large
		// batch of events (in embedded mode that wait was most of the
		// event-to-alert time under load). Both are done before the commit;
		// a retry submits again, which the outbox takes as no change.
		if err := d.Submit(ctx, batch...); err != nil {
			var invalid *alerts.InvalidAlertsError
			if !errors.As(err, &invalid) {
				return fmt.Errorf("outbox: %w", err)
			}
			// The valid alerts are in the outbox; the invalid ones would
			// fail the same way forever, so they go to the DLQ.
			if err := a.Producer.Publish(ctx, a.invalidAlerts(invalid)...); err != nil {
				return fmt.Errorf("dead-letter %d invalid alerts: %w", len(invalid.Alerts), err)
			}
		}
		if hooks.OnAlert != nil {
			for _, al := range batch {
				hooks.OnAlert(al)
			}
		}
		if err := a.Store.UpsertAlerts(ctx, batch); err != nil {
			return fmt.Errorf("store alerts: %w", err)
		}
		a.Metrics.Events.WithLabelValues(StageAlerts, "out").Add(float64(len(batch)))
		return nil
	}, hooks)
	if err != nil {
		return err
	}
	if err := a.startPosture(start); err != nil {
		return err
	}
	start("alerts", func(ctx context.Context) error {
		defer l.fetcher.Close()
		// The dispatcher outlives the consume loop so the batch drained at
		// shutdown still reaches the outbox; what it has not delivered by
		// then stays in the outbox for the next start.
		dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
		derr := make(chan error, 1)
		go func() { derr <- d.Run(dctx) }()
		synced := make(chan struct{})
		go func() { defer close(synced); a.syncOutbox(dctx, d) }()
		err := l.run(ctx)
		stopDispatch()
		<-synced
		if e := <-derr; e != nil && !errors.Is(e, context.Canceled) {
			err = errors.Join(err, e)
		}
		if hooks.Dispatcher == nil {
			err = errors.Join(err, d.Close())
		}
		return err
	})
	return nil
}

// startPosture runs the posture evaluations and scheduled digests beside
// the alerts stage (which owns the outbox the digests are remembered in).
func (a *App) startPosture(start func(string, func(context.Context) error)) error {
	pc := a.Cfg.Posture
	if pc.EvaluateEvery <= 0 && !pc.Digest.Enabled {
		return nil
	}
	m, err := posture.NewMetrics(a.Reg)
	if err != nil {
		return fmt.Errorf("posture: %w", err)
	}
	r, err := posture.NewRunner(pc, a.Store, a.Inventory, posture.RunnerOptions{Alerts: a.Cfg.Alerts,
		DormantAfter: a.Cfg.Detect.DormantAfter, Metrics: m, Log: a.Log})
	if err != nil {
		return err
	}
	start("posture", func(ctx context.Context) error {
		defer r.Close()
		return r.Run(ctx)
	})
	return nil
}

func (a *App) invalidAlerts(ie *alerts.InvalidAlertsError) []bus.Message {
	out := make([]bus.Message, 0, len(ie.Alerts))
	for i, al := range ie.Alerts {
		raw, _ := json.Marshal(&al)
		reason := "invalid alert"
		if i < len(ie.Errs) && ie.Errs[i] != nil {
			reason = ie.Errs[i].Error()
		}
		d := ingest.DeadLetter{Source: "topic:" + a.Cfg.Bus.Topics.Alerts, Format: "alert", Reason: ingest.ReasonInvalid + ": " + reason, Raw: raw, Time: time.Now().UTC()}
		out = append(out, d.Message(a.Cfg.Bus.Topics.DLQ))
		a.Metrics.Events.WithLabelValues(StageAlerts, "rejected").Inc()
		a.Metrics.Rejected.WithLabelValues(StageAlerts, ingest.ReasonInvalid).Inc()
	}
	return out
}

// ignoreShutdown drops an error that only says the process was asked to
// stop while a stage was still starting.
func ignoreShutdown(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
