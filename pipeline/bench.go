package pipeline

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
	// MaxBacklog bounds how far publishing runs ahead of the slowest
	// stage, in events (0 = no bound). Free-running, the load then goes
	// in as fast as the pipeline takes it rather than piling up a backlog.
	MaxBacklog int64
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
	// Backlog is the most events publishing ran ahead of the slowest
	// stage (measured as each batch went out).
	Backlog int64
}

const benchProbeAgent = "bench-decommissioned"

// benchStall is how long the drain waits without progress before failing.
const benchStall = time.Minute

// benchPool holds pre-encoded canonical events.
type benchPool struct {
	events []benchTemplate
	size   int // the largest template, bytes
}

// benchTemplate is one encoded event whose event id and time are
// placeholders of fixed width at known offsets.
type benchTemplate struct {
	json   []byte
	key    []byte
	idAt   int // offset of the event id's counter digits
	timeAt int // offset of the time string
}

// benchTimeLayout has a fixed width: nine fractional digits, always.
const benchTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// benchIDDigits is the width of the counter in a template's event id.
const benchIDDigits = 11

// benchProbeID names probe agent i of the run with nonce.
func benchProbeID(nonce string, i int) string {
	return benchProbeAgent + "-" + nonce + "-" + strconv.Itoa(i)
}

func newBenchPool(rng *rand.Rand, agents, n int, nonce string) *benchPool {
	placeholderID := "b" + nonce + "-" + strings.Repeat("0", benchIDDigits)
	// Nine non-zero fractional digits, so the encoder writes all of them.
	placeholderTime := time.Date(2000, 1, 1, 0, 0, 0, 123456789, time.UTC)
	p := &benchPool{}
	for range n {
		ag := rng.IntN(agents)
		ev := schemas.AgentEvent{
			EventID: placeholderID, Time: placeholderTime, Source: "bench",
			AgentID: "bench-agent-" + strconv.Itoa(ag), AgentInstance: "pod-" + strconv.Itoa(ag%3), Principal: "svc-bench",
			CredentialID: "tok-" + strconv.Itoa(ag), CredentialType: schemas.CredOAuthToken,
			Action: "tickets.read", System: "mcp:zendesk", Resource: "tickets/" + strconv.Itoa(rng.IntN(5000)),
			Outcome: schemas.OutcomeSuccess, SrcIP: "10.0." + strconv.Itoa(ag%250) + ".7", UserAgent: "bench/1.0",
		}
		b := schemas.AppendEventJSON(nil, &ev)
		idKey, timeKey := `"event_id":"`+placeholderID+`"`, `"time":"`+placeholderTime.Format(benchTimeLayout)+`"`
		idAt, timeAt := strings.Index(string(b), idKey), strings.Index(string(b), timeKey)
		if idAt < 0 || timeAt < 0 {
			panic("bench: event template without its placeholders")
		}
		idAt += len(idKey) - 1 - benchIDDigits // the counter, before the closing quote
		timeAt += len(`"time":"`)
		p.events = append(p.events, benchTemplate{json: b, key: []byte(ev.AgentID), idAt: idAt, timeAt: timeAt})
		p.size = max(p.size, len(b))
	}
	return p
}

// append writes the template with event id number n and time at to dst.
func (t *benchTemplate) append(dst []byte, n int64, at time.Time) []byte {
	from := len(dst)
	dst = append(dst, t.json...)
	out := dst[from:]
	for i := t.idAt + benchIDDigits - 1; i >= t.idAt; i-- {
		out[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[n%36]
		n /= 36
	}
	at.AppendFormat(out[t.timeAt:t.timeAt], benchTimeLayout)
	return dst
}

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
	// A run nonce keeps event ids and probe agents unique across runs on
	// one store, so a second run is not deduplicated against the first.
	nonce := strconv.FormatInt(time.Now().UnixNano()%(36*36*36*36), 36)
	decls := make([]inventory.Agent, maxProbes)
	for i := range decls {
		decls[i] = inventory.Agent{ID: benchProbeID(nonce, i), Owner: "bench", Status: inventory.StatusDecommissioned}
	}
	inv, err := inventory.New(decls)
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

	// The offered events are cut from a pool of pre-encoded templates in
	// which only the event id and the time change, so that generating
	// the load costs little of the CPU the pipeline is measured on.
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Now().UTC().Truncate(time.Hour)
	pool := newBenchPool(rng, opt.Agents, 4096, nonce)
	headers := map[string]string{"format": "canonical"}
	// Free-running, the load goes out in large batches; at a set rate, in
	// a hundred batches a second, so probes are not held behind bursts.
	size := 5000
	if opt.Rate > 0 {
		size = min(size, max(1, opt.Rate/100))
	}
	// Publishers work in parallel, so that the load is not held to one
	// acknowledged round trip at a time. At a set rate the batches are
	// small and many (a hundredth of a second each) and, with the embedded
	// log, each answer waits for an fsync: there more overlap, as a fleet
	// of senders would. Free-running batches are large, and more
	// publishers only compete with the stages for the CPU.
	publishers := 4
	if opt.Rate > 0 {
		publishers = 16
	}
	work := make(chan []bus.Message, publishers)
	pubErr := make(chan error, 1)
	var pubs sync.WaitGroup
	stopPublishers := sync.OnceFunc(func() {
		close(work)
		pubs.Wait()
	})
	defer stopPublishers()
	for range publishers {
		pubs.Go(func() {
			for b := range work {
				if err := a.Producer.Publish(ctx, b...); err != nil {
					select {
					case pubErr <- fmt.Errorf("bench: publish: %w", err):
					default:
					}
				}
			}
		})
	}
	var n int64
	start := time.Now()
	nextProbe := start
	for time.Since(start) < opt.Duration {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		select {
		case err := <-pubErr:
			return res, err
		default:
		}
		batch := make([]bus.Message, 0, size)
		arena := make([]byte, 0, cap(batch)*pool.size)
		for len(batch) < cap(batch) {
			if now := time.Now(); !now.Before(nextProbe) && probes < maxProbes {
				nextProbe = now.Add(opt.ProbeEvery)
				ev := schemas.AgentEvent{
					EventID: "p" + nonce + "-" + strconv.FormatInt(n, 36), Time: base.Add(time.Duration(n) * time.Microsecond), Source: "bench",
					AgentID: benchProbeID(nonce, probes), Principal: "svc-bench",
					CredentialID: "AKIABENCH", CredentialType: schemas.CredOAuthToken,
					Action: "tickets.read", System: "mcp:zendesk", Resource: "tickets/1", Outcome: schemas.OutcomeSuccess,
				}
				probes++
				mu.Lock()
				sent[ev.EventID] = now
				mu.Unlock()
				batch = append(batch, bus.Message{Topic: cfg.Bus.Topics.Ingest, Key: []byte(ev.AgentID), Value: schemas.AppendEventJSON(nil, &ev), Headers: headers})
				n++
				continue
			}
			t := &pool.events[rng.IntN(len(pool.events))]
			from := len(arena)
			arena = t.append(arena, n, base.Add(time.Duration(n)*time.Microsecond))
			batch = append(batch, bus.Message{Topic: cfg.Bus.Topics.Ingest, Key: t.key, Value: arena[from:len(arena):len(arena)], Headers: headers})
			n++
		}
		for opt.MaxBacklog > 0 && n-a.slowestCommitted() > opt.MaxBacklog && time.Since(start) < opt.Duration {
			select {
			case err := <-pubErr:
				return res, err
			case err := <-runErr:
				return res, fmt.Errorf("bench: pipeline stopped: %w", err)
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
		res.Backlog = max(res.Backlog, n-a.slowestCommitted())
		select {
		case work <- batch:
		case err := <-pubErr:
			return res, err
		case <-ctx.Done():
			return res, ctx.Err()
		}
		if opt.Rate > 0 {
			due := start.Add(time.Duration(float64(n) / float64(opt.Rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
	}
	stopPublishers()
	select {
	case err := <-pubErr:
		return res, err
	default:
	}
	res.Published = n
	res.PublishSeconds = time.Since(start).Seconds()
	pubEnd := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	// A pipeline that stops making progress will not drain: say so rather
	// than wait forever (records a broker deleted before they were read,
	// for one, are never committed).
	progress, progressAt := a.slowestCommitted(), time.Now()
	for !a.Drained(n) {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case err := <-runErr:
			return res, fmt.Errorf("bench: pipeline stopped: %w", err)
		case <-tick.C:
		}
		if c := a.slowestCommitted(); c != progress {
			progress, progressAt = c, time.Now()
		} else if time.Since(progressAt) > benchStall {
			return res, fmt.Errorf("bench: no stage committed anything for %s with %d of %d events still to commit (were records deleted by retention before they were read? see the log)", benchStall, n-c, n)
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
