package console

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// The agent page lays the declared playground beside the learned one. Both
// sides are judged with the inventory's matchers, the ones detection
// judges events with: a learned habit is "not declared" when detection
// would have let none of its events through, and a declared value is
// "never used" when no learned habit falls under it (an action counts
// only where it was used on resources its own statement allows).

// habit is one learned playground entry.
type habit struct {
	Kind, What             string
	Note                   string // e.g. a user agent's client family
	Count                  int64
	FirstSeen, LastSeen    time.Time
	Mark, MarkClass, Title string
	More                   bool // a row counting the habits not listed
}

// declItem is one declared value with its mark.
type declItem struct {
	What                   string
	Mark, MarkClass, Title string
}

// declRow is one key of the declared playground with its values, or one
// statement with its actions and the resources they apply to.
type declRow struct {
	Kind  string     // "systems", "statement", "actions", "networks", ...
	Label string     // a statement's sid (or "statements[2]")
	Items []declItem // what it declares
	On    []declItem // a statement's resources
	Note  string
}

// credSeen is what the events of the last days say of one credential.
type credSeen struct {
	Type   string
	Issued time.Time
}

const (
	markTooOld     = "too old"
	markNotRotated = "not rotated"
	titleNever     = "declared, but no learned habit falls under it"
	titleNever7d   = "declared, but no credential seen in the last 7 days has it"
)

// learnedUse gathers the learned habits the declared side is judged by.
type learnedUse struct {
	triples    []schemas.PlaygroundRow // of allowed systems
	systems    []string
	networks   []string
	families   []string
	delegators []string
	// tooOld and notRotated count the credentials marked so.
	tooOld, notRotated int
}

// playgrounds lays the declared playground beside the learned one, with
// marks: declared but never used, used but not declared, accepted. creds
// holds the credentials seen lately, by id (type and issue time).
func playgrounds(ag *inventory.Agent, play []schemas.PlaygroundRow, accepted []schemas.ActionRow, creds map[string]credSeen, now time.Time) (decl []declRow, learned []habit) {
	var pg *inventory.Playground
	if ag != nil {
		pg = &ag.Playground
	}
	use := learnedUse{}
	for _, p := range play {
		h := habit{Count: p.Count, FirstSeen: p.FirstSeen, LastSeen: p.LastSeen}
		switch p.Kind {
		case schemas.PlayTriple:
			h.Kind, h.What = "action", strings.TrimSuffix(strings.TrimSpace(p.System+" · "+p.Action+" · "+p.ResourcePattern), " ·")
			use.systems = append(use.systems, p.System)
			if pg == nil || pg.AllowsSystem(p.System) {
				use.triples = append(use.triples, p)
			}
			if pg != nil {
				h.Mark, h.MarkClass, h.Title = judgeTriple(pg, p)
			}
		case schemas.PlayNetwork:
			h.Kind, h.What = "network", p.Value
			use.networks = append(use.networks, p.Value)
			if pg != nil {
				h.Mark, h.MarkClass, h.Title, h.Note = judgeNetwork(pg, p.Value)
			}
		case schemas.PlayUserAgent:
			f := inventory.LearnedClientFamily(p.Value)
			h.Kind, h.What, h.Note = "client", p.Value, f
			use.families = append(use.families, f)
			if pg != nil {
				h.Mark, h.MarkClass, h.Title = judgeClient(pg, f)
			}
		case schemas.PlayDelegator:
			h.Kind, h.What = "on behalf of", p.Value
			use.delegators = append(use.delegators, p.Value)
			if pg != nil && len(pg.Delegators) > 0 && !pg.AllowsDelegator(p.Value) {
				h.Mark, h.MarkClass, h.Title = "not declared", "bad", p.Value+" is not an allowed delegator ["+strings.Join(pg.Delegators, ", ")+"]"
				if pg.ActsForNobody() {
					h.Title = "the inventory says it acts for nobody (delegators: none)"
				}
			}
		case schemas.PlayCredential:
			h.Kind, h.What = "credential", p.Value
			if c, ok := creds[p.Value]; ok {
				h.Note = c.Type
			}
			if pg != nil {
				h.Mark, h.MarkClass, h.Title = judgeCredential(pg.CredentialPolicy, p, creds[p.Value])
				switch h.Mark {
				case markTooOld:
					use.tooOld++
				case markNotRotated:
					use.notRotated++
				}
			}
		default:
			h.Kind, h.What = p.Kind, p.Value
		}
		learned = append(learned, h)
	}
	for _, a := range accepted {
		h := habit{Kind: "accepted", What: a.Detector + " · " + a.Subject, FirstSeen: a.Time, Mark: "accepted", MarkClass: "ok",
			Title: "accepted by " + a.Actor + ": " + a.Reason}
		if a.ExpiresAt != nil {
			h.LastSeen = *a.ExpiresAt
			if !a.Active(now) {
				h.Mark, h.MarkClass = "expired", "muted"
			}
		}
		learned = append(learned, h)
	}
	// Within a kind, what the declared playground does not allow first,
	// then the most used.
	sort.SliceStable(learned, func(i, j int) bool {
		a, b := &learned[i], &learned[j]
		if a.Kind != b.Kind {
			return kindOrder(a.Kind) < kindOrder(b.Kind)
		}
		if ra, rb := markRank(a.MarkClass), markRank(b.MarkClass); ra != rb {
			return ra < rb
		}
		return a.Count > b.Count
	})
	learned = capKinds(learned)
	if pg == nil {
		return nil, learned
	}
	return declared(pg, &use, creds), learned
}

// manyKinds are the habits an agent can have thousands of (a session
// per task, a customer per ticket): beyond the marked ones, the most used
// are listed and the rest counted.
var manyKinds = map[string]bool{"credential": true, "on behalf of": true}

const manyShown = 25

// capKinds keeps, of each of manyKinds, the marked habits and the
// manyShown most used others, and a row saying how many more there are.
// learned is sorted by kind, marked first, then by use.
func capKinds(learned []habit) []habit {
	out := learned[:0:0]
	shown, more := map[string]int{}, map[string]int{}
	for i, h := range learned {
		if manyKinds[h.Kind] && h.MarkClass != "bad" && h.MarkClass != "warn" {
			if shown[h.Kind] >= manyShown {
				more[h.Kind]++
			} else {
				shown[h.Kind]++
				out = append(out, h)
			}
		} else {
			out = append(out, h)
		}
		if n := more[h.Kind]; n > 0 && (i == len(learned)-1 || learned[i+1].Kind != h.Kind) {
			out = append(out, habit{Kind: h.Kind, What: fmt.Sprintf("and %d more, each used less", n), More: true})
		}
	}
	return out
}

func markRank(class string) int {
	switch class {
	case "bad":
		return 0
	case "warn":
		return 1
	}
	return 2
}

func kindOrder(k string) int {
	for i, v := range []string{"accepted", "action", "network", "client", "on behalf of", "credential"} {
		if v == k {
			return i
		}
	}
	return 99
}

// judgeTriple marks a learned (system, action, resource pattern) the way
// playground.declared judges its events.
func judgeTriple(pg *inventory.Playground, p schemas.PlaygroundRow) (mark, class, title string) {
	if pg.AlwaysAllows(p.Action) {
		return "", "", ""
	}
	if !pg.AllowsSystem(p.System) {
		return "not declared", "bad", "system " + p.System + " is not in the declared systems [" + strings.Join(pg.Systems, ", ") + "]"
	}
	mask := pg.ActionRules(p.Action)
	if mask == 0 {
		return "not declared", "bad", "action " + p.Action + " is in no declared statement or action list"
	}
	if p.ResourcePattern == "" || !pg.ConstrainsResources() || pg.PatternAllowed(mask, p.ResourcePattern) {
		return "", "", ""
	}
	res, rules := pg.ResourcesFor(mask)
	if pg.HasStatements() {
		return "not declared", "bad", p.Action + " is allowed only on [" + strings.Join(res, ", ") + "] (" + strings.Join(rules, ", ") + ")"
	}
	return "not declared", "bad", "resource pattern " + p.ResourcePattern + " is not in the declared resources [" + strings.Join(res, ", ") + "]"
}

// judgeNetwork marks a learned source network (a /24 or /48) outside the
// declared networks. One they hold only part of (a NAT gateway's address
// in its /24) is not marked: the habit keeps the network, not the
// addresses, and detection judged each call's address; a note says so.
func judgeNetwork(pg *inventory.Playground, network string) (mark, class, title, note string) {
	switch pg.NetworkCoverage(network) {
	case inventory.CoverNone:
		return "not declared", "bad", "outside the declared networks [" + strings.Join(pg.Networks, ", ") + "]", ""
	case inventory.CoverPart:
		return "", "", "", "partly in the declared networks"
	}
	return "", "", "", ""
}

// judgeClient marks a learned user agent by its client family.
func judgeClient(pg *inventory.Playground, family string) (mark, class, title string) {
	if pg.AllowsLearnedClient(family) {
		return "", "", ""
	}
	if family == "aws-service" || family == "aws-internal" {
		return "AWS service", "muted", "an AWS service calling for the agent: its calls without a source address are not judged against the declared clients"
	}
	return "not declared", "bad", "client family " + family + " is not in the declared clients [" + strings.Join(pg.Clients, ", ") + "]"
}

// judgeCredential marks a learned credential against the credential
// policy, as credential.disallowed_type, credential.too_old and
// credential.not_rotated judge its events: the age since it was issued
// where the events say, else, for a long-lived key, since agentwatch first
// saw it.
func judgeCredential(cp inventory.CredentialPolicy, p schemas.PlaygroundRow, c credSeen) (mark, class, title string) {
	if c.Type != "" && len(cp.AllowedTypes) > 0 && !contains(cp.AllowedTypes, c.Type) {
		return "type not allowed", "bad", c.Type + " is not in the allowed types [" + strings.Join(cp.AllowedTypes, ", ") + "]"
	}
	issued := !c.Issued.IsZero() && c.Issued.Unix() > 0
	if max := time.Duration(cp.MaxAge); max > 0 && issued && p.LastSeen.Sub(c.Issued) > max {
		return markTooOld, "bad", "used " + notify.Age(p.LastSeen.Sub(c.Issued)) + " after it was issued; the policy allows at most " + inventory.FormatDuration(max)
	}
	every := time.Duration(cp.RotateEvery)
	if every <= 0 {
		return "", "", ""
	}
	var age time.Duration
	var since string
	switch {
	case issued:
		age, since = p.LastSeen.Sub(c.Issued), "issued"
	case c.Type == schemas.CredStaticKey:
		age, since = p.LastSeen.Sub(p.FirstSeen), "first seen"
	default:
		return "", "", ""
	}
	if age <= every {
		return "", "", ""
	}
	return markNotRotated, "bad", "in use " + notify.Age(age) + " after it was " + since + "; keys must rotate every " + inventory.FormatDuration(every)
}

// declared builds the declared column, marking what no learned habit uses.
func declared(pg *inventory.Playground, use *learnedUse, creds map[string]credSeen) []declRow {
	var out []declRow
	if len(pg.Systems) > 0 {
		row := declRow{Kind: "systems"}
		for _, g := range pg.Systems {
			it := declItem{What: g}
			if !anyMatch(use.systems, func(s string) bool { return inventory.Glob(g, s) || g == s }) {
				it.Mark, it.MarkClass, it.Title = "never used", "muted", titleNever
			}
			row.Items = append(row.Items, it)
		}
		out = append(out, row)
	}
	for _, r := range pg.Rules() {
		acts, res := ruleUse(r, use.triples)
		if r.TopLevel {
			if len(acts) > 0 {
				out = append(out, declRow{Kind: "actions", Items: acts, Note: onNote(r, pg)})
			}
			if len(res) > 0 {
				out = append(out, declRow{Kind: "resources", Items: res})
			}
			continue
		}
		out = append(out, declRow{Kind: "statement", Label: r.Name, Items: acts, On: res})
	}
	if len(pg.Hours) > 0 {
		row := declRow{Kind: "hours", Note: "UTC"}
		for _, h := range pg.Hours {
			row.Items = append(row.Items, declItem{What: h})
		}
		out = append(out, row)
	}
	if pg.ActsForNobody() {
		it := declItem{What: "none"}
		if n := len(use.delegators); n > 0 {
			it.Mark, it.MarkClass, it.Title = fmt.Sprintf("%d seen", n), "bad", fmt.Sprintf("it acted on behalf of %d %s", n, plural(n, "principal", "principals"))
		}
		out = append(out, declRow{Kind: "on behalf of", Items: []declItem{it}, Note: "acts for nobody"})
	} else if len(pg.Delegators) > 0 {
		row := declRow{Kind: "on behalf of"}
		for _, g := range pg.Delegators {
			it := declItem{What: g}
			if !anyMatch(use.delegators, func(d string) bool { return inventory.Glob(g, d) || g == d }) {
				it.Mark, it.MarkClass, it.Title = "never used", "muted", titleNever
			}
			row.Items = append(row.Items, it)
		}
		out = append(out, row)
	}
	if len(pg.Networks) > 0 {
		row := declRow{Kind: "networks"}
		for _, n := range pg.Networks {
			it := declItem{What: n}
			if !anyMatch(use.networks, func(l string) bool { return inventory.NetworksOverlap(n, l) }) {
				it.Mark, it.MarkClass, it.Title = "never used", "muted", "declared, but no call came from it"
			}
			row.Items = append(row.Items, it)
		}
		out = append(out, row)
	}
	if len(pg.Clients) > 0 {
		row := declRow{Kind: "clients"}
		for _, f := range pg.Clients {
			it := declItem{What: f}
			if !anyMatch(use.families, func(l string) bool { return inventory.ClientFamilyMatches(f, l) }) {
				it.Mark, it.MarkClass, it.Title = "never used", "muted", "declared, but no user agent of this family was seen"
			}
			row.Items = append(row.Items, it)
		}
		out = append(out, row)
	}
	if row, ok := declaredCredentials(pg.CredentialPolicy, use, creds); ok {
		out = append(out, row)
	}
	return out
}

// onNote says what the top-level actions apply to beside statements.
func onNote(r inventory.Rule, pg *inventory.Playground) string {
	if len(r.Resources) == 0 && pg.HasStatements() {
		return "on any resource"
	}
	return ""
}

// ruleUse marks a rule's actions and resources used or not: an action is
// used when a learned habit performed it on a resource the rule allows; a
// resource, when a habit performed one of the rule's actions on it.
func ruleUse(r inventory.Rule, triples []schemas.PlaygroundRow) (acts, res []declItem) {
	usedA := make([]bool, len(r.Actions))
	elsewhere := make([]string, len(r.Actions))
	usedR := make([]bool, len(r.Resources))
	for _, t := range triples {
		var hitA []int
		for i, a := range r.Actions {
			if inventory.MatchAction(a, t.Action) {
				hitA = append(hitA, i)
			}
		}
		if len(r.Actions) > 0 && len(hitA) == 0 {
			continue
		}
		resOK := len(r.Resources) == 0 || t.ResourcePattern == ""
		for i, pat := range r.Resources {
			var hit bool
			if t.ResourcePattern == "" {
				// A habit without a resource was authorised against "*".
				hit = pat == "*" || pat == "**"
			} else {
				hit = inventory.PatternOverlaps(pat, t.ResourcePattern)
			}
			if hit {
				usedR[i], resOK = true, true
			}
		}
		for _, i := range hitA {
			if resOK {
				usedA[i] = true
			} else if elsewhere[i] == "" {
				elsewhere[i] = t.Action + " on " + t.ResourcePattern
			}
		}
	}
	for i, a := range r.Actions {
		it := declItem{What: a}
		switch {
		case usedA[i]:
		case elsewhere[i] != "":
			it.Mark, it.MarkClass, it.Title = "never used", "muted", "used only on resources this statement leaves out (such as "+elsewhere[i]+")"
		default:
			it.Mark, it.MarkClass, it.Title = "never used", "muted", titleNever
		}
		acts = append(acts, it)
	}
	for i, p := range r.Resources {
		it := declItem{What: p}
		if !usedR[i] {
			it.Mark, it.MarkClass, it.Title = "never used", "muted", "declared, but no learned habit performed these actions on it"
		}
		res = append(res, it)
	}
	return acts, res
}

// declaredCredentials is the credential policy's row: the allowed types
// (marked when no credential of the last 7 days had one), the maximum age
// and the rotation period (marked with how many credentials broke them).
func declaredCredentials(cp inventory.CredentialPolicy, use *learnedUse, creds map[string]credSeen) (declRow, bool) {
	row := declRow{Kind: "credentials"}
	for _, t := range cp.AllowedTypes {
		it := declItem{What: t}
		if !anyCred(creds, func(c credSeen) bool { return c.Type == t }) {
			it.Mark, it.MarkClass, it.Title = "never used", "muted", titleNever7d
		}
		row.Items = append(row.Items, it)
	}
	if cp.MaxAge > 0 {
		it := declItem{What: "at most " + inventory.FormatDuration(time.Duration(cp.MaxAge)) + " old"}
		if use.tooOld > 0 {
			it.Mark, it.MarkClass, it.Title = fmt.Sprintf("%d older", use.tooOld), "bad", "credentials used when older than this (marked too old beside)"
		}
		row.Items = append(row.Items, it)
	}
	if cp.RotateEvery > 0 {
		it := declItem{What: "rotated every " + inventory.FormatDuration(time.Duration(cp.RotateEvery))}
		if use.notRotated > 0 {
			it.Mark, it.MarkClass, it.Title = fmt.Sprintf("%d overdue", use.notRotated), "bad", "credentials in use for longer than this (marked not rotated beside)"
		}
		row.Items = append(row.Items, it)
	}
	return row, len(row.Items) > 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func anyMatch(list []string, f func(string) bool) bool {
	for _, v := range list {
		if f(v) {
			return true
		}
	}
	return false
}

func anyCred(m map[string]credSeen, f func(credSeen) bool) bool {
	for _, c := range m {
		if f(c) {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
