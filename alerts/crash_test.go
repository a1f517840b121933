package alerts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/schemas"
)

const crashChildEnv = "AGENTWATCH_ALERTS_CRASH_CHILD"

// crashAlerts are the alerts the child submits.
func crashAlerts(n int) []schemas.Alert {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	out := make([]schemas.Alert, n)
	for i := range out {
		out[i] = alertAt(fmt.Sprintf("agent-%02d", i), "novelty.action", "s", t0)
	}
	return out
}

// TestCrashChild is the process that gets killed; it runs only when
// TestProcessCrashRestart starts it.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) == "" {
		t.Skip("helper process for TestProcessCrashRestart")
	}
	n, _ := strconv.Atoi(os.Getenv("CRASH_ALERTS"))
	cfg := DefaultConfig()
	cfg.OutboxPath = os.Getenv("CRASH_OUTBOX")
	cfg.Route.GroupWait = dur(0)
	cfg.Receivers = []ReceiverConfig{pdReceiver("pd", os.Getenv("CRASH_PD"))}
	cfg.Route.Receiver = "pd"
	d, err := NewDispatcher(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Submit(context.Background(), crashAlerts(n)...); err != nil {
		t.Fatal(err)
	}
	fmt.Println("submitted")
	_ = d.Run(context.Background()) // until killed
}

// TestProcessCrashRestart kills a dispatcher process with SIGKILL while
// deliveries are pending (one in flight), restarts on the same outbox,
// and checks that PagerDuty saw each dedup key's trigger exactly once.
func TestProcessCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const total, before = 30, 8
	pd := fakes.NewPagerDuty()
	defer pd.Close()
	release := pd.HoldAfter(before)
	defer release()
	path := filepath.Join(t.TempDir(), "outbox.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", "CRASH_OUTBOX="+path, "CRASH_PD="+pd.URL, "CRASH_ALERTS="+strconv.Itoa(total))
	out := &syncWriter{w: new(bytesBuffer)}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool { return len(pd.Events()) == before && pd.Held() >= 1 })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The request in flight at the crash was never answered.
	waitFor(t, 10*time.Second, func() bool { return pd.Abandoned() >= 1 })

	ob, err := outbox.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	pending, _ := ob.List(context.Background(), outbox.StatePending)
	ob.Close()
	if len(pending) != total-before {
		t.Fatalf("after the crash %d pending, want %d; child output:\n%s", len(pending), total-before, out.w.String())
	}

	release()
	cfg := testConfig(t)
	cfg.OutboxPath = path
	cfg.Receivers = []ReceiverConfig{pdReceiver("pd", pd.URL)}
	cfg.Route.Receiver = "pd"
	td := newTestDispatcher(t, cfg, nil)
	// The child scheduled its rows on the real clock; the restarted
	// dispatcher's fake clock must not be behind it, or none is due yet.
	if behind := time.Since(td.clock.Now()); behind > 0 {
		td.clock.Advance(behind + time.Second)
	}
	td.submit(t, crashAlerts(total)...) // the detector redelivers what it had not committed
	td.flush(t)
	got := pd.Triggers()
	if len(got) != total {
		t.Fatalf("%d of %d dedup keys triggered", len(got), total)
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("dedup key %q triggered %d times", k, n)
		}
	}
}
