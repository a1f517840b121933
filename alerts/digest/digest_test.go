package digest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/digest"
	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
	"github.com/agentwatch/agentwatch/alerts/slack"
	"github.com/agentwatch/agentwatch/alerts/webhook"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/schemas"
)

var slot = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func sample(n int) digest.Digest {
	d := digest.Digest{Owner: "team-growth", Channel: "#growth-agents", Slot: slot, Since: slot.AddDate(0, 0, -7)}
	statuses := []string{digest.StatusNew, digest.StatusOpen, digest.StatusFixed}
	for i := range n {
		d.Items = append(d.Items, digest.Item{ID: fmt.Sprintf("pf-%02d", i), Type: "secrets.long_lived_key",
			Severity: schemas.SeverityHigh, AgentID: "sales-email", Summary: fmt.Sprintf("finding <%d>", i),
			Fix: "rotate & retire", Status: statuses[i%3], FirstSeen: slot.AddDate(0, 0, -14),
			Evidence: []schemas.Evidence{{Feature: "age", Observed: "400d", Baseline: "90d"}}})
	}
	return d
}

// TestSlackDigestOneMessageThreadedDetails: against the Slack stand-in,
// a digest is one message in the owner's channel with the counts, and the
// findings in its thread, within Block Kit limits.
func TestSlackDigestOneMessageThreadedDetails(t *testing.T) {
	fake := fakes.NewSlack()
	defer fake.Close()
	fake.Token = "xoxb-digest"
	s, err := digest.NewSlack("posture.digest", slack.Config{Token: "xoxb-digest", Channel: "C0DEFAULT", APIURL: fake.URL + "/api"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, ts, _, err := s.Send(context.Background(), sample(12))
	if err != nil {
		t.Fatal(err)
	}
	msgs, replies := fake.Messages(), fake.Replies()
	if len(msgs) != 1 || len(fake.Rejected()) != 0 {
		t.Fatalf("messages %d, rejected %v", len(msgs), fake.Rejected())
	}
	if ch != fakes.ChannelID("#growth-agents") || msgs[0].Channel != ch || msgs[0].TS != ts {
		t.Errorf("posted to %s (%s), want the owner's channel", msgs[0].Channel, ch)
	}
	if !strings.Contains(msgs[0].Text, "8 open, 4 new, 4 fixed") {
		t.Errorf("summary text = %q", msgs[0].Text)
	}
	if len(replies) != 2 {
		t.Fatalf("replies = %d, want 2 (10 findings per reply)", len(replies))
	}
	var all string
	for _, r := range replies {
		if r.ThreadTS != ts {
			t.Errorf("reply not in the digest's thread: %+v", r)
		}
		b, _ := json.Marshal(r.Blocks)
		all += string(b)
	}
	// New first, Slack control characters escaped, fixed ones without a fix.
	if !strings.Contains(all, `finding \u0026lt;0\u0026gt;`) || strings.Index(all, "NEW") > strings.Index(all, "FIXED") {
		t.Errorf("thread content: %s", all)
	}
	// An empty digest still says so in one message, no thread.
	if _, _, _, err := s.Send(context.Background(), digest.Digest{Owner: "team-x", Slot: slot}); err != nil {
		t.Fatal(err)
	}
	if m := fake.Messages(); len(m) != 2 || m[1].Channel != "C0DEFAULT" || len(fake.Replies()) != 2 {
		t.Errorf("empty digest: %d messages, %d replies", len(m), len(fake.Replies()))
	}
}

func TestSlackDigestNeedsWebAPI(t *testing.T) {
	if _, err := digest.NewSlack("alerts.receivers[0].slack", slack.Config{WebhookURL: "https://hooks.example/x"}, nil); err == nil ||
		!strings.Contains(err.Error(), "cannot post threads") {
		t.Errorf("webhook receiver accepted: %v", err)
	}
}

func TestSlackDigestRetryClassification(t *testing.T) {
	fake := fakes.NewSlack()
	defer fake.Close()
	s, _ := digest.NewSlack("k", slack.Config{Token: "xoxb-1", Channel: "C1", APIURL: fake.URL + "/api"}, nil)
	fake.FailNext(1, http.StatusTooManyRequests, 1, "")
	if _, _, retry, err := s.Send(context.Background(), sample(1)); err == nil || !retry {
		t.Errorf("429: retry %v err %v", retry, err)
	}
	d := sample(1)
	d.Channel = ""
	s2, _ := digest.NewSlack("k", slack.Config{Token: "xoxb-1", Channel: "", APIURL: fake.URL + "/api"}, nil)
	if _, _, retry, err := s2.Send(context.Background(), d); err == nil || retry || !strings.Contains(err.Error(), "channel_not_found") {
		t.Errorf("no channel: retry %v err %v", retry, err)
	}
}

// TestOCSFComplianceFindings: each item reaches the SIEM webhook as a
// signed OCSF Compliance Finding (class 2003), fixed ones as passing.
func TestOCSFComplianceFindings(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte("s3cret"), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, slot, time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer srv.Close()
	o, err := digest.NewOCSF("siem", webhook.Config{URL: config.Secret(srv.URL), Secret: "s3cret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Send(context.Background(), sample(3), slot); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d findings received", len(got))
	}
	for i, m := range got {
		comp, _ := m["compliance"].(map[string]any)
		if m["class_uid"] != float64(2003) || m["type_uid"] == nil || comp["control"] != "secrets.long_lived_key" {
			t.Errorf("finding %d: %v", i, m)
		}
	}
	if got[0]["activity_name"] != "Create" || got[1]["activity_name"] != "Update" || got[2]["activity_name"] != "Close" {
		t.Errorf("activities: %v %v %v", got[0]["activity_name"], got[1]["activity_name"], got[2]["activity_name"])
	}
	if c := got[2]["compliance"].(map[string]any); c["status"] != "Pass" {
		t.Errorf("fixed finding compliance status %v", c["status"])
	}
}
