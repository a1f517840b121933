package ingest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/bus"
)

func TestDeadLetterMessageRoundTrip(t *testing.T) {
	d := DeadLetter{Source: "file:/var/log/ct.json", Format: FormatCloudTrail, Reason: "bad_record: cloudtrail: eventTime: is missing",
		Line: 17, Raw: []byte(`{"eventName":"x"}`), Time: time.Date(2026, 3, 2, 1, 2, 3, 400, time.UTC)}
	m := d.Message("agentwatch.dlq")
	if m.Topic != "agentwatch.dlq" || !bytes.Equal(m.Value, d.Raw) {
		t.Fatalf("message %+v", m)
	}
	got := DeadLetterFromMessage(m)
	if got.Source != d.Source || got.Format != d.Format || got.Reason != d.Reason || got.Line != d.Line ||
		!bytes.Equal(got.Raw, d.Raw) || !got.Time.Equal(d.Time) {
		t.Fatalf("round trip: got %+v, want %+v", got, d)
	}
	// Missing headers leave fields empty instead of failing.
	empty := DeadLetterFromMessage(bus.Message{Value: []byte("x")})
	if empty.Line != 0 || empty.Reason != "" || string(empty.Raw) != "x" {
		t.Fatalf("headerless: %+v", empty)
	}
}

func TestHandleMessages(t *testing.T) {
	n := newTestNormalizer(t)
	sink := &memSink{}
	msgs := []bus.Message{
		{Topic: "agentwatch.ingest", Partition: 1, Offset: 10, Value: []byte(oneCanonical), Time: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		// The header forces okta, which this canonical event is not.
		{Topic: "agentwatch.ingest", Partition: 1, Offset: 11, Value: []byte(oneCanonical), Headers: map[string]string{"format": "okta"}},
		{Topic: "agentwatch.ingest", Partition: 1, Offset: 12, Value: []byte(`{"x":1}`)},
	}
	if err := HandleMessages(context.Background(), n, sink, msgs); err != nil {
		t.Fatal(err)
	}
	evs, dead := sink.counts()
	if evs != 1 || dead != 2 {
		t.Fatalf("got %d events, %d dead letters; want 1, 2", evs, dead)
	}
	if sink.dead[0].Format != FormatOkta || sink.dead[0].Source != "kafka:agentwatch.ingest/1@11" {
		t.Errorf("dead letter %+v", sink.dead[0])
	}
	if !strings.HasPrefix(sink.dead[1].Reason, ReasonUnknown) {
		t.Errorf("unknown record reason %q", sink.dead[1].Reason)
	}
	sink.err = ErrBackpressure
	if err := HandleMessages(context.Background(), n, sink, msgs); !errors.Is(err, ErrBackpressure) {
		t.Fatalf("err = %v, want ErrBackpressure so the caller does not commit", err)
	}
}

func TestListAndReplayDLQ(t *testing.T) {
	d := DeadLetter{Source: "http:vector", Format: FormatOkta, Reason: "bad_record: okta: published: is missing", Line: 3,
		Raw: []byte("{\"a\":\n1}"), Time: time.Date(2026, 3, 2, 1, 2, 3, 0, time.UTC)}
	m := d.Message("agentwatch.dlq")
	m.Partition, m.Offset = 2, 99
	var buf bytes.Buffer
	if err := ListDLQ(&buf, []bus.Message{m}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"2/99", "http:vector", "okta", "published: is missing", `{"a":\x0a1}`, "1 dead letters"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	r := ReplayMessage(m, "agentwatch.ingest")
	if r.Topic != "agentwatch.ingest" || !bytes.Equal(r.Value, d.Raw) || r.Headers[HeaderFormat] != FormatOkta || r.Headers[HeaderReplayed] != "agentwatch.dlq/2@99" {
		t.Fatalf("replay %+v", r)
	}
	u := DeadLetter{Format: FormatUnknown, Raw: []byte("x")}.Message("agentwatch.dlq")
	if _, ok := ReplayMessage(u, "agentwatch.ingest").Headers[HeaderFormat]; ok {
		t.Fatal("replay of an undetected record must not force a format")
	}
}
