package ingest

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeGz(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	ct, _ := os.ReadFile("testdata/cloudtrail_agents.json")
	writeGz(t, filepath.Join(dir, "ct.json.gz"), ct)
	mcp, _ := os.ReadFile("testdata/mcp_gateway.ndjson")
	os.WriteFile(filepath.Join(dir, "mcp.ndjson"), append(mcp, []byte("garbage line\n")...), 0o644)
	gcp, _ := os.ReadFile("testdata/gcp_pubsub_push.json") // pretty-printed
	os.WriteFile(filepath.Join(dir, "push.json"), gcp, 0o644)

	n := newTestNormalizer(t)
	sink := &memSink{}
	st, err := LoadFile(context.Background(), dir, n, sink)
	if err != nil {
		t.Fatal(err)
	}
	// 4 CloudTrail + 5 MCP + 1 GCP events; the garbage line is a dead letter.
	if st.Events != 10 || st.DeadLetters != 1 {
		t.Fatalf("stats %+v, want 10 events and 1 dead letter", st)
	}
	if evs, dead := sink.counts(); evs != 10 || dead != 1 {
		t.Fatalf("sink got %d events, %d dead", evs, dead)
	}
	if d := sink.dead[0]; d.Line != 6 || !strings.HasSuffix(d.Source, "mcp.ndjson") {
		t.Errorf("dead letter %+v, want line 6 of mcp.ndjson", d)
	}
	if _, err := LoadFile(context.Background(), filepath.Join(dir, "missing"), n, sink); err == nil {
		t.Fatal("missing file: want an error")
	}
}

func TestLoadFileLargeStreamsLines(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRecordBytes = 1024 // streaming starts above 64 KiB
	n, err := NewNormalizer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; b.Len() < 100<<10; i++ {
		b.WriteString(strings.Replace(oneCanonical, `"e1"`, `"e`+strconv.Itoa(i)+`"`, 1) + "\n")
	}
	b.WriteString(`{"long":"` + strings.Repeat("x", 5000) + `"}` + "\n")
	path := filepath.Join(t.TempDir(), "big.ndjson")
	os.WriteFile(path, []byte(b.String()), 0o644)
	sink := &memSink{}
	st, err := LoadFile(context.Background(), path, n, sink)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(b.String(), "\n")
	if st.Events+st.DeadLetters != lines || st.DeadLetters != 1 {
		t.Fatalf("stats %+v for %d lines, want one too-large dead letter", st, lines)
	}
	if !strings.HasPrefix(sink.dead[0].Reason, ReasonTooLarge) || len(sink.dead[0].Raw) > 1025 {
		t.Errorf("dead letter reason %q, raw %d bytes", sink.dead[0].Reason, len(sink.dead[0].Raw))
	}
}

func canonicalLine(id string) string {
	return strings.Replace(oneCanonical, `"e1"`, `"`+id+`"`, 1) + "\n"
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func eventIDs(s *memSink) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, e := range s.evs {
		ids = append(ids, e.EventID)
	}
	return ids
}

func TestTailerFollowsAppendsRotationAndRestarts(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	os.Mkdir(logDir, 0o755)
	live := filepath.Join(logDir, "app.log")
	cfg := DefaultConfig().Files
	cfg.Paths = []string{logDir}
	cfg.StateFile = filepath.Join(dir, "offsets.json")
	n := newTestNormalizer(t)
	sink := &memSink{}
	ctx := context.Background()
	newTailer := func() *Tailer {
		tl, err := NewTailer(cfg, n, sink, nil)
		if err != nil {
			t.Fatal(err)
		}
		return tl
	}
	tl := newTailer()
	want := func(ids ...string) {
		t.Helper()
		if got := strings.Join(eventIDs(sink), ","); got != strings.Join(ids, ",") {
			t.Fatalf("events %s, want %s", got, strings.Join(ids, ","))
		}
	}

	appendFile(t, live, canonicalLine("a1")+canonicalLine("a2")+`{"event_id":"a3"`) // a3 unfinished
	if err := tl.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	want("a1", "a2")
	appendFile(t, live, `,"time":"2026-03-02T13:00:00Z","source":"app","agent_id":"a1","action":"x:y","system":"internal:x","outcome":"success"}`+"\n")
	if err := tl.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	want("a1", "a2", "a3")

	// Rotation: the live file is renamed (still in the directory) and a new
	// one created; lines written to the old file before the switch are read
	// from where we were, and nothing is read twice.
	appendFile(t, live, canonicalLine("a4"))
	if err := os.Rename(live, live+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, canonicalLine("b1"))
	if err := tl.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	want("a1", "a2", "a3", "b1", "a4") // files are visited in name order

	// A restart resumes from the saved offsets.
	appendFile(t, live, canonicalLine("b2"))
	tl = newTailer()
	if err := tl.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	want("a1", "a2", "a3", "b1", "a4", "b2")

	// copytruncate: the file shrinks and is read from the start.
	if err := os.Truncate(live, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, live, canonicalLine("c1"))
	if err := tl.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	want("a1", "a2", "a3", "b1", "a4", "b2", "c1")

	// A compressed rotated file is loaded once.
	writeGz(t, filepath.Join(logDir, "old.log.gz"), []byte(canonicalLine("z1")))
	for i := 0; i < 2; i++ {
		if err := tl.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want("a1", "a2", "a3", "b1", "a4", "b2", "c1", "z1")
}

func TestTailerConfigErrors(t *testing.T) {
	n := newTestNormalizer(t)
	cfg := DefaultConfig().Files
	if _, err := NewTailer(cfg, n, &memSink{}, nil); err == nil || !strings.Contains(err.Error(), "ingest.files.paths") {
		t.Fatalf("no paths: err = %v", err)
	}
	cfg.Paths = []string{t.TempDir()}
	cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(cfg.StateFile, []byte("{not json"), 0o600)
	if _, err := NewTailer(cfg, n, &memSink{}, nil); err == nil || !strings.Contains(err.Error(), "state_file") {
		t.Fatalf("corrupt state: err = %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestTailerRunStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig().Files
	cfg.Paths = []string{filepath.Join(dir, "a.log")}
	cfg.StateFile = filepath.Join(dir, "state.json")
	cfg.PollInterval = 5 * time.Millisecond
	sink := &memSink{}
	tl, err := NewTailer(cfg, newTestNormalizer(t), sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	appendFile(t, cfg.Paths[0], canonicalLine("r1"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if evs, _ := sink.counts(); evs == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tailer did not pick up the line within 5s")
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, with a deadline
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v on cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
