package detect

// The suggestion generator: from what a replay saw crossing an agent's
// declared playground, the smallest widening that covers what recurred,
// as YAML an owner can paste. It works on the inventory's playground lists
// (systems, actions, resources, statements, hours, delegators, networks,
// clients, credentials) and is kept apart from the engine so that it can
// follow the playground syntax.

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Suggestion is one agent's widened playground.
type Suggestion struct {
	// Agent is the inventory entry with its playground widened (validated
	// like any entry).
	Agent inventory.Agent
	// Added lists what was added and why; Skipped what crossed but did not
	// recur, so it was left out; Denied what recurred but the source
	// refused every time (IAM said AccessDenied), also left out: the
	// playground says what the policy allows, and widening it would only
	// hide an agent that keeps trying what it may not do.
	Added, Skipped, Denied []Change
}

// Change is one value added to (or left out of) a playground list.
type Change struct {
	Field, Value, Why string
}

// crossing is one value seen outside the declared playground.
type crossing struct {
	events      int64
	denied      int64          // events the source refused (outcome denied)
	hours       map[int64]bool // distinct hour windows, bounded
	first, last time.Time
	examples    []string // raw values behind a generalised one
}

const crossingMaxHours = 1000

func (c *crossing) add(t time.Time, raw string, denied bool) {
	c.events++
	if denied {
		c.denied++
	}
	if c.hours == nil {
		c.hours = map[int64]bool{}
	}
	if len(c.hours) < crossingMaxHours {
		c.hours[t.Unix()/3600] = true
	}
	if c.first.IsZero() || t.Before(c.first) {
		c.first = t
	}
	if t.After(c.last) {
		c.last = t
	}
	if raw != "" && len(c.examples) < 3 && !slices.Contains(c.examples, raw) {
		c.examples = append(c.examples, strings.Clone(raw))
	}
}

// recurring is the habit test: seen in at least two different hours. A
// burst within one hour (a one-off, or an attack) is not a habit.
func (c *crossing) recurring() bool { return len(c.hours) >= 2 }

func (c *crossing) why() string {
	if len(c.hours) == 1 {
		return fmt.Sprintf("%s at %s", nOf(int(c.events), "event"), c.first.UTC().Format("2006-01-02 15:04"))
	}
	return fmt.Sprintf("%s in %s, %s to %s", nOf(int(c.events), "event"), nOf(len(c.hours), "hour"),
		c.first.UTC().Format("2006-01-02 15:04"), c.last.UTC().Format("2006-01-02 15:04"))
}

// nOf renders "1 event", "1,200 events".
func nOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return schemas.Thousands(n) + " " + noun + "s"
}

// refused reports whether the source refused every event of a crossing.
func (c *crossing) refused() bool { return c.events > 0 && c.denied == c.events }

func (c *crossing) merge(o *crossing) {
	c.events += o.events
	c.denied += o.denied
	if c.hours == nil {
		c.hours = map[int64]bool{}
	}
	for h := range o.hours {
		if len(c.hours) < crossingMaxHours {
			c.hours[h] = true
		}
	}
	if c.first.IsZero() || o.first.Before(c.first) {
		c.first = o.first
	}
	if o.last.After(c.last) {
		c.last = o.last
	}
	for _, ex := range o.examples {
		if len(c.examples) < 3 && !slices.Contains(c.examples, ex) {
			c.examples = append(c.examples, ex)
		}
	}
}

// crossings is everything an agent did outside its declared playground.
type crossings struct {
	systems, actions, resources, delegators, credTypes map[string]*crossing
	// networks: public addresses as themselves, private ones by /24;
	// clients: by family.
	networks, clients map[string]*crossing
	// stmtResources: in a playground with statements, an action allowed
	// only on other resources, by "action\x00resource glob".
	stmtResources map[string]*crossing
	// hours: by hour of day, the dates and weekdays it was crossed on.
	hours  map[int]*hourCrossing
	maxAge time.Duration
	old    crossing
}

type hourCrossing struct {
	crossing
	days     map[string]bool
	weekdays uint8
}

func newCrossings() *crossings {
	return &crossings{systems: map[string]*crossing{}, actions: map[string]*crossing{}, resources: map[string]*crossing{},
		delegators: map[string]*crossing{}, credTypes: map[string]*crossing{}, hours: map[int]*hourCrossing{},
		stmtResources: map[string]*crossing{}, networks: map[string]*crossing{}, clients: map[string]*crossing{}}
}

func addTo(m map[string]*crossing, key string, t time.Time, raw string, denied bool) {
	c := m[key]
	if c == nil {
		if len(m) >= topCap {
			return // bounded: a report, not a store
		}
		c = &crossing{}
		m[key] = c
	}
	c.add(t, raw, denied)
}

// record notes what ev did outside ag's declared playground, for the
// declared detector that fired on it.
func (x *crossings) record(ag *inventory.Agent, detector string, ev *schemas.AgentEvent) {
	pg := &ag.Playground
	t := ev.Time.UTC()
	denied := ev.Outcome == schemas.OutcomeDenied
	switch detector {
	case DPlaygroundDeclared:
		// The detector names the first list broken; widening that one
		// would reveal the next, so every list is checked here.
		if !pg.AllowsSystem(ev.System) {
			addTo(x.systems, ev.System, t, "", denied)
		}
		if !pg.AllowsAction(ev.Action) {
			addTo(x.actions, ev.Action, t, "", denied)
		}
		switch {
		case pg.HasStatements():
			// Statements allow an action on their own resources: the
			// widening is a statement pairing the two.
			if m := pg.ActionRules(ev.Action); m != 0 && !pg.ResourceAllowed(m, ev.Resource) {
				addTo(x.stmtResources, ev.Action+"\x00"+resourceGlob(ev.Resource), t, ev.Resource, denied)
			}
		case !pg.AllowsResource(ev.Resource):
			addTo(x.resources, resourceGlob(ev.Resource), t, ev.Resource, denied)
		}
	case DOutsideHours:
		h := x.hours[t.Hour()]
		if h == nil {
			h = &hourCrossing{days: map[string]bool{}}
			x.hours[t.Hour()] = h
		}
		h.add(t, "", false)
		h.days[t.Format(time.DateOnly)] = true
		h.weekdays |= 1 << uint(t.Weekday())
	case DCredDisallowedType:
		addTo(x.credTypes, ev.CredentialType, t, "", false)
	case DCredTooOld:
		if ev.CredentialIssuedAt != nil {
			x.maxAge = max(x.maxAge, ev.Time.Sub(*ev.CredentialIssuedAt))
			x.old.add(t, ev.CredentialID, false)
		}
	case DDelegNotAllowed:
		addTo(x.delegators, resourceGlob(ev.OnBehalfOf), t, ev.OnBehalfOf, false)
	case DNetworkUndeclared:
		if n := sourceNetwork(ev.SrcIP); n != "" {
			addTo(x.networks, n, t, ev.SrcIP, false)
		}
	case DClientUndeclared:
		addTo(x.clients, inventory.ClientFamily(ev.UserAgent), t, ev.UserAgent, false)
	}
}

// sourceNetwork is what a playground declares for a source address: a
// public address as itself (a NAT gateway's elastic address, an office's
// egress), a private one by its /24 (/48), since a workload's private
// addresses change with every pod or task.
func sourceNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	if !privateAddr(a) {
		return a.String()
	}
	return schemas.NetworkOf(a.String())
}

// collapseNetworks folds private /24s into their /16 (/48s into their
// /32) once three of one differ, as the learned detector does: a workload
// spread over the subnets of a VPC runs in the VPC.
func collapseNetworks(in map[string]*crossing) map[string]*crossing {
	return collapse(in, spreadMin, func(n string) string {
		p, err := netip.ParsePrefix(n)
		if err != nil || !privateAddr(p.Addr()) {
			return ""
		}
		bits := 16
		if !p.Addr().Is4() {
			bits = 32
		}
		w, err := p.Addr().Prefix(bits)
		if err != nil {
			return ""
		}
		return w.String()
	})
}

// collapse merges the crossings whose keys share a group (group's result,
// "" for none) into one under the group's key, once at least min keys
// differ in it.
func collapse(in map[string]*crossing, min int, group func(key string) string) map[string]*crossing {
	byGroup := map[string][]string{}
	for k := range in {
		if g := group(k); g != "" {
			byGroup[g] = append(byGroup[g], k)
		}
	}
	out := maps.Clone(in)
	for g, ks := range byGroup {
		if len(ks) < min {
			continue
		}
		m := &crossing{}
		for _, k := range ks {
			m.merge(out[k])
			delete(out, k)
		}
		if prev := out[g]; prev != nil {
			m.merge(prev)
		}
		out[g] = m
	}
	return out
}

// resourceGlob generalises a resource to the glob of its habit: the
// identifiers in it (numbers, dates, uuids...) become "*", the structure
// stays: "exports/2026-03-01/part-00017.csv" -> "exports/*/part-*.csv".
func resourceGlob(r string) string {
	return baseline.Glob(baseline.Generalize(r))
}

// collapseResources folds the globs of one folder into folder/* once
// three or more differ there: three siblings outside the playground say
// the folder is the habit.
func collapseResources(in map[string]*crossing) map[string]*crossing {
	return collapse(in, 3, func(g string) string {
		if i := strings.LastIndexByte(g, '/'); i > 0 {
			return g[:i] + "/*"
		}
		return ""
	})
}

// suggest widens ag's playground to cover x's recurring crossings.
func suggest(ag *inventory.Agent, x *crossings) (Suggestion, bool) {
	s := Suggestion{Agent: *ag}
	pg := &s.Agent.Playground
	add := func(field string, list *[]string, m map[string]*crossing) {
		for _, v := range slices.Sorted(maps.Keys(m)) {
			c := m[v]
			if !c.recurring() {
				s.Skipped = append(s.Skipped, Change{field, v, c.why()})
				continue
			}
			if c.refused() {
				s.Denied = append(s.Denied, Change{field, v, c.why()})
				continue
			}
			*list = append(slices.Clone(*list), v)
			s.Added = append(s.Added, Change{field, v, c.why()})
		}
	}
	add("systems", &pg.Systems, x.systems)
	add("actions", &pg.Actions, x.actions)
	add("resources", &pg.Resources, collapseResources(x.resources))
	// "delegators: none" widened is a list of the recurring delegators.
	delegators := []string(pg.Delegators)
	if pg.ActsForNobody() {
		delegators = nil
	}
	before := len(s.Added)
	add("delegators", &delegators, x.delegators)
	if len(s.Added) > before {
		pg.Delegators = delegators
	}
	add("networks", &pg.Networks, collapseNetworks(x.networks))
	add("clients", &pg.Clients, x.clients)
	suggestStatements(pg, x, &s)
	add("credentials.allowed_types", &pg.CredentialPolicy.AllowedTypes, x.credTypes)
	for _, r := range hourRanges(x.hours, true) {
		pg.Hours = append(slices.Clone(pg.Hours), r.text)
		s.Added = append(s.Added, Change{"hours", r.text, r.why})
	}
	for _, r := range hourRanges(x.hours, false) {
		s.Skipped = append(s.Skipped, Change{"hours", r.text, r.why})
	}
	if x.old.events > 0 {
		// Whole days, rounded up: the smallest policy the ages fit.
		days := inventory.Duration((x.maxAge + 24*time.Hour - 1).Truncate(24 * time.Hour))
		c := Change{"credentials.max_age", inventory.FormatDuration(time.Duration(days)), x.old.why() + "; or rotate " + strings.Join(x.old.examples, ", ")}
		if x.old.recurring() {
			pg.CredentialPolicy.MaxAge = days
			s.Added = append(s.Added, c)
		} else {
			s.Skipped = append(s.Skipped, c)
		}
	}
	if len(s.Added) == 0 && len(s.Skipped) == 0 && len(s.Denied) == 0 {
		return s, false
	}
	// Validate like any entry (and compile its hours afresh).
	inv, err := inventory.New([]inventory.Agent{s.Agent})
	if err != nil {
		s.Skipped = append(s.Skipped, Change{"playground", "(all)", "the widened playground does not validate: " + err.Error()})
		s.Agent, s.Added = *ag, nil
		return s, true
	}
	s.Agent = *inv.Get(ag.ID)
	s.Agent.Line = ag.Line
	// Every recurring resource must now be allowed; an example a glob
	// does not match (a character the matcher reads as syntax) is added
	// as itself.
	for _, c := range x.resources {
		if !c.recurring() || c.refused() {
			continue
		}
		for _, ex := range c.examples {
			if !s.Agent.Playground.AllowsResource(ex) {
				s.Agent.Playground.Resources = append(s.Agent.Playground.Resources, ex)
				s.Added = append(s.Added, Change{"resources", ex, "as itself: its glob does not match it"})
			}
		}
	}
	return s, true
}

// suggestStatements adds, for a playground with statements, one statement
// per action that recurred on resources its statements leave out.
func suggestStatements(pg *inventory.Playground, x *crossings, s *Suggestion) {
	byAction := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(x.stmtResources)) {
		c := x.stmtResources[k]
		action, glob, _ := strings.Cut(k, "\x00")
		if !c.recurring() {
			s.Skipped = append(s.Skipped, Change{"statements", action + " on " + glob, c.why()})
			continue
		}
		if c.refused() {
			s.Denied = append(s.Denied, Change{"statements", action + " on " + glob, c.why()})
			continue
		}
		byAction[action] = append(byAction[action], glob)
		s.Added = append(s.Added, Change{"statements", action + " on " + glob, c.why()})
	}
	for _, action := range slices.Sorted(maps.Keys(byAction)) {
		pg.Statements = append(slices.Clone(pg.Statements), inventory.Statement{
			Sid: "Suggested" + strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, action),
			Actions: []string{action}, Resources: byAction[action]})
	}
}

// hourRange is a suggested "DAYS HH:MM-HH:MM" entry.
type hourRange struct{ text, why string }

// hourRanges turns the crossed hours of day into ranges: recurring hours
// (crossed on two or more dates) for the days of the week they were seen
// on, consecutive hours with the same days merged.
func hourRanges(hs map[int]*hourCrossing, recurring bool) []hourRange {
	byDays := map[uint8][]int{}
	for h, c := range hs {
		if (len(c.days) >= 2) == recurring {
			byDays[c.weekdays] = append(byDays[c.weekdays], h)
		}
	}
	var out []hourRange
	for _, days := range slices.Sorted(maps.Keys(byDays)) {
		hours := byDays[days]
		slices.Sort(hours)
		for i := 0; i < len(hours); {
			j := i
			var c crossing
			dates := map[string]bool{}
			for ; j < len(hours) && hours[j] == hours[i]+(j-i); j++ {
				c.merge(&hs[hours[j]].crossing)
				maps.Copy(dates, hs[hours[j]].days)
			}
			text := fmt.Sprintf("%s %02d:00-%02d:00", dayList(days), hours[i], hours[j-1]+1)
			out = append(out, hourRange{text, fmt.Sprintf("%s on %s", nOf(int(c.events), "event"), nOf(len(dates), "day"))})
			i = j
		}
	}
	slices.SortFunc(out, func(a, b hourRange) int { return cmp.Compare(a.text, b.text) })
	return out
}

// dayList renders a weekday mask as the inventory writes it.
func dayList(mask uint8) string {
	if mask == 0x7f {
		return "*"
	}
	var names []string
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if mask&(1<<uint(d)) != 0 {
			names = append(names, d.String()[:3])
		}
	}
	return strings.Join(names, ",")
}

// RenderSuggestions writes the suggestions as one agents.yaml fragment:
// each agent's id and its whole widened playground, added values marked
// with a comment, values left out listed in comments below.
func RenderSuggestions(sugs []Suggestion) string {
	var b strings.Builder
	b.WriteString("agents:\n")
	for _, s := range sugs {
		ag := &s.Agent
		if len(s.Added) == 0 {
			// Nothing to add: the playground stays as it is.
			fmt.Fprintf(&b, "  # %s: no change\n", ag.ID)
			renderLeftOut(&b, "  #   ", s)
			continue
		}
		added := map[string]string{}
		for _, c := range s.Added {
			added[c.Field+"\x00"+c.Value] = c.Why
		}
		fmt.Fprintf(&b, "  # %s (inventory line %d): replace its playground block with this one\n", ag.ID, ag.Line)
		fmt.Fprintf(&b, "  - id: %s\n    playground:\n", scalar(ag.ID))
		pg := &ag.Playground
		list := func(indent, field, key string, vals []string) {
			if len(vals) == 0 {
				return
			}
			fmt.Fprintf(&b, "%s%s:\n", indent, key)
			for _, v := range vals {
				fmt.Fprintf(&b, "%s  - %s", indent, scalar(v))
				if why, ok := added[field+"\x00"+v]; ok {
					fmt.Fprintf(&b, "  # added: %s", why)
				}
				b.WriteString("\n")
			}
		}
		list("      ", "systems", "systems", pg.Systems)
		list("      ", "actions", "actions", pg.Actions)
		list("      ", "resources", "resources", pg.Resources)
		if len(pg.Statements) > 0 {
			b.WriteString("      statements:\n")
			for _, st := range pg.Statements {
				b.WriteString("        -")
				if st.Sid != "" {
					fmt.Fprintf(&b, " sid: %s\n         ", scalar(st.Sid))
				}
				fmt.Fprintf(&b, " actions: %s\n          resources: %s", flowList(st.Actions), flowList(st.Resources))
				for _, a := range st.Actions {
					for _, r := range st.Resources {
						if why, ok := added["statements\x00"+a+" on "+r]; ok {
							fmt.Fprintf(&b, "  # added: %s", why)
						}
					}
				}
				b.WriteString("\n")
			}
		}
		list("      ", "hours", "hours", pg.Hours)
		if pg.ActsForNobody() {
			b.WriteString("      delegators: none\n")
		} else {
			list("      ", "delegators", "delegators", pg.Delegators)
		}
		list("      ", "networks", "networks", pg.Networks)
		list("      ", "clients", "clients", pg.Clients)
		cp := &pg.CredentialPolicy
		if len(cp.AllowedTypes) > 0 || cp.MaxAge > 0 || cp.RotateEvery > 0 {
			b.WriteString("      credentials:\n")
			list("        ", "credentials.allowed_types", "allowed_types", cp.AllowedTypes)
			if cp.MaxAge > 0 {
				v := inventory.FormatDuration(time.Duration(cp.MaxAge))
				fmt.Fprintf(&b, "        max_age: %s", v)
				if why, ok := added["credentials.max_age\x00"+v]; ok {
					fmt.Fprintf(&b, "  # added: %s", why)
				}
				b.WriteString("\n")
			}
			if cp.RotateEvery > 0 {
				fmt.Fprintf(&b, "        rotate_every: %s\n", inventory.FormatDuration(time.Duration(cp.RotateEvery)))
			}
		}
		renderLeftOut(&b, "      # ", s)
	}
	return b.String()
}

// renderLeftOut writes, as comments, what crossed but was not added.
func renderLeftOut(b *strings.Builder, prefix string, s Suggestion) {
	if len(s.Denied) > 0 {
		fmt.Fprintf(b, "%snot added, refused by the source every time (AccessDenied): the agent keeps trying what its\n", prefix)
		fmt.Fprintf(b, "%spolicy does not allow; fix the agent, or grant it in the policy first:\n", prefix)
		for _, c := range s.Denied {
			fmt.Fprintf(b, "%s  %s: %s (%s)\n", prefix, c.Field, c.Value, c.Why)
		}
	}
	if len(s.Skipped) > 0 {
		fmt.Fprintf(b, "%snot added, seen in one hour (hours: on one day) only; expected, or an attack?\n", prefix)
		for _, c := range s.Skipped {
			fmt.Fprintf(b, "%s  %s: %s (%s)\n", prefix, c.Field, c.Value, c.Why)
		}
	}
}

// flowList renders a list as a YAML flow sequence of scalars.
func flowList(vals []string) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = scalar(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// scalar renders s as a YAML scalar, quoted when YAML needs it.
func scalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}
