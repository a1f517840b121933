package store_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/internal/store/sqlite"
	"github.com/agentwatch/agentwatch/internal/store/storetest"
	"github.com/agentwatch/agentwatch/schemas"
)

func TestRetention(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "aw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	var evs []schemas.AgentEvent
	for d := 0; d < 5; d++ {
		evs = append(evs, storetest.Event("e"+string(rune('0'+d)), "a", now.AddDate(0, 0, -d)))
	}
	if err := s.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if days, err := store.ApplyRetention(ctx, s, store.RetentionConfig{Days: 0, Every: time.Hour}, now); err != nil || days != nil {
		t.Errorf("Days 0 dropped %v, %v; want nothing", days, err)
	}
	days, err := store.ApplyRetention(ctx, s, store.RetentionConfig{Days: 2, Every: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2026-03-06", "2026-03-07"}; !reflect.DeepEqual(days, want) {
		t.Errorf("dropped %v, want %v (keep 2026-03-08 onwards)", days, want)
	}

	// RunRetention runs once at start and stops with its context.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		store.RunRetention(cctx, s, store.RetentionConfig{Days: 1, Every: time.Hour}, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := s.Query(ctx, "SELECT count(*) FROM events")
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows[0][0] == int64(2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("RunRetention did not drop day 2026-03-08; %v events left", res.Rows[0][0])
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}
