package pagerduty

import (
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
)

func TestEventLinksToTheConsole(t *testing.T) {
	a := notify.TestAlert("pd", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	url := notify.IncidentURL("https://aw.example", a.ID)
	ev := Build(notify.Delivery{Key: a.DedupKey, Alert: a, Now: a.LastSeen, ConsoleURL: url}, "rk")
	if len(ev.Links) != 1 || ev.Links[0].Href != "https://aw.example/incidents/"+a.ID || ev.Payload.CustomDetails["console"] != url {
		t.Errorf("links = %+v, console detail = %v", ev.Links, ev.Payload.CustomDetails["console"])
	}
	if ev := Build(notify.Delivery{Key: a.DedupKey, Alert: a, Now: a.LastSeen}, "rk"); len(ev.Links) != 0 {
		t.Errorf("links without console.external_url: %+v", ev.Links)
	}
}
