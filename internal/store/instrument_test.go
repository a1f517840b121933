package store

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/agentwatch/agentwatch/schemas"
)

type fakeStore struct {
	Store
	fail bool
}

func (f *fakeStore) InsertEvents(ctx context.Context, evs []schemas.AgentEvent) error {
	if f.fail {
		return errors.New("disk full")
	}
	return nil
}

func TestInstrumentCountsRowsAndErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := &fakeStore{}
	s, err := Instrument(f, "sqlite", reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InsertEvents(context.Background(), make([]schemas.AgentEvent, 3)); err != nil {
		t.Fatal(err)
	}
	f.fail = true
	if err := s.InsertEvents(context.Background(), make([]schemas.AgentEvent, 2)); err == nil {
		t.Fatal("error not passed through")
	}
	m := s.(*instrumented)
	if got := testutil.ToFloat64(m.m.Rows.WithLabelValues("events")); got != 3 {
		t.Errorf("rows = %v, want 3", got)
	}
	if got := testutil.ToFloat64(m.m.Errors.WithLabelValues("events")); got != 1 {
		t.Errorf("errors = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(m.m.Seconds); n != len(Tables) {
		t.Errorf("latency series = %d, want one per table", n)
	}
}
