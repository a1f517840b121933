package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	// backlog, when set (embedded mode), is how many records the stages
	// downstream of the events topic have yet to commit, as the broker
	// measures it; Publish waits while it is past bound. The broker never
	// deletes what they have not read, so without this a fast collector
	// (a file replay, a burst of HTTP posts) would only grow the log.
	backlog func() int64
	bound   int64
	held    prometheus.Counter
	// writeErr, when set, says why the embedded log could not be written
	// since the given time (a full disk).
	writeErr func(since time.Time) error
}

var _ ingest.Sink = (*busSink)(nil)

// backlogPoll is how often a held publish looks at the backlog again.
const backlogPoll = 5 * time.Millisecond

func newBusSink(a *App, stage string, inflight int, wait time.Duration) *busSink {
	s := &busSink{pub: a.Producer, topics: a.Cfg.Bus.Topics, stage: stage, metrics: a.Metrics,
		slots: make(chan struct{}, inflight), wait: wait, counter: &a.eventsOut}
	if emb := a.embedded; emb != nil {
		groups := a.downstreamGroups()
		s.backlog = func() int64 { return emb.Backlog(groups...) }
		s.bound = emb.MaxBacklog()
		s.held = a.held.WithLabelValues(stage)
		s.writeErr = emb.WriteError
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
	for waited := false; s.backlog != nil && s.backlog() > s.bound; waited = true {
		if !waited && s.held != nil {
			s.held.Inc()
		}
		select {
		case <-time.After(backlogPoll):
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
	start := time.Now()
	if err := s.pub.Publish(ctx, msgs...); err != nil {
		if s.writeErr != nil {
			if werr := s.writeErr(start); werr != nil {
				return fmt.Errorf("%w: %w", ingest.ErrUnavailable, werr)
			}
		}
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
