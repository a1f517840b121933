package bus

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// handledSet records which messages (partition/offset) were handled, by
// any worker, and by value.
type handledSet struct {
	mu      sync.Mutex
	byValue map[string]int
	offsets map[int][]int64
}

func newHandledSet() *handledSet {
	return &handledSet{byValue: map[string]int{}, offsets: map[int][]int64{}}
}

func (h *handledSet) add(value string, partition int, offset int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.byValue[value]++
	h.offsets[partition] = append(h.offsets[partition], offset)
}

func (h *handledSet) covers(msgs []Message) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range msgs {
		if h.byValue[string(m.Value)] == 0 {
			return false
		}
	}
	return true
}

func (h *handledSet) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byValue)
}

// work runs a stage-like loop: fetch a batch, handle it, commit it. It
// returns when ctx ends, or (without committing the batch in hand) once
// dieAfter messages were handled, when dieAfter > 0.
func work(ctx context.Context, c *Consumer, h *handledSet, dieAfter int) {
	n := 0
	for {
		batch, err := c.FetchBatch(ctx, 50, 20*time.Millisecond)
		if err != nil {
			return
		}
		for _, m := range batch {
			h.add(string(m.Value), m.Partition, m.Offset)
		}
		n += len(batch)
		if dieAfter > 0 && n >= dieAfter {
			return
		}
		if err := c.Commit(ctx, batch...); err != nil {
			return
		}
	}
}

func assertCommittedToEnd(t *testing.T, cfg Config, group, topic string, partitions int) {
	t.Helper()
	end := endOffsets(t, cfg, topic, partitions)
	eventually(t, 20*time.Second, "committed offsets to reach the end of every partition", func() bool {
		got := committedOffsets(t, cfg, group, topic, partitions)
		for p, e := range end {
			if got[p] != e {
				return false
			}
		}
		return true
	})
}

func TestGroupSharesPartitionsAndSurvivesAWorkerLeavingWithoutCommit(t *testing.T) {
	b := newTestBus(t)
	cfg := b.topics(t, 4)
	topic, group := cfg.Topics.Events, "share"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	a, err := NewConsumer(cfg, group, topic, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eventually(t, 20*time.Second, "first member to own all partitions", func() bool { return len(a.Assigned()) == 4 })
	var bAssigns [][]int
	var bMu sync.Mutex
	bc, err := NewConsumer(cfg, group, topic, nil, testLogger(t), OnAssign(func(ps []int) {
		bMu.Lock()
		bAssigns = append(bAssigns, ps)
		bMu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	eventually(t, 20*time.Second, "the two members to split the partitions", func() bool {
		pa, pb := a.Assigned(), bc.Assigned()
		return len(pa) > 0 && len(pb) > 0 && len(pa)+len(pb) == 4 && !slices.ContainsFunc(pa, func(p int) bool { return slices.Contains(pb, p) })
	})

	p, err := NewProducer(cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msgs := keyed(topic, "m", 400, 40)
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	h := newHandledSet()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		// a handles some messages, then drops out without committing
		// its last batch.
		work(ctx, a, h, 20)
		if err := a.Close(); err != nil {
			t.Errorf("close a: %v", err)
		}
	}()
	bctx, bcancel := context.WithCancel(ctx)
	go func() { defer wg.Done(); work(bctx, bc, h, 0) }()

	eventually(t, 30*time.Second, "the surviving member to own every partition", func() bool { return len(bc.Assigned()) == 4 })
	eventually(t, 30*time.Second, "every message to be handled", func() bool { return h.covers(msgs) })
	assertCommittedToEnd(t, cfg, group, topic, 4)
	bcancel()
	wg.Wait()
	bMu.Lock()
	defer bMu.Unlock()
	if len(bAssigns) < 2 || len(bAssigns[len(bAssigns)-1]) != 4 {
		t.Errorf("OnAssign of the survivor saw %v; want at least a split and then all four partitions", bAssigns)
	}
}

// The helper process is a worker that a test kills with SIGKILL: no
// leave-group, no final commit, sockets cut.
const helperEnv = "AGENTWATCH_BUS_HELPER"

func TestHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("worker process of TestKilledWorkerPartitionsMoveAndRestartResumes; runs only when it starts one")
	}
	parts := strings.Split(spec, "|")
	cfg := testConfig().WithBrokers(strings.Split(parts[0], ","))
	topic, group := parts[1], parts[2]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "BUSHELPER "+format+"\n", args...)
		out.Flush()
	}
	c, err := NewConsumer(cfg, group, topic, nil, testLogger(t), OnAssign(func(ps []int) {
		strs := make([]string, len(ps))
		for i, p := range ps {
			strs[i] = strconv.Itoa(p)
		}
		say("assigned %s", strings.Join(strs, ","))
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for ctx.Err() == nil {
		m, err := c.Fetch(ctx)
		if err != nil {
			return
		}
		// The work takes a moment, so the kill lands mid-stream.
		time.Sleep(2 * time.Millisecond)
		say("handled %d %d %s", m.Partition, m.Offset, m.Value)
		if err := c.Commit(ctx, m); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
}

// helper is a running helper process and what it reported.
type helper struct {
	cmd      *exec.Cmd
	mu       sync.Mutex
	assigned []int
	seen     bool
	handled  int
	done     chan struct{}
}

func startHelper(t *testing.T, cfg Config, topic, group string, h *handledSet) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(cfg.Brokers, ",")+"|"+topic+"|"+group)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	hp := &helper{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(hp.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 || f[0] != "BUSHELPER" {
				continue
			}
			switch {
			case f[1] == "assigned":
				var ps []int
				if len(f) > 2 {
					for _, s := range strings.Split(f[2], ",") {
						p, _ := strconv.Atoi(s)
						ps = append(ps, p)
					}
				}
				hp.mu.Lock()
				hp.assigned, hp.seen = ps, true
				hp.mu.Unlock()
			case f[1] == "handled" && len(f) == 5:
				p, _ := strconv.Atoi(f[2])
				o, _ := strconv.ParseInt(f[3], 10, 64)
				h.add(f[4], p, o)
				hp.mu.Lock()
				hp.handled++
				hp.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { hp.kill() })
	return hp
}

func (hp *helper) state() ([]int, int) {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	return slices.Clone(hp.assigned), hp.handled
}

// kill sends SIGKILL and reaps the process; safe to call twice.
func (hp *helper) kill() {
	if hp.cmd.ProcessState != nil {
		return
	}
	_ = hp.cmd.Process.Kill()
	<-hp.done
	_ = hp.cmd.Wait()
}

func TestKilledWorkerPartitionsMoveAndRestartResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes and waits out a session timeout")
	}
	b := newTestBus(t)
	cfg := b.topics(t, 4)
	topic, group := cfg.Topics.Events, "killed"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h := newHandledSet()

	h1 := startHelper(t, cfg, topic, group, h)
	eventually(t, 30*time.Second, "the helper process to own all partitions", func() bool { ps, _ := h1.state(); return len(ps) == 4 })
	survivor, err := NewConsumer(cfg, group, topic, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer survivor.Close()
	eventually(t, 30*time.Second, "the helper and the in-process member to split the partitions", func() bool {
		ps, _ := h1.state()
		return len(ps) > 0 && len(survivor.Assigned()) > 0 && len(ps)+len(survivor.Assigned()) == 4
	})

	p, err := NewProducer(cfg, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	msgs := keyed(topic, "k", 2000, 50)
	if err := p.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); work(sctx, survivor, h, 0) }()

	eventually(t, 30*time.Second, "the helper to be mid-stream", func() bool { _, n := h1.state(); return n >= 30 })
	h1.kill()
	_, killedAt := h1.state()
	t.Logf("helper process killed after handling %d of %d messages", killedAt, len(msgs))
	eventually(t, 30*time.Second, "the survivor to take over the killed worker's partitions", func() bool { return len(survivor.Assigned()) == 4 })
	eventually(t, 30*time.Second, "every message to be handled", func() bool { return h.covers(msgs) })
	assertCommittedToEnd(t, cfg, group, topic, 4)
	scancel()
	wg.Wait()
	if err := survivor.Close(); err != nil {
		t.Fatalf("close survivor: %v", err)
	}

	// Restart: a new worker process resumes at the committed offsets; it
	// handles exactly what was published since, nothing older.
	resumeAt := committedOffsets(t, cfg, group, topic, 4)
	later := keyed(topic, "r", 200, 50)
	if err := p.Publish(ctx, later...); err != nil {
		t.Fatal(err)
	}
	h2set := newHandledSet()
	h2 := startHelper(t, cfg, topic, group, h2set)
	eventually(t, 30*time.Second, "the restarted worker to handle every new message", func() bool { return h2set.covers(later) })
	h2.kill()
	h2set.mu.Lock()
	defer h2set.mu.Unlock()
	for part, offs := range h2set.offsets {
		if first := slices.Min(offs); first != resumeAt[part] {
			t.Errorf("partition %d: restarted worker began at offset %d, committed offset was %d", part, first, resumeAt[part])
		}
	}
	for v := range h2set.byValue {
		if !strings.HasPrefix(v, "r-") {
			t.Errorf("restarted worker handled %q, which was committed before the restart", v)
		}
	}
}
