package eval

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
	"github.com/agentwatch/agentwatch/sim"
)

const scenarioDir = "../../testdata/scenarios"

func TestShippedScenarios(t *testing.T) {
	scs, err := LoadScenarios(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	attacks, benign := 0, 0
	techniques := map[string]bool{}
	for _, sc := range scs {
		switch sc.Label {
		case sim.LabelAttack:
			attacks++
			techniques[sc.Technique] = true
		case sim.LabelBenign:
			benign++
		}
		if sc.Description == "" {
			t.Errorf("%s: no description", sc.File)
		}
	}
	if attacks < 12 || benign < 6 {
		t.Fatalf("%d attack and %d benign scenarios, want at least 12 and 6", attacks, benign)
	}
	// The techniques the detection issue lists.
	for _, want := range []string{"T1078.004", "T1530", "T1098", "T1580", "T1526", "T1555.006", "T1552.007", "T1562.008", "T1098.003"} {
		if !techniques[want] {
			t.Errorf("no attack scenario for %s", want)
		}
	}
}

func TestParseScenarioErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown key", "name: x\nlabel: attack\ntechnik: T1530\n", "s.yaml: yaml: unmarshal errors:\n  line 3: field technik not found"},
		{"bad label", "name: x\nlabel: evil\nexpect: {agent: ops-agent}\n", "s.yaml:2: label: \"evil\""},
		{"bad technique", "name: x\nlabel: attack\ntechnique: TA0001\nexpect: {agent: ops-agent}\ninject: [{agent: ops-agent, system: k8s, action: x}]\n", "s.yaml:3: technique"},
		{"bad offset", "name: x\nlabel: benign\nexpect: {agent: ops-agent}\ninject:\n  - at: soon\n", "line 5: offset \"soon\""},
		{"unknown inject agent", "name: x\nlabel: attack\ntechnique: T1530\nexpect: {agent: ops-agent}\ninject:\n  - {at: 1d, agent: ghost, system: s, action: a}\n", "s.yaml:6: inject[0].agent: \"ghost\" is not in the background fleet"},
		{"bad change", "name: x\nlabel: benign\nexpect: {agent: ops-agent}\nchanges:\n  - {type: subnet, agent: ops-agent, network: 10.0.0.0/8}\n", "s.yaml:5: changes[0]: network"},
		{"bad kind", "name: x\nlabel: benign\nbackground: {kinds: [robot]}\nexpect: {agent: ops-agent}\n", "s.yaml:3: background.kinds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario("s.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseOffset(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"14d10h30m": 14*24*time.Hour + 10*time.Hour + 30*time.Minute, "2d": 48 * time.Hour, "90s": 90 * time.Second, "1500ms": 1500 * time.Millisecond,
	} {
		if got, err := ParseOffset(in); err != nil || got != want {
			t.Errorf("ParseOffset(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "3x", "-5m", "1d-2h"} {
		if _, err := ParseOffset(bad); err == nil {
			t.Errorf("ParseOffset(%q) accepted", bad)
		}
	}
}

func TestExpand(t *testing.T) {
	sc, err := ParseScenario("s.yaml", []byte(`
name: x
label: attack
technique: T1530
background: {kinds: [data-analyst], days: 2, seed: 5}
expect: {agent: data-analyst}
inject:
  - at: 1d10h
    agent: data-analyst
    count: 3
    every: 2s
    system: aws:s3
    actions: [s3:ListBucket, s3:GetObject]
    resource: "arn:aws:s3:::b/{date}/o-{i:03}"
    src_ip: 192.0.2.7
`))
	if err != nil {
		t.Fatal(err)
	}
	x, err := sc.expand()
	if err != nil {
		t.Fatal(err)
	}
	if len(x.injected) != 3 {
		t.Fatalf("%d injected events, want 3", len(x.injected))
	}
	ev := x.injected[2].Event
	if ev.Action != "s3:ListBucket" || ev.Resource != "arn:aws:s3:::b/2026-11-03/o-002" || ev.SrcIP != "192.0.2.7" ||
		ev.CredentialType != schemas.CredSTSSession || !ev.Time.Equal(x.fleet.Start().Add(34*time.Hour+4*time.Second)) {
		t.Fatalf("third injected event: %+v", ev)
	}
	if l := x.injected[0]; l.Label != sim.LabelAttack || l.Incident != "x" || l.Technique != "T1530" {
		t.Fatalf("labels: %+v", l)
	}
	var last time.Time
	n, seen := 0, 0
	err = x.events(func(l sim.Labeled) error {
		if l.Event.Time.Before(last) {
			t.Fatalf("merged stream out of order at %s", l.Event.EventID)
		}
		last = l.Event.Time
		n++
		if l.Label == sim.LabelAttack {
			seen++
		}
		return nil
	})
	if err != nil || seen != 3 || n < 100 {
		t.Fatalf("merged stream: %d events, %d attack, err %v", n, seen, err)
	}
}

// stubDetector alerts on every event from outside 10.0.0.0/8 (one alert per
// agent, updated on repeats), and once, as a planted false positive, on the
// first event it sees after two simulated days.
type stubDetector struct {
	inv      *inventory.Inventory
	open     map[string]*schemas.Alert
	start    time.Time
	falsePos bool
}

func (d *stubDetector) Process(ev *schemas.AgentEvent) []schemas.Alert {
	if d.start.IsZero() {
		d.start = ev.Time
	}
	if !d.falsePos && ev.Time.Sub(d.start) > 48*time.Hour {
		d.falsePos = true
		return []schemas.Alert{{ID: "fp", DedupKey: ev.AgentID + "|stub.fp|", Detector: "stub.fp", Severity: schemas.SeverityLow,
			Identity: schemas.Identity{AgentID: ev.AgentID}, Summary: "planted", FirstSeen: ev.Time, LastSeen: ev.Time, Count: 1,
			Status: schemas.StatusFiring, EventIDs: []string{ev.EventID}}}
	}
	ip, err := netip.ParseAddr(ev.SrcIP)
	if err != nil || netip.MustParsePrefix("10.0.0.0/8").Contains(ip) {
		return nil
	}
	a := d.open[ev.AgentID]
	if a == nil {
		a = &schemas.Alert{ID: "n-" + ev.AgentID, DedupKey: ev.AgentID + "|stub.network|", Detector: "stub.network", Severity: schemas.SeverityHigh,
			Identity: schemas.Identity{AgentID: ev.AgentID}, Summary: "new network", FirstSeen: ev.Time, Status: schemas.StatusFiring}
		d.open[ev.AgentID] = a
	}
	a.LastSeen = ev.Time
	a.Count++
	if len(a.EventIDs) < schemas.MaxAlertEventIDs {
		a.EventIDs = append(a.EventIDs, ev.EventID)
	}
	return []schemas.Alert{*a}
}

func (d *stubDetector) Advance(time.Time) []schemas.Alert { return nil }

func TestRunScoresStubDetector(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", `
name: from-outside
label: attack
technique: T1078.004
background: {kinds: [ops-agent], days: 3, seed: 9}
expect: {agent: ops-agent, detectors: [stub]}
inject:
  - {at: 3d10h, agent: ops-agent, count: 5, every: 1m, system: aws:cloudwatch, action: cloudwatch:DescribeAlarms, src_ip: 203.0.113.9}
`)
	write("b.yaml", `
name: blind-spot
label: attack
technique: T1562.008
background: {kinds: [ops-agent], days: 3, seed: 9}
expect: {agent: ops-agent}
inject:
  - {at: 3d11h, agent: ops-agent, system: aws:cloudtrail, action: cloudtrail:StopLogging}
`)
	write("c.yaml", `
name: calm
label: benign
background: {kinds: [ops-agent], days: 6, tail_days: 1, seed: 9}
expect: {agent: ops-agent}
`)
	scs, err := LoadScenarios(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep, err := Run(context.Background(), scs, func(inv *inventory.Inventory) (Detector, error) {
		if inv.Get("ops-agent") == nil {
			t.Fatalf("detector built without the fleet's inventory")
		}
		return &stubDetector{inv: inv, open: map[string]*schemas.Alert{}}, nil
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Attacks != 2 || rep.Caught != 1 || rep.Recall() != 0.5 {
		t.Fatalf("attacks %d caught %d recall %v, want 2, 1, 0.5", rep.Attacks, rep.Caught, rep.Recall())
	}
	// One true positive (the network alert, updated four times, counts
	// once) and three planted false positives, one per scenario.
	if rep.TP != 1 || rep.FP != 3 {
		t.Fatalf("TP %d FP %d, want 1 and 3", rep.TP, rep.FP)
	}
	if got := rep.Scenarios[0]; got.Name != "from-outside" || !got.Caught || got.Detector != "stub.network" || got.TimeToDetect != 0 {
		t.Fatalf("from-outside: %+v", got)
	}
	if m := rep.Missed(); len(m) != 1 || m[0] != "blind-spot" {
		t.Fatalf("missed %v", m)
	}
	if err := rep.MeetsTargets(); err == nil || !strings.Contains(err.Error(), "missed attacks: blind-spot") {
		t.Fatalf("MeetsTargets: %v", err)
	}
	// 3 planted alerts over 4+4+7 days of one agent.
	if got, want := rep.BenignPerAgentWeek(), 3/(15.0/7); got < want-0.01 || got > want+0.01 {
		t.Fatalf("benign per agent-week %.3f, want %.3f", got, want)
	}
	for _, re := range []string{`(?m)^from-outside\s+attack\s+T1078\.004\s+ops-agent\s+caught\s+stub\.network\s+0s`, `(?m)^blind-spot\s.*MISSED`,
		`OVERALL  recall 1/2 = 0\.50   precision 1/4 = 0\.25`, `(?m)^stub\.network\s+1\s+1\s+0\.50\s+1\s+0\s+1\.00`, `MISSED   blind-spot`} {
		if !regexp.MustCompile(re).MatchString(out.String()) {
			t.Errorf("report does not match %q:\n%s", re, out.String())
		}
	}
	// Same input, same report.
	var again strings.Builder
	if _, err := Run(context.Background(), scs, func(inv *inventory.Inventory) (Detector, error) {
		return &stubDetector{inv: inv, open: map[string]*schemas.Alert{}}, nil
	}, &again); err != nil || again.String() != out.String() {
		t.Fatalf("second run differs (err %v)", err)
	}
}

func TestRunHonoursContext(t *testing.T) {
	scs, err := LoadScenarios(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Run(ctx, scs, func(inv *inventory.Inventory) (Detector, error) {
		return &stubDetector{inv: inv, open: map[string]*schemas.Alert{}}, nil
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled run: %v", err)
	}
}
