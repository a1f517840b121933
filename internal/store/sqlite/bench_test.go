package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store/storetest"
	"github.com/agentwatch/agentwatch/schemas"
)

// BenchmarkInsertEvents stores batches of 5,000 events (the embedded
// baseline stage's default batch) from 1,000 agents with random event
// ids, as the baseline stage does, into a table that grows with b.N.
// It reports the cost per event, CPU time beside wall time (the CPU time
// includes making the events, a few microseconds of it).
func BenchmarkInsertEvents(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cpu0 := cpuNow()
	defer func() { b.ReportMetric(float64(cpuNow()-cpu0)/float64(b.N), "cpu-ns/op") }()
	const batch = 5000
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	evs := make([]schemas.AgentEvent, batch)
	fill := func(n int) {
		for i := range evs[:n] {
			at = at.Add(20 * time.Microsecond)
			ev := storetest.Event(fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()), fmt.Sprintf("agent-%04d", rng.IntN(1000)), at)
			ev.Resource = fmt.Sprintf("arn:aws:s3:::b/k%d", rng.IntN(5000))
			evs[i] = ev
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		b.StopTimer()
		fill(n)
		b.StartTimer()
		if err := s.InsertEvents(ctx, evs[:n]); err != nil {
			b.Fatal(err)
		}
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
