package ingest

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/agentwatch/agentwatch/internal/bus"
	"github.com/agentwatch/agentwatch/schemas"
)

// HeaderReplayed marks a message that `agentwatch dlq replay` re-fed.
const HeaderReplayed = "replayed_from"

// HandleMessages is the Kafka ingest stage's work for a fetched batch:
// normalise each message (header "format" overrides detection) and publish
// via sink. Returns nil only when everything is published (so the caller
// commits).
func HandleMessages(ctx context.Context, n *Normalizer, sink Sink, msgs []bus.Message) error {
	evs := make([]schemas.AgentEvent, 0, len(msgs))
	var dead []DeadLetter
	for _, m := range msgs {
		t := m.Time
		if t.IsZero() {
			t = time.Now().UTC()
		}
		rec := Record{
			Raw:    m.Value,
			Format: strings.TrimSpace(m.Headers[HeaderFormat]),
			Source: "kafka:" + m.Topic + "/" + strconv.Itoa(m.Partition) + "@" + strconv.FormatInt(m.Offset, 10),
			Time:   t,
		}
		e, d := n.Normalize(rec)
		evs = append(evs, e...)
		dead = append(dead, d...)
	}
	if len(evs) == 0 && len(dead) == 0 {
		return nil
	}
	if err := sink.Publish(ctx, evs, dead); err != nil {
		return fmt.Errorf("ingest: publish %d events and %d dead letters from %d messages: %w", len(evs), len(dead), len(msgs), err)
	}
	return nil
}

// ReplayMessage turns a dead-letter message back into an ingest message
// for `agentwatch dlq replay`: the raw bytes again, with the format the
// record was taken for (unless it could not be told) so a fixed parser
// sees it exactly as before.
func ReplayMessage(m bus.Message, ingestTopic string) bus.Message {
	d := DeadLetterFromMessage(m)
	h := map[string]string{HeaderReplayed: fmt.Sprintf("%s/%d@%d", m.Topic, m.Partition, m.Offset)}
	if knownFormat(d.Format) {
		h[HeaderFormat] = d.Format
	}
	return bus.Message{Topic: ingestTopic, Value: d.Raw, Headers: h}
}

// ListDLQ writes the dead letters in msgs as a table: when, where from,
// format, why, and the start of the raw bytes.
func ListDLQ(w io.Writer, msgs []bus.Message) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OFFSET\tTIME\tSOURCE\tLINE\tFORMAT\tBYTES\tREASON\tRAW")
	for _, m := range msgs {
		d := DeadLetterFromMessage(m)
		line := "-"
		if d.Line > 0 {
			line = strconv.Itoa(d.Line)
		}
		when := "-"
		if !d.Time.IsZero() {
			when = d.Time.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d/%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.Partition, m.Offset, when, orDash(d.Source), line,
			orDash(d.Format), len(d.Raw), orDash(oneLine(d.Reason, 160)), oneLine(string(d.Raw), 60))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("list dlq: %w", err)
	}
	_, err := fmt.Fprintf(w, "%d dead letters\n", len(msgs))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine makes s printable on one table row: control characters and
// invalid UTF-8 escaped, cut to max runes.
func oneLine(s string, max int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if n >= max {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError && len(s[i:]) > 0:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
		n++
	}
	return b.String()
}
