package slack

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/schemas"
)

// Block Kit limits Slack enforces.
const (
	MaxBlocks      = 50
	MaxHeaderText  = 150
	MaxSectionText = 3000
	MaxFieldText   = 2000
)

// Message is a chat message body (webhook or Web API).
type Message struct {
	Channel  string  `json:"channel,omitempty"`
	TS       string  `json:"ts,omitempty"`
	ThreadTS string  `json:"thread_ts,omitempty"`
	Text     string  `json:"text"`
	Blocks   []Block `json:"blocks,omitempty"`
}

// Block is one Block Kit block; only the fields we use.
type Block struct {
	Type     string  `json:"type"`
	Text     *Text   `json:"text,omitempty"`
	Fields   []*Text `json:"fields,omitempty"`
	Elements []*Text `json:"elements,omitempty"`
}

// Text is a text object.
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func mrkdwn(s string, max int) *Text { return &Text{Type: "mrkdwn", Text: notify.Truncate(s, max)} }

// Escape escapes the three characters Slack's mrkdwn treats as control.
var Escape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

var severityEmoji = map[schemas.Severity]string{
	schemas.SeverityCritical: "🔴", schemas.SeverityHigh: "🟠", schemas.SeverityMedium: "🟡",
	schemas.SeverityLow: "🔵", schemas.SeverityInfo: "⚪",
}

// Blocks renders the alert: header (severity, agent), what happened, the
// incident's scope (events, distinct resources, actions), the identity block, evidence beside baseline, first/last seen and count, and
// the SQL to investigate; change, when set, says what changed since the
// last message.
func Blocks(d notify.Delivery, change string) []Block {
	a := d.Alert
	head := severityEmoji[a.Severity] + " " + strings.ToUpper(string(a.Severity)) + " · " + a.Identity.AgentID
	switch {
	case d.Test:
		head = "🧪 TEST · " + head
	case a.Status == schemas.StatusResolved:
		head = "✅ RESOLVED · " + strings.ToUpper(string(a.Severity)) + " · " + a.Identity.AgentID
	}
	blocks := []Block{{Type: "header", Text: &Text{Type: "plain_text", Text: notify.Truncate(head, MaxHeaderText)}}}

	what := "*" + Escape(a.Summary) + "*"
	if a.Reason != "" {
		what += "\n" + Escape(a.Reason)
	}
	if a.Status == schemas.StatusResolved {
		what = "*Resolved:* behaviour is back inside the baseline.\n" + what
	}
	blocks = append(blocks, Block{Type: "section", Text: mrkdwn(what, MaxSectionText)})

	// The incident's scope: one message stands for every event that
	// crossed the same boundary, so it says how many and which.
	if lines := notify.ScopeLines(a); len(lines) > 0 {
		var b strings.Builder
		b.WriteString("*Incident*")
		for _, l := range lines {
			b.WriteString("\n• " + Escape(l))
		}
		blocks = append(blocks, Block{Type: "section", Text: mrkdwn(b.String(), MaxSectionText)})
	}

	var fields []*Text
	for _, f := range notify.IdentityFields(a, d.Now) {
		fields = append(fields, mrkdwn("*"+f.Name+"*\n"+Escape(f.Value), MaxFieldText))
	}
	blocks = append(blocks, Block{Type: "section", Fields: fields})

	if len(a.Evidence) > 0 {
		var b strings.Builder
		b.WriteString("*Evidence* (observed vs baseline)")
		for _, e := range a.Evidence {
			fmt.Fprintf(&b, "\n• %s: *%s* vs %s", Escape(e.Feature), Escape(orDash(e.Observed)), Escape(orDash(e.Baseline)))
		}
		blocks = append(blocks, Block{Type: "section", Text: mrkdwn(b.String(), MaxSectionText)})
	}

	seen := fmt.Sprintf("First seen %s · Last seen %s · Count %d · %s · score %d · %s boundary",
		a.FirstSeen.UTC().Format(time.RFC3339), a.LastSeen.UTC().Format(time.RFC3339), a.Count,
		Escape(a.Detector), a.Score, Escape(a.Boundary))
	blocks = append(blocks, Block{Type: "context", Elements: []*Text{mrkdwn(seen, MaxFieldText)}})

	query := "*Investigate*\n```" + Escape(notify.InvestigateQuery(a.Identity.AgentID)) + "```"
	blocks = append(blocks, Block{Type: "section", Text: mrkdwn(query, MaxSectionText)})
	if d.ConsoleURL != "" {
		blocks = append(blocks, Block{Type: "section", Text: mrkdwn("<"+Escape(d.ConsoleURL)+"|Open the incident in the agentwatch console>", MaxSectionText)})
	}

	if change != "" {
		blocks = append(blocks, Block{Type: "context", Elements: []*Text{mrkdwn("Updated: "+change, MaxFieldText)}})
	}
	return blocks
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
