package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Labels.
const (
	LabelBenign = "benign"
	LabelAttack = "attack"
)

// Labeled is one simulated event with its ground truth.
type Labeled struct {
	Event     schemas.AgentEvent
	Label     string // LabelBenign or LabelAttack
	Incident  string // incident id, "" for benign
	Technique string // MITRE ATT&CK id, "" for benign
}

// Events streams every event in time order: the normal days, then the
// incident day(s) with the incidents mixed into normal traffic. Event ids
// are "sim-<seed>-<n>" in stream order. The stream is a pure function of
// the configuration. An error from fn stops the stream and is returned.
func (f *Fleet) Events(fn func(Labeled) error) error {
	gens := make([]*agentGen, len(f.agents))
	for i, a := range f.agents {
		gens[i] = &agentGen{a: a, r: rngFor(f.cfg.Seed, "agent", a.id), ticket: 48000 + 1000*i}
	}
	hours := (f.cfg.Days + f.cfg.TailDays) * 24
	var (
		seq      int64
		carry    []Labeled // events generated past the current hour
		batch    []Labeled
		order    []*Labeled
		nextAtt  int
		attacks  = f.attacks
		emitFrom = func(l *Labeled) error {
			seq++
			l.Event.EventID = fmt.Sprintf("sim-%d-%08d", f.cfg.Seed, seq)
			return fn(*l)
		}
	)
	for h := 0; h < hours; h++ {
		hs := f.start.Add(time.Duration(h) * time.Hour)
		he := hs.Add(time.Hour)
		batch = append(batch[:0], carry...)
		carry = carry[:0]
		for _, g := range gens {
			if hs.Hour() == 0 {
				// Day-to-day noise: some days are simply busier.
				g.noise = math.Exp(g.r.NormFloat64() * 0.18)
			}
			g.out = g.out[:0]
			g.hour(hs)
			batch = append(batch, g.out...)
		}
		for nextAtt < len(attacks) && attacks[nextAtt].Event.Time.Before(he) {
			batch = append(batch, attacks[nextAtt])
			nextAtt++
		}
		// Sort pointers (events are large), stably: ties keep generation
		// order (agent id, then step), which is itself deterministic.
		order = order[:0]
		for i := range batch {
			order = append(order, &batch[i])
		}
		slices.SortStableFunc(order, func(x, y *Labeled) int { return x.Event.Time.Compare(y.Event.Time) })
		for i, l := range order {
			if !l.Event.Time.Before(he) && h < hours-1 {
				for _, rest := range order[i:] {
					carry = append(carry, *rest)
				}
				break
			}
			if err := emitFrom(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// agentGen is one agent's generator state during one Events call.
type agentGen struct {
	a      *agent
	r      *rand.Rand
	noise  float64
	ticket int
	out    []Labeled
}

// hour generates the agent's events for the hour starting at hs.
func (g *agentGen) hour(hs time.Time) {
	if g.noise == 0 {
		g.noise = 1
	}
	switch g.a.kind {
	case KindSupport:
		g.support(hs)
	case KindCI:
		g.ci(hs)
	case KindData:
		g.data(hs)
	case KindSales:
		g.sales(hs)
	case KindOps:
		g.ops(hs)
	}
	g.addedHabits(hs)
}

// rate is the expected count this hour: a peak rate shaped by the kind's
// hour-of-day profile, the weekend factor, the day's noise and any drift.
func (g *agentGen) rate(hs time.Time, peak float64, profile *[24]float64, weekend float64) float64 {
	v := peak * profile[hs.Hour()] * g.noise * g.a.volumeFactor(hs)
	if wd := hs.Weekday(); wd == time.Saturday || wd == time.Sunday {
		v *= weekend
	}
	return v
}

// base starts an event for instance inst at t with the agent's identity.
func (g *agentGen) base(t time.Time, inst, source, system, action, resource, resType string) schemas.AgentEvent {
	ev := schemas.AgentEvent{Time: t, Source: source, System: system, Action: action, Resource: resource,
		ResourceType: resType, Outcome: schemas.OutcomeSuccess}
	g.a.identity(&ev, inst, t)
	return ev
}

func (g *agentGen) emit(ev schemas.AgentEvent) {
	g.out = append(g.out, Labeled{Event: ev, Label: LabelBenign})
}

// outcome makes a small share of calls fail or be denied, as real traffic
// does.
func (g *agentGen) outcome(ev *schemas.AgentEvent, fail, deny float64, failCode, denyCode string) {
	x := g.r.Float64()
	switch {
	case x < deny:
		ev.Outcome, ev.ErrorCode = schemas.OutcomeDenied, denyCode
	case x < deny+fail:
		ev.Outcome, ev.ErrorCode = schemas.OutcomeFailure, failCode
	}
}

func (g *agentGen) inst(t time.Time) string {
	is := g.a.instances(t)
	return is[g.r.IntN(len(is))]
}

// at returns a random instant within the hour, to the millisecond.
func (g *agentGen) at(hs time.Time, within time.Duration) time.Time {
	return hs.Add(time.Duration(g.r.Int64N(int64(within/time.Millisecond))) * time.Millisecond)
}

// step advances t by a random gap between lo and hi.
func (g *agentGen) step(t time.Time, lo, hi time.Duration) time.Time {
	return t.Add(lo + time.Duration(g.r.Int64N(int64(hi-lo)/int64(time.Millisecond)+1))*time.Millisecond)
}

// chance reports true with probability p.
func (g *agentGen) chance(p float64) bool { return g.r.Float64() < p }

// poisson draws a Poisson count with mean lambda.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 40 {
		n := int(math.Round(lambda + math.Sqrt(lambda)*r.NormFloat64()))
		return max(n, 0)
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// addedHabits emits the events of add_habit drifts.
func (g *agentGen) addedHabits(hs time.Time) {
	for _, c := range g.a.changes {
		if c.Type != ChangeAddHabit || !c.active(hs) {
			continue
		}
		n := poisson(g.r, g.rate(hs, c.Rate, profileFor(g.a.kind), weekendFor(g.a.kind)))
		for range n {
			t := g.at(hs, time.Hour)
			res := strings.ReplaceAll(c.Resource, "{date}", t.Format("2006-01-02"))
			res = strings.ReplaceAll(res, "{n}", fmt.Sprint(g.r.IntN(50)))
			src := "canonical"
			if strings.HasPrefix(c.System, "aws:") {
				src = "cloudtrail"
			} else if strings.HasPrefix(c.System, "mcp:") {
				src = "mcp"
			}
			ev := g.base(t, g.inst(t), src, c.System, c.Action, res, c.ResourceType)
			if c.System == "k8s" {
				g.a.k8sIdentity(&ev, t)
			}
			g.emit(ev)
		}
	}
}

func isWeekend(t time.Time) bool { return t.Weekday() == time.Saturday || t.Weekday() == time.Sunday }
