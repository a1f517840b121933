package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/internal/telemetry"
	"github.com/agentwatch/agentwatch/schemas"
)

// busSink publishes what collectors and the ingest stage produce: canonical
// events to the events topic keyed by agent_id (so one worker sees all of an
// agent's events, in order), dead letters to the DLQ topic. It bounds the
// publishes in flight; when the bus cannot keep up, callers get
// ingest.ErrBackpressure instead of queueing without limit.
type busSink struct {
	pub     bus.Publisher
	topics  bus.Topics
	stage   string
	metrics *telemetry.Metrics
	slots   chan struct{}
	counter *atomic.Int64
	wait    time.Duration
	// backlog, when set, is how many events the baseline and detect
	// stages have yet to commit; Publish waits while it is past
	// embeddedBacklog.
	backlog func() int64
}

// embeddedBacklog is how far, in events, collectors and the ingest stage
// may run ahead of the baseline and detect stages in embedded mode. The
// in-memory broker keeps only bus.embedded.retention_bytes per partition
// (64 MiB each of 6: about 600,000 canonical events); waiting here, well
// inside that, keeps a fast collector (a file replay, a burst of HTTP
// posts) from pushing records out of retention before they are read. The
// HTTP collector answers 429 with Retry-After once it has waited its
// bound. It is no lower because waiting here also holds back the detect
// stage, which otherwise runs ahead of a slower baseline stage and keeps
// alerts prompt (at 100,000, event-to-alert p50 at 50,000 events/s offered
// rose from about 0.2 s to 2.5 s).
const embeddedBacklog = 250_000

var _ ingest.Sink = (*busSink)(nil)

func newBusSink(a *App, stage string, inflight int, wait time.Duration) *busSink {
	s := &busSink{pub: a.Producer, topics: a.Cfg.Bus.Topics, stage: stage, metrics: a.Metrics,
		slots: make(chan struct{}, inflight), wait: wait, counter: &a.eventsOut}
	if a.gateBacklog {
		s.backlog = func() int64 {
			return a.eventsOut.Load() - min(a.Committed(StageBaseline), a.Committed(StageDetect))
		}
	}
	return s
}

func (s *busSink) Publish(ctx context.Context, evs []schemas.AgentEvent, dead []ingest.DeadLetter) error {
	if len(evs) == 0 && len(dead) == 0 {
		return nil
	}
	// With no wait bound (the ingest stage), block until a slot frees:
	// a nil channel never fires.
	var timeout <-chan time.Time
	if s.wait > 0 {
		t := time.NewTimer(s.wait)
		defer t.Stop()
		timeout = t.C
	}
	for s.backlog != nil && s.backlog() > embeddedBacklog {
		select {
		case <-time.After(5 * time.Millisecond):
		case <-timeout:
			return ingest.ErrBackpressure
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case s.slots <- struct{}{}:
	case <-timeout:
		return ingest.ErrBackpressure
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.slots }()

	msgs := make([]bus.Message, 0, len(evs)+len(dead))
	for i := range evs {
		b := schemas.AppendEventJSON(make([]byte, 0, 512), &evs[i])
		msgs = append(msgs, bus.Message{Topic: s.topics.Events, Key: []byte(evs[i].AgentID), Value: b})
	}
	for _, d := range dead {
		msgs = append(msgs, d.Message(s.topics.DLQ))
	}
	if err := s.pub.Publish(ctx, msgs...); err != nil {
		return fmt.Errorf("publish %d events and %d dead letters: %w", len(evs), len(dead), err)
	}
	s.counter.Add(int64(len(evs)))
	s.metrics.Events.WithLabelValues(s.stage, "out").Add(float64(len(evs)))
	s.metrics.Events.WithLabelValues(s.stage, "rejected").Add(float64(len(dead)))
	for _, d := range dead {
		s.metrics.Rejected.WithLabelValues(s.stage, reasonClass(d.Reason)).Inc()
	}
	return nil
}

// reasonClass is the first word of a dead letter's reason: ingest's
// closed set of classes, so the metric's label stays bounded whatever the
// input says.
func reasonClass(reason string) string {
	word, _, _ := strings.Cut(reason, ":")
	switch word {
	case ingest.ReasonMalformed, ingest.ReasonUnknown, ingest.ReasonUnsupported, ingest.ReasonRecord,
		ingest.ReasonInvalid, ingest.ReasonTooLarge, ingest.ReasonInternal:
		return word
	}
	return "other"
}

// NewSink returns the bus sink collectors use, for one-off loads from the
// CLI. stage labels its metrics ("collector").
func NewSink(a *App, stage string) ingest.Sink {
	return newBusSink(a, stage, 8, 0)
}
