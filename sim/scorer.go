package sim

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// attributionGrace is how long after an incident's last event an alert on
// its agent is still taken to be about it (window-based detectors fire when
// the window closes, after the behaviour).
const attributionGrace = 2 * time.Hour

// Scorer matches alerts to incidents. An alert is about an incident when it
// names one of the incident's events (EventIDs, once ObserveEvent has been
// told the labels) or, failing that, when its agent is the incident's and
// it fired between the incident's start and two hours after its end. It
// caught the incident when its detector is one the incident expects.
// Alerts about no incident are alerts on benign traffic.
type Scorer struct {
	incidents []Incident
	attackEv  map[string]int // event id -> incident index
	alerts    map[string]*scored
	order     []string // alert keys in first-seen order
	agents    map[string]bool
	first     time.Time
	last      time.Time
	events    int64
}

type scored struct {
	alert    schemas.Alert
	firedAt  time.Time
	incident int // -1 for benign
	caught   bool
}

// NewScorer scores alerts against incidents.
func NewScorer(incidents []Incident) *Scorer {
	return &Scorer{incidents: slices.Clone(incidents), attackEv: map[string]int{}, alerts: map[string]*scored{}, agents: map[string]bool{}}
}

// ObserveEvent tells the scorer one event of the stream: attack events let
// alerts be matched by event id, benign ones measure how many agent-weeks
// of benign traffic the alerts came from. Optional but more precise.
func (s *Scorer) ObserveEvent(l Labeled) {
	s.events++
	t := l.Event.Time
	if s.first.IsZero() || t.Before(s.first) {
		s.first = t
	}
	if t.After(s.last) {
		s.last = t
	}
	if l.Label == LabelAttack {
		for i, inc := range s.incidents {
			if inc.ID == l.Incident {
				s.attackEv[l.Event.EventID] = i
			}
		}
		return
	}
	s.agents[l.Event.AgentID] = true
}

// Observe records one alert as a detector returned it; firedAt is the
// simulated time it fired (zero means a.FirstSeen). Repeats and updates of
// the same alert (same ID, or dedup key when there is no ID) count once.
// Resolutions are ignored.
func (s *Scorer) Observe(a schemas.Alert, firedAt time.Time) {
	if a.Status == schemas.StatusResolved {
		return
	}
	if firedAt.IsZero() {
		firedAt = a.FirstSeen
	}
	key := a.ID
	if key == "" {
		key = a.DedupKey
	}
	sc := s.alerts[key]
	if sc == nil {
		sc = &scored{alert: a, firedAt: firedAt, incident: -1}
		s.alerts[key] = sc
		s.order = append(s.order, key)
	}
	if sc.incident >= 0 && sc.caught {
		return
	}
	// An update may name more events; an alert only ever moves from
	// benign to an incident, never back.
	if i := s.match(a, firedAt); i >= 0 {
		sc.incident = i
		sc.caught = detectorFits(s.incidents[i].ExpectDetectors, a.Detector)
		if sc.caught {
			// It caught the incident when it first carried its evidence.
			sc.firedAt, sc.alert = firedAt, a
		}
	}
}

func (s *Scorer) match(a schemas.Alert, at time.Time) int {
	for _, id := range a.EventIDs {
		if i, ok := s.attackEv[id]; ok {
			return i
		}
	}
	for i, inc := range s.incidents {
		if a.Identity.AgentID == inc.AgentID && !at.Before(inc.Start) && !at.After(inc.End.Add(attributionGrace)) {
			return i
		}
	}
	return -1
}

// detectorFits reports whether detector is one of want, or a member of a
// family in want ("first_time" covers "first_time_action").
func detectorFits(want []string, detector string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if detector == w || strings.HasPrefix(detector, w+"_") || strings.HasPrefix(detector, w+".") {
			return true
		}
	}
	return false
}

// IncidentResult is how one incident fared.
type IncidentResult struct {
	Incident
	Caught       bool
	Detector     string        // first detector that caught it
	TimeToDetect time.Duration // from the first malicious event to that alert
	Alerts       int           // alerts about the incident, any detector
	// Matched are the alerts about the incident, in the order they fired.
	Matched []schemas.Alert
}

// Result is the score of a run.
type Result struct {
	Incidents    []IncidentResult
	Caught       int
	Missed       int
	BenignAlerts []schemas.Alert // in the order they fired
	Agents       int             // agents with benign traffic
	Weeks        float64         // simulated weeks observed
}

// BenignPerAgentWeek is the benign alert rate, or -1 when the traffic
// was not observed.
func (r Result) BenignPerAgentWeek() float64 {
	if r.Agents == 0 || r.Weeks <= 0 {
		return -1
	}
	return float64(len(r.BenignAlerts)) / (float64(r.Agents) * r.Weeks)
}

// Result computes the score so far.
func (s *Scorer) Result() Result {
	var r Result
	for i, inc := range s.incidents {
		ir := IncidentResult{Incident: inc}
		var best *scored
		for _, k := range s.order {
			sc := s.alerts[k]
			if sc.incident != i {
				continue
			}
			ir.Alerts++
			ir.Matched = append(ir.Matched, sc.alert)
			if sc.caught && (best == nil || sc.firedAt.Before(best.firedAt)) {
				best = sc
			}
		}
		if best != nil {
			ir.Caught, ir.Detector = true, best.alert.Detector
			ir.TimeToDetect = max(best.firedAt.Sub(inc.Start), 0)
			r.Caught++
		} else {
			r.Missed++
		}
		r.Incidents = append(r.Incidents, ir)
	}
	for _, k := range s.order {
		if sc := s.alerts[k]; sc.incident < 0 {
			r.BenignAlerts = append(r.BenignAlerts, sc.alert)
		}
	}
	r.Agents = len(s.agents)
	if s.events > 0 {
		r.Weeks = s.last.Sub(s.first).Hours() / (24 * 7)
	}
	return r
}

// WriteSummary writes the demo's summary: one row per incident, then the
// totals and the alerts raised on benign traffic.
func (s *Scorer) WriteSummary(w io.Writer) error {
	r := s.Result()
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INCIDENT\tAGENT\tTECHNIQUE\tRESULT\tDETECTOR\tTIME TO DETECT\tALERTS")
	for _, ir := range r.Incidents {
		res, det, ttd := "MISSED", "-", "-"
		if ir.Caught {
			res, det, ttd = "caught", ir.Detector, ir.TimeToDetect.Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", ir.ID, ir.AgentID, ir.Technique, res, det, ttd, ir.Alerts)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nincidents injected: %d   caught: %d   missed: %d\n", len(r.Incidents), r.Caught, r.Missed)
	fmt.Fprintf(&b, "alerts on benign traffic: %d", len(r.BenignAlerts))
	if rate := r.BenignPerAgentWeek(); rate >= 0 {
		fmt.Fprintf(&b, " (%.2f per agent per simulated week; %d agents over %.1f weeks)", rate, r.Agents, r.Weeks)
	}
	b.WriteString("\n")
	for i, a := range r.BenignAlerts {
		if i == 20 {
			fmt.Fprintf(&b, "  ... and %d more\n", len(r.BenignAlerts)-i)
			break
		}
		fmt.Fprintf(&b, "  benign: %s %s %s [%s] %s\n", a.FirstSeen.UTC().Format("2006-01-02 15:04"), a.Severity, a.Identity.AgentID, a.Detector, a.Summary)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}
