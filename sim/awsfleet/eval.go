package awsfleet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Detector is what the evaluation runs events through: the detect
// engine, or anything with its two methods.
type Detector interface {
	Process(*schemas.AgentEvent) []schemas.Alert
	Advance(time.Time) []schemas.Alert
}

// Options configure an evaluation.
type Options struct {
	// Ingest configures the normaliser: the attribution rules above all.
	Ingest ingest.Config
	// Inventory is the agents' inventory.
	Inventory *inventory.Inventory
	// NewDetector builds the detector the events run through. Nil means
	// no detector: the objects are only read and Stored is scored.
	NewDetector func(*inventory.Inventory) (Detector, error)
	// Stored are alerts raised elsewhere (by `agentwatch run` on this
	// fleet), scored when NewDetector is nil.
	Stored []schemas.Alert
	// Target is the most false alerts per agent-week the test week may
	// have (default 0.5); MaxTTD the median time to first alert (default
	// one minute).
	Target float64
	MaxTTD time.Duration
}

// Principal classes of unattributed activity.
const (
	ClassNode    = "platform nodes"
	ClassPerson  = "people"
	ClassService = "AWS services"
	ClassOther   = "other principals"
)

// classify names who an unattributed principal is.
func classify(principal string) string {
	switch {
	case strings.Contains(principal, "assumed-role/"+PlatformNodeRole+"/"):
		return ClassNode
	case strings.Contains(principal, "AWSReservedSSO_"):
		return ClassPerson
	case strings.HasSuffix(principal, ".amazonaws.com"), strings.Contains(principal, "assumed-role/AWSServiceRole"):
		return ClassService
	}
	return ClassOther
}

// seenAlert is one alert id as the evaluation saw it.
type seenAlert struct {
	a         schemas.Alert
	firedAt   time.Time // event-time clock when first emitted
	delivered time.Time // delivery time of the object being read then
	attacks   map[string]attackHit
	drift     map[string]bool
	named     map[string]bool // event ids named so far
}

type attackHit struct{ firedAt, delivered time.Time }

// evaluation accumulates one run.
type evaluation struct {
	opt       Options
	labels    map[string]Label // by canonical event id
	alerts    map[string]*seenAlert
	order     []string
	attackEv  map[string]*attackSpan
	clock     time.Time
	delivered time.Time
	rep       *Report
}

type attackSpan struct {
	n           int
	first, last time.Time
}

// Evaluate replays src through the normaliser and the detector (or scores
// opt.Stored) and reports.
func Evaluate(ctx context.Context, src Source, opt Options) (*Report, error) {
	if opt.Target == 0 {
		opt.Target = 0.5
	}
	if opt.MaxTTD == 0 {
		opt.MaxTTD = time.Minute
	}
	if opt.Inventory == nil {
		return nil, fmt.Errorf("evaluate fleet: no inventory")
	}
	// The inventory's principals list marks known principals at ingest,
	// as the pipeline's ingest stage does.
	n, err := ingest.NewNormalizer(opt.Ingest, nil, ingest.WithPrincipals(opt.Inventory.Principals()))
	if err != nil {
		return nil, fmt.Errorf("evaluate fleet: %w", err)
	}
	var det Detector
	if opt.NewDetector != nil {
		if det, err = opt.NewDetector(opt.Inventory); err != nil {
			return nil, fmt.Errorf("evaluate fleet: new detector: %w", err)
		}
	}
	e := &evaluation{opt: opt, labels: map[string]Label{}, alerts: map[string]*seenAlert{}, attackEv: map[string]*attackSpan{},
		rep: &Report{UnattributedBy: map[string]int{}, Agents: opt.Inventory.IDs(), Mode: "in process", Target: opt.Target, MaxTTD: opt.MaxTTD}}
	if det == nil {
		e.rep.Mode = "stored alerts"
	}
	start := time.Now()
	var reads int
	err = src.Each(func(d *Delivery) error {
		if reads++; reads%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		for _, l := range d.Labels {
			e.labels["cloudtrail:"+l.EventID] = l.Label
		}
		e.delivered = d.Delivered
		e.rep.Objects++
		evs, dead := n.Normalize(ingest.Record{Raw: d.Raw, Source: "file:" + d.Key, Time: d.Delivered})
		e.rep.DeadLetters += len(dead)
		for _, dl := range dead {
			if len(e.rep.DeadSamples) < 5 {
				e.rep.DeadSamples = append(e.rep.DeadSamples, dl.Source+": "+dl.Reason)
			}
		}
		for i := range evs {
			ev := &evs[i]
			e.event(ev)
			if det != nil {
				for _, a := range det.Process(ev) {
					e.observe(a)
					e.because(a, ev)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evaluate fleet: %w", err)
	}
	if det != nil {
		e.clock = e.clock.Add(2 * time.Hour)
		for _, a := range det.Advance(e.clock) {
			e.observe(a)
		}
	} else {
		e.scoreStored()
	}
	e.rep.Elapsed = time.Since(start)
	e.rep.Manifest = src.Manifest()
	e.finish()
	return e.rep, nil
}

// event counts one normalised event and remembers attack events' times.
func (e *evaluation) event(ev *schemas.AgentEvent) {
	e.rep.Events++
	if ev.Time.After(e.clock) {
		e.clock = ev.Time
	}
	if ev.Unattributed {
		e.rep.Unattributed++
		e.rep.UnattributedBy[classify(ev.AgentID)]++
	}
	if l, ok := e.labels[ev.EventID]; ok && l.Kind == LabelAttack {
		s := e.attackEv[l.ID]
		if s == nil {
			s = &attackSpan{first: ev.Time}
			e.attackEv[l.ID] = s
		}
		s.n++
		if ev.Time.Before(s.first) {
			s.first = ev.Time
		}
		if ev.Time.After(s.last) {
			s.last = ev.Time
		}
	}
}

// observe takes one alert as the detector returned it (new or updated).
func (e *evaluation) observe(a schemas.Alert) {
	key := a.ID
	if key == "" {
		key = a.DedupKey
	}
	s := e.alerts[key]
	if s == nil {
		s = &seenAlert{a: a, firedAt: e.clock, delivered: e.delivered, attacks: map[string]attackHit{}, drift: map[string]bool{}, named: map[string]bool{}}
		e.alerts[key] = s
		e.order = append(e.order, key)
	} else if a.Status != schemas.StatusResolved {
		first, fired, del := s.a.FirstSeen, s.firedAt, s.delivered
		s.a = a
		s.a.FirstSeen, s.firedAt, s.delivered = first, fired, del
	}
	for _, id := range a.EventIDs {
		if s.named[id] {
			continue
		}
		s.named[id] = true
		l, ok := e.labels[id]
		switch {
		case !ok:
		case l.Kind == LabelAttack:
			if _, had := s.attacks[l.ID]; !had {
				s.attacks[l.ID] = attackHit{firedAt: e.clock, delivered: e.delivered}
			}
		case l.Kind == LabelDrift:
			s.drift[l.ID] = true
		}
	}
}

// because credits an alert the detector raised or changed while taking
// an attack record with that attack: an incident that grows with the
// attack's records updates its Slack message and PagerDuty incident even
// when its list of event ids is already full.
func (e *evaluation) because(a schemas.Alert, ev *schemas.AgentEvent) {
	l, ok := e.labels[ev.EventID]
	if !ok || l.Kind != LabelAttack || a.Status == schemas.StatusResolved {
		return
	}
	key := a.ID
	if key == "" {
		key = a.DedupKey
	}
	if s := e.alerts[key]; s != nil {
		if _, had := s.attacks[l.ID]; !had {
			s.attacks[l.ID] = attackHit{firedAt: e.clock, delivered: e.delivered}
		}
	}
}

// scoreStored scores alerts raised by a pipeline run: their final state
// is all there is, so an alert fired about an attack at the later of its
// first event and the first attack event it names.
func (e *evaluation) scoreStored() {
	for _, a := range e.opt.Stored {
		e.clock, e.delivered = a.FirstSeen, a.FirstSeen
		e.observe(a)
		s := e.alerts[a.ID]
		for id, hit := range s.attacks {
			if sp := e.attackEv[id]; sp != nil && sp.first.After(hit.firedAt) {
				s.attacks[id] = attackHit{firedAt: sp.first, delivered: sp.first}
			}
		}
	}
}

// finish turns what was seen into the report.
func (e *evaluation) finish() {
	r := e.rep
	m := r.Manifest
	r.Weeks = m.Weeks
	r.Alerts = len(e.order)
	week := func(t time.Time) int {
		w := int(t.Sub(m.Start) / (7 * 24 * time.Hour))
		return min(max(w, 0), m.Weeks-1)
	}
	for _, at := range m.Attacks {
		res := AttackResult{ManifestAttack: at}
		if sp := e.attackEv[at.ID]; sp != nil {
			res.Events, res.First, res.Last = sp.n, sp.first, sp.last
		}
		dets := map[string]bool{}
		var best *seenAlert
		var bestHit attackHit
		for _, k := range e.order {
			s := e.alerts[k]
			hit, ok := s.attacks[at.ID]
			if !ok {
				continue
			}
			res.Alerts++
			dets[s.a.Detector] = true
			if best == nil || hit.firedAt.Before(bestHit.firedAt) {
				best, bestHit = s, hit
			}
		}
		if best != nil {
			res.Caught, res.Detector, res.AlertAgent = true, best.a.Detector, best.a.Identity.AgentID
			res.TTD = max(bestHit.firedAt.Sub(res.First), 0)
			res.TTDDelivered = max(bestHit.delivered.Sub(res.First), 0)
		}
		res.Detectors = sortedKeys(dets)
		r.Attacks = append(r.Attacks, res)
	}
	for _, k := range e.order {
		s := e.alerts[k]
		if len(s.attacks) > 0 {
			r.AttackAlerts++
			continue
		}
		b := BenignAlert{ID: s.a.ID, Detector: s.a.Detector, Agent: s.a.Identity.AgentID, Subject: s.a.Subject, Unattributed: s.a.Identity.Unattributed,
			FirstSeen: s.a.FirstSeen, Fired: s.firedAt, Week: week(s.firedAt), Severity: string(s.a.Severity), Summary: s.a.Summary, Count: s.a.Count,
			Drift: sortedKeys(s.drift)}
		b.Group = b.Agent
		if b.Unattributed || e.opt.Inventory.Get(b.Agent) == nil {
			b.Unattributed = true
			b.Group = classify(b.Agent)
		}
		r.Benign = append(r.Benign, b)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
