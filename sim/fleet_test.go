package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

var errLimit = errors.New("limit reached")

// streamDigest runs the whole stream, checks the invariants every event
// must hold, and returns a digest of it plus per-label counts.
func streamDigest(t *testing.T, f *Fleet, limit int) (string, map[string]int, []Labeled) {
	t.Helper()
	h := sha256.New()
	counts := map[string]int{}
	var attacks []Labeled
	var last time.Time
	ids := map[string]bool{}
	n := 0
	err := f.Events(func(l Labeled) error {
		if n++; limit > 0 && n > limit {
			return errLimit
		}
		ev := &l.Event
		if ev.Time.Before(last) {
			t.Fatalf("event %s at %v comes after %v: stream not in time order", ev.EventID, ev.Time, last)
		}
		last = ev.Time
		if err := ev.Validate(); err != nil {
			t.Fatalf("event %s: %v", ev.EventID, err)
		}
		if ids[ev.EventID] {
			t.Fatalf("event id %s repeated", ev.EventID)
		}
		ids[ev.EventID] = true
		if ev.Time.Before(f.Start()) || ev.Time.After(f.End().Add(time.Hour)) {
			t.Fatalf("event %s at %v outside the simulation [%v, %v]", ev.EventID, ev.Time, f.Start(), f.End())
		}
		switch l.Label {
		case LabelBenign:
			if l.Incident != "" || l.Technique != "" {
				t.Fatalf("benign event %s carries incident %q technique %q", ev.EventID, l.Incident, l.Technique)
			}
		case LabelAttack:
			if l.Incident == "" || !strings.HasPrefix(l.Technique, "T") {
				t.Fatalf("attack event %s lacks incident or technique: %+v", ev.EventID, l)
			}
			attacks = append(attacks, l)
		default:
			t.Fatalf("event %s has label %q", ev.EventID, l.Label)
		}
		counts[l.Label]++
		// Hash the fields that vary (cheaper than encoding every event).
		for _, f := range []string{ev.EventID, ev.Time.Format(time.RFC3339Nano), ev.AgentID, ev.AgentInstance, ev.Principal,
			ev.CredentialID, ev.OnBehalfOf, ev.Action, ev.System, ev.Resource, ev.Outcome, ev.SrcIP, ev.UserAgent,
			strconv.FormatInt(ev.Bytes, 10), strconv.FormatInt(ev.Records, 10), l.Label, l.Incident, l.Technique} {
			h.Write([]byte(f))
			h.Write([]byte{0})
		}
		return nil
	})
	if err != nil && err != errLimit {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), counts, attacks
}

func TestFleetDeterministicAndLabelled(t *testing.T) {
	f1, err := NewFleet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	d1, counts, attacks := streamDigest(t, f1, 0)
	f2, _ := NewFleet(DefaultConfig())
	d2, _, _ := streamDigest(t, f2, 0)
	if d1 != d2 {
		t.Fatalf("same seed, different streams: %s vs %s", d1, d2)
	}
	// Events is repeatable on one fleet too.
	if d3, _, _ := streamDigest(t, f1, 0); d3 != d1 {
		t.Fatalf("second Events call on the same fleet differs")
	}
	cfg := DefaultConfig()
	cfg.Seed = 2
	f3, _ := NewFleet(cfg)
	// A different seed differs from the start (compare the first events).
	p1, _, _ := streamDigest(t, f1, 2000)
	if p2, _, _ := streamDigest(t, f3, 2000); p2 == p1 {
		t.Fatalf("seeds 1 and 2 gave the same stream")
	}
	total := counts[LabelBenign] + counts[LabelAttack]
	if total < 25_000 || total > 70_000 {
		t.Errorf("default fleet made %d events, want 25k-70k so the demo stays fast but realistic", total)
	}
	incs := f1.Incidents()
	if len(incs) < 4 {
		t.Fatalf("want at least 4 incidents, got %d", len(incs))
	}
	for _, inc := range incs {
		var first, last time.Time
		n := 0
		for _, l := range attacks {
			if l.Incident != inc.ID {
				continue
			}
			n++
			if l.Event.AgentID != inc.AgentID || l.Technique != inc.Technique {
				t.Errorf("%s: event %s by %s/%s, incident says %s/%s", inc.ID, l.Event.EventID, l.Event.AgentID, l.Technique, inc.AgentID, inc.Technique)
			}
			if first.IsZero() {
				first = l.Event.Time
			}
			last = l.Event.Time
		}
		if n == 0 || !first.Equal(inc.Start) || !last.Equal(inc.End) {
			t.Errorf("%s: %d events from %v to %v, incident says %v to %v", inc.ID, n, first, last, inc.Start, inc.End)
		}
		if inc.Start.Before(f1.IncidentDay()) {
			t.Errorf("%s starts %v, before the incident day %v", inc.ID, inc.Start, f1.IncidentDay())
		}
	}
}

func TestFleetRhythm(t *testing.T) {
	f, err := NewFleet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	perKindHour := map[string]*[7][24]int{}
	credentials := map[string]map[string]bool{}
	err = f.Events(func(l Labeled) error {
		if l.Label != LabelBenign {
			return nil
		}
		ev := l.Event
		k := f.AgentKind(ev.AgentID)
		if perKindHour[k] == nil {
			perKindHour[k] = &[7][24]int{}
		}
		perKindHour[k][ev.Time.Weekday()][ev.Time.Hour()]++
		if credentials[k] == nil {
			credentials[k] = map[string]bool{}
		}
		credentials[k][ev.CredentialType] = true
		if k == KindSupport && !strings.HasPrefix(ev.OnBehalfOf, "customer:cus_") {
			t.Fatalf("support bot event %s on behalf of %q, want a customer", ev.EventID, ev.OnBehalfOf)
		}
		if a := f.Inventory().Get(ev.AgentID); a == nil || !a.Playground.AllowsAction(ev.Action) ||
			!a.Playground.AllowsSystem(ev.System) || !a.Playground.AllowsResource(ev.Resource) || !a.Playground.AllowsTime(ev.Time) {
			t.Fatalf("benign event outside its agent's declared playground: %+v", ev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := func(k string, days []time.Weekday, h0, h1 int) int {
		n := 0
		for _, d := range days {
			for h := h0; h < h1; h++ {
				n += perKindHour[k][d][h]
			}
		}
		return n
	}
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	weekend := []time.Weekday{time.Saturday, time.Sunday}
	if n := sum(KindSales, weekend, 0, 24); n != 0 {
		t.Errorf("sales agent sent %d events at weekends, want none", n)
	}
	if day, night := sum(KindSupport, weekdays, 9, 12), sum(KindSupport, weekdays, 1, 4); day < 3*night {
		t.Errorf("support bot: %d events 09-12 vs %d 01-04, want a clear daily rhythm", day, night)
	}
	if wd, we := sum(KindSupport, weekdays, 0, 24)/5, sum(KindSupport, weekend, 0, 24)/2; we*10 > wd*8 {
		t.Errorf("support bot: %d per weekday vs %d per weekend day, want a weekly rhythm", wd, we)
	}
	if batch := sum(KindData, []time.Weekday{time.Sunday}, 2, 3); batch == 0 {
		t.Errorf("data agent: no nightly batch on Sunday 02:00")
	}
	for _, k := range []string{KindSupport, KindData, KindOps} {
		if credentials[k][schemas.CredStaticKey] {
			t.Errorf("%s used a static key; only the sales agent should", k)
		}
	}
	if !credentials[KindSales][schemas.CredStaticKey] || !credentials[KindData][schemas.CredSTSSession] || !credentials[KindCI][schemas.CredJWT] {
		t.Errorf("credential mix: %v", credentials)
	}
}

func TestFleetInventory(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Agents = 2
	f, err := NewFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inv := f.Inventory()
	want := []string{"ci-deploy", "ci-deploy-2", "data-analyst", "data-analyst-2", DecommissionedID, "ops-agent", "ops-agent-2",
		"sales-email", "sales-email-2", "support-bot", "support-bot-2"}
	if got := inv.IDs(); !slices.Equal(got, want) {
		t.Fatalf("inventory ids %v, want %v", got, want)
	}
	if a := inv.Get(DecommissionedID); a.Status != inventory.StatusDecommissioned {
		t.Fatalf("legacy agent status %q", a.Status)
	}
	again, err := inventory.Parse("again.yaml", f.InventoryYAML())
	if err != nil {
		t.Fatalf("InventoryYAML does not load: %v", err)
	}
	if got := again.Get("support-bot").Playground.CredentialPolicy.MaxAge; time.Duration(got) != 2*time.Hour {
		t.Fatalf("max_age round trip: %v", time.Duration(got))
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		key  string
	}{
		{"too few days", func(c *Config) { c.Days = 3 }, "days"},
		{"negative agents", func(c *Config) { c.Agents = -1 }, "agents"},
		{"unknown kind", func(c *Config) { c.Kinds = []string{"robot"} }, "kinds"},
		{"bad change", func(c *Config) { c.Changes = []Change{{Type: "teleport", Agent: "ops-agent"}} }, "changes[0]: type"},
		{"bad subnet", func(c *Config) {
			c.Changes = []Change{{Type: ChangeSubnet, Agent: "ops-agent", Network: "10.0.0.0/16"}}
		}, "changes[0]: network"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			_, err := NewFleet(c)
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("error %v, want one naming %q", err, tc.key)
			}
		})
	}
	c := DefaultConfig()
	c.Changes = []Change{{Type: ChangeRate, Agent: "nobody", Factor: 2}}
	if _, err := NewFleet(c); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Fatalf("unknown change agent: %v", err)
	}
}

func TestChanges(t *testing.T) {
	cfg := Config{Kinds: []string{KindOps}, Days: 4, Seed: 3, NoIncidents: true, Changes: []Change{
		{Type: ChangeSubnet, Agent: "ops-agent", From: 48 * time.Hour, Network: "10.60.99.0/24"},
		{Type: ChangeRate, Agent: "ops-agent", From: 72 * time.Hour, Factor: 0},
		{Type: ChangeNewInstance, Agent: "ops-agent", From: 24 * time.Hour, Instance: "ops-agent-extra"},
	}}
	f, err := NewFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Incidents()) != 0 {
		t.Fatalf("NoIncidents fleet has incidents")
	}
	var before, after, lull, extraEarly, extraLate int
	err = f.Events(func(l Labeled) error {
		off := l.Event.Time.Sub(f.Start())
		moved := strings.HasPrefix(l.Event.SrcIP, "10.60.99.")
		switch {
		case off < 48*time.Hour && moved, off >= 48*time.Hour && off < 72*time.Hour && !moved:
			t.Fatalf("event at +%v from %s: subnet change not applied at +48h", off, l.Event.SrcIP)
		case off < 48*time.Hour:
			before++
		case off < 72*time.Hour:
			after++
		default:
			lull++
		}
		if l.Event.AgentInstance == "ops-agent-extra" {
			if off < 24*time.Hour {
				extraEarly++
			} else {
				extraLate++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A few restart sequences are not scaled by volume, by design: they
	// follow incidents, not load.
	if before == 0 || after == 0 || lull > 20 {
		t.Fatalf("before %d, after %d, lull %d", before, after, lull)
	}
	if extraEarly != 0 || extraLate == 0 {
		t.Fatalf("new instance: %d events before it started, %d after", extraEarly, extraLate)
	}
}

func TestEventAs(t *testing.T) {
	f, err := NewFleet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	at := f.IncidentDay().Add(3 * time.Hour)
	ev, err := f.EventAs("sales-email", "", at, "mcp:salesforce", "tools/call:get_contact", "salesforce://contacts/0030000001")
	if err != nil {
		t.Fatal(err)
	}
	if ev.CredentialType != schemas.CredStaticKey || ev.CredentialID == "" || ev.SrcIP == "" || ev.Source != "mcp" {
		t.Fatalf("EventAs identity: %+v", ev)
	}
	if _, err := f.EventAs("nobody", "", at, "x", "y", ""); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Fatalf("unknown agent: %v", err)
	}
}

func TestRotateKey(t *testing.T) {
	f, err := NewFleet(Config{Kinds: []string{KindSales}, Days: 3, Seed: 4, NoIncidents: true, Changes: []Change{
		{Type: ChangeRotateKey, Agent: "sales-email", From: 36 * time.Hour, KeyID: "key-sg-rotated"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var old, rotated int
	err = f.Events(func(l Labeled) error {
		ev := l.Event
		after := !ev.Time.Before(f.Start().Add(36 * time.Hour))
		switch {
		case after && ev.CredentialID == "key-sg-rotated" && ev.CredentialIssuedAt.Equal(f.Start().Add(36*time.Hour)):
			rotated++
		case !after && ev.CredentialID != "key-sg-rotated":
			old++
		default:
			t.Fatalf("event at %v uses key %s issued %v", ev.Time, ev.CredentialID, ev.CredentialIssuedAt)
		}
		return nil
	})
	if err != nil || old == 0 || rotated == 0 {
		t.Fatalf("old key %d events, rotated %d, err %v", old, rotated, err)
	}
}
