package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"github.com/agentwatch/agentwatch/schemas"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNormalizeDeadLetterReasons(t *testing.T) {
	n := newTestNormalizer(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(oneCanonical))
	zw.Close()
	push := func(data string) string {
		return `{"message":{"data":"` + data + `","messageId":"m1"},"subscription":"projects/p/subscriptions/s"}`
	}
	for _, tc := range []struct {
		name, raw, format string
		events            int
		reason, dlFormat  string
	}{
		{"gzip record", gz.String(), "", 1, "", ""},
		{"broken gzip", "\x1f\x8b\x08\x00garbage", "", 0, ReasonMalformed, FormatUnknown},
		{"not json", "hello", "", 0, ReasonMalformed, FormatUnknown},
		{"trailing data", oneCanonical + " x", "", 0, ReasonMalformed, FormatUnknown},
		{"scalar", "42", "", 0, ReasonMalformed, FormatUnknown},
		{"unknown shape", `{"foo":1,"bar":2}`, "", 0, ReasonUnknown, FormatUnknown},
		{"unknown forced format", oneCanonical, "syslog", 0, ReasonUnsupported, "syslog"},
		{"admission review", `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{}}`, "", 0, ReasonUnsupported, FormatK8s},
		{"cloudtrail without time", `{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}`, "", 0, ReasonRecord, FormatCloudTrail},
		{"cloudtrail bad time", `{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"yesterday"}`, "", 0, ReasonRecord, FormatCloudTrail},
		{"year out of range", `{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"1970-01-01T00:00:00Z"}`, "", 0, ReasonInvalid, FormatCloudTrail},
		{"records not array", `{"Records":{}}`, "", 0, ReasonRecord, FormatCloudTrail},
		{"pubsub bad base64", push("!!!"), "", 0, ReasonRecord, FormatGCP},
		{"pubsub not json", push(base64.StdEncoding.EncodeToString([]byte("nope"))), "", 0, ReasonMalformed, FormatGCP},
		{"envelope of two, one bad", `{"Records":[{"eventSource":"s3.amazonaws.com","eventName":"A","eventTime":"2026-01-01T00:00:00Z"},{"eventName":"B"}]}`, "", 1, ReasonRecord, FormatCloudTrail},
		{"array of canonical", "[" + oneCanonical + "," + oneCanonical + "]", "", 2, "", ""},
		{"too large", `{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2026-01-01T00:00:00Z","x":"` + strings.Repeat("a", 2<<20) + `"}`, "", 0, ReasonTooLarge, FormatCloudTrail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, dead := n.Normalize(Record{Raw: []byte(tc.raw), Format: tc.format, Source: "test", Line: 7, Time: time.Now()})
			if len(evs) != tc.events {
				t.Fatalf("%d events, want %d (dead: %+v)", len(evs), tc.events, dead)
			}
			if tc.reason == "" {
				if len(dead) != 0 {
					t.Fatalf("unexpected dead letters: %+v", dead[0].Reason)
				}
				return
			}
			if len(dead) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dead))
			}
			d := dead[0]
			if !strings.HasPrefix(d.Reason, tc.reason+": ") || d.Format != tc.dlFormat || d.Source != "test" || d.Line != 7 || len(d.Raw) == 0 {
				t.Fatalf("dead letter %q format %q source %q line %d, want reason %s format %s", d.Reason, d.Format, d.Source, d.Line, tc.reason, tc.dlFormat)
			}
		})
	}
}

func TestNormalizeConcurrent(t *testing.T) {
	n := newTestNormalizer(t, goldenRules...)
	var recs [][]byte
	for _, f := range []string{"testdata/cloudtrail_agents.json", "testdata/mcp_gateway.ndjson", "testdata/okta_system_log.ndjson"} {
		data := mustRead(t, f)
		for _, c := range splitStream(data) {
			recs = append(recs, c.raw)
		}
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := 0
	for _, r := range recs {
		evs, dead := n.Normalize(Record{Raw: r, Time: at})
		want += len(evs) + len(dead)
	}
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for g := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, r := range recs {
				evs, dead := n.Normalize(Record{Raw: r, Time: at})
				counts[g] += len(evs) + len(dead)
			}
		}()
	}
	wg.Wait()
	for g, c := range counts {
		if c != want {
			t.Errorf("goroutine %d: %d results, want %d", g, c, want)
		}
	}
}

func TestFastTimeMatchesTimeParse(t *testing.T) {
	for _, s := range []string{"2023-07-10T11:47:39Z", "2018-10-26T13:13:03.539180Z", "2025-08-15T12:56:17.261620203Z", "2024-02-29T00:00:00.1Z"} {
		// The fast parser itself must take these, not the fallback.
		fast, ok := schemas.ParseUTC(s)
		got, err := timeBytes("t", []byte(`"`+s+`"`))
		want, werr := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil || werr != nil || !got.Equal(want) || !fast.Equal(want) {
			t.Errorf("%s: fast %v (%v), got %v (%v), want %v", s, fast, ok, got, err, want)
		}
	}
	for _, s := range []string{"2023-02-30T00:00:00Z", "2023-13-01T00:00:00Z", "2023-01-01T25:00:00Z", "2023-01-01T00:00:00.Z"} {
		if _, ok := schemas.ParseUTC(s); ok {
			t.Errorf("%s accepted by the fast parser", s)
		}
		if _, err := timeBytes("t", []byte(`"`+s+`"`)); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}
