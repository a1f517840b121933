package alerts

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
	"github.com/agentwatch/agentwatch/schemas"
)

func benchDispatcher(b *testing.B, url string) *Dispatcher {
	cfg := DefaultConfig()
	cfg.OutboxPath = filepath.Join(b.TempDir(), "outbox.db")
	cfg.Route.GroupWait = dur(0)
	cfg.Receivers = []ReceiverConfig{pdReceiver("pd", url)}
	cfg.Route.Receiver = "pd"
	d, err := NewDispatcher(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

func benchAlerts(n, offset int) []schemas.Alert {
	now := time.Now()
	out := make([]schemas.Alert, n)
	for i := range out {
		out[i] = alertAt(fmt.Sprintf("agent-%d", (offset+i)%500), "novelty.action", fmt.Sprint(offset+i), now)
	}
	return out
}

// BenchmarkSubmit measures durable submission in batches of 50 (one
// fsync'd transaction per batch); ns/op is per alert.
func BenchmarkSubmit(b *testing.B) {
	d := benchDispatcher(b, "http://127.0.0.1:1")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i += 50 {
		if err := d.Submit(ctx, benchAlerts(min(50, b.N-i), i)...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliver measures outbox → PagerDuty fake delivery; ns/op is
// per notification.
func BenchmarkDeliver(b *testing.B) {
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	d := benchDispatcher(b, pd.URL)
	ctx := context.Background()
	for i := 0; i < b.N; i += 50 {
		if err := d.Submit(ctx, benchAlerts(min(50, b.N-i), i)...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	r := d.receivers["pd"]
	for {
		n, err := d.deliverDue(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	b.StopTimer()
	if got := len(pd.Events()); got != b.N {
		b.Fatalf("delivered %d of %d", got, b.N)
	}
}
