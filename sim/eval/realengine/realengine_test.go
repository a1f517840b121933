package realengine

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
	"github.com/agentwatch/agentwatch/sim"
	"github.com/agentwatch/agentwatch/sim/eval"
)

func newEngine(inv *inventory.Inventory) (eval.Detector, error) {
	return detect.NewEngine(detect.DefaultConfig(), inv)
}

func TestScenariosAgainstEngine(t *testing.T) {
	if os.Getenv("AGENTWATCH_EVAL") == "" {
		t.Skip("set AGENTWATCH_EVAL=1 to run the scenario set through the real engine")
	}
	scs, err := eval.LoadScenarios("../../../testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	if only := os.Getenv("AGENTWATCH_EVAL_ONLY"); only != "" {
		var keep []eval.Scenario
		for _, s := range scs {
			if strings.Contains(s.Name, only) {
				keep = append(keep, s)
			}
		}
		scs = keep
	}
	start := time.Now()
	var out strings.Builder
	rep, err := eval.Run(context.Background(), scs, newEngine, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("eval took %v\n%s", time.Since(start), out.String())
	if err := rep.MeetsTargets(); err != nil {
		t.Error(err)
	}
}

func TestDemoFleetAgainstEngine(t *testing.T) {
	if os.Getenv("AGENTWATCH_EVAL") == "" {
		t.Skip("set AGENTWATCH_EVAL=1 to run the demo fleet through the real engine")
	}
	cfg := sim.DefaultConfig()
	// AGENTWATCH_EVAL_SEED and AGENTWATCH_EVAL_AGENTS vary the fleet.
	if v, err := strconv.ParseInt(os.Getenv("AGENTWATCH_EVAL_SEED"), 10, 64); err == nil {
		cfg.Seed = v
	}
	if v, err := strconv.Atoi(os.Getenv("AGENTWATCH_EVAL_AGENTS")); err == nil {
		cfg.Agents = v
	}
	f, err := sim.NewFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := detect.NewEngine(detect.DefaultConfig(), f.Inventory())
	if err != nil {
		t.Fatal(err)
	}
	sc := sim.NewScorer(f.Incidents())
	var lines strings.Builder
	obs := func(as []schemas.Alert, at time.Time) {
		for _, a := range as {
			if a.Status == schemas.StatusFiring && a.Count == 1 {
				lines.WriteString(a.Line() + "\n")
			}
			sc.Observe(a, at)
		}
	}
	start := time.Now()
	tick := f.Start().Add(time.Hour)
	n := 0
	err = f.Events(func(l sim.Labeled) error {
		for !l.Event.Time.Before(tick) {
			obs(eng.Advance(tick), tick)
			tick = tick.Add(time.Hour)
		}
		n++
		sc.ObserveEvent(l)
		ev := l.Event
		obs(eng.Process(&ev), ev.Time)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for ; !tick.After(f.End().Add(2 * time.Hour)); tick = tick.Add(time.Hour) {
		obs(eng.Advance(tick), tick)
	}
	var sum strings.Builder
	if err := sc.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	for _, a := range sc.Result().BenignAlerts {
		groups[a.Identity.AgentID+" "+a.Detector]++
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var by strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&by, "  %-50s %d\n", k, groups[k])
	}
	if os.Getenv("AGENTWATCH_EVAL_LINES") == "" {
		lines.Reset()
	}
	t.Logf("%d events in %v\n%s\n%s\nbenign alerts by agent and detector:\n%s", n, time.Since(start), lines.String(), sum.String(), by.String())
	if r := sc.Result(); r.Missed > 0 {
		t.Errorf("%d incidents missed", r.Missed)
	}
}
