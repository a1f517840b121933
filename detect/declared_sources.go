package detect

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// declaredSources judges where a call came from against the declared
// networks and client families. A call with no source address (an AWS
// service acting for the agent) or no user agent is not judged on it.
func (e *Engine) declaredSources(pg *inventory.Playground, ev *schemas.AgentEvent, o *baseline.Obs, out []finding) []finding {
	if len(pg.Networks) > 0 && e.cfg.enabled(DNetworkUndeclared) && !pg.AllowsNetwork(ev.SrcIP) {
		net := ev.SrcIP
		if o.Network != 0 {
			net = e.tr.Str(o.Network)
		}
		out = append(out, finding{detector: DNetworkUndeclared, subject: net, score: 65, boundary: schemas.BoundaryDeclared,
			summary:  fmt.Sprintf("%s from %s, outside its declared networks", verb(ev), ev.SrcIP),
			reason:   "source address not in the declared networks [" + strings.Join(pg.Networks, ", ") + "]",
			evidence: []schemas.Evidence{{Feature: "src_ip", Observed: ev.SrcIP, Baseline: strings.Join(pg.Networks, ", ")}}})
	}
	if len(pg.Clients) > 0 && e.cfg.enabled(DClientUndeclared) && !pg.AllowsClient(ev.UserAgent, ev.SrcIP) {
		family := inventory.ClientFamily(ev.UserAgent)
		out = append(out, finding{detector: DClientUndeclared, subject: family, score: 55, boundary: schemas.BoundaryDeclared,
			summary:  fmt.Sprintf("%s with a %s client (%q), not one of its declared clients", verb(ev), family, ev.UserAgent),
			reason:   "client family " + family + " not in the declared clients [" + strings.Join(pg.Clients, ", ") + "]",
			evidence: []schemas.Evidence{{Feature: "client_family", Observed: family, Baseline: strings.Join(pg.Clients, ", ")}}})
	}
	return out
}

// declaredRotation raises credential.not_rotated once per credential in
// use for longer than credentials.rotate_every: since it was issued when
// the source says, else, for a long-lived key, since agentwatch first saw
// the agent use it (a lower bound on its age: replaying older logs makes
// it exact).
func (e *Engine) declaredRotation(ag *inventory.Agent, ev *schemas.AgentEvent, o *baseline.Obs, out []finding) []finding {
	every := time.Duration(ag.Playground.CredentialPolicy.RotateEvery)
	if every <= 0 || ev.CredentialID == "" || !e.cfg.enabled(DCredNotRotated) {
		return out
	}
	var since time.Time
	how := "issued"
	switch {
	case ev.CredentialIssuedAt != nil:
		since = *ev.CredentialIssuedAt
	case ev.CredentialType == schemas.CredStaticKey && o.Cred != 0:
		h, ok := o.Agent.Creds.Get(o.Cred)
		if !ok {
			return out
		}
		since, how = time.Unix(int64(h.First), 0), "first seen"
	default:
		return out
	}
	age := ev.Time.Sub(since)
	if age <= every {
		return out
	}
	return append(out, finding{detector: DCredNotRotated, subject: ev.CredentialID, score: 50, boundary: schemas.BoundaryDeclared,
		summary:  fmt.Sprintf("used credential %s, %s %s ago: it has not been rotated for longer than every %s", ev.CredentialID, how, days(age), days(every)),
		reason:   "keys must rotate every " + days(every) + " (credentials.rotate_every)",
		evidence: []schemas.Evidence{{Feature: "credential_age", Observed: days(age) + " since " + how + " (" + since.UTC().Format(time.DateOnly) + ")", Baseline: "rotated every " + days(every)}}})
}

// declaredActions lists every action the playground declares, for
// messages.
func declaredActions(pg *inventory.Playground) []string {
	out := append([]string(nil), pg.Actions...)
	for _, s := range pg.Statements {
		out = append(out, s.Actions...)
	}
	return out
}

// declaredSlot drops the learned findings that compare an event with the
// agent's weekly habits when the event is wholly inside its declared
// playground (fs holds no declared finding: the caller checks) during a
// declared day-of-month slot ("1st 04:00-05:00"). A monthly run does
// what the agent does on no other day (more data, actions it uses once a
// month, an hour it is otherwise silent), and a profile learned by hour of
// the week cannot have seen it; the owner declaring the slot and the
// actions is what says it is normal. What the run does outside its
// statements, from another network or with another client is still
// judged, and so are the other learned detectors (new source, new client,
// shared credentials).
func (e *Engine) declaredSlot(ag *inventory.Agent, ev *schemas.AgentEvent, fs []finding) []finding {
	pg := &ag.Playground
	if !e.cfg.enabled(DPlaygroundDeclared) || (len(pg.Actions) == 0 && len(pg.Statements) == 0) || !pg.InDatedSlot(ev.Time) {
		return fs
	}
	out := fs[:0]
	for _, f := range fs {
		switch f.detector {
		case DFirstSystem, DFirstAction, DNovelResource, DUnusualHour, DVolumeData, DVolumeSpike, DVolumeResources, DVolumeFailures:
			continue
		}
		out = append(out, f)
	}
	return out
}
