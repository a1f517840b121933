package ingest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/agentwatch/agentwatch/internal/inventory"
)

// Rule maps what a record shows to an agent and instance. Every condition
// that is set must hold; the first rule that holds and yields an agent id
// wins. The agent id comes from Agent, else the "agent" named group of
// SessionName or UserAgent, else the AgentTag value; the instance likewise
// from Instance, the "instance" group, or InstanceTag.
type Rule struct {
	Name string `koanf:"name"`
	// Formats restricts the rule to some formats (empty = all).
	Formats []string `koanf:"formats"`
	// Principal is a glob on the principal ("*" stays within a "/" segment).
	Principal string `koanf:"principal"`
	// SessionName is a regular expression on the role session name (AWS),
	// session id (MCP); named groups "agent" and "instance" capture ids.
	SessionName string `koanf:"session_name"`
	// UserAgent is a regular expression on the user agent, with the same
	// named groups.
	UserAgent string `koanf:"user_agent"`
	// AgentTag and InstanceTag are session-tag, label or user-extra keys
	// whose values are the agent id and instance.
	AgentTag    string `koanf:"agent_tag"`
	InstanceTag string `koanf:"instance_tag"`
	// Agent and Instance are fixed values for records the rule matches.
	Agent    string `koanf:"agent"`
	Instance string `koanf:"instance"`
}

type compiledRule struct {
	Rule
	session, ua *regexp.Regexp
	// principalPrefix is the literal start of the principal glob: most
	// rules fail on it without running the matcher.
	principalPrefix string
	// starOnly: the glob's only wildcard is "*", so the quick matcher
	// below gives the same answer as inventory.Glob.
	starOnly bool
}

func compileRule(r Rule) (*compiledRule, error) {
	c := &compiledRule{Rule: r}
	c.starOnly = !strings.ContainsAny(r.Principal, "?[\\") && !strings.Contains(r.Principal, "**")
	if i := strings.IndexAny(r.Principal, "*?[\\"); i >= 0 {
		c.principalPrefix = r.Principal[:i]
	} else {
		c.principalPrefix = r.Principal
	}
	if r.Principal == "" && r.SessionName == "" && r.UserAgent == "" && r.AgentTag == "" && r.InstanceTag == "" {
		return nil, fmt.Errorf("rule %q: needs at least one of principal, session_name, user_agent, agent_tag, instance_tag", r.Name)
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
	hasGroup := func(re *regexp.Regexp, g string) bool { return re != nil && re.SubexpIndex(g) >= 0 }
	if r.Agent == "" && r.AgentTag == "" && !hasGroup(c.session, "agent") && !hasGroup(c.ua, "agent") {
		return nil, fmt.Errorf("rule %q: names no agent: set agent, agent_tag, or an (?P<agent>...) group in session_name or user_agent", r.Name)
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
	return c, nil
}

// attribution is the outcome of trying the rules on one record.
type attribution struct {
	Agent, Instance string
	Rule            string   // name of the rule that matched, "" if none
	Why             []string // per rule tried: why it matched or not
}

// attribute tries the rules in order.
func attribute(rules []*compiledRule, format string, p *parsed, explain bool) attribution {
	var a attribution
	for i, r := range rules {
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		agent, inst, why := r.match(format, p, explain)
		if agent == "" {
			if explain {
				a.Why = append(a.Why, fmt.Sprintf("rule %s: no match: %s", name, why))
			}
			continue
		}
		a.Agent, a.Instance, a.Rule = agent, inst, name
		if explain {
			a.Why = append(a.Why, fmt.Sprintf("rule %s: matched: %s", name, why))
		}
		return a
	}
	return a
}

// match returns the agent and instance the rule yields for p ("" if it
// does not match) and, when explain is set, why. It runs for every record
// and rule, so it formats reasons only when asked to.
func (r *compiledRule) match(format string, p *parsed, explain bool) (agent, inst, why string) {
	var reasons []string
	say := func(f string, args ...any) { reasons = append(reasons, fmt.Sprintf(f, args...)) }
	fail := func() (string, string, string) { return "", "", strings.Join(reasons, "; ") }
	if len(r.Formats) > 0 && !oneOfStr(format, r.Formats) {
		if explain {
			say("format %s not in %v", format, r.Formats)
		}
		return fail()
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
	for _, c := range [2]struct {
		re    *regexp.Regexp
		field string
		v     string
	}{{r.session, "session name", p.sessionName}, {r.ua, "user agent", p.ev.UserAgent}} {
		if c.re == nil {
			continue
		}
		m := c.re.FindStringSubmatchIndex(c.v)
		if m == nil {
			if explain {
				say("%s %q does not match /%s/", c.field, c.v, c.re)
			}
			return fail()
		}
		if i := c.re.SubexpIndex("agent"); i >= 0 && agent == "" && m[2*i] >= 0 {
			agent = c.v[m[2*i]:m[2*i+1]]
		}
		if i := c.re.SubexpIndex("instance"); i >= 0 && inst == "" && m[2*i] >= 0 {
			inst = c.v[m[2*i]:m[2*i+1]]
		}
		if explain {
			say("%s %q matches /%s/", c.field, c.v, c.re)
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
	if agent == "" {
		if explain {
			say("conditions hold but the agent id came out empty")
		}
		return fail()
	}
	if !explain {
		return agent, inst, ""
	}
	return agent, inst, strings.Join(reasons, "; ")
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
