package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// TestRestartKeepsBaselines stops the pipeline while it is still working
// through a stream, starts it again on the same data directory and ships
// the whole stream again (as a shipper that does not know what was
// processed would): baselines survive the restart, and no event is counted
// twice in the events table, the windows or the profiles.
func TestRestartKeepsBaselines(t *testing.T) {
	dir := t.TempDir()
	inv := mustInventory(t)
	evs := history(4, 4) // 384 events, 96 hourly windows
	half := evs[:len(evs)/2]

	p1 := startPipeline(t, testConfig(dir), inv)
	p1.shipEvents(half)
	// Stop mid-stream: as soon as part of it has been committed.
	waitFor(t, 30*time.Second, "some progress", func() bool { return p1.app.Committed(StageBaseline) > 0 })
	p1.stop()

	p2 := startPipeline(t, testConfig(dir), inv)
	ctx := context.Background()
	bl, err := p2.app.Store.LoadBaselines(ctx, []string{"support-bot"})
	if err != nil {
		t.Fatal(err)
	}
	if len(bl) == 0 {
		t.Fatalf("no baselines survived the restart")
	}
	p2.shipEvents(evs) // the first half again, then the rest
	waitFor(t, 60*time.Second, "every stage to catch up", func() bool { return p2.app.Drained(int64(len(evs))) })

	// Close the last window with one event an hour later.
	closer := supportEvent(len(evs), day0.Add(4*24*time.Hour+time.Hour), "tickets.read", "mcp:zendesk")
	p2.shipEvents([]schemas.AgentEvent{closer})
	waitFor(t, 30*time.Second, "the closing event", func() bool { return p2.app.Drained(int64(len(evs) + 1)) })
	p2.stop() // flushes the worker's state

	p3 := startPipeline(t, testConfig(dir), inv)
	st := p3.app.Store
	res, err := st.Query(ctx, "SELECT count(*) FROM events")
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Rows[0][0]; n != int64(len(evs)+1) {
		t.Errorf("events stored = %v, want %d", n, len(evs)+1)
	}
	wins, err := st.LoadWindows(ctx, "support-bot", day0)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, w := range wins {
		total += w.Events
		if w.Events != 4 {
			t.Errorf("window %s has %d events, want 4 (counted twice or lost)", w.WindowStart.Format(time.RFC3339), w.Events)
		}
	}
	if len(wins) != 96 || total != int64(len(evs)) {
		t.Errorf("windows = %d holding %d events, want 96 holding %d", len(wins), total, len(evs))
	}
	bl, err = st.LoadBaselines(ctx, []string{"support-bot"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bl {
		// 96 windows of 4 events, and the silent hour before the closing
		// event, which is a window of 0.
		if b.Feature == "events" && (b.Samples != 97 || b.Median != 4 || !b.Mature) {
			b.State = nil
			t.Errorf("events baseline after restarts = %+v, want 97 samples, median 4, mature", b)
		}
	}
}
