package bus

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// BenchmarkEmbeddedLog publishes from 8 goroutines in batches of 100
// messages of about 300 bytes over 6 partitions (the shape of many HTTP
// collectors' requests) to the embedded broker in memory and with its
// durable log, where every answer waits for a group-commit fsync. One op
// is one message; it reports messages per second, and for the log the
// fsync rounds' mean duration and how many answers one round released.
//
//	go test ./internal/bus -run '^$' -bench EmbeddedLog -benchtime 200000x
func BenchmarkEmbeddedLog(b *testing.B) {
	for _, durable := range []bool{false, true} {
		name := "memory"
		if durable {
			name = "log"
		}
		b.Run(name, func(b *testing.B) {
			ecfg := DefaultConfig().Embedded
			ecfg.Enabled = true
			if durable {
				ecfg.Dir = b.TempDir()
			}
			reg := prometheus.NewRegistry()
			e, err := StartEmbedded(context.Background(), ecfg, reg, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			cfg := testConfig().WithBrokers(e.Addrs())
			cfg.Partitions = 6
			ctx := context.Background()
			if err := EnsureTopics(ctx, cfg); err != nil {
				b.Fatal(err)
			}
			p, err := NewProducer(cfg, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			batch := benchMessages(cfg.Topics.Events, 100)
			if err := p.Publish(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			const workers = 8
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			work := make(chan struct{}, workers)
			go func() {
				for sent := 0; sent < b.N; sent += len(batch) {
					work <- struct{}{}
				}
				close(work)
			}()
			for range workers {
				wg.Go(func() {
					for range work {
						if err := p.Publish(ctx, batch...); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			if durable {
				var m dto.Metric
				if err := e.m.syncSeconds.Write(&m); err != nil {
					b.Fatal(err)
				}
				h := m.GetHistogram()
				if n := h.GetSampleCount(); n > 0 {
					b.ReportMetric(h.GetSampleSum()/float64(n)*1e3, "ms/fsync-round")
					b.ReportMetric(float64(b.N)/float64(len(batch))*6/float64(n), "answers/round")
				}
			}
		})
	}
}
