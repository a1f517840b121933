package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/alerts/webhook"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/schemas"
)

const secret = "hmac-signing-secret"

var now = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func testAlert() schemas.Alert {
	return schemas.Alert{ID: "a1", DedupKey: "bot|novelty.action|x", Detector: "novelty.action", Severity: schemas.SeverityHigh,
		Score: 80, Boundary: schemas.BoundaryLearned, Identity: schemas.Identity{AgentID: "bot", AgentInstance: "i-1"},
		Summary: "first-time action", FirstSeen: now, LastSeen: now, Count: 1, Status: schemas.StatusFiring}
}

// receiver verifies like a real consumer would: signature, freshness and
// delivery id not seen before.
type receiver struct {
	mu     sync.Mutex
	seen   map[string]bool
	bodies [][]byte
	clock  func() time.Time
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	err := webhook.Verify([]byte(secret), req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature), body, r.clock(), 5*time.Minute)
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Header.Get(webhook.HeaderDelivery)
	switch {
	case err != nil:
		http.Error(w, err.Error(), http.StatusUnauthorized)
	case r.seen[id]:
		http.Error(w, "duplicate delivery", http.StatusConflict)
	default:
		r.seen[id] = true
		r.bodies = append(r.bodies, body)
	}
}

func TestSignedDeliveryVerifies(t *testing.T) {
	rcv := &receiver{seen: map[string]bool{}, clock: func() time.Time { return now.Add(time.Minute) }}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	n, err := webhook.New("k", "hook", webhook.Config{URL: config.Secret(srv.URL + "/in?token=abc"), Secret: secret}, webhook.FormatAlert, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := testAlert()
	if _, _, err := n.Notify(context.Background(), notify.Delivery{ID: 7, Key: a.DedupKey, Alert: a, Now: now}); err != nil {
		t.Fatal(err)
	}
	var got schemas.Alert
	if err := json.Unmarshal(rcv.bodies[0], &got); err != nil || got.ID != "a1" {
		t.Fatalf("body = %s (%v)", rcv.bodies[0], err)
	}
	// The same delivery again is refused by the receiver as a duplicate.
	_, retry, err := n.Notify(context.Background(), notify.Delivery{ID: 7, Key: a.DedupKey, Alert: a, Now: now})
	if err == nil || retry || !strings.Contains(err.Error(), "409") {
		t.Fatalf("duplicate: retry=%v err=%v", retry, err)
	}
	// Sent with a clock far in the past: a replay, refused.
	a.Count = 2
	if _, _, err := n.Notify(context.Background(), notify.Delivery{ID: 7, Key: a.DedupKey, Alert: a, Now: now.Add(-time.Hour)}); err == nil || !strings.Contains(err.Error(), "outside the tolerance") {
		t.Fatalf("stale: %v", err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"a1"}`)
	ts := now.Unix()
	sig := webhook.Sign([]byte(secret), ts, body)
	tsS := func(v int64) string { return strings.TrimSpace(jsonInt(v)) }
	for _, tc := range []struct {
		name     string
		secret   string
		ts       string
		sig      string
		body     []byte
		at       time.Time
		want     error
		wantText string
	}{
		{"valid", secret, tsS(ts), sig, body, now, nil, ""},
		{"tampered body", secret, tsS(ts), sig, []byte(`{"id":"a2"}`), now, webhook.ErrBadSignature, ""},
		{"wrong secret", "other", tsS(ts), sig, body, now, webhook.ErrBadSignature, ""},
		{"timestamp swapped", secret, tsS(ts + 1), sig, body, now, webhook.ErrBadSignature, ""},
		{"replayed later", secret, tsS(ts), sig, body, now.Add(6 * time.Minute), webhook.ErrStale, ""},
		{"garbage timestamp", secret, "yesterday", sig, body, now, nil, "timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify([]byte(tc.secret), tc.ts, tc.sig, tc.body, tc.at, 5*time.Minute)
			switch {
			case tc.wantText != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("err = %v", err)
				}
			case !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }

func TestOCSFFormat(t *testing.T) {
	rcv := &receiver{seen: map[string]bool{}, clock: func() time.Time { return now }}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	n, err := webhook.New("k", "siem", webhook.Config{URL: config.Secret(srv.URL), Secret: secret}, webhook.FormatOCSF, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.Notify(context.Background(), notify.Delivery{ID: 1, Alert: testAlert(), Now: now}); err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(rcv.bodies[0], &f); err != nil || f["class_uid"] != float64(2004) || f["type_uid"] != float64(200401) {
		t.Fatalf("ocsf body = %s", rcv.bodies[0])
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c    webhook.Config
		want string
	}{
		{webhook.Config{Secret: "s"}, "k.url: is required"},
		{webhook.Config{URL: "https://x/y"}, "k.secret: is required"},
		{webhook.Config{URL: "https://x/y", Secret: "s", Format: "xml"}, "k.format"},
		{webhook.Config{URL: "nope-secret", Secret: "s"}, "k.url: is not an http(s) URL"},
		{webhook.Config{URL: "https://x/y", Secret: "s"}, ""},
	} {
		err := tc.c.Validate("k")
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "nope-secret") {
			t.Errorf("error quotes the URL: %v", err)
		}
	}
}
