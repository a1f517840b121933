package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the CLI's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func cli(t *testing.T, ctx context.Context, environ []string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb syncBuffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: func() []string { return environ }}
	err := runCLI(ctx, env, args)
	return out.String(), errb.String(), err
}

func TestConfigPrintRedactsSecrets(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "prod.yaml")
	body := `mode: production
bus:
  brokers: [127.0.0.1:9092]
store:
  backend: clickhouse
  clickhouse:
    password: ch-password-123
alerts:
  receivers:
    - name: oncall
      pagerduty:
        routing_key: R0UTINGKEY0123456789abcdef012345
    - name: team-slack
      slack:
        webhook_url: https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX
ingest:
  http:
    sources:
      - name: vector
        token: tok-vector-abcdef
`
	if err := os.WriteFile(cfgFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := cli(t, context.Background(), []string{"AGENTWATCH_DATA_DIR=" + dir}, "config", "print", "--config", cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ch-password-123", "R0UTINGKEY", "XXXXsecretXXXX", "hooks.slack.com/services", "tok-vector-abcdef"} {
		if strings.Contains(out, secret) {
			t.Errorf("config print shows secret %q", secret)
		}
	}
	for _, want := range []string{"mode: production", "data_dir: " + dir, "- 127.0.0.1:9092", "backend: clickhouse"} {
		if !strings.Contains(out, want) {
			t.Errorf("config print lacks %q", want)
		}
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(cfgFile, []byte("mode: embedded\nstore:\n  backend: sqlite\n  retention_dayz: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := cli(t, context.Background(), nil, "config", "print", "--config", cfgFile)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4: unknown key store.retention_dayz") {
		t.Errorf("err = %v", err)
	}
	_, _, err = cli(t, context.Background(), []string{"AGENTWATCH_STORE__BACKEND=postgres"}, "config", "print")
	if err == nil || !strings.Contains(err.Error(), "store.backend") {
		t.Errorf("err = %v", err)
	}
	_, _, err = cli(t, context.Background(), nil, "config", "print", "--set", "pipeline.batch_size=lots")
	if err == nil || !strings.Contains(err.Error(), "pipeline.batch_size") {
		t.Errorf("err = %v", err)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunServesDrainsAndRestarts runs `agentwatch run` in-process: events
// POSTed to the collector are stored, an interrupt drains and stops it
// cleanly, and a second start on the same data directory keeps what the
// first learned.
func TestRunServesDrainsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "agents.yaml")
	if err := os.WriteFile(inv, []byte("agents:\n  - id: bot\n    owner: team\n    playground:\n      systems: [crm]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen, metrics, consoleAddr := freePort(t), freePort(t), freePort(t)
	args := []string{"run", "--data-dir", dir, "--inventory", inv, "--set", "http.listen=" + listen, "--set", "http.metrics_listen=" + metrics,
		"--set", "console.listen=" + consoleAddr, "--log-level", "warn", "--set", "store.retention_days=0"}

	start := func() (context.CancelFunc, chan error, *syncBuffer) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		var out, errb syncBuffer
		go func() {
			env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: func() []string { return nil }}
			done <- runCLI(ctx, env, args)
		}()
		waitRunReady(t, metrics, &errb)
		return cancel, done, &out
	}

	cancel, done, out := start()
	var lines []string
	for i := 0; i < 20; i++ {
		sys := "crm"
		if i == 19 {
			sys = "payroll" // outside the declared playground
		}
		// The last event is an hour later, so the first window closes
		// and the worker stores a profile.
		hour := 10 + i/19
		lines = append(lines, fmt.Sprintf(`{"event_id":"e%d","time":"2026-03-02T%02d:%02d:00Z","source":"test","agent_id":"bot","action":"read","system":"%s","outcome":"success"}`, i, hour, i, sys))
	}
	resp, err := http.Post("http://"+listen+"/v1/events", "application/x-ndjson", strings.NewReader(strings.Join(lines, "\n")+"\n"+`{"event_id":"bad"`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"line":21`) {
		t.Errorf("collector response does not name the rejected line 21: %s", body)
	}
	waitMetric(t, metrics, `agentwatch_stage_events_total{result="out",stage="alerts"}`)
	// run serves the console beside the stages.
	if resp, err := http.Get("http://" + consoleAddr + "/agents/bot"); err != nil {
		t.Errorf("console of agentwatch run: %v", err)
	} else {
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "payroll") {
			t.Errorf("console agent page: %d, lacks the event outside the playground", resp.StatusCode)
		}
	}
	cancel() // what Ctrl-C does in main
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run exited with %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("run did not drain and exit")
	}
	if !strings.Contains(out.String(), "playground.declared") {
		t.Errorf("the console sink did not print the alert; stdout:\n%s", out.String())
	}

	sql := func(q string) string {
		o, e, err := cli(t, context.Background(), nil, "sql", q, "--data-dir", dir, "--format", "csv")
		if err != nil {
			t.Fatalf("sql %q: %v %s", q, err, e)
		}
		return strings.TrimSpace(o)
	}
	if got := sql("SELECT count(DISTINCT event_id) FROM events"); !strings.HasSuffix(got, "\n20") {
		t.Errorf("events after first run: %q", got)
	}
	if got := sql("SELECT detector FROM alerts WHERE agent_id = 'bot'"); !strings.Contains(got, "playground.declared") {
		t.Errorf("alerts after first run: %q", got)
	}
	before := sql("SELECT count(*) FROM agent_baselines WHERE agent_id = 'bot'")

	cancel, done, _ = start()
	after := sql("SELECT count(*) FROM agent_baselines WHERE agent_id = 'bot'")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("second run exited with %v", err)
	}
	if before != after || strings.HasSuffix(before, "\n0") {
		t.Errorf("baselines before restart %q, after %q", before, after)
	}
}

// waitRunReady waits until the in-process `agentwatch run` serving metrics
// on addr says ready, showing its log errb if it never does.
func waitRunReady(t *testing.T, addr string, errb *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agentwatch run not ready: %v\n%s", err, errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitMetric(t *testing.T, addr, series string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, series+" ") && !strings.HasSuffix(line, " 0") {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("metric %s never became non-zero", series)
}

// TestReadmeShowsConfigPrint: the README's "full effective configuration"
// block is what `config print` prints with no file and no environment.
func TestReadmeShowsConfigPrint(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const intro = "as `agentwatch config print` shows it:\n\n```yaml\n"
	_, rest, ok := strings.Cut(string(readme), intro)
	if !ok {
		t.Fatal("README.md has no config print block")
	}
	block, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatal("README.md's config print block is not closed")
	}
	out, _, err := cli(t, context.Background(), nil, "config", "print")
	if err != nil {
		t.Fatal(err)
	}
	if out != block {
		t.Errorf("README.md's config print block differs from `config print`; it prints:\n%s", out)
	}
}
