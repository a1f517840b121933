package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// BenchOptions configure RunBench.
type BenchOptions struct {
	Duration time.Duration // how long to publish
	Rate     int           // events per second to offer; 0 = as fast as the bus takes them
	Agents   int           // distinct agents in the synthetic stream
	// ProbeEvery is how often a probe event (a decommissioned agent
	// acting) is sent; each raises an alert whose arrival times the path
	// from the ingest topic to the alert's delivery to the outbox.
	ProbeEvery time.Duration
	Log        *slog.Logger
	Out        io.Writer
}

// BenchResult is what RunBench measured.
type BenchResult struct {
	Published      int64
	PublishSeconds float64
	DrainSeconds   float64 // from the end of publishing until every stage caught up
	Sustained      float64 // events per second, publish start to fully drained
	LatencyP50     time.Duration
	LatencyP99     time.Duration
	Probes         int
}

const benchProbeAgent = "bench-decommissioned"

// RunBench pushes synthetic canonical events through every stage of the
// configured pipeline (embedded, or real Kafka and ClickHouse) and reports
// throughput, the time for consumer lag to return to zero, and
// event-to-alert latency measured on probe events.
func RunBench(ctx context.Context, cfg Config, opt BenchOptions) (BenchResult, error) {
	var res BenchResult
	if opt.Agents <= 0 {
		opt.Agents = 1000
	}
	if opt.ProbeEvery <= 0 {
		opt.ProbeEvery = 100 * time.Millisecond
	}
	// Each probe acts as a decommissioned agent of its own, so each raises
	// a new alert at once (repeats of one alert are only re-sent at count
	// milestones, which would time the milestone rather than the path).
	maxProbes := int(opt.Duration/opt.ProbeEvery) + 10
	var invYAML strings.Builder
	invYAML.WriteString("agents:\n")
	for i := 0; i < maxProbes; i++ {
		fmt.Fprintf(&invYAML, "  - id: %s-%d\n    owner: bench\n    status: decommissioned\n", benchProbeAgent, i)
	}
	inv, err := inventory.Parse("bench", []byte(invYAML.String()))
	if err != nil {
		return res, err
	}
	probes := 0
	cfg.HTTP.Listen = ""
	a, err := Open(ctx, cfg, Options{Log: opt.Log, Inventory: inv})
	if err != nil {
		return res, err
	}
	defer a.Close()

	var mu sync.Mutex
	sent := map[string]time.Time{}
	var lat []time.Duration
	disp, err := alerts.NewDispatcher(cfg.Alerts, inv, alerts.WithRegisterer(a.Reg), alerts.WithLogger(opt.Log), alerts.WithConsole(io.Discard))
	if err != nil {
		return res, err
	}
	defer disp.Close()
	hooks := Hooks{Dispatcher: disp, OnAlert: func(al schemas.Alert) {
		if !strings.HasPrefix(al.Identity.AgentID, benchProbeAgent) {
			return
		}
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		for _, id := range al.EventIDs {
			if t, ok := sent[id]; ok {
				lat = append(lat, now.Sub(t))
				delete(sent, id)
			}
		}
	}}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- a.RunStages(runCtx, AllStages, hooks) }()

	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Now().UTC().Truncate(time.Hour)
	batch := make([]bus.Message, 0, 1000)
	var n int64
	start := time.Now()
	nextProbe := start
	for time.Since(start) < opt.Duration {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		batch = batch[:0]
		for len(batch) < cap(batch) {
			ag := rng.IntN(opt.Agents)
			ev := schemas.AgentEvent{
				EventID: "b" + strconv.FormatInt(n, 36), Time: base.Add(time.Duration(n) * time.Microsecond), Source: "bench",
				AgentID: "bench-agent-" + strconv.Itoa(ag), AgentInstance: "pod-" + strconv.Itoa(ag%3), Principal: "svc-bench",
				CredentialID: "tok-" + strconv.Itoa(ag), CredentialType: schemas.CredOAuthToken,
				Action: "tickets.read", System: "mcp:zendesk", Resource: "tickets/" + strconv.Itoa(rng.IntN(5000)),
				Outcome: schemas.OutcomeSuccess, SrcIP: "10.0." + strconv.Itoa(ag%250) + ".7", UserAgent: "bench/1.0",
			}
			if now := time.Now(); !now.Before(nextProbe) && probes < maxProbes {
				nextProbe = now.Add(opt.ProbeEvery)
				ev.AgentID, ev.CredentialID = benchProbeAgent+"-"+strconv.Itoa(probes), "AKIABENCH"
				probes++
				mu.Lock()
				sent[ev.EventID] = now
				mu.Unlock()
			}
			b := schemas.AppendEventJSON(make([]byte, 0, 512), &ev)
			batch = append(batch, bus.Message{Topic: cfg.Bus.Topics.Ingest, Key: []byte(ev.AgentID), Value: b, Headers: map[string]string{"format": "canonical"}})
			n++
		}
		if err := a.Producer.Publish(ctx, batch...); err != nil {
			return res, fmt.Errorf("bench: publish: %w", err)
		}
		if opt.Rate > 0 {
			due := start.Add(time.Duration(float64(n) / float64(opt.Rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
	}
	res.Published = n
	res.PublishSeconds = time.Since(start).Seconds()
	pubEnd := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !a.Drained(n) {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case err := <-runErr:
			return res, fmt.Errorf("bench: pipeline stopped: %w", err)
		case <-tick.C:
		}
	}
	res.DrainSeconds = time.Since(pubEnd).Seconds()
	res.Sustained = float64(n) / time.Since(start).Seconds()
	stop()
	if err := <-runErr; err != nil {
		return res, err
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.Probes = len(lat)
	if len(lat) > 0 {
		res.LatencyP50 = lat[len(lat)/2]
		res.LatencyP99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return res, nil
}
