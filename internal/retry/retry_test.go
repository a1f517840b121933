package retry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDoRetriesUntilSuccess(t *testing.T) {
	calls := 0
	err := Do(context.Background(), Policy{Initial: time.Microsecond, Max: time.Millisecond}, func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("down")
		}
		return nil
	}, nil)
	if err != nil || calls != 3 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestDoStopsOnPermanent(t *testing.T) {
	calls := 0
	err := Do(context.Background(), Policy{Initial: time.Microsecond}, func(context.Context) error {
		calls++
		return Permanent(errors.New("400 bad request"))
	}, nil)
	if !IsPermanent(err) || calls != 1 {
		t.Fatalf("err=%v calls=%d", err, calls)
	}
}

func TestDoCountsAttempts(t *testing.T) {
	err := Do(context.Background(), Policy{Initial: time.Microsecond, Attempts: 4}, func(context.Context) error { return errors.New("503") }, nil)
	if err == nil || !strings.Contains(err.Error(), "after 4 attempts: 503") {
		t.Fatalf("err=%v", err)
	}
}

func TestDoHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Do(ctx, Default, func(context.Context) error { return errors.New("x") }, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err=%v", err)
	}
}

func TestBackoffGrowsWithinBounds(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: time.Second}
	for n := 0; n < 10; n++ {
		b := p.Backoff(n)
		ceil := p.Initial << n
		if ceil > p.Max {
			ceil = p.Max
		}
		if b < ceil/2 || b > ceil {
			t.Fatalf("backoff(%d)=%v outside [%v,%v]", n, b, ceil/2, ceil)
		}
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var waits []time.Duration
	calls := 0
	_ = Do(context.Background(), Policy{Initial: time.Microsecond, Max: time.Microsecond, Attempts: 2}, func(context.Context) error {
		calls++
		return &After{Err: errors.New("429"), Delay: 5 * time.Millisecond}
	}, func(_ int, _ error, w time.Duration) { waits = append(waits, w) })
	if len(waits) != 1 || waits[0] != 5*time.Millisecond {
		t.Fatalf("waits=%v", waits)
	}
}
