package pipeline

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// TestBenchTemplateIsTheEncodedEvent checks that patching a template's
// id and time yields exactly the canonical encoding of that event.
func TestBenchTemplateIsTheEncodedEvent(t *testing.T) {
	pool := newBenchPool(rand.New(rand.NewPCG(3, 4)), 50, 20, "zz")
	at := time.Date(2026, 11, 26, 9, 0, 0, 5000, time.UTC) // trailing zeros in the fraction
	for i := range pool.events {
		tpl := &pool.events[i]
		n := int64(i*7919 + 36*36)
		got := tpl.append([]byte("prefix"), n, at)
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("append overwrote dst")
		}
		got = got[len("prefix"):]
		ev, err := schemas.DecodeEvent(got)
		if err != nil {
			t.Fatalf("template %d: %v\n%s", i, err, got)
		}
		if !ev.Time.Equal(at) {
			t.Errorf("template %d: time %s, want %s", i, ev.Time, at)
		}
		want := "bzz-" + fmtBase36(n, 11)
		if ev.EventID != want {
			t.Errorf("template %d: event id %q, want %q", i, ev.EventID, want)
		}
		if string(tpl.key) != ev.AgentID {
			t.Errorf("template %d: key %q, agent %q", i, tpl.key, ev.AgentID)
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("template %d: %v", i, err)
		}
	}
}

func fmtBase36(n int64, width int) string {
	b := bytes.Repeat([]byte("0"), width)
	for i := width - 1; i >= 0 && n > 0; i-- {
		b[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[n%36]
		n /= 36
	}
	return string(b)
}

// TestBenchEmbedded runs the bench briefly on the embedded pipeline: every
// offered event is committed by every stage and probes time alerts.
func TestBenchEmbedded(t *testing.T) {
	cfg := testConfig(t.TempDir())
	res, err := RunBench(context.Background(), cfg, BenchOptions{
		Duration: 500 * time.Millisecond, Rate: 20000, Agents: 50, ProbeEvery: 50 * time.Millisecond,
		Log: slog.New(slog.DiscardHandler), Out: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published == 0 || res.Sustained <= 0 {
		t.Fatalf("nothing measured: %+v", res)
	}
	if res.Probes == 0 || res.LatencyP99 < res.LatencyP50 || res.LatencyP50 <= 0 {
		t.Fatalf("probes did not time alerts: %+v", res)
	}
}

// TestBenchHoldsBacklog: free-running with a backlog bound, publishing
// waits for the pipeline instead of running ahead without limit.
func TestBenchHoldsBacklog(t *testing.T) {
	cfg := testConfig(t.TempDir())
	const bound = 3000
	res, err := RunBench(context.Background(), cfg, BenchOptions{
		Duration: time.Second, Agents: 50, ProbeEvery: 50 * time.Millisecond, MaxBacklog: bound,
		Log: slog.New(slog.DiscardHandler), Out: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The bound is checked before each batch of 5,000 goes out.
	if res.Published == 0 || res.Backlog <= 0 || res.Backlog > bound+5000 {
		t.Fatalf("backlog %d with a bound of %d (published %d)", res.Backlog, bound, res.Published)
	}
}
