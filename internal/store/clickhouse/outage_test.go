package clickhouse

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store/storetest"
	"github.com/agentwatch/agentwatch/schemas"
)

// TestOutage stops the server for 30 s while writers keep inserting:
// the writers must block and retry, then catch up with nothing lost and
// nothing counted twice. It drives deploy/local/clickhouse.sh, so it only
// runs when that script controls the server on AGENTWATCH_TEST_CLICKHOUSE.
func TestOutage(t *testing.T) {
	cfg := testConfig(t)
	if os.Getenv("AGENTWATCH_TEST_CLICKHOUSE_OUTAGE") != "1" {
		t.Skip("AGENTWATCH_TEST_CLICKHOUSE_OUTAGE=1 is not set (the test stops the server with deploy/local/clickhouse.sh)")
	}
	script, err := filepath.Abs("../../../deploy/local/clickhouse.sh")
	if err != nil {
		t.Fatal(err)
	}
	const (
		writers    = 4
		perBatch   = 50
		batches    = 120 // per writer
		outage     = 30 * time.Second
		stopAfterN = writers * perBatch * 10 // let the writers warm up first
	)
	cfg.BatchSize = 500
	cfg.DialTimeout = 2 * time.Second
	cfg.MaxRetryBackoff = 2 * time.Second
	s := openTest(t, cfg)
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stored atomic.Int64
	var blockedMax atomic.Int64 // longest single InsertEvents call, in ms
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	base := time.Now().UTC().Truncate(time.Second)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				evs := make([]schemas.AgentEvent, perBatch)
				for i := range evs {
					n := (b*perBatch + i)
					evs[i] = storetest.Event(fmt.Sprintf("w%d-%06d", w, n), fmt.Sprintf("agent-%d", w), base.Add(time.Duration(n)*time.Millisecond))
				}
				start := time.Now()
				if err := s.InsertEvents(ctx, evs); err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
				if ms := time.Since(start).Milliseconds(); ms > blockedMax.Load() {
					blockedMax.Store(ms)
				}
				stored.Add(perBatch)
				// A steady load rather than a burst, so that writes are in
				// flight when the server goes away.
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}

	deadline := time.Now().Add(time.Minute)
	for stored.Load() < stopAfterN {
		if time.Now().After(deadline) {
			t.Fatalf("only %d rows stored before the outage", stored.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	run(t, script, "stop")
	down := time.Now()
	atStop := stored.Load()
	// The outage itself: the duration under test, not a wait for luck.
	time.Sleep(outage)
	duringOutage := stored.Load() - atStop
	run(t, script, "start")
	t.Logf("server down for %s; %d rows acknowledged during the outage", time.Since(down).Round(time.Millisecond), duringOutage)

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	const want = writers * perBatch * batches
	if got := stored.Load(); got != want {
		t.Fatalf("writers stored %d rows, want %d", got, want)
	}
	// With no server nothing can be acknowledged: writers must hold.
	if duringOutage > int64(cfg.BatchSize) {
		t.Errorf("%d rows acknowledged while the server was down", duringOutage)
	}
	if blockedMax.Load() < (outage / 2).Milliseconds() {
		t.Errorf("longest InsertEvents took %d ms; writers did not wait out the outage", blockedMax.Load())
	}
	res, err := s.Query(ctx, "SELECT uniqExact(event_id) FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != fmt.Sprintf("[[%d]]", want) {
		t.Errorf("distinct events stored = %s, want %d", got, want)
	}
	// After a final merge each event is physically one row.
	if err := s.conn.Exec(ctx, "OPTIMIZE TABLE events FINAL"); err != nil {
		t.Fatal(err)
	}
	res, err = s.Query(ctx, "SELECT count() FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != fmt.Sprintf("[[%d]]", want) {
		t.Errorf("rows after OPTIMIZE FINAL = %s, want %d", got, want)
	}
}

func run(t *testing.T, script, arg string) {
	t.Helper()
	out, err := exec.Command(script, arg).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, arg, err, out)
	}
	t.Logf("%s", out)
}
