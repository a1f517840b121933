package eval

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
	"github.com/agentwatch/agentwatch/sim"
)

// Detector is what the harness runs events through: the detect engine, or
// anything with its two methods.
type Detector interface {
	Process(*schemas.AgentEvent) []schemas.Alert
	Advance(time.Time) []schemas.Alert
}

// ScenarioResult is how one scenario fared.
type ScenarioResult struct {
	Name, Label, Technique, Agent string
	Events                        int
	// Caught: for an attack, an expected detector alerted on the expected
	// agent about the injected events.
	Caught       bool
	Detector     string        // the first detector that caught it
	TimeToDetect time.Duration // first malicious event to that alert
	AttackAlerts []schemas.Alert
	BenignAlerts []schemas.Alert
	AgentWeeks   float64 // agents x simulated weeks of benign traffic
	// WorstAgentRate is the highest benign alert count of one agent divided
	// by the simulated weeks.
	WorstAgentRate float64
	WorstAgent     string
}

// DetectorStats aggregates one detector over all scenarios.
type DetectorStats struct {
	Detector string
	TP, FP   int // alerts about attacks / on benign traffic
	// Caught counts attack scenarios this detector caught (was expected
	// and alerted); Flagged counts attack scenarios it alerted about at all.
	Caught, Flagged int
	TTDs            []time.Duration
}

// Precision is TP/(TP+FP), or -1 without alerts.
func (d DetectorStats) Precision() float64 { return ratio(d.TP, d.TP+d.FP) }

// Report is the outcome of a Run.
type Report struct {
	Scenarios  []ScenarioResult
	Detectors  []DetectorStats // sorted by name
	Attacks    int
	Caught     int
	TP, FP     int
	AgentWeeks float64
	TTDs       []time.Duration // of caught attacks
}

// Recall is caught attacks / attacks, or -1 without attacks.
func (r Report) Recall() float64 { return ratio(r.Caught, r.Attacks) }

// Precision is attack alerts / all alerts, or -1 without alerts.
func (r Report) Precision() float64 { return ratio(r.TP, r.TP+r.FP) }

// BenignPerAgentWeek is the overall benign alert rate.
func (r Report) BenignPerAgentWeek() float64 {
	if r.AgentWeeks == 0 {
		return 0
	}
	return float64(r.FP) / r.AgentWeeks
}

// Missed names the attack scenarios not caught.
func (r Report) Missed() []string {
	var out []string
	for _, s := range r.Scenarios {
		if s.Label == sim.LabelAttack && !s.Caught {
			out = append(out, s.Name)
		}
	}
	return out
}

// Noisy names the scenarios where one agent got more than one benign alert
// per simulated week (the quietness target).
func (r Report) Noisy() []string {
	var out []string
	for _, s := range r.Scenarios {
		if s.WorstAgentRate > 1 {
			out = append(out, s.Name)
		}
	}
	return out
}

// MeetsTargets returns nil when every attack was caught and no scenario
// was noisy, else an error naming the scenarios that failed; a command can
// exit non-zero on it.
func (r Report) MeetsTargets() error {
	var parts []string
	if m := r.Missed(); len(m) > 0 {
		parts = append(parts, "missed attacks: "+strings.Join(m, ", "))
	}
	if n := r.Noisy(); len(n) > 0 {
		parts = append(parts, "more than one benign alert per agent per simulated week: "+strings.Join(n, ", "))
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("eval targets not met: %s", strings.Join(parts, "; "))
}

func ratio(a, b int) float64 {
	if b == 0 {
		return -1
	}
	return float64(a) / float64(b)
}

// Run expands each scenario, runs it through a fresh detector from
// newDetector with compressed time (the detector's clock is advanced at
// every simulated hour boundary, and two hours past the end so windows
// close), scores the alerts, and writes the report to w.
func Run(ctx context.Context, scenarios []Scenario, newDetector func(inv *inventory.Inventory) (Detector, error), w io.Writer) (Report, error) {
	var rep Report
	for i := range scenarios {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("eval: %w", err)
		}
		res, err := runOne(ctx, &scenarios[i], newDetector)
		if err != nil {
			return rep, err
		}
		rep.Scenarios = append(rep.Scenarios, res)
	}
	rep.aggregate()
	if w != nil {
		if err := rep.Write(w); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func runOne(ctx context.Context, sc *Scenario, newDetector func(*inventory.Inventory) (Detector, error)) (ScenarioResult, error) {
	res := ScenarioResult{Name: sc.Name, Label: sc.Label, Technique: sc.Technique, Agent: sc.Expect.Agent}
	x, err := sc.expand()
	if err != nil {
		return res, err
	}
	det, err := newDetector(x.fleet.Inventory())
	if err != nil {
		return res, fmt.Errorf("scenario %s: new detector: %w", sc.Name, err)
	}
	var incidents []sim.Incident
	if sc.Label == sim.LabelAttack {
		incidents = []sim.Incident{{ID: sc.Name, Description: sc.Description, Technique: sc.Technique, AgentID: sc.Expect.Agent,
			Start: x.start, End: x.end, ExpectDetectors: sc.Expect.Detectors}}
	}
	scorer := sim.NewScorer(incidents)
	observe := func(as []schemas.Alert, at time.Time) {
		for _, a := range as {
			scorer.Observe(a, at)
		}
	}
	tick := x.fleet.Start().Add(time.Hour)
	err = x.events(func(l sim.Labeled) error {
		for !l.Event.Time.Before(tick) {
			observe(det.Advance(tick), tick)
			tick = tick.Add(time.Hour)
		}
		res.Events++
		if res.Events%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		scorer.ObserveEvent(l)
		ev := l.Event
		observe(det.Process(&ev), l.Event.Time)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	for end := x.fleet.End().Add(2 * time.Hour); !tick.After(end); tick = tick.Add(time.Hour) {
		observe(det.Advance(tick), tick)
	}
	r := scorer.Result()
	if len(r.Incidents) == 1 {
		ir := r.Incidents[0]
		res.Caught, res.Detector, res.TimeToDetect, res.AttackAlerts = ir.Caught, ir.Detector, ir.TimeToDetect, ir.Matched
	}
	res.BenignAlerts = r.BenignAlerts
	// Agent-weeks as the scorer counts them for the demo (agents with
	// benign traffic, over the weeks observed), so both report one rate.
	weeks := r.Weeks
	res.AgentWeeks = float64(r.Agents) * weeks
	perAgent := map[string]int{}
	for _, a := range r.BenignAlerts {
		perAgent[a.Identity.AgentID]++
	}
	for _, id := range slices.Sorted(maps.Keys(perAgent)) {
		if rate := float64(perAgent[id]) / weeks; rate > res.WorstAgentRate {
			res.WorstAgentRate, res.WorstAgent = rate, id
		}
	}
	return res, nil
}

func (r *Report) aggregate() {
	byDet := map[string]*DetectorStats{}
	get := func(d string) *DetectorStats {
		if byDet[d] == nil {
			byDet[d] = &DetectorStats{Detector: d}
		}
		return byDet[d]
	}
	for _, s := range r.Scenarios {
		r.AgentWeeks += s.AgentWeeks
		r.TP += len(s.AttackAlerts)
		r.FP += len(s.BenignAlerts)
		if s.Label == sim.LabelAttack {
			r.Attacks++
			if s.Caught {
				r.Caught++
				r.TTDs = append(r.TTDs, s.TimeToDetect)
			}
		}
		flagged := map[string]bool{}
		for _, a := range s.AttackAlerts {
			d := get(a.Detector)
			d.TP++
			if !flagged[a.Detector] {
				flagged[a.Detector] = true
				d.Flagged++
			}
		}
		if s.Caught {
			d := get(s.Detector)
			d.Caught++
			d.TTDs = append(d.TTDs, s.TimeToDetect)
		}
		for _, a := range s.BenignAlerts {
			get(a.Detector).FP++
		}
	}
	for _, k := range slices.Sorted(maps.Keys(byDet)) {
		r.Detectors = append(r.Detectors, *byDet[k])
	}
}

// Write prints the per-scenario table, the per-detector table and the
// overall line.
func (r Report) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tLABEL\tTECHNIQUE\tAGENT\tRESULT\tFIRST DETECTOR\tTTD\tATTACK ALERTS\tBENIGN ALERTS\tWORST AGENT/WK")
	for _, s := range r.Scenarios {
		result, det, ttd, tech := "quiet", "-", "-", s.Technique
		if tech == "" {
			tech = "-"
		}
		if s.Label == sim.LabelAttack {
			result = "MISSED"
			if s.Caught {
				result, det, ttd = "caught", s.Detector, fmtDur(s.TimeToDetect)
			}
		} else if s.WorstAgentRate > 1 {
			result = "NOISY"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.2f\n", s.Name, s.Label, tech, s.Agent, result, det, ttd,
			len(s.AttackAlerts), len(s.BenignAlerts), s.WorstAgentRate)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "DETECTOR\tCAUGHT\tFLAGGED\tRECALL\tATTACK ALERTS\tBENIGN ALERTS\tPRECISION\tBENIGN/AGENT/WK\tMEDIAN TTD")
	for _, d := range r.Detectors {
		med := "-"
		if len(d.TTDs) > 0 {
			med = fmtDur(median(d.TTDs))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%d\t%d\t%s\t%.3f\t%s\n", d.Detector, d.Caught, d.Flagged, fmtRatio(ratio(d.Flagged, r.Attacks)),
			d.TP, d.FP, fmtRatio(d.Precision()), float64(d.FP)/max(r.AgentWeeks, 1e-9), med)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write eval report: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nOVERALL  recall %d/%d = %s   precision %d/%d = %s   benign alerts per agent per simulated week %.3f (%d over %.1f agent-weeks; target <= 1)",
		r.Caught, r.Attacks, fmtRatio(r.Recall()), r.TP, r.TP+r.FP, fmtRatio(r.Precision()), r.BenignPerAgentWeek(), r.FP, r.AgentWeeks)
	if len(r.TTDs) > 0 {
		fmt.Fprintf(&b, "   time to detect median %s max %s", fmtDur(median(r.TTDs)), fmtDur(slices.Max(r.TTDs)))
	}
	b.WriteString("\n")
	if m := r.Missed(); len(m) > 0 {
		fmt.Fprintf(&b, "MISSED   %s\n", strings.Join(m, ", "))
	}
	if n := r.Noisy(); len(n) > 0 {
		fmt.Fprintf(&b, "NOISY    %s (some agent got more than one benign alert per simulated week)\n", strings.Join(n, ", "))
	}
	for _, s := range r.Scenarios {
		for _, a := range s.BenignAlerts {
			fmt.Fprintf(&b, "  benign alert in %s: %s %s [%s] %s\n", s.Name, a.FirstSeen.UTC().Format("2006-01-02 15:04"), a.Identity.AgentID, a.Detector, a.Summary)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write eval report: %w", err)
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func fmtRatio(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtDur(d time.Duration) string { return d.Round(time.Second).String() }
