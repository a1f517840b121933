package ingest

import (
	"errors"
	"strconv"
	"time"

	"github.com/agentwatch/agentwatch/internal/bus"
)

// Record is one raw record as a collector received it.
type Record struct {
	Raw    []byte
	Format string // "" = detect
	Source string // "kafka", "http", "file:/path", "stdin"
	Line   int    // 0 if n/a
	// Time is when the collector received the record. Formats that carry
	// no timestamp of their own (a bare MCP JSON-RPC line) use it; zero
	// means "unknown" and such records are dead-lettered.
	Time time.Time
}

// DeadLetter is a record that could not become a canonical event.
type DeadLetter struct {
	Source, Format, Reason string
	Line                   int
	Raw                    []byte
	Time                   time.Time
}

// Header names on agentwatch.dlq messages.
const (
	HeaderSource = "source"
	HeaderFormat = "format"
	HeaderReason = "reason"
	HeaderLine   = "line"
	HeaderTime   = "time"
)

// Message encodes d for the dead-letter topic: the value is the raw bytes
// exactly as received, so a replay after a fix sees the original record.
func (d DeadLetter) Message(topic string) bus.Message {
	h := map[string]string{
		HeaderSource: d.Source,
		HeaderFormat: d.Format,
		HeaderReason: d.Reason,
	}
	if d.Line > 0 {
		h[HeaderLine] = strconv.Itoa(d.Line)
	}
	if !d.Time.IsZero() {
		h[HeaderTime] = d.Time.UTC().Format(time.RFC3339Nano)
	}
	return bus.Message{Topic: topic, Key: []byte(d.Source), Value: d.Raw, Headers: h, Time: d.Time}
}

// DeadLetterFromMessage decodes a message of the dead-letter topic. Missing
// or malformed headers leave the field empty rather than failing, so that a
// list of the topic always shows every message.
func DeadLetterFromMessage(m bus.Message) DeadLetter {
	d := DeadLetter{
		Source: m.Headers[HeaderSource],
		Format: m.Headers[HeaderFormat],
		Reason: m.Headers[HeaderReason],
		Raw:    m.Value,
		Time:   m.Time,
	}
	if n, err := strconv.Atoi(m.Headers[HeaderLine]); err == nil {
		d.Line = n
	}
	if t, err := time.Parse(time.RFC3339Nano, m.Headers[HeaderTime]); err == nil {
		d.Time = t
	}
	return d
}

// ErrBackpressure is returned by a Sink when the bus is backed up; the HTTP
// collector answers 429 and file readers wait and retry.
var ErrBackpressure = errors.New("ingest: bus is backed up")

// ErrUnavailable wraps a Sink error that says why records cannot be kept
// for now (the embedded log's disk is full): the HTTP collector answers
// 503 with Retry-After and the reason, file readers wait and retry.
var ErrUnavailable = errors.New("ingest: records cannot be kept for now")
