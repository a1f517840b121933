package bus

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// childEnv makes the test binary a broker process that a test kills;
// childModeEnv says what it does.
const (
	childEnv     = "AGENTWATCH_TEST_BUS_CHILD_DIR"
	childModeEnv = "AGENTWATCH_TEST_BUS_CHILD_MODE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if os.Getenv(childModeEnv) == "trim" {
			os.Exit(trimUntilKilled(dir))
		}
		os.Exit(produceUntilKilled(dir))
	}
	os.Exit(m.Run())
}

// childBroker starts the child's embedded broker on dir, creates the
// topics with partitions partitions, and returns it with the bus
// configuration and a producer.
func childBroker(dir string, partitions int) (*Embedded, Config, *Producer, error) {
	ecfg := DefaultConfig().Embedded
	ecfg.Enabled, ecfg.Dir = true, dir
	e, err := StartEmbedded(context.Background(), ecfg, nil, nil)
	if err != nil {
		return nil, Config{}, nil, err
	}
	cfg := testConfig().WithBrokers(e.Addrs())
	cfg.Partitions = partitions
	if err := EnsureTopics(context.Background(), cfg); err != nil {
		return nil, Config{}, nil, err
	}
	p, err := NewProducer(cfg, nil, nil)
	if err != nil {
		return nil, Config{}, nil, err
	}
	return e, cfg, p, nil
}

// childFailed reports a child's failure to set up; the parent, waiting
// for its first line, says so.
func childFailed(err error) int {
	fmt.Fprintln(os.Stderr, "child:", err)
	return 2
}

// trimUntilKilled publishes 100 messages, commits all of them for the one
// group reading the topic, waits for retention to delete what it may,
// says "trimmed", and waits to be killed.
func trimUntilKilled(dir string) int {
	retentionEvery = 10 * time.Millisecond
	e, cfg, p, err := childBroker(dir, 1)
	if err != nil {
		return childFailed(err)
	}
	ctx := context.Background()
	if err := e.Prepare(ctx, Flow{Readers: map[string][]string{cfg.Topics.Events: {"g"}}}, 1); err != nil {
		return childFailed(err)
	}
	if err := p.Publish(ctx, keyed(cfg.Topics.Events, "m", 100, 1)...); err != nil {
		return childFailed(err)
	}
	client := newClient(cfg.Brokers, cfg)
	if _, err := client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: "g", GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{cfg.Topics.Events: {{Partition: 0, Offset: 100}}}}); err != nil {
		return childFailed(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.c.PartitionInfo(cfg.Topics.Events, 0).LogStartOffset < 99 {
		if time.Now().After(deadline) {
			return childFailed(fmt.Errorf("retention did not delete the committed records within 30s (log start %d)",
				e.c.PartitionInfo(cfg.Topics.Events, 0).LogStartOffset))
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("trimmed")
	select {}
}

// produceUntilKilled starts the embedded broker on dir and publishes
// numbered messages in batches from several goroutines, printing each
// acknowledged batch's numbers, until killed.
func produceUntilKilled(dir string) int {
	_, cfg, p, err := childBroker(dir, 3)
	if err != nil {
		return childFailed(err)
	}
	ctx := context.Background()
	out := make(chan string, 64)
	for w := range 4 {
		go func() {
			for b := 0; ; b++ {
				msgs := make([]Message, 50)
				var ids []string
				for i := range msgs {
					id := fmt.Sprintf("p%d-w%d-b%d-m%d", os.Getpid(), w, b, i)
					msgs[i] = Message{Topic: cfg.Topics.Events, Key: []byte(id), Value: []byte(id)}
					ids = append(ids, id)
				}
				if err := p.Publish(ctx, msgs...); err != nil {
					fmt.Fprintln(os.Stderr, "child publish:", err)
					os.Exit(1)
				}
				out <- strings.Join(ids, " ")
			}
		}()
	}
	fmt.Println("ready")
	for line := range out {
		fmt.Println(line)
	}
	return 0
}

// startChild runs the test binary as a broker process on dir doing mode
// ("" publishes until killed, "trim": see trimUntilKilled), and returns
// it once it printed first, with a scanner of the rest of its output.
func startChild(t *testing.T, dir, mode, first string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, childModeEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if !sc.Scan() || sc.Text() != first {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not print %q: %q %v", first, sc.Text(), sc.Err())
	}
	return cmd, sc
}

// startLog starts an embedded broker with its log in dir, one partition
// per topic created, and returns it with the bus configuration.
func startLog(t *testing.T, dir string, log *slog.Logger, mod func(*EmbeddedConfig)) (*Embedded, Config) {
	t.Helper()
	return startLogReg(t, dir, log, mod, nil)
}

func startLogReg(t *testing.T, dir string, log *slog.Logger, mod func(*EmbeddedConfig), reg prometheus.Registerer) (*Embedded, Config) {
	t.Helper()
	ecfg := DefaultConfig().Embedded
	ecfg.Enabled, ecfg.Dir = true, dir
	if mod != nil {
		mod(&ecfg)
	}
	return startOnePartition(t, ecfg, reg, log)
}

// startOnePartition starts an embedded broker with ecfg, closed when the
// test ends, creates the topics with one partition each, and returns it
// with the bus configuration.
func startOnePartition(t *testing.T, ecfg EmbeddedConfig, reg prometheus.Registerer, log *slog.Logger) (*Embedded, Config) {
	t.Helper()
	e, err := StartEmbedded(context.Background(), ecfg, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	cfg := testConfig().WithBrokers(e.Addrs())
	cfg.Partitions = 1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := EnsureTopics(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	return e, cfg
}

func readValues(t *testing.T, cfg Config, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []string
	if err := ReadAll(ctx, cfg.Brokers, topic, func(m Message) error {
		out = append(out, string(m.Value))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func publish(t *testing.T, cfg Config, msgs ...Message) {
	t.Helper()
	p, err := NewProducer(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// commit sets group's committed offset of topic's partition 0, as a
// member that finished everything before offset would.
func commit(t *testing.T, cfg Config, group, topic string, offset int64) {
	t.Helper()
	client := newClient(cfg.Brokers, cfg)
	defer closeClient(client)
	resp, err := client.OffsetCommit(context.Background(), &kafka.OffsetCommitRequest{
		GroupID: group, GenerationID: -1,
		Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: 0, Offset: offset}}},
	})
	if err != nil {
		t.Fatalf("commit %s at %d: %v", group, offset, err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("commit %s at %d: %v", group, offset, p.Error)
		}
	}
}

// TestEmbeddedAcknowledgedSurvivesKill: a process publishing to the
// embedded broker's log is killed with SIGKILL at a random moment, three
// times; after each kill, a broker started on the same directory holds
// every message the dead process had acknowledged, none twice.
func TestEmbeddedAcknowledgedSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	t.Logf("seed %d", seed)
	acked := map[string]bool{}
	for round := range 3 {
		cmd, sc := startChild(t, dir, "", "ready")
		// Kill after a random number of acknowledged batches.
		killAfter := 10 + rng.IntN(60)
		for n := 0; n < killAfter && sc.Scan(); n++ {
			for _, id := range strings.Fields(sc.Text()) {
				acked[id] = true
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// Lines the child printed before it died were acknowledged too.
		for sc.Scan() {
			for _, id := range strings.Fields(sc.Text()) {
				acked[id] = true
			}
		}
		_ = cmd.Wait()

		func() {
			e, cfg := startLog(t, dir, testLogger(t), nil)
			defer e.Close()
			seen := map[string]int{}
			for _, v := range readValues(t, cfg, cfg.Topics.Events) {
				seen[v]++
			}
			missing := 0
			for id := range acked {
				if seen[id] == 0 {
					missing++
				}
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("round %d: %s stored %d times", round, id, n)
				}
			}
			t.Logf("round %d: killed after %d batches; %d acknowledged so far, %d in the log", round, killAfter, len(acked), len(seen))
			if missing > 0 {
				t.Fatalf("round %d: %d of %d acknowledged messages are not in the log after the kill", round, missing, len(acked))
			}
		}()
	}
}

// TestEmbeddedKeepsOffsetsAfterTrimAndKill: once retention has deleted
// everything a group committed and the process is killed, a restart
// still knows where the log ended: the next record gets the next offset,
// and the group, resuming at its committed offset, reads it.
func TestEmbeddedKeepsOffsetsAfterTrimAndKill(t *testing.T) {
	dir := t.TempDir()
	cmd, _ := startChild(t, dir, "trim", "trimmed")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	e, cfg := startLog(t, dir, nil, nil)
	if info := e.c.PartitionInfo(cfg.Topics.Events, 0); info.HighWatermark != 100 {
		t.Fatalf("after the kill the log ends at offset %d, want 100", info.HighWatermark)
	}
	publish(t, cfg, Message{Topic: cfg.Topics.Events, Value: []byte("after")})
	if m := fetchOne(t, cfg, "g", cfg.Topics.Events); m.Offset != 100 || string(m.Value) != "after" {
		t.Errorf("the group resumed at offset %d (%q), want the new record at 100", m.Offset, m.Value)
	}
}

// TestEmbeddedResumesCommittedOffsets: consumer offsets survive a
// restart, so a group resumes where it committed.
func TestEmbeddedResumesCommittedOffsets(t *testing.T) {
	dir := t.TempDir()
	e, cfg := startLog(t, dir, nil, nil)
	publish(t, cfg, keyed(cfg.Topics.Events, "m", 100, 1)...)
	commit(t, cfg, "g", cfg.Topics.Events, 60)
	e.Close()

	_, cfg = startLog(t, dir, nil, nil)
	if m := fetchOne(t, cfg, "g", cfg.Topics.Events); m.Offset != 60 || string(m.Value) != "m-60" {
		t.Errorf("after a restart the group resumed at offset %d (%q), want 60 (m-60)", m.Offset, m.Value)
	}
}

// fetchOne is the first message group gets from topic as a new member.
func fetchOne(t *testing.T, cfg Config, group, topic string) Message {
	t.Helper()
	c, err := NewConsumer(cfg, group, topic, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := c.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestEmbeddedCutsTornTail: a crash in the middle of an append leaves a
// partial record batch at the end of a segment and a partial entry at
// the end of the offsets log. The next start cuts both off, says how
// many bytes, and keeps everything before; later appends are readable
// after another restart.
func TestEmbeddedCutsTornTail(t *testing.T) {
	dir := t.TempDir()
	e, cfg := startLog(t, dir, nil, nil)
	publish(t, cfg, keyed(cfg.Topics.Events, "a", 50, 1)...)
	commit(t, cfg, "g", cfg.Topics.Events, 20)
	e.Close()

	segs, _ := filepath.Glob(filepath.Join(dir, "partitions", partitionDirName(cfg.Topics.Events, 0), "*.dat"))
	if len(segs) != 1 {
		t.Fatalf("segments of %s: %v, want one", cfg.Topics.Events, segs)
	}
	// Half of a copy of the first batch: its length says more than is there.
	whole, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	appendBytes(t, segs[0], whole[:len(whole)/2])
	appendBytes(t, filepath.Join(dir, "groups.log"), []byte{0x40, 0, 0, 0, 1, 2, 3})

	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, cfg = startLog(t, dir, log, nil)
	segCut := regexp.MustCompile(`truncating (\d+) corrupt bytes`).FindStringSubmatch(logs.String())
	if segCut == nil || segCut[1] != strconv.Itoa(len(whole)/2) {
		t.Errorf("start after a torn segment write logged %q; want it to say %d bytes were cut", logs.String(), len(whole)/2)
	}
	if !strings.Contains(logs.String(), "bytes_cut=7") || !strings.Contains(logs.String(), "groups.log") {
		t.Errorf("start after a torn offsets-log write logged %q; want groups.log and bytes_cut=7", logs.String())
	}
	if got := readValues(t, cfg, cfg.Topics.Events); len(got) != 50 || got[0] != "a-0" || got[49] != "a-49" {
		t.Fatalf("after cutting the torn tail: %d records (%v...), want the 50 written before", len(got), got[:min(3, len(got))])
	}
	publish(t, cfg, keyed(cfg.Topics.Events, "b", 10, 1)...)
	commit(t, cfg, "g", cfg.Topics.Events, 55)
	e.Close()

	e, cfg = startLog(t, dir, nil, nil)
	if got := readValues(t, cfg, cfg.Topics.Events); len(got) != 60 || got[59] != "b-9" {
		t.Errorf("after appending past the cut and restarting: %d records, want 60 ending in b-9", len(got))
	}
	if off := committedOffsets(t, cfg, "g", cfg.Topics.Events, 1)[0]; off != 55 {
		t.Errorf("offset committed after the cut reads back as %d, want 55", off)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestEmbeddedRetentionDeletesOnlyCommitted: the records of a topic two
// groups read are deleted only below the offset both have committed,
// whatever the size; a group that never committed holds everything.
func TestEmbeddedRetentionDeletesOnlyCommitted(t *testing.T) {
	defer func(d time.Duration, s int64) { retentionEvery, embeddedSegmentBytes = d, s }(retentionEvery, embeddedSegmentBytes)
	retentionEvery, embeddedSegmentBytes = 20*time.Millisecond, 4<<10
	reg := prometheus.NewRegistry()
	e, cfg := startLogReg(t, t.TempDir(), nil, func(c *EmbeddedConfig) { c.RetentionBytes = 1 << 20 }, reg)
	if err := e.Prepare(context.Background(), Flow{Readers: map[string][]string{cfg.Topics.Events: {"a", "b"}}}, 1); err != nil {
		t.Fatal(err)
	}
	// 2,000 records of 1 KiB: many segments, twice the size limit of
	// kept topics, which does not apply to a topic stages read.
	msgs := make([]Message, 2000)
	for i := range msgs {
		msgs[i] = Message{Topic: cfg.Topics.Events, Key: []byte("k"), Value: append([]byte(fmt.Sprintf("r-%d-", i)), bytes.Repeat([]byte{'x'}, 1024)...)}
	}
	publish(t, cfg, msgs...)
	pd := filepath.Join(e.Dir(), "partitions", partitionDirName(cfg.Topics.Events, 0))
	segments := func() int {
		s, _ := filepath.Glob(filepath.Join(pd, "*.dat"))
		return len(s)
	}
	before := segments()
	commit(t, cfg, "a", cfg.Topics.Events, 2000)
	waitRetention(t, e)
	if first, _ := offsetRange(t, cfg, cfg.Topics.Events); first != 0 || segments() != before {
		t.Fatalf("with group b not committed, retention moved the start to %d and left %d of %d segments; want nothing deleted", first, segments(), before)
	}
	commit(t, cfg, "b", cfg.Topics.Events, 1500)
	eventually(t, 10*time.Second, "retention to delete what both groups committed", func() bool {
		first, _ := offsetRange(t, cfg, cfg.Topics.Events)
		return first == 1500
	})
	if after := segments(); after >= before {
		t.Errorf("segment files: %d before, %d after deleting 1500 of 2000 records", before, after)
	}
	if got := readValues(t, cfg, cfg.Topics.Events); len(got) != 500 || !strings.HasPrefix(got[0], "r-1500-") {
		t.Errorf("after retention: %d records, want the 500 group b has not committed", len(got))
	}
	if n := counterValue(t, reg, "agentwatch_bus_embedded_deleted_records_total"); n != 1500 {
		t.Errorf("deleted records counted %v, want 1500", n)
	}
}

// waitRetention returns once the retention loop has run twice more.
func waitRetention(t *testing.T, e *Embedded) {
	t.Helper()
	from := e.retained.Load()
	eventually(t, 10*time.Second, "two more retention passes", func() bool { return e.retained.Load() >= from+2 })
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// TestEmbeddedKeptTopicBySize: a topic no stage reads (the dead-letter
// topic) is kept by size: past bus.embedded.retention_bytes its oldest
// records go, the newest stay.
func TestEmbeddedKeptTopicBySize(t *testing.T) {
	defer func(d time.Duration, s int64) { retentionEvery, embeddedSegmentBytes = d, s }(retentionEvery, embeddedSegmentBytes)
	retentionEvery, embeddedSegmentBytes = 20*time.Millisecond, 256<<10
	e, cfg := startLog(t, t.TempDir(), nil, func(c *EmbeddedConfig) { c.RetentionBytes = 1 << 20 })
	if err := e.Prepare(context.Background(), Flow{Kept: []string{cfg.Topics.DLQ}}, 1); err != nil {
		t.Fatal(err)
	}
	// 4 MiB in 1 KiB records of random bytes (compression cannot shrink
	// them), four times the limit.
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	for i := 0; i < n; i += 256 {
		msgs := make([]Message, 256)
		for j := range msgs {
			value := make([]byte, 1024)
			for k := range value {
				value[k] = byte(rng.Uint32())
			}
			msgs[j] = Message{Topic: cfg.Topics.DLQ, Key: []byte("k"), Value: value}
		}
		publish(t, cfg, msgs...)
	}
	var f, last int64
	eventually(t, 10*time.Second, "retention to delete the oldest dead letters", func() bool {
		f, last = offsetRange(t, cfg, cfg.Topics.DLQ)
		return last == n && last-f <= 1300
	})
	if kept := last - f; kept < 700 {
		t.Errorf("kept %d records of 1 KiB after retention to 1 MiB (offsets %d..%d)", kept, f, last)
	}
}

// TestEmbeddedHoldsProducers: while the slowest reader is more than
// bus.embedded.max_backlog records behind, a produce request to a held
// topic waits (and, past its time, gets a retriable error); once the
// reader commits, it goes through. The backlog and the bound are
// metrics.
func TestEmbeddedHoldsProducers(t *testing.T) {
	defer func(d time.Duration) { pollEvery = d }(pollEvery)
	pollEvery = 10 * time.Millisecond
	reg := prometheus.NewRegistry()
	e, cfg := startLogReg(t, t.TempDir(), nil, func(c *EmbeddedConfig) { c.MaxBacklog = 1000 }, reg)
	if err := e.Prepare(context.Background(), Flow{
		Readers: map[string][]string{cfg.Topics.Ingest: {"stage"}},
		Held:    []string{cfg.Topics.Ingest},
	}, 1); err != nil {
		t.Fatal(err)
	}
	publish(t, cfg, keyed(cfg.Topics.Ingest, "r", 1500, 1)...)
	eventually(t, 10*time.Second, "the backlog to be measured", func() bool { return e.Backlog() == 1500 })
	if got := counterValue(t, reg, "agentwatch_bus_embedded_backlog_records"); got != 1500 {
		t.Errorf("backlog metric %v, want 1500", got)
	}
	if got := counterValue(t, reg, "agentwatch_bus_embedded_backlog_bound_records"); got != 1000 {
		t.Errorf("bound metric %v, want 1000", got)
	}

	p, err := NewProducer(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	done := make(chan error, 1)
	go func() {
		done <- p.Publish(context.Background(), Message{Topic: cfg.Topics.Ingest, Value: []byte("late")})
	}()
	eventually(t, 10*time.Second, "the produce request to be held", func() bool {
		return counterValue(t, reg, "agentwatch_bus_embedded_produce_held_total") >= 1
	})
	select {
	case err := <-done:
		t.Fatalf("publish returned (%v) while the reader was 1500 records behind a bound of 1000", err)
	default:
	}
	commit(t, cfg, "stage", cfg.Topics.Ingest, 1500)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("held publish after the reader caught up: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("publish still held after the reader caught up")
	}
	if got := readValues(t, cfg, cfg.Topics.Ingest); len(got) != 1501 || got[1500] != "late" {
		t.Errorf("ingest topic holds %d records, want the 1500 and the held one", len(got))
	}
	if n := counterValue(t, reg, "agentwatch_bus_embedded_produce_refused_total"); n != 0 {
		t.Logf("%v requests were refused after waiting their time and sent again by the producer", n)
	}
}

// TestEmbeddedLogIsLocked: a second broker on the same log directory
// (say `agentwatch ingest --file` beside a running `agentwatch run`)
// fails and names the process holding it.
func TestEmbeddedLogIsLocked(t *testing.T) {
	dir := t.TempDir()
	startLog(t, dir, nil, nil)
	ecfg := DefaultConfig().Embedded
	ecfg.Enabled, ecfg.Dir = true, dir
	e2, err := StartEmbedded(context.Background(), ecfg, nil, nil)
	if err == nil {
		e2.Close()
		t.Fatal("a second broker started on a log directory in use")
	}
	if want := fmt.Sprintf("in use by another agentwatch process (pid %d)", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// TestLogSyncFindsKfakeFiles guards the syncer's knowledge of kfake's
// directory layout: after a produce answer, the partition's active
// segment file is open in the syncer and synced to its full size, also
// after kfake moved on to new segment files, whether at the broker's
// segment size or at a topic's own. If kfake changed its layout,
// acknowledged records would no longer be fsynced; this fails instead.
func TestLogSyncFindsKfakeFiles(t *testing.T) {
	defer func(s int64) { embeddedSegmentBytes = s }(embeddedSegmentBytes)
	embeddedSegmentBytes = 4 << 10
	e, cfg := startLog(t, t.TempDir(), nil, nil)
	// A topic with a smaller segment size of its own, as an outside
	// client may create one.
	const own = "outside.small-segments"
	if err := e.c.CreateTopic(own, 1, map[string]string{"segment.bytes": "1024"}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		publish(t, cfg, keyed(cfg.Topics.Events, fmt.Sprintf("x%d", i), 20, 1)...)
		publish(t, cfg, keyed(own, fmt.Sprintf("y%d", i), 5, 1)...)
	}
	// The answers were released by rounds; one more is in order before
	// reading the syncer's state from here.
	if err := e.sync.wait(); err != nil {
		t.Fatal(err)
	}
	e.sync.close() // stops the loop, so its state may be read
	for _, topic := range []string{cfg.Topics.Events, own} {
		p := e.sync.parts[partitionDirName(topic, 0)]
		if p == nil || p.active == nil {
			t.Fatalf("the syncer does not follow the partition directory of %s (kfake's layout changed?); it knows %v", topic, keys(e.sync.parts))
		}
		segs, _ := filepath.Glob(filepath.Join(p.dir, "*.dat"))
		if len(segs) < 2 {
			t.Fatalf("%s: segment files %v; want several, the test writes past the segment size", topic, segs)
		}
		var lastBase int64 = -1
		for _, seg := range segs {
			if b, _ := segmentBase(filepath.Base(seg)); b > lastBase {
				lastBase = b
			}
		}
		if p.active.base != lastBase {
			t.Errorf("%s: the syncer's active segment is %d; kfake appends to %d", topic, p.active.base, lastBase)
		}
		for _, f := range p.files() {
			fi, err := os.Stat(f.f.Name())
			if err != nil {
				t.Fatal(err)
			}
			if f.synced != fi.Size() || fi.Size() == 0 {
				t.Errorf("%s: synced %d bytes of %d", f.f.Name(), f.synced, fi.Size())
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestFrameScanner: frame headers are found however the stream is cut.
func TestFrameScanner(t *testing.T) {
	frame := func(key int16, corr int32, body int) []byte {
		b := make([]byte, 12+body)
		be := func(at int, v uint32) {
			b[at], b[at+1], b[at+2], b[at+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		}
		be(0, uint32(8+body))
		b[4], b[5] = byte(key>>8), byte(key)
		be(8, uint32(corr))
		return b
	}
	var stream []byte
	var want []string
	for i := range 20 {
		key := int16(i % 3)
		stream = append(stream, frame(key, int32(1000+i), i*37)...)
		want = append(want, fmt.Sprintf("%d/%d", key, 1000+i))
	}
	for _, cut := range []int{1, 2, 3, 5, 11, 12, 13, 64, len(stream)} {
		var s frameScanner
		var got []string
		for at := 0; at < len(stream); at += cut {
			s.next(stream[at:min(at+cut, len(stream))], 8, func(h []byte) {
				key := int16(h[0])<<8 | int16(h[1])
				corr := int32(h[4])<<24 | int32(h[5])<<16 | int32(h[6])<<8 | int32(h[7])
				got = append(got, fmt.Sprintf("%d/%d", key, corr))
			})
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("pieces of %d bytes: headers %v, want %v", cut, got, want)
		}
	}
}

// TestEmbeddedDiskFull: on a file system with no space left, a publish
// fails, the broker names the cause, and nothing is acknowledged; when
// space returns, publishing works again, and after a restart the log
// holds exactly what was acknowledged. It runs on a small tmpfs, so it
// needs the right to mount one (root in CI); it skips otherwise.
func TestEmbeddedDiskFull(t *testing.T) {
	dir := mountTmpfs(t, 4<<20)
	defer func(s int64) { embeddedSegmentBytes = s }(embeddedSegmentBytes)
	embeddedSegmentBytes = 256 << 10
	e, cfg := startLog(t, filepath.Join(dir, "log"), nil, nil)
	// A filler takes all but about 300 KiB.
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, free-300<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := NewProducer(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	value := bytes.Repeat([]byte("y"), 2000)
	var acked []string
	var failure error
	failedAt := time.Time{}
	for i := 0; i < 10000 && failure == nil; i++ {
		id := fmt.Sprintf("r-%d", i)
		start := time.Now()
		// Random bytes so compression cannot make the disk last forever.
		v := append([]byte(id+" "), value...)
		for j := len(id) + 1; j < len(v); j++ {
			v[j] = byte(rand.Uint32())
		}
		if err := p.Publish(ctx, Message{Topic: cfg.Topics.Events, Key: []byte("k"), Value: v}); err != nil {
			failure, failedAt = err, start
			break
		}
		acked = append(acked, id)
	}
	if failure == nil {
		t.Fatal("publishing never failed on a full file system")
	}
	werr := e.WriteError(failedAt)
	if werr == nil || !strings.Contains(werr.Error(), "no space left on device") || !strings.Contains(werr.Error(), e.Dir()) {
		t.Fatalf("after a failed publish (%v) the broker says %v; want the log directory and 'no space left on device'", failure, werr)
	}
	// Space returns.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, Message{Topic: cfg.Topics.Events, Key: []byte("k"), Value: []byte("after")}); err != nil {
		t.Fatalf("publish once space returned: %v", err)
	}
	acked = append(acked, "after")
	e.Close()

	_, cfg = startLog(t, filepath.Join(dir, "log"), nil, nil)
	var got []string
	for _, v := range readValues(t, cfg, cfg.Topics.Events) {
		id, _, _ := strings.Cut(v, " ")
		got = append(got, id)
	}
	if strings.Join(got, ",") != strings.Join(acked, ",") {
		t.Errorf("after a restart the log holds %d records (last %q), want exactly the %d acknowledged (last %q)", len(got), got[len(got)-1], len(acked), acked[len(acked)-1])
	}
	t.Logf("%d records acknowledged before the disk filled; the next failed with: %v", len(acked)-1, failure)
}

// mountTmpfs mounts a tmpfs of size bytes on a temporary directory, or
// skips the test when that is not allowed.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (%v): run as root to test a full disk", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
