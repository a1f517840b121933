package detect

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// declared runs the always-on policy detectors for an inventory agent.
// It returns whether the event's action or system broke the declared
// playground, so the learned first-time detectors can fold into it.
func (e *Engine) declared(ag *inventory.Agent, ev *schemas.AgentEvent, o *baseline.Obs, out []finding) ([]finding, bool) {
	pg := &ag.Playground
	out = e.lifecycle(ag, ev, out)

	brokeAction := false
	if e.cfg.enabled(DPlaygroundDeclared) {
		var what, subject, allowed string
		v := e.verdict(ag, o.System, o.Action, ev)
		switch {
		case v&okSystem == 0:
			what, subject, allowed = "system "+ev.System, "system:"+ev.System, "systems not in ["+strings.Join(pg.Systems, ", ")+"]"
			brokeAction = true
		case v&okAction == 0:
			what, subject, allowed = "action "+ev.Action, "action:"+ev.Action, "action not in ["+strings.Join(declaredActions(pg), ", ")+"]"
			brokeAction = true
		case ev.Resource != "" && v&okAlways == 0 && pg.ConstrainsResources():
			// The action is declared; is it declared on this resource?
			// Statements allow an action only on their own resources.
			mask := pg.ActionRules(ev.Action)
			if !pg.ResourceAllowed(mask, ev.Resource) {
				pat := e.tr.Str(o.Pattern)
				res, rules := pg.ResourcesFor(mask)
				what, subject = "resource "+ev.Resource, "resource:"+pat
				if pg.HasStatements() {
					allowed = ev.Action + " is allowed only on [" + strings.Join(res, ", ") + "] (" + strings.Join(rules, ", ") + ")"
				} else {
					allowed = "resource not in [" + strings.Join(res, ", ") + "]"
				}
			}
		}
		if subject != "" {
			score := 75
			cat := e.cat.category(ev.Action)
			if cat != "" {
				score += 15
			}
			f := finding{detector: DPlaygroundDeclared, subject: subject, score: score, boundary: schemas.BoundaryDeclared,
				summary:  fmt.Sprintf("%s: %s is outside its declared playground%s", verb(ev), what, sensitiveNote(cat)),
				reason:   "outside the declared playground: " + allowed,
				evidence: []schemas.Evidence{{Feature: "declared_playground", Observed: ev.System + " " + ev.Action + " " + ev.Resource, Baseline: allowed}}}
			if (o.NewAction || o.NewSystem) && !o.Late {
				// It is also new for the learned playground.
				f.boundary = schemas.BoundaryBoth
			}
			out = append(out, f)
		}
	}
	out = e.declaredSources(pg, ev, o, out)
	if !pg.AllowsTime(ev.Time) && e.cfg.enabled(DOutsideHours) {
		out = append(out, finding{detector: DOutsideHours, score: 50, boundary: schemas.BoundaryDeclared,
			summary:  fmt.Sprintf("%s at %s UTC, outside its declared hours", verb(ev), ev.Time.UTC().Format("Mon 15:04")),
			reason:   "outside the declared hours [" + strings.Join(pg.Hours, ", ") + "]",
			evidence: []schemas.Evidence{{Feature: "time", Observed: ev.Time.UTC().Format(time.RFC3339), Baseline: strings.Join(pg.Hours, ", ")}}})
	}
	cp := pg.CredentialPolicy
	if ev.CredentialType != "" && len(cp.AllowedTypes) > 0 && !contains(cp.AllowedTypes, ev.CredentialType) && e.cfg.enabled(DCredDisallowedType) {
		out = append(out, finding{detector: DCredDisallowedType, subject: ev.CredentialType, score: 65, boundary: schemas.BoundaryDeclared,
			summary:  fmt.Sprintf("used a %s credential (%s)", ev.CredentialType, ev.CredentialID),
			reason:   "credential type not in the allowed [" + strings.Join(cp.AllowedTypes, ", ") + "]",
			evidence: []schemas.Evidence{{Feature: "credential_type", Observed: ev.CredentialType, Baseline: strings.Join(cp.AllowedTypes, ", ")}}})
	}
	if max := time.Duration(cp.MaxAge); max > 0 && ev.CredentialIssuedAt != nil && ev.Time.Sub(*ev.CredentialIssuedAt) > max && e.cfg.enabled(DCredTooOld) {
		age := ev.Time.Sub(*ev.CredentialIssuedAt)
		out = append(out, finding{detector: DCredTooOld, subject: ev.CredentialID, score: 55, boundary: schemas.BoundaryDeclared,
			summary:  fmt.Sprintf("used credential %s issued %s ago", ev.CredentialID, days(age)),
			reason:   "credential older than the allowed maximum age of " + days(max),
			evidence: []schemas.Evidence{{Feature: "credential_age", Observed: days(age), Baseline: "at most " + days(max)}}})
	}
	if ev.OnBehalfOf != "" && len(pg.Delegators) > 0 && e.verdict(ag, noSystem, o.Delegator, ev)&okDelegator == 0 && e.cfg.enabled(DDelegNotAllowed) {
		reason, baseline := "delegator not in the allowed ["+strings.Join(pg.Delegators, ", ")+"]", strings.Join(pg.Delegators, ", ")
		if pg.ActsForNobody() {
			reason, baseline = "the inventory says it acts for nobody (delegators: none)", "nobody"
		}
		out = append(out, finding{detector: DDelegNotAllowed, subject: ev.OnBehalfOf, score: 75, boundary: schemas.BoundaryDeclared,
			summary:  fmt.Sprintf("%s on behalf of %s, who may not delegate to it", verb(ev), ev.OnBehalfOf),
			reason:   reason,
			evidence: []schemas.Evidence{{Feature: "on_behalf_of", Observed: ev.OnBehalfOf, Baseline: baseline}}})
	}
	return e.declaredRotation(ag, ev, o, out), brokeAction
}

// Declared-playground verdicts, cached per (agent, system, action) and
// (agent, delegator): globbing every event would cost more than all the
// learned detectors together.
const (
	okSystem = 1 << iota
	okAction
	okDelegator
	// okAlways: an action IAM never denies, inside any AWS playground.
	okAlways
)

// noSystem marks a delegator entry in the verdict cache.
const noSystem = ^uint32(0)

type verdictKey struct {
	ag       *inventory.Agent
	sys, val uint32
}

func (e *Engine) verdict(ag *inventory.Agent, sys, val uint32, ev *schemas.AgentEvent) uint8 {
	k := verdictKey{ag, sys, val}
	if v, ok := e.verdicts[k]; ok {
		return v
	}
	pg := &ag.Playground
	var v uint8
	if sys == noSystem {
		if pg.AllowsDelegator(ev.OnBehalfOf) {
			v |= okDelegator
		}
	} else {
		if pg.AllowsSystem(ev.System) {
			v |= okSystem
		}
		if pg.AllowsAction(ev.Action) {
			v |= okAction
		}
		if pg.AlwaysAllows(ev.Action) {
			v |= okSystem | okAction | okAlways
		}
	}
	if len(e.verdicts) >= 1<<20 {
		clear(e.verdicts) // bounded: a cache, not state
	}
	e.verdicts[k] = v
	return v
}

// unattributed reports activity by a principal no rule maps to an agent.
func (e *Engine) unattributed(ev *schemas.AgentEvent) []schemas.Alert {
	if !e.cfg.enabled(DUnattributed) || e.knownPrincipal(ev) {
		return nil
	}
	n := e.openCount(ev.AgentID, DUnattributed, ev.AgentID, ev) + 1
	f := finding{detector: DUnattributed, subject: ev.AgentID, score: 50, boundary: schemas.BoundaryDeclared,
		summary:  fmt.Sprintf("principal %s acted %d times (latest %s on %s) and maps to no agent", ev.AgentID, n, ev.Action, ev.System),
		reason:   "no attribution rule maps this principal to an agent: an identity with no name and no owner",
		evidence: []schemas.Evidence{{Feature: "events", Observed: fmt.Sprint(n), Baseline: "0 (unknown principal)"}}}
	id := schemas.Identity{AgentID: ev.AgentID, AgentInstance: ev.AgentInstance, Principal: ev.Principal, OnBehalfOf: ev.OnBehalfOf,
		CredentialID: ev.CredentialID, CredentialType: ev.CredentialType, CredentialIssued: ev.CredentialIssuedAt, Unattributed: true}
	return e.emit([]finding{f}, ev.AgentID, id, ev)
}

// verb describes what the event did, in words.
func verb(ev *schemas.AgentEvent) string {
	if ev.Resource != "" {
		return "performed " + ev.Action + " on " + ev.Resource + " in " + ev.System
	}
	return "performed " + ev.Action + " in " + ev.System
}

func resOrSystem(ev *schemas.AgentEvent) string {
	if ev.Resource != "" {
		return ev.Resource
	}
	return ev.System
}

func sensitiveNote(cat string) string {
	if cat == "" {
		return ""
	}
	return " (" + categoryNames[cat] + ")"
}

func days(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
	return d.Round(time.Minute).String()
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
