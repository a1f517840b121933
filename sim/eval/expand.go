package eval

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/sim"
)

// expanded is a scenario made concrete: its background fleet and its
// injected events, in time order.
type expanded struct {
	sc       *Scenario
	fleet    *sim.Fleet
	injected []sim.Labeled
	// first and last injected event (zero when nothing is injected).
	start, end time.Time
}

// expand builds the scenario's fleet and injected events. It is a pure
// function of the scenario.
func (sc *Scenario) expand() (*expanded, error) {
	cfg, err := sc.fleetConfig()
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	f, err := sim.NewFleet(cfg)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	x := &expanded{sc: sc, fleet: f}
	h := fnv.New64a()
	h.Write([]byte(sc.Name))
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), h.Sum64()))
	technique := ""
	if sc.Label == sim.LabelAttack {
		technique = sc.Technique
	}
	for i, in := range sc.Inject {
		n := max(in.Count, 1)
		every := time.Duration(in.Every)
		if every == 0 {
			every = time.Second
		}
		t := f.Start().Add(time.Duration(in.At))
		for k := range n {
			at := t
			if in.Jitter > 0 {
				at = at.Add(time.Duration(r.Int64N(int64(in.Jitter))))
			}
			action := in.Action
			if len(in.Actions) > 0 {
				action = in.Actions[k%len(in.Actions)]
			}
			resource := in.Resource
			if len(in.Resources) > 0 {
				resource = in.Resources[k%len(in.Resources)]
			}
			ev, err := f.EventAs(in.Agent, in.Instance, at.Truncate(time.Millisecond), in.System, fill(action, k, at), fill(resource, k, at))
			if err != nil {
				return nil, fmt.Errorf("scenario %s: inject[%d]: %w", sc.Name, i, err)
			}
			ev.ResourceType = in.ResourceType
			set := func(dst *string, v string) {
				if v != "" {
					*dst = v
				}
			}
			set(&ev.Outcome, in.Outcome)
			set(&ev.ErrorCode, in.ErrorCode)
			set(&ev.SrcIP, in.SrcIP)
			set(&ev.UserAgent, in.UserAgent)
			set(&ev.Principal, in.Principal)
			if in.OnBehalfOf != "" {
				ev.OnBehalfOf = in.OnBehalfOf
				ev.DelegationChain = []string{in.OnBehalfOf, in.Agent}
			}
			if in.Credential.ID != "" || in.Credential.Type != "" {
				set(&ev.CredentialID, in.Credential.ID)
				set(&ev.CredentialType, in.Credential.Type)
				ev.CredentialIssuedAt, ev.CredentialExpiresAt = nil, nil
				if in.Credential.IssuedAt != "" {
					iss, _ := time.Parse(time.RFC3339, in.Credential.IssuedAt) // checked by validate
					ev.CredentialIssuedAt = &iss
				}
			}
			ev.Bytes, ev.Records = in.Bytes, in.Records
			ev.EventID = fmt.Sprintf("inj-%s-%02d-%05d", sc.Name, i, k)
			if err := ev.Validate(); err != nil {
				return nil, fmt.Errorf("scenario %s: inject[%d] event %d: %w", sc.Name, i, k, err)
			}
			x.injected = append(x.injected, sim.Labeled{Event: ev, Label: sc.Label, Incident: sc.Name, Technique: technique})
			t = t.Add(every)
		}
	}
	slices.SortStableFunc(x.injected, func(a, b sim.Labeled) int { return a.Event.Time.Compare(b.Event.Time) })
	if len(x.injected) > 0 {
		x.start, x.end = x.injected[0].Event.Time, x.injected[len(x.injected)-1].Event.Time
	}
	if sc.Label == sim.LabelBenign {
		// Benign injections are ordinary traffic: no incident to attribute.
		for i := range x.injected {
			x.injected[i].Incident = ""
		}
	}
	return x, nil
}

var indexRE = regexp.MustCompile(`\{i(?::(\d+))?\}`)

// fill expands "{i}", "{i:05}" and "{date}" in s.
func fill(s string, i int, t time.Time) string {
	if !strings.Contains(s, "{") {
		return s
	}
	s = strings.ReplaceAll(s, "{date}", t.Format("2006-01-02"))
	return indexRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := indexRE.FindStringSubmatch(m)
		if sub[1] == "" {
			return strconv.Itoa(i)
		}
		w, _ := strconv.Atoi(sub[1])
		return fmt.Sprintf("%0*d", w, i)
	})
}

// events streams the background merged with the injected events, in time
// order (an injected event goes before a background event at the same
// instant).
func (x *expanded) events(fn func(sim.Labeled) error) error {
	next := 0
	err := x.fleet.Events(func(l sim.Labeled) error {
		for next < len(x.injected) && !x.injected[next].Event.Time.After(l.Event.Time) {
			if err := fn(x.injected[next]); err != nil {
				return err
			}
			next++
		}
		return fn(l)
	})
	if err != nil {
		return err
	}
	for ; next < len(x.injected); next++ {
		if err := fn(x.injected[next]); err != nil {
			return err
		}
	}
	return nil
}
