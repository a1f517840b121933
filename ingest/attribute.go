package ingest

import (
	"fmt"
	"github.com/agentwatch/agentwatch/schemas"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/agentwatch/agentwatch/internal/inventory"
)

// Rule maps what a record shows to an agent and instance, or marks its
// principal as a known non-agent (Kind). Every condition that is set must
// hold; the first rule that holds wins (an agent rule must also yield an
// agent id). The agent id comes from Agent, else the "agent" named group
// of SessionName, UserAgent or a RequestParameters expression, else the
// AgentTag value; the instance likewise from Instance, the "instance"
// group, or InstanceTag.
type Rule struct {
	Name string `koanf:"name"`
	// Formats restricts the rule to some formats (empty = all).
	Formats []string `koanf:"formats"`
	// Principal is a glob on the principal ("*" stays within a "/" segment).
	Principal string `koanf:"principal"`
	// Actions restricts the rule to records of some actions (globs such as
	// "sts:AssumeRole*"; empty = all).
	Actions []string `koanf:"actions"`
	// SessionName is a regular expression on the role session name (AWS),
	// session id (MCP); named groups "agent" and "instance" capture ids.
	SessionName string `koanf:"session_name"`
	// UserAgent is a regular expression on the user agent, with the same
	// named groups.
	UserAgent string `koanf:"user_agent"`
	// RequestParameters are regular expressions on the record's request
	// parameters, by name (CloudTrail requestParameters members: roleArn,
	// roleSessionName, sourceIdentity, externalId...), with the same named
	// groups. A missing parameter does not match. A rule with them
	// attributes the record that creates a credential for an agent (a node
	// calling sts:AssumeRole with the agent's role and session name) to
	// that agent: the event then names the credential created, and the
	// caller's own key is kept in attribute caller.credential_id.
	RequestParameters map[string]string `koanf:"request_parameters"`
	// AgentTag and InstanceTag are session-tag, label or user-extra keys
	// whose values are the agent id and instance.
	AgentTag    string `koanf:"agent_tag"`
	InstanceTag string `koanf:"instance_tag"`
	// Agent and Instance are fixed values for records the rule matches.
	Agent    string `koanf:"agent"`
	Instance string `koanf:"instance"`
	// Kind, instead of naming an agent, marks the principal of the
	// records the rule matches as a known non-agent: infrastructure or
	// human, as the inventory's principals list does. Owner and Note
	// describe it in explanations.
	Kind  string `koanf:"kind"`
	Owner string `koanf:"owner"`
	Note  string `koanf:"note"`
}

type compiledRule struct {
	Rule
	session, ua *regexp.Regexp
	params      []paramMatcher // sorted by name, so explanations are stable
	// principalPrefix is the literal start of the principal glob: most
	// rules fail on it without running the matcher.
	principalPrefix string
	// starOnly: the glob's only wildcard is "*", so the quick matcher
	// below gives the same answer as inventory.Glob.
	starOnly bool
}

type paramMatcher struct {
	name string
	re   *regexp.Regexp
}

func compileRule(r Rule) (*compiledRule, error) {
	c := &compiledRule{Rule: r}
	c.starOnly = !strings.ContainsAny(r.Principal, "?[\\") && !strings.Contains(r.Principal, "**")
	if i := strings.IndexAny(r.Principal, "*?[\\"); i >= 0 {
		c.principalPrefix = r.Principal[:i]
	} else {
		c.principalPrefix = r.Principal
	}
	if r.Principal == "" && r.SessionName == "" && r.UserAgent == "" && r.AgentTag == "" && r.InstanceTag == "" && len(r.RequestParameters) == 0 {
		return nil, fmt.Errorf("rule %q: needs at least one of principal, session_name, user_agent, request_parameters, agent_tag, instance_tag", r.Name)
	}
	var err error
	if r.SessionName != "" {
		if c.session, err = regexp.Compile(r.SessionName); err != nil {
			return nil, fmt.Errorf("rule %q: session_name: %w", r.Name, err)
		}
	}
	if r.UserAgent != "" {
		if c.ua, err = regexp.Compile(r.UserAgent); err != nil {
			return nil, fmt.Errorf("rule %q: user_agent: %w", r.Name, err)
		}
	}
	for name, expr := range r.RequestParameters {
		if name == "" {
			return nil, fmt.Errorf("rule %q: request_parameters: a parameter name is empty", r.Name)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("rule %q: request_parameters.%s: %w", r.Name, name, err)
		}
		c.params = append(c.params, paramMatcher{name, re})
	}
	sort.Slice(c.params, func(i, j int) bool { return c.params[i].name < c.params[j].name })
	hasGroup := func(re *regexp.Regexp, g string) bool { return re != nil && re.SubexpIndex(g) >= 0 }
	namesAgent := r.Agent != "" || r.AgentTag != "" || hasGroup(c.session, "agent") || hasGroup(c.ua, "agent")
	for _, pm := range c.params {
		namesAgent = namesAgent || hasGroup(pm.re, "agent")
	}
	switch {
	case r.Kind != "" && !slices.Contains(schemas.PrincipalKinds, r.Kind):
		return nil, fmt.Errorf("rule %q: kind: %q is not one of infrastructure, human", r.Name, r.Kind)
	case r.Kind != "" && (namesAgent || r.Instance != "" || r.InstanceTag != ""):
		return nil, fmt.Errorf("rule %q: names an agent and a kind: a rule either attributes records to an agent or marks their principal as %s", r.Name, r.Kind)
	case r.Kind == "" && (r.Owner != "" || r.Note != ""):
		return nil, fmt.Errorf("rule %q: owner and note describe a known principal: set kind (infrastructure or human)", r.Name)
	case r.Kind == "" && !namesAgent:
		return nil, fmt.Errorf("rule %q: names no agent: set agent, agent_tag, or an (?P<agent>...) group in session_name, user_agent or request_parameters (or kind, for a principal that is not an agent)", r.Name)
	}
	for _, f := range r.Formats {
		if !knownFormat(f) {
			return nil, fmt.Errorf("rule %q: formats: %q is not a known format (%s)", r.Name, f, formatList())
		}
	}
	if r.Principal != "" {
		if _, err := pathMatchCheck(r.Principal); err != nil {
			return nil, fmt.Errorf("rule %q: principal: %w", r.Name, err)
		}
	}
	for _, a := range r.Actions {
		if _, err := pathMatchCheck(strings.ReplaceAll(a, "**", "*")); err != nil {
			return nil, fmt.Errorf("rule %q: actions: %w", r.Name, err)
		}
	}
	return c, nil
}

// attribution is the outcome of trying the rules (and the inventory's
// principals list) on one record.
type attribution struct {
	Agent, Instance string
	Rule            string   // name of the rule that matched, "" if none
	Why             []string // per rule tried: why it matched or not
	// ViaRequest: the matching rule read request parameters, so the
	// record creates a credential for the agent and its principal is the
	// caller, not the agent.
	ViaRequest bool
	// Kind says what the principal is when it is known not to be an
	// agent (a kind rule, or an entry of the principals list: Entry).
	Kind, Owner, Note string
	Entry             *inventory.Principal
}

// attribute tries the rules in order.
func attribute(rules []*compiledRule, format string, p *parsed, explain bool) attribution {
	var a attribution
	for i, r := range rules {
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		agent, inst, ok, why := r.match(format, p, explain)
		if !ok {
			if explain {
				a.Why = append(a.Why, fmt.Sprintf("rule %s: no match: %s", name, why))
			}
			continue
		}
		a.Rule = name
		if r.Kind != "" {
			a.Kind, a.Owner, a.Note = r.Kind, r.Owner, r.Note
			if explain {
				a.Why = append(a.Why, fmt.Sprintf("rule %s: matched: %s; the principal is %s%s", name, why, r.Kind, describe(r.Owner, r.Note)))
			}
			return a
		}
		a.Agent, a.Instance, a.ViaRequest = agent, inst, len(r.params) > 0
		if explain {
			a.Why = append(a.Why, fmt.Sprintf("rule %s: matched: %s", name, why))
		}
		return a
	}
	return a
}

func describe(owner, note string) string {
	var b strings.Builder
	if owner != "" {
		b.WriteString(", owner " + owner)
	}
	if note != "" {
		b.WriteString(" (" + note + ")")
	}
	return b.String()
}

// match reports whether the rule's conditions hold for p and the agent and
// instance it yields, and, when explain is set, why. It runs for every
// record and rule, so it formats reasons only when asked to.
func (r *compiledRule) match(format string, p *parsed, explain bool) (agent, inst string, ok bool, why string) {
	var reasons []string
	say := func(f string, args ...any) { reasons = append(reasons, fmt.Sprintf(f, args...)) }
	fail := func() (string, string, bool, string) { return "", "", false, strings.Join(reasons, "; ") }
	if len(r.Formats) > 0 && !oneOfStr(format, r.Formats) {
		if explain {
			say("format %s not in %v", format, r.Formats)
		}
		return fail()
	}
	if len(r.Actions) > 0 {
		if !inventory.AnyGlob(r.Actions, p.ev.Action) {
			if explain {
				say("action %s not in %v", p.ev.Action, r.Actions)
			}
			return fail()
		}
		if explain {
			say("action %s in %v", p.ev.Action, r.Actions)
		}
	}
	if r.Principal != "" {
		if !strings.HasPrefix(p.ev.Principal, r.principalPrefix) || !r.globMatch(p.ev.Principal) {
			if explain {
				say("principal %q does not match %q", p.ev.Principal, r.Principal)
			}
			return fail()
		}
		if explain {
			say("principal %q matches %q", p.ev.Principal, r.Principal)
		}
	}
	agent, inst = r.Agent, r.Instance
	capture := func(re *regexp.Regexp, field, v string) bool {
		m := re.FindStringSubmatchIndex(v)
		if m == nil {
			if explain {
				say("%s %q does not match /%s/", field, v, re)
			}
			return false
		}
		if i := re.SubexpIndex("agent"); i >= 0 && agent == "" && m[2*i] >= 0 {
			agent = v[m[2*i]:m[2*i+1]]
		}
		if i := re.SubexpIndex("instance"); i >= 0 && inst == "" && m[2*i] >= 0 {
			inst = v[m[2*i]:m[2*i+1]]
		}
		if explain {
			say("%s %q matches /%s/", field, v, re)
		}
		return true
	}
	if r.session != nil && !capture(r.session, "session name", p.sessionName) {
		return fail()
	}
	if r.ua != nil && !capture(r.ua, "user agent", p.ev.UserAgent) {
		return fail()
	}
	for _, pm := range r.params {
		v, present := requestParam(p.request, pm.name)
		if !present {
			if explain {
				say("no request parameter %s", pm.name)
			}
			return fail()
		}
		if !capture(pm.re, "request parameter "+pm.name, v) {
			return fail()
		}
	}
	for i, key := range [2]string{r.AgentTag, r.InstanceTag} {
		if key == "" {
			continue
		}
		v := p.tags[key]
		if v == "" {
			if explain {
				say("no tag %q", key)
			}
			return fail()
		}
		if explain {
			say("tag %s=%q", key, v)
		}
		switch {
		case i == 0 && agent == "":
			agent = v
		case i == 1 && inst == "":
			inst = v
		}
	}
	if agent == "" && r.Kind == "" {
		if explain {
			say("conditions hold but the agent id came out empty")
		}
		return fail()
	}
	if !explain {
		return agent, inst, true, ""
	}
	return agent, inst, true, strings.Join(reasons, "; ")
}

// requestParam reads one member of the request parameters: a string as
// its text, any other scalar as written; an object, array or null is not
// a value a rule can match.
func requestParam(req []byte, name string) (string, bool) {
	if len(req) == 0 || req[0] != '{' {
		return "", false
	}
	v := objGet(req, name)
	if len(v) == 0 {
		return "", false
	}
	switch v[0] {
	case '"':
		return str(v), true
	case '{', '[', 'n':
		return "", false
	}
	return string(v), true
}

func (r *compiledRule) globMatch(name string) bool {
	if r.starOnly {
		return starMatch(r.Principal, name)
	}
	return inventory.Glob(r.Principal, name)
}

// starMatch matches a glob whose only wildcard is "*", which matches any
// run of bytes other than "/" (path.Match semantics, as inventory.Glob
// uses for such patterns), without path.Match's per-call overhead.
func starMatch(pattern, name string) bool {
	if pattern == "*" {
		return true // inventory.Glob treats a lone "*" as match-all
	}
	return starMatch2(pattern, name)
}

// starMatch2 is starMatch without the lone-"*" shortcut (inside a pattern
// a trailing "*" must still stop at "/").
func starMatch2(pattern, name string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name
	}
	if !strings.HasPrefix(name, pattern[:star]) {
		return false
	}
	name, pattern = name[star:], pattern[star+1:]
	for i := 0; ; i++ {
		if starMatch2(pattern, name[i:]) {
			return true
		}
		if i >= len(name) || name[i] == '/' {
			return false
		}
	}
}

// principalSet is the inventory's principals list as the normaliser
// consults it: the entry of each principal is looked up once and cached,
// since node identities repeat on every record they make.
type principalSet struct {
	list  []*inventory.Principal
	mu    sync.RWMutex
	cache map[string]*inventory.Principal // nil: no entry
}

// maxPrincipalCache bounds the cache; it is cleared when full.
const maxPrincipalCache = 100000

func newPrincipalSet(list []*inventory.Principal) *principalSet {
	if len(list) == 0 {
		return nil
	}
	return &principalSet{list: list, cache: map[string]*inventory.Principal{}}
}

func (s *principalSet) lookup(principal string) *inventory.Principal {
	if s == nil || principal == "" {
		return nil
	}
	s.mu.RLock()
	e, ok := s.cache[principal]
	s.mu.RUnlock()
	if ok {
		return e
	}
	for _, p := range s.list {
		if p.Matches(principal) {
			e = p
			break
		}
	}
	s.mu.Lock()
	if len(s.cache) >= maxPrincipalCache {
		clear(s.cache)
	}
	s.cache[principal] = e
	s.mu.Unlock()
	return e
}

// classify says what the principal is when it is not the event's agent:
// an unattributed record's principal, or the caller that made an agent's
// credential (a rule on request parameters). A kind rule has already
// said; otherwise the inventory's principals list is asked. An entry that
// lists actions covers only those: another action leaves the principal
// unknown.
func (s *principalSet) classify(p *parsed, a *attribution, explain bool) {
	if a.Kind != "" || (a.Agent != "" && !a.ViaRequest) || s == nil {
		return
	}
	e := s.lookup(p.ev.Principal)
	switch {
	case e == nil:
		if explain && p.ev.Principal != "" {
			a.Why = append(a.Why, fmt.Sprintf("principals: %q matches no entry of the inventory's principals list", p.ev.Principal))
		}
	case !e.Covers(p.ev.Action):
		if explain {
			a.Why = append(a.Why, fmt.Sprintf("principals: %q matches %s: kind %s%s; but action %s is not in its actions %v: judged as an unknown principal",
				p.ev.Principal, e.Where(), e.Kind, describe(e.Owner, e.Note), p.ev.Action, e.Actions))
		}
	default:
		a.Kind, a.Owner, a.Note, a.Entry = e.Kind, e.Owner, e.Note, e
		if explain {
			a.Why = append(a.Why, fmt.Sprintf("principals: %q matches %s %v: kind %s%s", p.ev.Principal, e.Where(), []string(e.Match), e.Kind, describe(e.Owner, e.Note)))
		}
	}
}
