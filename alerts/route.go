package alerts

import (
	"fmt"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// route is one compiled node of the routing tree, timings resolved.
type route struct {
	receiver       string
	matchers       []Matcher
	cont           bool
	groupWait      time.Duration
	groupInterval  time.Duration
	repeatInterval time.Duration
	dedup          string
	children       []*route
}

func compileRoute(rc RouteConfig, parent *route) (*route, error) {
	ms, err := ParseMatchers(rc.Matchers)
	if err != nil {
		return nil, err
	}
	r := &route{receiver: rc.Receiver, matchers: ms, cont: rc.Continue, dedup: rc.PagerDutyDedup}
	if parent != nil {
		if r.receiver == "" {
			r.receiver = parent.receiver
		}
		if r.dedup == "" {
			r.dedup = parent.dedup
		}
		r.groupWait, r.groupInterval, r.repeatInterval = parent.groupWait, parent.groupInterval, parent.repeatInterval
	}
	if r.dedup == "" {
		r.dedup = DedupAlert
	}
	if rc.GroupWait != nil {
		r.groupWait = *rc.GroupWait
	}
	if rc.GroupInterval != nil {
		r.groupInterval = *rc.GroupInterval
	}
	if rc.RepeatInterval != nil {
		r.repeatInterval = *rc.RepeatInterval
	}
	for _, c := range rc.Routes {
		child, err := compileRoute(c, r)
		if err != nil {
			return nil, err
		}
		r.children = append(r.children, child)
	}
	return r, nil
}

// match returns the deepest matching routes under r (r itself when no
// child matches), stopping at the first matching child unless it says
// continue: Alertmanager's semantics.
func (r *route) match(a *schemas.Alert) []*route {
	if !matchAll(r.matchers, a) {
		return nil
	}
	var out []*route
	for _, c := range r.children {
		m := c.match(a)
		if m == nil {
			continue
		}
		out = append(out, m...)
		if !c.cont {
			break
		}
	}
	if len(out) == 0 {
		return []*route{r}
	}
	return out
}

// target is one place an alert goes, with the timings of its route.
type target struct {
	receiver       string
	channel        string // Slack channel override from owner routing
	groupWait      time.Duration
	groupInterval  time.Duration
	repeatInterval time.Duration
	dedup          string
}

func (r *route) target() target {
	return target{receiver: r.receiver, groupWait: r.groupWait, groupInterval: r.groupInterval,
		repeatInterval: r.repeatInterval, dedup: r.dedup}
}

// router applies the tree, then owner routing for alerts that only the
// default route caught.
type router struct {
	root           *route
	ownerEnabled   bool
	slackOwner     string            // Web API Slack receiver that posts to agents' channels
	pdByService    map[string]string // inventory pagerduty_service → receiver
	slackByChannel map[string]string // configured Web API channel → receiver
}

func newRouter(cfg *Config) (*router, error) {
	root, err := compileRoute(cfg.Route, nil)
	if err != nil {
		return nil, fmt.Errorf("alerts.route: %w", err)
	}
	rt := &router{root: root, ownerEnabled: cfg.OwnerRouting.Enabled, slackOwner: cfg.OwnerRouting.SlackReceiver,
		pdByService: map[string]string{}, slackByChannel: map[string]string{}}
	var webAPI []string
	for _, r := range cfg.Receivers {
		switch {
		case r.PagerDuty != nil && r.PagerDuty.Service != "":
			rt.pdByService[r.PagerDuty.Service] = r.Name
		case r.Slack != nil && r.Slack.WebAPI():
			webAPI = append(webAPI, r.Name)
			rt.slackByChannel[r.Slack.Channel] = r.Name
		}
	}
	if rt.slackOwner == "" && len(webAPI) == 1 {
		rt.slackOwner = webAPI[0]
	}
	return rt, nil
}

// targets returns where a goes, each receiver (and channel) once. The
// children of the root are tried in order as in Alertmanager; the default
// route (the root's receiver, or the agent owner's channel and service)
// catches every alert that no route without `continue` claimed, so a
// catch-all fan-out such as "everything also to the SIEM" does not stop
// alerts reaching their owners.
func (rt *router) targets(a *schemas.Alert) []target {
	var out []target
	claimed := false
	for _, c := range rt.root.children {
		m := c.match(a)
		if m == nil {
			continue
		}
		for _, r := range m {
			out = append(out, r.target())
		}
		if !c.cont {
			claimed = true
			break
		}
	}
	if !claimed {
		owner := []target(nil)
		if rt.ownerEnabled {
			owner = rt.ownerTargets(a)
		}
		if len(owner) == 0 {
			owner = []target{rt.root.target()}
		}
		out = append(out, owner...)
	}
	seen := map[[2]string]bool{}
	uniq := out[:0]
	for _, t := range out {
		k := [2]string{t.receiver, t.channel}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, t)
		}
	}
	return uniq
}

// ownerTargets sends the alert to the agent's own Slack channel and
// PagerDuty service when the inventory names them and a receiver can
// reach them; it uses the default route's timings.
func (rt *router) ownerTargets(a *schemas.Alert) []target {
	var out []target
	if ch := a.Identity.SlackChannel; ch != "" {
		if name, ok := rt.slackByChannel[ch]; ok {
			t := rt.root.target()
			t.receiver = name
			out = append(out, t)
		} else if rt.slackOwner != "" {
			t := rt.root.target()
			t.receiver, t.channel = rt.slackOwner, ch
			out = append(out, t)
		}
	}
	if svc := a.Identity.PagerDutyService; svc != "" {
		if name, ok := rt.pdByService[svc]; ok {
			t := rt.root.target()
			t.receiver = name
			out = append(out, t)
		}
	}
	return out
}

// notifyKey is the key of an alert's notifications at the route's
// PagerDuty granularity; other receivers always use the incident's own key
// (one Slack message, one webhook finding per incident), and so does
// PagerDuty by default (one PagerDuty incident per incident).
func notifyKey(a *schemas.Alert, dedup string, kind string) string {
	if kind != "pagerduty" {
		return a.NotifyKey()
	}
	switch dedup {
	case DedupAgent:
		return a.Identity.AgentID
	case DedupAgentDetector:
		return a.Identity.AgentID + "|" + a.Detector
	}
	return a.NotifyKey()
}

// sameKey reports whether b falls under the same coarse key as a.
func sameKey(a, b *schemas.Alert, dedup string) bool {
	switch dedup {
	case DedupAgent:
		return a.Identity.AgentID == b.Identity.AgentID
	case DedupAgentDetector:
		return a.Identity.AgentID == b.Identity.AgentID && a.Detector == b.Detector
	}
	return a.ID == b.ID
}

// inhibitRule is a compiled InhibitRule.
type inhibitRule struct {
	source, target []Matcher
	equal          []string
}

func compileInhibit(rules []InhibitRule) ([]inhibitRule, error) {
	out := make([]inhibitRule, 0, len(rules))
	for i, r := range rules {
		s, err := ParseMatchers(r.SourceMatchers)
		if err != nil {
			return nil, fmt.Errorf("alerts.inhibit_rules[%d].source_matchers: %w", i, err)
		}
		t, err := ParseMatchers(r.TargetMatchers)
		if err != nil {
			return nil, fmt.Errorf("alerts.inhibit_rules[%d].target_matchers: %w", i, err)
		}
		out = append(out, inhibitRule{source: s, target: t, equal: r.Equal})
	}
	return out, nil
}

// mayBeInhibited reports whether any rule's target matchers match a, so
// the agent's firing alerts need to be loaded at all.
func mayBeInhibited(rules []inhibitRule, a *schemas.Alert) bool {
	if a.Status != schemas.StatusFiring {
		return false
	}
	for _, r := range rules {
		if matchAll(r.target, a) {
			return true
		}
	}
	return false
}

// inhibitedBy returns the firing alert (of the same agent) that mutes a,
// if any. Resolutions are never inhibited: an incident that was opened
// must be able to close.
func inhibitedBy(rules []inhibitRule, a *schemas.Alert, firing []schemas.Alert) (*schemas.Alert, bool) {
	if a.Status != schemas.StatusFiring {
		return nil, false
	}
	for _, r := range rules {
		if !matchAll(r.target, a) {
			continue
		}
		for i := range firing {
			src := &firing[i]
			if src.ID == a.ID || src.Identity.AgentID != a.Identity.AgentID || !matchAll(r.source, src) {
				continue
			}
			equal := true
			for _, f := range r.equal {
				equal = equal && fieldValue(src, f) == fieldValue(a, f)
			}
			if equal {
				return src, true
			}
		}
	}
	return nil, false
}
