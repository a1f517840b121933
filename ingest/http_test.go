package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/schemas"
)

// memSink records what collectors publish; err, when set, is returned
// instead.
type memSink struct {
	mu   sync.Mutex
	evs  []schemas.AgentEvent
	dead []DeadLetter
	err  error
}

func (s *memSink) Publish(_ context.Context, evs []schemas.AgentEvent, dead []DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.evs = append(s.evs, evs...)
	s.dead = append(s.dead, dead...)
	return nil
}

func (s *memSink) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.evs), len(s.dead)
}

const testToken = "s3cret-token-value"

func newTestHTTP(t *testing.T, mutate func(*HTTPConfig)) (*httptest.Server, *memSink) {
	t.Helper()
	cfg := DefaultConfig().HTTP
	cfg.Sources = []HTTPSource{{Name: "vector", Token: testToken}}
	if mutate != nil {
		mutate(&cfg)
	}
	sink := &memSink{}
	h := NewHTTPCollector(cfg, newTestNormalizer(t), sink, prometheus.NewRegistry(), nil)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, sink
}

func post(t *testing.T, url, token string, body []byte, hdr map[string]string) (*http.Response, IngestResponse) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out IngestResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	return resp, out
}

const oneCanonical = `{"event_id":"e1","time":"2026-03-02T13:00:00Z","source":"app","agent_id":"a1","action":"x:y","system":"internal:x","outcome":"success"}`

func TestHTTPAuth(t *testing.T) {
	tokFile := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(tokFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, sink := newTestHTTP(t, func(c *HTTPConfig) {
		c.Sources = append(c.Sources, HTTPSource{Name: "fluent", TokenFile: tokFile})
	})
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "nope", http.StatusUnauthorized},
		{"prefix of token", testToken[:5], http.StatusUnauthorized},
		{"inline token", testToken, http.StatusOK},
		{"token from file", "file-token", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := post(t, srv.URL+"/v1/events", tc.token, []byte(oneCanonical), nil)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (%+v)", resp.StatusCode, tc.want, out)
			}
			if tc.want == http.StatusUnauthorized && strings.Contains(out.Error, testToken) {
				t.Fatal("error leaks the token")
			}
		})
	}
	if evs, _ := sink.counts(); evs != 2 {
		t.Fatalf("published %d events, want 2", evs)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.evs[1].Source != "app" {
		t.Errorf("canonical source overwritten: %q", sink.evs[1].Source)
	}
}

func TestHTTPPartialRejection(t *testing.T) {
	srv, sink := newTestHTTP(t, nil)
	body := strings.Join([]string{
		oneCanonical,
		`{"event_id":"e2","time":"2026-03-02T13:00:00Z","source":"app","agent_id":"a1","action":"x:y","system":"internal:x","outcome":"maybe"}`,
		`not json at all`,
		``,
		strings.Replace(oneCanonical, `"e1"`, `"e3"`, 1),
	}, "\n")
	resp, out := post(t, srv.URL+"/v1/events", testToken, []byte(body), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %+v", resp.StatusCode, out)
	}
	if out.Accepted != 2 || out.DeadLettered != 2 || len(out.Rejected) != 2 {
		t.Fatalf("response %+v, want 2 accepted and 2 rejected", out)
	}
	if out.Rejected[0].Line != 2 || !strings.Contains(out.Rejected[0].Reason, "outcome") {
		t.Errorf("first rejection %+v, want line 2 about outcome", out.Rejected[0])
	}
	if out.Rejected[1].Line != 3 || !strings.HasPrefix(out.Rejected[1].Reason, ReasonMalformed) {
		t.Errorf("second rejection %+v, want line 3 malformed", out.Rejected[1])
	}
	if evs, dead := sink.counts(); evs != 2 || dead != 2 {
		t.Fatalf("sink got %d events, %d dead letters", evs, dead)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if d := sink.dead[1]; string(d.Raw) != "not json at all" || d.Source != "http:vector" || d.Line != 3 {
		t.Errorf("dead letter %+v", d)
	}
}

func TestHTTPGzipAndFormats(t *testing.T) {
	srv, sink := newTestHTTP(t, nil)
	ct, err := os.ReadFile("testdata/cloudtrail_agents.json")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(ct)
	zw.Close()
	resp, out := post(t, srv.URL+"/v1/ingest", testToken, gz.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	if resp.StatusCode != 200 || out.Accepted != 4 {
		t.Fatalf("gzip Records: status %d %+v", resp.StatusCode, out)
	}
	// A gzip body sent without the header is recognised by its magic bytes.
	resp, out = post(t, srv.URL+"/v1/ingest/cloudtrail", testToken, gz.Bytes(), nil)
	if resp.StatusCode != 200 || out.Accepted != 4 {
		t.Fatalf("raw gzip: status %d %+v", resp.StatusCode, out)
	}
	k8s, _ := os.ReadFile("testdata/k8s_webhook_eventlist.json")
	resp, out = post(t, srv.URL+"/v1/k8s/audit", testToken, k8s, nil)
	if resp.StatusCode != 200 || out.Accepted != 2 {
		t.Fatalf("webhook: status %d %+v", resp.StatusCode, out)
	}
	// Forcing a format that does not fit dead-letters rather than guessing.
	resp, out = post(t, srv.URL+"/v1/ingest/okta", testToken, k8s, nil)
	if resp.StatusCode != 200 || out.DeadLettered != 1 || out.Accepted != 0 {
		t.Fatalf("forced wrong format: status %d %+v", resp.StatusCode, out)
	}
	resp, _ = post(t, srv.URL+"/v1/ingest/syslog", testToken, k8s, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown format: status %d", resp.StatusCode)
	}
	if evs, _ := sink.counts(); evs != 10 {
		t.Fatalf("sink has %d events, want 10", evs)
	}
}

func TestHTTPLimits(t *testing.T) {
	srv, _ := newTestHTTP(t, func(c *HTTPConfig) { c.MaxBodyBytes = 1024 })
	big := bytes.Repeat([]byte(oneCanonical+"\n"), 20)
	resp, _ := post(t, srv.URL+"/v1/events", testToken, big, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	// A small gzip body that inflates past eight times the limit.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte(" "), 9*1024))
	zw.Close()
	resp, _ = post(t, srv.URL+"/v1/events", testToken, gz.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("gzip bomb: status %d, want 413", resp.StatusCode)
	}
	resp, _ = post(t, srv.URL+"/v1/events", testToken, []byte("  \n"), nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty body: status %d, want 400", resp.StatusCode)
	}
}

func TestHTTPBackpressure(t *testing.T) {
	srv, sink := newTestHTTP(t, nil)
	sink.err = ErrBackpressure
	resp, out := post(t, srv.URL+"/v1/events", testToken, []byte(oneCanonical), nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "5" {
		t.Fatalf("status %d Retry-After %q (%+v)", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	sink.err = context.DeadlineExceeded
	resp, _ = post(t, srv.URL+"/v1/events", testToken, []byte(oneCanonical), nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("sink failure: status %d, want 503", resp.StatusCode)
	}
}
