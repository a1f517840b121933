package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/schemas"
)

// crashChildEnv makes the test binary run `agentwatch ARGS...` (a JSON
// array), so the crash test can kill a real `agentwatch run` with SIGKILL.
const crashChildEnv = "AGENTWATCH_TEST_RUN_ARGS"

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		var args []string
		if err := json.Unmarshal([]byte(spec), &args); err != nil {
			fmt.Fprintln(os.Stderr, "child args:", err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ}
		err := runCLI(ctx, env, args)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "agentwatch:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashRun is the state of TestRunSurvivesSIGKILL: what was sent, what
// was acknowledged, what the webhook heard.
type crashRun struct {
	mu sync.Mutex
	// httpAcked are the event ids of HTTP posts answered 200; probes the
	// acknowledged probe events (a decommissioned agent acting), by agent.
	httpAcked map[string]bool
	fileLines map[string]bool
	probes    map[string]string // agent -> event id
	// deliveries are the webhook's posts per alert id: delivery ids seen.
	deliveries map[string]map[string]int
	posts      int
	// resumed are the child's reports at start, after a kill, of how far
	// each stage was behind in the log: what it replays.
	resumed []string
}

// TestRunSurvivesSIGKILL runs `agentwatch run` (embedded mode) as a child
// process, feeds it at a fixed rate through the HTTP collector and the
// file collector, and kills it with SIGKILL at random moments, restarting
// it on the same data directory each time. After the last start has
// drained, every record acknowledged over HTTP (answered 200) and every
// line written to the tailed file is in the store exactly once, every
// probe event (a decommissioned agent acting) raised exactly one alert,
// counted once, and the webhook was notified of it once.
func TestRunSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: about a minute; skipped with -short")
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 16))
	t.Logf("seed %d", seed)
	const (
		kills      = 5
		probeMax   = 5000
		httpBatch  = 20 // events per POST
		fileBatch  = 25 // lines per append
		burstPosts = 8  // requests of a burst, sent at once
	)
	httpEvery := 20 * time.Millisecond // 1,000 events/s
	fileEvery := 100 * time.Millisecond
	burstSize := 2500 // events per burst request: 20,000 at once
	if raceEnabled {
		httpEvery, fileEvery, burstSize = 50*time.Millisecond, 200*time.Millisecond, 500
	}
	dir := t.TempDir()
	data, logs := filepath.Join(dir, "data"), filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o750); err != nil {
		t.Fatal(err)
	}

	run := &crashRun{httpAcked: map[string]bool{}, fileLines: map[string]bool{}, probes: map[string]string{}, deliveries: map[string]map[string]int{}}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var al schemas.Alert
		if err := json.Unmarshal(body, &al); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if al.Detector != "lifecycle.decommissioned" || !strings.HasPrefix(al.Identity.AgentID, "probe-") {
			return // other detectors' view of the synthetic workers
		}
		run.mu.Lock()
		run.posts++
		if run.deliveries[al.ID] == nil {
			run.deliveries[al.ID] = map[string]int{}
		}
		run.deliveries[al.ID][r.Header.Get("X-Agentwatch-Delivery")]++
		run.mu.Unlock()
	}))
	defer hook.Close()

	// Every probe agent is declared decommissioned, so its first act
	// raises lifecycle.decommissioned at once.
	var inv strings.Builder
	inv.WriteString("agents:\n")
	for i := range probeMax {
		fmt.Fprintf(&inv, "  - id: probe-%04d\n    owner: crash-test\n    status: decommissioned\n", i)
	}
	invPath := filepath.Join(dir, "agents.yaml")
	if err := os.WriteFile(invPath, []byte(inv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr, metricsAddr := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`mode: embedded
data_dir: %s
inventory: %s
log: {level: warn}
http: {listen: %s, metrics_listen: %s}
console: {listen: ""}
bus:
  partitions: 3
  embedded: {partitions: 3}
store: {retention_days: 0}
ingest:
  files: {paths: [%s], poll_interval: 100ms}
alerts:
  owner_routing: {enabled: false}
  retry_initial: 100ms
  receivers:
    - name: hook
      webhook: {url: %s, secret: crash-test-secret}
  route: {receiver: hook, group_wait: 0s, group_interval: 1s}
pipeline: {drain_timeout: 10s}
`, data, invPath, httpAddr, metricsAddr, logs, hook.URL)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// Probes take turns in the two feeds: every 50th event is one.
	var seqMu sync.Mutex
	nextProbe := 0
	event := func(id string, n int) (schemas.AgentEvent, bool) {
		ev := schemas.AgentEvent{
			EventID: id, Time: time.Now().UTC(), Source: "crash-test", AgentID: fmt.Sprintf("worker-%d", n%40),
			Principal: "svc-crash", Action: "tickets.read", System: "mcp:zendesk", Resource: fmt.Sprintf("tickets/%d", n%500),
			Outcome: schemas.OutcomeSuccess,
		}
		if n%50 != 49 {
			return ev, false
		}
		seqMu.Lock()
		defer seqMu.Unlock()
		if nextProbe == probeMax {
			return ev, false
		}
		ev.AgentID = fmt.Sprintf("probe-%04d", nextProbe)
		nextProbe++
		return ev, true
	}

	ctx, stopFeeds := context.WithCancel(context.Background())
	defer stopFeeds()
	var feeds sync.WaitGroup
	var idMu sync.Mutex
	nextID := 0
	// post sends count events in one request, again and unchanged until
	// it is answered 200 (as a shipper would), then records them as
	// acknowledged.
	client := &http.Client{Timeout: 20 * time.Second}
	post := func(count int) {
		idMu.Lock()
		from := nextID
		nextID += count
		idMu.Unlock()
		var body bytes.Buffer
		ids := make([]string, 0, count)
		probes := map[string]string{}
		for n := from; n < from+count; n++ {
			ev, probe := event(fmt.Sprintf("h-%d", n), n)
			body.Write(schemas.AppendEventJSON(nil, &ev))
			body.WriteByte('\n')
			ids = append(ids, ev.EventID)
			if probe {
				probes[ev.AgentID] = ev.EventID
			}
		}
		for {
			resp, err := client.Post("http://"+httpAddr+"/v1/events", "application/x-ndjson", bytes.NewReader(body.Bytes()))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			time.Sleep(50 * time.Millisecond) // the child is restarting or holding senders back
		}
		run.mu.Lock()
		for _, id := range ids {
			run.httpAcked[id] = true
		}
		for a, id := range probes {
			run.probes[a] = id
		}
		run.mu.Unlock()
	}
	// The steady HTTP feed: a batch every httpEvery.
	feeds.Go(func() {
		tick := time.NewTicker(httpEvery)
		defer tick.Stop()
		for ctx.Err() == nil {
			<-tick.C
			post(httpBatch)
		}
	})
	// Bursts, asked for before some kills, leave the stages with a
	// backlog to replay: records fetched and worked on, not committed.
	burst := make(chan struct{})
	feeds.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-burst:
			}
			var wg sync.WaitGroup
			for range burstPosts {
				wg.Go(func() { post(burstSize) })
			}
			wg.Wait()
		}
	})
	// The file feed: whole lines appended to a tailed file.
	feeds.Go(func() {
		f, err := os.OpenFile(filepath.Join(logs, "agents.ndjson"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		tick := time.NewTicker(fileEvery)
		defer tick.Stop()
		for n := 0; ctx.Err() == nil; {
			<-tick.C
			var buf bytes.Buffer
			var ids []string
			probes := map[string]string{}
			for range fileBatch {
				ev, probe := event(fmt.Sprintf("f-%d", n), n+7)
				n++
				buf.Write(schemas.AppendEventJSON(nil, &ev))
				buf.WriteByte('\n')
				ids = append(ids, ev.EventID)
				if probe {
					probes[ev.AgentID] = ev.EventID
				}
			}
			if _, err := f.Write(buf.Bytes()); err != nil {
				t.Error(err)
				return
			}
			run.mu.Lock()
			for _, id := range ids {
				run.fileLines[id] = true
			}
			for a, id := range probes {
				run.probes[a] = id
			}
			run.mu.Unlock()
		}
	})

	start := func() *child {
		return startChild(t, metricsAddr, func(l string) {
			if strings.Contains(l, "was not closed by the last run") {
				run.mu.Lock()
				run.resumed = append(run.resumed, strings.Join(behindRe.FindAllString(l, -1), " "))
				run.mu.Unlock()
			}
		}, "run", "--config", cfgPath)
	}
	c := start()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.exited
	})
	for k := range kills {
		up := time.Duration(1500+rng.IntN(3000)) * time.Millisecond
		withBurst := k%2 == 0
		if withBurst {
			// Kill a moment after a burst went in, while the stages
			// work through it.
			time.Sleep(up)
			select {
			case burst <- struct{}{}:
			default: // the last burst is still being sent
			}
			up = time.Duration(200+rng.IntN(1500)) * time.Millisecond
		}
		time.Sleep(up) // a random point in the run: the feeds go on meanwhile
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-c.exited
		run.mu.Lock()
		t.Logf("kill %d (%s after %s): %d acknowledged over HTTP, %d lines written so far", k+1,
			map[bool]string{true: "a burst", false: "the last start"}[withBurst], up, len(run.httpAcked), len(run.fileLines))
		run.mu.Unlock()
		c = start()
	}
	run.mu.Lock()
	ackedAtLastStart := len(run.httpAcked)
	if len(run.resumed) != kills {
		t.Errorf("%d of %d starts after a kill said they recover the log: %q", len(run.resumed), kills, run.resumed)
	}
	for i, r := range run.resumed {
		t.Logf("start %d after a kill replays: %s", i+2, r)
	}
	run.mu.Unlock()
	// The last start takes the feeds for a while too: ten more posts
	// answered before they stop.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		run.mu.Lock()
		n := len(run.httpAcked)
		run.mu.Unlock()
		if n >= ackedAtLastStart+10*httpBatch {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the last start answered %d events in 60s, want %d", n-ackedAtLastStart, 10*httpBatch)
		}
	}
	stopFeeds()
	feeds.Wait()

	run.mu.Lock()
	wantEvents := len(run.httpAcked) + len(run.fileLines)
	wantAlerts := len(run.probes)
	run.mu.Unlock()
	st, err := sqlite.OpenReadOnly(filepath.Join(data, "agentwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func(q string) int64 {
		res, err := st.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var n int64
		fmt.Sscan(fmt.Sprint(res.Rows[0][0]), &n)
		return n
	}
	deadline := time.Now().Add(90 * time.Second)
	for count("SELECT count(DISTINCT event_id) FROM events") < int64(wantEvents) ||
		count("SELECT count(*) FROM alerts WHERE detector = 'lifecycle.decommissioned'") < int64(wantAlerts) ||
		delivered(run) < wantAlerts {
		if time.Now().After(deadline) {
			break // the checks below say what is missing
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	if c.err != nil {
		t.Errorf("agentwatch run after SIGTERM: %v", c.err)
	}

	// Every acknowledged record, exactly once.
	res, err := st.Query(context.Background(), "SELECT event_id, count(*) FROM events GROUP BY event_id")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int64{}
	for _, r := range res.Rows {
		var n int64
		fmt.Sscan(fmt.Sprint(r[1]), &n)
		stored[fmt.Sprint(r[0])] = n
	}
	missing, twice, unknown := 0, 0, 0
	for _, set := range []map[string]bool{run.httpAcked, run.fileLines} {
		for id := range set {
			switch stored[id] {
			case 0:
				missing++
			case 1:
			default:
				twice++
			}
		}
	}
	for id := range stored {
		if !run.httpAcked[id] && !run.fileLines[id] {
			unknown++
		}
	}
	if missing > 0 || twice > 0 || unknown > 0 {
		t.Errorf("of %d acknowledged records: %d missing from the store, %d stored more than once, and %d stored that were never sent", wantEvents, missing, twice, unknown)
	}

	// Every probe, exactly one alert, counted once, notified once.
	alerts, err := st.Query(context.Background(), `SELECT agent_id, id, count, event_ids FROM alerts WHERE detector = 'lifecycle.decommissioned'`)
	if err != nil {
		t.Fatal(err)
	}
	perAgent := map[string][]string{}
	for _, r := range alerts.Rows {
		agent, id := fmt.Sprint(r[0]), fmt.Sprint(r[1])
		perAgent[agent] = append(perAgent[agent], id)
		if c := fmt.Sprint(r[2]); c != "1" {
			t.Errorf("alert %s of %s counts %s events (event ids %v); its one event was counted again on replay", id, agent, c, r[3])
		}
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	badAlerts, badNotes, repeats := 0, 0, 0
	for agent := range run.probes {
		ids := perAgent[agent]
		if len(ids) != 1 {
			badAlerts++
			t.Errorf("probe agent %s has %d alerts %v, want exactly 1", agent, len(ids), ids)
			continue
		}
		d := run.deliveries[ids[0]]
		if len(d) != 1 {
			badNotes++
			t.Errorf("alert %s (%s) was notified as %d different deliveries %v, want 1", ids[0], agent, len(d), d)
		}
		for _, n := range d {
			repeats += n - 1
		}
	}
	t.Logf("%d kills; %d records acknowledged (%d over HTTP, %d lines in the tailed file), %d distinct in the store; %d probe events, %d alerts (%d agents without exactly one), %d webhook posts (%d alerts not notified exactly once, %d repeated posts of one delivery)",
		kills, wantEvents, len(run.httpAcked), len(run.fileLines), len(stored), wantAlerts, len(alerts.Rows), badAlerts, run.posts, badNotes, repeats)
}

// delivered is how many alerts the webhook has heard of.
func delivered(run *crashRun) int {
	run.mu.Lock()
	defer run.mu.Unlock()
	return len(run.deliveries)
}

// child is one `agentwatch run` process.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // once exited is closed
}

// startChild starts this test binary as `agentwatch <args>` (see
// crashChildEnv), its log shown with a prefix and each line passed to line
// (if set), and waits until its metrics listener at metricsAddr says ready.
func startChild(t *testing.T, metricsAddr string, line func(string), args ...string) *child {
	t.Helper()
	enc, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(enc))
	cmd.Stdout = io.Discard
	cmd.Stderr = &prefixWriter{w: os.Stderr, prefix: "child: ", line: line}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.exited) }()
	c.waitReady(t, "http://"+metricsAddr+"/readyz")
	return c
}

// waitReady polls url until it answers 200, failing if the child exits
// first.
func (c *child) waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-c.exited:
			t.Fatalf("agentwatch run exited before it was ready: %v", c.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agentwatch run not ready at %s after 60s", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// behindRe finds the per-stage backlog in the child's resume log line.
var behindRe = regexp.MustCompile(`behind\.[a-z-]+=\d+`)

// prefixWriter marks the child's log lines, and shows each to line.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	line   func(string)
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprint(p.w, p.prefix+line)
			if p.line != nil {
				p.line(line)
			}
		}
	}
	return len(b), nil
}

// TestIngestAnsweredSurvivesKill is the reported case: real CloudTrail
// delivery files posted to /v1/ingest of `agentwatch run` in the default
// embedded mode, each answered 200, the process killed with SIGKILL right
// after the last answer; after a restart on the same data directory,
// every accepted record is stored.
func TestIngestAnsweredSurvivesKill(t *testing.T) {
	const dirReal = "../../../shared/data/real/aws-cloudtrail/invictus-ir_aws_dataset"
	files, _ := filepath.Glob(filepath.Join(dirReal, "*.json"))
	if len(files) == 0 {
		t.Skipf("real CloudTrail files not present at %s", dirReal)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	httpAddr, metricsAddr := freePort(t), freePort(t)
	start := func() *child {
		return startChild(t, metricsAddr, nil, "run", "--data-dir", data, "--log-level", "warn",
			"--set", "http.listen="+httpAddr, "--set", "http.metrics_listen="+metricsAddr, "--set", "console.listen=", "--set", "store.retention_days=0")
	}
	c := start()
	accepted := 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post("http://"+httpAddr+"/v1/ingest", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Accepted int `json:"accepted"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %v", filepath.Base(f), resp.StatusCode, err)
		}
		accepted += r.Accepted
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.exited

	c = start()
	defer func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		<-c.exited
	}()
	st, err := sqlite.OpenReadOnly(filepath.Join(data, "agentwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var stored int64
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := st.Query(context.Background(), "SELECT count(DISTINCT event_id) FROM events")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Sscan(fmt.Sprint(res.Rows[0][0]), &stored)
		if stored >= int64(accepted) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if stored != int64(accepted) {
		t.Errorf("after kill -9 right after the last 200 and a restart: %d of %d accepted records stored", stored, accepted)
	}
	t.Logf("%d files posted, %d records accepted, killed after the last answer; %d stored after the restart", len(files), accepted, stored)
}
