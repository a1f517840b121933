package digest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/digest"
	"github.com/agentwatch/agentwatch/alerts/internal/fakes"
	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/alerts/slack"
	"github.com/agentwatch/agentwatch/schemas"
)

func item(id string) digest.Item {
	return digest.Item{ID: id, Type: "lifecycle.dormant", Severity: schemas.SeverityLow, AgentID: "a-" + id, Summary: "finding " + id, Fix: "fix " + id}
}

// TestDeliverNewFixedOpenAcrossRestarts: week one reports two new
// findings; after a restart (a new outbox handle on the same file) the
// same slot is not sent again; week two marks one fixed, one still open,
// one new, against what week one reported.
func TestDeliverNewFixedOpenAcrossRestarts(t *testing.T) {
	fake := fakes.NewSlack()
	defer fake.Close()
	path := filepath.Join(t.TempDir(), "outbox.db")
	clock := slot
	open := func() (*digest.Deliverer, *outbox.Outbox) {
		ob, err := outbox.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := digest.NewSlack("k", slack.Config{Token: "xoxb-1", Channel: "C0", APIURL: fake.URL + "/api"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &digest.Deliverer{Outbox: ob, Slack: s, Now: func() time.Time { return clock }}, ob
	}
	ctx := context.Background()
	fixedLookup := func(id string) digest.Item { return item(id) }

	d, ob := open()
	owners := []digest.Owner{{Owner: "team-a", Channel: "#a", Open: []digest.Item{item("1"), item("2")}}, {Owner: "team-quiet"}}
	res, err := d.Deliver(ctx, slot, owners, fixedLookup)
	if err != nil || res.Sent != 1 || res.Empty != 1 {
		t.Fatalf("week 1: %+v %v", res, err)
	}
	ob.Close()

	d, ob = open() // restart
	if due, err := d.Due(ctx, []string{"team-a", "team-quiet"}, slot); err != nil || due {
		t.Fatalf("slot already delivered is due again: %v %v", due, err)
	}
	if res, _ := d.Deliver(ctx, slot, owners, fixedLookup); res.Sent != 0 || len(fake.Messages()) != 1 {
		t.Fatalf("week 1 sent twice: %+v, %d messages", res, len(fake.Messages()))
	}

	next := slot.AddDate(0, 0, 7)
	clock = next
	owners[0].Open = []digest.Item{item("2"), item("3")}
	if res, err := d.Deliver(ctx, next, owners, fixedLookup); err != nil || res.Sent != 1 {
		t.Fatalf("week 2: %+v %v", res, err)
	}
	ob.Close()
	msgs := fake.Messages()
	if len(msgs) != 2 || !strings.Contains(msgs[1].Text, "2 open, 1 new, 1 fixed") {
		t.Fatalf("week 2 summary: %+v", msgs)
	}
	var thread string
	for _, r := range fake.Replies() {
		if r.ThreadTS == msgs[1].TS {
			for _, b := range r.Blocks {
				thread += b["text"].(map[string]any)["text"].(string) + "\n"
			}
		}
	}
	for _, want := range []string{"NEW · *LOW* · `lifecycle.dormant` · a-3", "OPEN · *LOW* · `lifecycle.dormant` · a-2", "FIXED · *LOW* · `lifecycle.dormant` · a-1"} {
		if !strings.Contains(thread, want) {
			t.Errorf("week 2 thread lacks %q:\n%s", want, thread)
		}
	}
}

// TestDeliverRetriesFailedWithBackoff: a failed send is recorded and not
// retried before its back-off, then succeeds.
func TestDeliverRetriesFailedWithBackoff(t *testing.T) {
	fake := fakes.NewSlack()
	defer fake.Close()
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	s, _ := digest.NewSlack("k", slack.Config{Token: "xoxb-1", Channel: "C0", APIURL: fake.URL + "/api"}, nil)
	clock := slot
	d := &digest.Deliverer{Outbox: ob, Slack: s, Now: func() time.Time { return clock }}
	owners := []digest.Owner{{Owner: "team-a", Open: []digest.Item{item("1")}}}
	fake.FailNext(1, 503, 0, "")
	ctx := context.Background()
	if res, err := d.Deliver(ctx, slot, owners, nil); err == nil || res.Failed != 1 {
		t.Fatalf("want a failure: %+v %v", res, err)
	}
	if due, _ := d.Due(ctx, []string{"team-a"}, slot); due {
		t.Fatal("retried before its back-off")
	}
	clock = slot.Add(digest.RetryAfter(1))
	if due, _ := d.Due(ctx, []string{"team-a"}, slot); !due {
		t.Fatal("not due after its back-off")
	}
	if res, err := d.Deliver(ctx, slot, owners, nil); err != nil || res.Sent != 1 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	rec, _ := ob.GetDigest(ctx, "team-a", slot)
	if rec.State != outbox.DigestSent || rec.Attempts != 2 || rec.TS == "" {
		t.Errorf("record = %+v", rec)
	}
}
