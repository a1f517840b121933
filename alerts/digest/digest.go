// Package digest delivers an owner's periodic posture digest: one Slack
// message with the counts (new, fixed, still open) and the details in its
// thread, through the Slack Web API into the owner's channel; and,
// optionally, every finding as an OCSF Compliance Finding to a signed
// webhook (a SIEM). What is in a digest is decided by the posture package;
// this package only renders and sends.
package digest

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/alerts/ocsf"
	"github.com/agentwatch/agentwatch/alerts/slack"
	"github.com/agentwatch/agentwatch/alerts/webhook"
	"github.com/agentwatch/agentwatch/schemas"
)

// Item statuses since the owner's previous digest.
const (
	StatusNew   = "new"
	StatusOpen  = "open"
	StatusFixed = "fixed"
)

// Item is one finding in a digest.
type Item struct {
	ID        string
	Type      string
	Severity  schemas.Severity
	AgentID   string
	Summary   string
	Fix       string
	Evidence  []schemas.Evidence
	FirstSeen time.Time
	Status    string
}

// Digest is one owner's digest for one scheduled slot.
type Digest struct {
	Owner   string
	Channel string // the owner's Slack channel; empty uses the receiver's
	Slot    time.Time
	// Since is the slot of the previous digest the owner received; zero
	// for the first one.
	Since time.Time
	Items []Item
}

// Count returns how many items have status.
func (d *Digest) Count(status string) int {
	n := 0
	for _, it := range d.Items {
		if it.Status == status {
			n++
		}
	}
	return n
}

// itemsPerReply bounds one thread reply (a section block each, well under
// Slack's 50 blocks and 3,000 characters per section).
const itemsPerReply = 10

// Slack posts digests with a bot token, through the Slack receiver's
// own notifier.
type Slack struct {
	n *slack.Notifier
}

// NewSlack builds a sender from a Slack receiver's configuration, which
// must use the Web API (token): an incoming webhook cannot thread.
func NewSlack(key string, c slack.Config, client *http.Client) (*Slack, error) {
	n, err := slack.New(key, "digest", c, client)
	if err != nil {
		return nil, err
	}
	if !n.UpdatesInPlace() {
		return nil, fmt.Errorf("%s: the posture digest needs a Slack Web API receiver (token and channel): an incoming webhook cannot post threads", key)
	}
	return &Slack{n: n}, nil
}

var statusMark = map[string]string{StatusNew: "🆕 NEW", StatusOpen: "⏳ OPEN", StatusFixed: "✅ FIXED"}

// Send posts the digest's summary message into the owner's channel and its
// items as thread replies, new first, then open, then fixed. It returns
// the channel id and message ts; retry says whether a failure is worth
// trying again.
func (s *Slack) Send(ctx context.Context, d Digest) (channel, ts string, retry bool, err error) {
	items := append([]Item(nil), d.Items...)
	order := map[string]int{StatusNew: 0, StatusOpen: 1, StatusFixed: 2}
	sort.SliceStable(items, func(i, j int) bool {
		if order[items[i].Status] != order[items[j].Status] {
			return order[items[i].Status] < order[items[j].Status]
		}
		return items[i].Severity.Rank() > items[j].Severity.Rank()
	})
	open := d.Count(StatusNew) + d.Count(StatusOpen)
	since := "first digest"
	if !d.Since.IsZero() {
		since = "since " + d.Since.UTC().Format("Mon 2 Jan 15:04Z")
	}
	sev := map[schemas.Severity]int{}
	for _, it := range items {
		if it.Status != StatusFixed {
			sev[it.Severity]++
		}
	}
	var bySev []string
	for i := len(schemas.Severities) - 1; i >= 0; i-- {
		if n := sev[schemas.Severities[i]]; n > 0 {
			bySev = append(bySev, fmt.Sprintf("%d %s", n, schemas.Severities[i]))
		}
	}
	head := notify.Truncate("🛡 Posture digest · "+d.Owner+" · "+d.Slot.UTC().Format("2006-01-02"), slack.MaxHeaderText)
	summary := fmt.Sprintf("*%d open findings* (%s) · *%d new* · *%d fixed* %s.", open, orNone(strings.Join(bySev, ", ")),
		d.Count(StatusNew), d.Count(StatusFixed), since)
	if len(items) == 0 {
		summary = "No posture findings: nothing open, nothing changed " + since + "."
	} else {
		summary += "\nDetails and fixes are in the thread. Everything open: `agentwatch posture --owner " + d.Owner + "`."
	}
	msg := slack.Message{Channel: d.Channel, Text: fmt.Sprintf("Posture digest for %s: %d open, %d new, %d fixed", d.Owner, open, d.Count(StatusNew), d.Count(StatusFixed)),
		Blocks: []slack.Block{
			{Type: "header", Text: &slack.Text{Type: "plain_text", Text: head}},
			{Type: "section", Text: &slack.Text{Type: "mrkdwn", Text: notify.Truncate(summary, slack.MaxSectionText)}},
		}}
	channel, ts, retry, err = s.n.PostMessage(ctx, msg)
	if err != nil {
		return "", "", retry, err
	}
	for i := 0; i < len(items); i += itemsPerReply {
		end := min(i+itemsPerReply, len(items))
		reply := slack.Message{Channel: channel, ThreadTS: ts,
			Text: fmt.Sprintf("Findings %d–%d of %d", i+1, end, len(items))}
		for _, it := range items[i:end] {
			reply.Blocks = append(reply.Blocks, slack.Block{Type: "section", Text: &slack.Text{Type: "mrkdwn",
				Text: notify.Truncate(itemText(it), slack.MaxSectionText)}})
		}
		if _, _, retry, err := s.n.PostMessage(ctx, reply); err != nil {
			// The summary is posted; the caller retries the whole digest,
			// which posts a fresh one: better twice than a thread missing.
			return channel, ts, retry, err
		}
	}
	return channel, ts, false, nil
}

func itemText(it Item) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s · *%s* · `%s` · %s\n%s", statusMark[it.Status], strings.ToUpper(string(it.Severity)), slack.Escape(it.Type),
		slack.Escape(orNone(it.AgentID)), slack.Escape(it.Summary))
	if it.Status != StatusFixed {
		fmt.Fprintf(&b, "\n*Fix:* %s", slack.Escape(it.Fix))
	}
	fmt.Fprintf(&b, "\n_id %s_", it.ID)
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// OCSF posts every item of a digest as an OCSF Compliance Finding to a
// webhook receiver, signed as that receiver signs alerts.
type OCSF struct {
	n *webhook.Notifier
}

// NewOCSF builds a sender from a webhook receiver's configuration.
func NewOCSF(key string, c webhook.Config, client *http.Client) (*OCSF, error) {
	n, err := webhook.New(key, "digest ocsf", c, webhook.FormatOCSF, client)
	if err != nil {
		return nil, err
	}
	return &OCSF{n: n}, nil
}

// Send posts one compliance finding per item; the delivery header is the
// finding id, slot and status, so a receiver can drop a redelivery.
func (o *OCSF) Send(ctx context.Context, d Digest, now time.Time) (bool, error) {
	for _, it := range d.Items {
		body, err := ocsf.MarshalCompliance(ocsf.Control{ID: it.ID, Type: it.Type, Severity: it.Severity, AgentID: it.AgentID,
			Owner: d.Owner, Summary: it.Summary, Fix: it.Fix, Evidence: it.Evidence, FirstSeen: it.FirstSeen.UnixMilli(),
			Time: d.Slot.UnixMilli(), Fixed: it.Status == StatusFixed, New: it.Status == StatusNew})
		if err != nil {
			return false, err
		}
		if retry, err := o.n.Post(ctx, body, it.ID+"-"+strconv.FormatInt(d.Slot.Unix(), 10)+"-"+it.Status, now); err != nil {
			return retry, err
		}
	}
	return false, nil
}
