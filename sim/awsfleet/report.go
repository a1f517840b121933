package awsfleet

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of an evaluation.
type Report struct {
	Manifest Manifest
	// Mode is "in process" or "stored alerts".
	Mode string
	// Objects read, events produced, dead letters, unattributed events
	// (by principal class).
	Objects, Events, DeadLetters, Unattributed int
	UnattributedBy                             map[string]int
	DeadSamples                                []string
	// Agents are the inventory's agents (the agent-week denominator).
	Agents []string
	Weeks  int
	// Alerts is the number of distinct alert ids; AttackAlerts of them
	// named attack records, Benign the others.
	Alerts, AttackAlerts int
	Attacks              []AttackResult
	Benign               []BenignAlert
	// Elapsed is how long reading and detecting took.
	Elapsed time.Duration
	// Target and MaxTTD are the goals MeetsTargets checks.
	Target float64
	MaxTTD time.Duration
}

// AttackResult is how one attack fared.
type AttackResult struct {
	ManifestAttack
	Events      int
	First, Last time.Time
	Caught      bool
	// Detector raised the first alert naming an attack record, on
	// AlertAgent (an agent, or an unattributed principal).
	Detector, AlertAgent string
	Alerts               int
	Detectors            []string
	// TTD is from the first attack record to that alert, in event time;
	// TTDDelivered counts CloudTrail's delivery as well (the object's time).
	TTD, TTDDelivered time.Duration
}

// BenignAlert is one alert that named no attack record.
type BenignAlert struct {
	ID, Detector, Agent string
	// Subject is what the alert is about (its dedup subject).
	Subject      string
	Unattributed bool
	// Group is the agent, or the class of an unattributed principal.
	Group     string
	Week      int
	FirstSeen time.Time
	// Fired is when it was first raised, in event time.
	Fired    time.Time
	Severity string
	Summary  string
	Count    int
	// Drift are the drifts whose records it named.
	Drift []string
}

// Caught counts caught attacks.
func (r *Report) Caught() int {
	n := 0
	for _, a := range r.Attacks {
		if a.Caught {
			n++
		}
	}
	return n
}

// MedianTTD is the median time to first alert of caught attacks (event
// time, and with delivery); ok is false when none was caught.
func (r *Report) MedianTTD() (ttd, delivered time.Duration, ok bool) {
	var a, b []time.Duration
	for _, x := range r.Attacks {
		if x.Caught {
			a, b = append(a, x.TTD), append(b, x.TTDDelivered)
		}
	}
	if len(a) == 0 {
		return 0, 0, false
	}
	slices.Sort(a)
	slices.Sort(b)
	return median(a), median(b), true
}

// median of a sorted list (the lower middle for an even count).
func median(s []time.Duration) time.Duration { return s[(len(s)-1)/2] }

// FalseInWeek counts benign alerts first raised in week w (all: -1).
func (r *Report) FalseInWeek(w int) int {
	n := 0
	for _, b := range r.Benign {
		if w < 0 || b.Week == w {
			n++
		}
	}
	return n
}

// PerAgentWeek is false alerts in week w per agent (all principals'
// alerts, agents' and unattributed, over the inventory's agents).
func (r *Report) PerAgentWeek(w int) float64 {
	if len(r.Agents) == 0 {
		return 0
	}
	return float64(r.FalseInWeek(w)) / float64(len(r.Agents))
}

// TestWeek is the index of the test week.
func (r *Report) TestWeek() int { return r.Weeks - 1 }

// MeetsTargets is nil when every attack was caught, the test week had at
// most Target false alerts per agent-week, and the median time to first
// alert is under MaxTTD; else an error naming what failed.
func (r *Report) MeetsTargets(target float64, maxTTD time.Duration) error {
	var parts []string
	var missed []string
	for _, a := range r.Attacks {
		if !a.Caught {
			missed = append(missed, a.ID)
		}
	}
	if len(missed) > 0 {
		parts = append(parts, "missed attacks: "+strings.Join(missed, ", "))
	}
	if v := r.PerAgentWeek(r.TestWeek()); v > target {
		parts = append(parts, fmt.Sprintf("%.2f false alerts per agent-week in the test week (target %.2g)", v, target))
	}
	if ttd, _, ok := r.MedianTTD(); ok && ttd >= maxTTD {
		parts = append(parts, fmt.Sprintf("median time to first alert %s (target under %s)", fmtD(ttd), maxTTD))
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("eval targets not met: %s", strings.Join(parts, "; "))
}

func fmtD(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	return d.Round(time.Second).String()
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Write prints the report: the fleet, attacks, false alerts by agent and
// week, by detector with examples, drift, and the overall line.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	m := r.Manifest
	fmt.Fprintf(&b, "FLEET    seed %d, %d weeks %s to %s (test week from %s), scale %g, account %s, %d agents\n", m.Seed, m.Weeks,
		m.Start.Format(time.DateOnly), m.End.Add(-time.Second).Format(time.DateOnly), m.TestWeek.Format(time.DateOnly), m.Scale, m.Account, len(r.Agents))
	fmt.Fprintf(&b, "READ     %s objects, %s events (%s attributed to agents; unattributed: %s), %d dead letters [%s]\n",
		thousands(r.Objects), thousands(r.Events), thousands(r.Events-r.Unattributed), r.unattributedText(), r.DeadLetters, r.Mode)
	for _, d := range r.DeadSamples {
		fmt.Fprintf(&b, "         dead letter: %s\n", d)
	}
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nATTACK\tVIA\tSTRATUS TECHNIQUE\tMITRE\tRECORDS\tRESULT\tFIRST ALERT\tON\tTIME TO ALERT\tWITH DELIVERY\tALERTS\tDETECTORS")
	for _, a := range r.Attacks {
		res, det, on, ttd, del := "MISSED", "-", "-", "-", "-"
		if a.Caught {
			res, det, on, ttd, del = "caught", a.Detector, a.AlertAgent, fmtD(a.TTD), fmtD(a.TTDDelivered)
			if r.Mode == "stored alerts" {
				del = "-" // a stored alert does not say when it was raised
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", a.ID, a.Agent, a.Stratus, a.Technique, a.Events, res, det,
			shortPrincipal(on), ttd, del, a.Alerts, strings.Join(a.Detectors, ","))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	ttd, del, ok := r.MedianTTD()
	fmt.Fprintf(&b, "caught %d/%d", r.Caught(), len(r.Attacks))
	if ok {
		fmt.Fprintf(&b, "; time to first alert: median %s in event time", fmtD(ttd))
		if r.Mode != "stored alerts" {
			fmt.Fprintf(&b, ", %s with CloudTrail's delivery", fmtD(del))
		}
	}
	b.WriteString("\n")
	r.writeWeeks(&b)
	r.writeDetectors(&b)
	r.writeDrift(&b)
	fmt.Fprintf(&b, "\nOVERALL  %s distinct alerts in %d weeks (%d about attacks, %s false); test week: %.2f false alerts per agent-week (target %.2g), learning weeks %.2f; attacks caught %d/%d",
		thousands(r.Alerts), r.Weeks, r.AttackAlerts, thousands(len(r.Benign)), r.PerAgentWeek(r.TestWeek()), r.Target,
		r.learningRate(), r.Caught(), len(r.Attacks))
	if ok {
		fmt.Fprintf(&b, "; median time to first alert %s", fmtD(ttd))
	}
	fmt.Fprintf(&b, "; %s\n", r.Elapsed.Round(10*time.Millisecond))
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r *Report) learningRate() float64 {
	if r.Weeks < 2 || len(r.Agents) == 0 {
		return 0
	}
	n := 0
	for w := range r.Weeks - 1 {
		n += r.FalseInWeek(w)
	}
	return float64(n) / float64(len(r.Agents)*(r.Weeks-1))
}

func (r *Report) unattributedText() string {
	var parts []string
	for _, c := range []string{ClassPerson, ClassNode, ClassService, ClassOther} {
		if n := r.UnattributedBy[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", thousands(n), c))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// shortPrincipal trims an ARN to its last two segments for tables.
func shortPrincipal(p string) string {
	if i := strings.LastIndex(p, ":"); i >= 0 && strings.HasPrefix(p, "arn:") {
		return p[i+1:]
	}
	return p
}

// groups lists the rows of the weekly table: the agents, then the
// unattributed classes that had alerts.
func (r *Report) groups() []string {
	out := slices.Clone(r.Agents)
	for _, c := range []string{ClassPerson, ClassNode, ClassService, ClassOther} {
		for _, x := range r.Benign {
			if x.Group == c {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func (r *Report) writeWeeks(b *strings.Builder) {
	fmt.Fprintf(b, "\nFALSE ALERTS  alerts that named no attack record, each alert id once, by the week they fired (weeks 1-%d learning, %d test)\n", r.Weeks-1, r.Weeks)
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', tabwriter.AlignRight)
	head := "AGENT / PRINCIPAL\t"
	for w := range r.Weeks {
		if w == r.Weeks-1 {
			head += fmt.Sprintf("W%d TEST\t", w+1)
		} else {
			head += fmt.Sprintf("W%d\t", w+1)
		}
	}
	fmt.Fprintln(tw, head+"TOTAL\t")
	counts := map[string][]int{}
	for _, x := range r.Benign {
		if counts[x.Group] == nil {
			counts[x.Group] = make([]int, r.Weeks)
		}
		counts[x.Group][x.Week]++
	}
	row := func(name string, c []int) {
		line, tot := name+"\t", 0
		for w := range r.Weeks {
			v := 0
			if c != nil {
				v = c[w]
			}
			tot += v
			line += thousands(v) + "\t"
		}
		fmt.Fprintln(tw, line+thousands(tot)+"\t")
	}
	for _, g := range r.groups() {
		label := g
		if !slices.Contains(r.Agents, g) {
			label = "(unattributed) " + g
		}
		row(label, counts[g])
	}
	all := make([]int, r.Weeks)
	for _, x := range r.Benign {
		all[x.Week]++
	}
	row("TOTAL", all)
	line := fmt.Sprintf("per agent-week (/%d agents)\t", len(r.Agents))
	for w := range r.Weeks {
		line += fmt.Sprintf("%.2f\t", r.PerAgentWeek(w))
	}
	fmt.Fprintln(tw, line+"\t")
	_ = tw.Flush()
}

func (r *Report) writeDetectors(b *strings.Builder) {
	type agg struct {
		learning, test int
		examples       []string
		agents         map[string]bool
	}
	by := map[string]*agg{}
	for _, x := range r.Benign {
		a := by[x.Detector]
		if a == nil {
			a = &agg{agents: map[string]bool{}}
			by[x.Detector] = a
		}
		if x.Week == r.TestWeek() {
			a.test++
			if len(a.examples) < 3 && !a.agents[x.Group] {
				a.agents[x.Group] = true
				a.examples = append(a.examples, fmt.Sprintf("%s: %s", shortPrincipal(x.Agent), truncate(x.Summary, 150)))
			}
		} else {
			a.learning++
		}
	}
	dets := make([]string, 0, len(by))
	for d := range by {
		dets = append(dets, d)
	}
	slices.SortFunc(dets, func(x, y string) int {
		if c := by[y].test - by[x].test; c != 0 {
			return c
		}
		if c := by[y].learning - by[x].learning; c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	fmt.Fprintln(b, "\nFALSE ALERTS BY DETECTOR  (examples from the test week)")
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DETECTOR\tLEARNING WEEKS\tTEST WEEK\tTEST PER AGENT-WEEK\tEXAMPLES")
	for _, d := range dets {
		a := by[d]
		ex := "-"
		if len(a.examples) > 0 {
			ex = a.examples[0]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\n", d, thousands(a.learning), thousands(a.test), float64(a.test)/float64(max(1, len(r.Agents))), ex)
		for _, e := range a.examples[min(1, len(a.examples)):] {
			fmt.Fprintf(tw, "\t\t\t\t%s\n", e)
		}
	}
	_ = tw.Flush()
}

func (r *Report) writeDrift(b *strings.Builder) {
	fmt.Fprintln(b, "\nDRIFT  false alerts that named records of each benign change in the test week; NEW: about something that had not")
	fmt.Fprintln(b, "       alerted (same agent, detector and subject) before the change began")
	tw := tabwriter.NewWriter(b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DRIFT\tAGENT\tWHAT\tALERTS\tNEW\tDETECTORS (NEW)")
	type subj struct{ agent, detector, subject string }
	for _, d := range r.Manifest.Drift {
		before := map[subj]bool{}
		for _, x := range r.Benign {
			if x.Fired.Before(d.Start) {
				before[subj{x.Agent, x.Detector, x.Subject}] = true
			}
		}
		n, fresh, dets := 0, 0, map[string]int{}
		for _, x := range r.Benign {
			if !slices.Contains(x.Drift, d.ID) {
				continue
			}
			n++
			if !before[subj{x.Agent, x.Detector, x.Subject}] {
				fresh++
				dets[x.Detector]++
			}
		}
		var ds []string
		for _, k := range sortedKeysInt(dets) {
			ds = append(ds, fmt.Sprintf("%s %d", k, dets[k]))
		}
		agent := d.Agent
		if agent == "" {
			agent = "(platform)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", d.ID, agent, d.Title, n, fresh, strings.Join(ds, ", "))
	}
	_ = tw.Flush()
}

func sortedKeysInt(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
