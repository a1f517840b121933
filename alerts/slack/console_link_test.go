package slack

import (
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
)

func TestBlocksLinkToTheConsole(t *testing.T) {
	a := notify.TestAlert("slack", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	d := notify.Delivery{Alert: a, Now: a.LastSeen, ConsoleURL: notify.IncidentURL("https://aw.example/", a.ID)}
	var texts []string
	for _, b := range Blocks(d, "") {
		if b.Text != nil {
			texts = append(texts, b.Text.Text)
		}
	}
	want := "<https://aw.example/incidents/" + a.ID + "|Open the incident in the agentwatch console>"
	if !strings.Contains(strings.Join(texts, "\n"), want) {
		t.Errorf("blocks lack the console link %q", want)
	}
	d.ConsoleURL = ""
	for _, b := range Blocks(d, "") {
		if b.Text != nil && strings.Contains(b.Text.Text, "agentwatch console") {
			t.Error("a console link without console.external_url")
		}
	}
}
