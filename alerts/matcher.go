package alerts

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/agentwatch/agentwatch/schemas"
)

// Matcher is one condition on an alert, written as Alertmanager users
// write them: `severity=~"high|critical"`, `agent!=demo-bot`,
// `env="prod"`. Names are severity, detector, agent, instance, owner,
// kind, boundary and status; any other name is a label. severity also
// takes >= and <= ("severity>=high").
type Matcher struct {
	Name  string
	Op    string
	Value string
	re    *regexp.Regexp
}

var matcherOps = []string{"=~", "!~", "!=", ">=", "<=", "="}

// ParseMatcher reads one matcher.
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		for _, op := range matcherOps {
			if !strings.HasPrefix(s[i:], op) {
				continue
			}
			m := Matcher{Name: strings.TrimSpace(s[:i]), Op: op, Value: unquote(strings.TrimSpace(s[i+len(op):]))}
			if m.Name == "" || !validName(m.Name) {
				return m, fmt.Errorf("matcher %q: bad name %q", s, m.Name)
			}
			switch op {
			case "=~", "!~":
				re, err := regexp.Compile("^(?:" + m.Value + ")$")
				if err != nil {
					return m, fmt.Errorf("matcher %q: %w", s, err)
				}
				m.re = re
			case ">=", "<=":
				if m.Name != "severity" {
					return m, fmt.Errorf("matcher %q: %s only applies to severity", s, op)
				}
			}
			if m.Name == "severity" && m.re == nil && schemas.Severity(m.Value).Rank() < 0 {
				return m, fmt.Errorf("matcher %q: %q is not a severity (info, low, medium, high, critical)", s, m.Value)
			}
			return m, nil
		}
	}
	return Matcher{}, fmt.Errorf("matcher %q: want NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX", s)
}

func validName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		return s[1 : len(s)-1]
	}
	return s
}

// ParseMatchers reads a list; every matcher must parse.
func ParseMatchers(ss []string) ([]Matcher, error) {
	out := make([]Matcher, 0, len(ss))
	for _, s := range ss {
		m, err := ParseMatcher(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// String renders the matcher back in its canonical form.
func (m Matcher) String() string { return m.Name + m.Op + fmt.Sprintf("%q", m.Value) }

// Matches reports whether the alert satisfies the matcher.
func (m Matcher) Matches(a *schemas.Alert) bool {
	v := fieldValue(a, m.Name)
	switch m.Op {
	case "=":
		return v == m.Value
	case "!=":
		return v != m.Value
	case "=~":
		return m.re.MatchString(v)
	case "!~":
		return !m.re.MatchString(v)
	case ">=":
		return a.Severity.Rank() >= schemas.Severity(m.Value).Rank()
	case "<=":
		return a.Severity.Rank() >= 0 && a.Severity.Rank() <= schemas.Severity(m.Value).Rank()
	}
	return false
}

func fieldValue(a *schemas.Alert, name string) string {
	switch name {
	case "severity":
		return string(a.Severity)
	case "detector":
		return a.Detector
	case "agent", "agent_id":
		return a.Identity.AgentID
	case "instance":
		return a.Identity.AgentInstance
	case "owner":
		return a.Identity.Owner
	case "kind":
		return a.Identity.Kind
	case "boundary":
		return a.Boundary
	case "status":
		return a.Status
	}
	return a.Labels[name]
}

// matchAll reports whether every matcher matches (an empty list does).
func matchAll(ms []Matcher, a *schemas.Alert) bool {
	for _, m := range ms {
		if !m.Matches(a) {
			return false
		}
	}
	return true
}
