package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/alerts"
	"github.com/agentwatch/agentwatch/schemas"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening waits until the HTTP collector accepts connections on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	waitFor(t, 10*time.Second, "the HTTP collector to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// ndjson encodes events from first, n of them, one per line.
func ndjson(first, n int) []byte {
	var b bytes.Buffer
	for i := first; i < first+n; i++ {
		ev := supportEvent(i, day0.Add(time.Duration(i)*time.Second), "tickets.read", "mcp:zendesk")
		b.Write(schemas.AppendEventJSON(nil, &ev))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// postEvents posts body to the HTTP collector's /v1/events.
func postEvents(t *testing.T, addr string, body []byte) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/v1/events", "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp, string(msg)
}

func heldCount(t *testing.T, reg *prometheus.Registry, stage string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "agentwatch_stage_held_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "stage" && l.GetValue() == stage {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func countEvents(t *testing.T, a *App) int64 {
	t.Helper()
	res, err := a.Store.Query(context.Background(), "SELECT count(*) FROM events")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(fmt.Sprint(res.Rows[0][0]), 10, 64)
	return n
}

// TestEmbeddedBacklogHoldsCollectors: in embedded mode, while the stages
// that read the events topic are more than bus.embedded.max_backlog
// records behind, the HTTP collector answers 429 with Retry-After and the
// file collector pauses with its offsets unmoved; nothing is deleted, and
// once the stages run, everything arrives and the collectors go on.
func TestEmbeddedBacklogHoldsCollectors(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o750); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(dir)
	cfg.Bus.Embedded.MaxBacklog = 1000
	cfg.HTTP.Listen = freeAddr(t)
	cfg.Ingest.HTTP.AllowUnauthenticated = true
	cfg.Ingest.HTTP.RetryAfter = time.Second
	cfg.Ingest.Files.Paths = []string{logs}
	cfg.Ingest.Files.PollInterval = 20 * time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	inv := mustInventory(t)
	reg := prometheus.NewRegistry()
	a, err := Open(ctx, cfg, Options{Log: testLogger(t), Inventory: inv, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// Only the collectors (with the ingest stage) run at first: nobody
	// reads the events topic.
	ingestCtx, stopIngest := context.WithCancel(ctx)
	ingestDone := make(chan error, 1)
	go func() { ingestDone <- a.RunStages(ingestCtx, []string{StageIngest}, Hooks{}) }()
	defer func() {
		stopIngest()
		if err := <-ingestDone; err != nil {
			t.Errorf("collectors: %v", err)
		}
	}()
	waitListening(t, cfg.HTTP.Listen)

	if resp, body := postEvents(t, cfg.HTTP.Listen, ndjson(0, 1500)); resp.StatusCode != http.StatusOK {
		t.Fatalf("first post: %d %s", resp.StatusCode, body)
	}
	baselineGroup := cfg.Pipeline.Groups.Baseline
	waitFor(t, 10*time.Second, "the backlog to be measured", func() bool { return a.embedded.Backlog(baselineGroup) == 1500 })
	resp, body := postEvents(t, cfg.HTTP.Listen, ndjson(5000, 10))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("post while 1500 records behind a bound of 1000: %d (Retry-After %q) %s, want 429 with Retry-After 1",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	// The file collector is held too: its 500 lines wait.
	lines := filepath.Join(logs, "events.ndjson")
	if err := os.WriteFile(lines, ndjson(2000, 500), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the file collector to wait", func() bool { return heldCount(t, reg, "collector") >= 2 })
	if n := a.embedded.Backlog(baselineGroup); n != 1500 {
		t.Fatalf("the file collector published while held: backlog %d, want 1500", n)
	}

	// The stages start: everything acknowledged arrives, the file is read
	// to its end, and the HTTP collector accepts again.
	disp, err := alerts.NewDispatcher(cfg.Alerts, inv, alerts.WithRegisterer(a.Reg), alerts.WithLogger(a.Log), alerts.WithConsole(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer disp.Close()
	stagesCtx, stopStages := context.WithCancel(ctx)
	stagesDone := make(chan error, 1)
	go func() {
		stagesDone <- a.RunStages(stagesCtx, []string{StageBaseline, StageDetect, StageAlerts}, Hooks{Dispatcher: disp})
	}()
	defer func() {
		stopStages()
		if err := <-stagesDone; err != nil {
			t.Errorf("stages: %v", err)
		}
	}()
	waitFor(t, 60*time.Second, "the 1500 posted and 500 tailed events in the store", func() bool { return countEvents(t, a) == 2000 })
	state, err := os.ReadFile(cfg.Ingest.Files.StateFile)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(lines)
	if want := fmt.Sprintf(`"offset": %d`, fi.Size()); !strings.Contains(string(state), want) {
		t.Errorf("file collector state %s, want %s", state, want)
	}
	waitFor(t, 10*time.Second, "the backlog to clear", func() bool { return a.embedded.Backlog(baselineGroup) <= 1000 })
	if resp, body := postEvents(t, cfg.HTTP.Listen, ndjson(6000, 10)); resp.StatusCode != http.StatusOK {
		t.Errorf("post after the stages caught up: %d %s", resp.StatusCode, body)
	}
}

// TestHTTPAnswers503WhenDiskIsFull: when the embedded log's disk is full,
// the HTTP collector acknowledges nothing: 503 with Retry-After and an
// error that says why; once space returns, it accepts again. It needs the
// right to mount a small tmpfs (root in CI) and skips otherwise.
func TestHTTPAnswers503WhenDiskIsFull(t *testing.T) {
	dir := t.TempDir()
	disk := t.TempDir()
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=4194304"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (%v): run as root to test a full disk", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(disk, syscall.MNT_DETACH) })
	cfg := testConfig(dir)
	cfg.Bus.Embedded.Dir = filepath.Join(disk, "broker")
	cfg.HTTP.Listen = freeAddr(t)
	cfg.Ingest.HTTP.AllowUnauthenticated = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := startPipeline(t, cfg, mustInventory(t))
	waitListening(t, cfg.HTTP.Listen)
	var st syscall.Statfs_t
	if err := syscall.Statfs(disk, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(disk, "filler")
	if err := os.WriteFile(filler, make([]byte, int64(st.Bavail)*int64(st.Bsize)-8<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	next, accepted := 0, 0
	var resp *http.Response
	var body string
	for range 200 {
		resp, body = postEvents(t, cfg.HTTP.Listen, ndjson(next, 200))
		if resp.StatusCode != http.StatusOK {
			break
		}
		next += 200
		accepted += 200
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("post to a full disk: %d (Retry-After %q) %s, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	var r struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &r)
	if !strings.Contains(r.Error, "no space left on device") || !strings.Contains(r.Error, cfg.Bus.Embedded.Dir) {
		t.Errorf("503 says %q; want it to name the log directory and 'no space left on device'", r.Error)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if resp, body := postEvents(t, cfg.HTTP.Listen, ndjson(next, 200)); resp.StatusCode != http.StatusOK {
		t.Fatalf("post once space returned: %d %s", resp.StatusCode, body)
	}
	accepted += 200
	waitFor(t, 60*time.Second, "every accepted event in the store", func() bool { return countEvents(t, p.app) >= int64(accepted) })
	if n := countEvents(t, p.app); n != int64(accepted) {
		t.Errorf("%d events stored, want the %d accepted", n, accepted)
	}
}
