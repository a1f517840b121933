package inventory

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/agentwatch/agentwatch/internal/awsiam"
)

// keyErr is a keyError (lifecycle.go) for a key of the playground
// ("playground.statements[1].resources[0]").
func keyErr(key, format string, args ...any) error {
	return &keyError{key: key, msg: fmt.Sprintf(format, args...)}
}

var clientName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// check reports the first pattern of the playground that is malformed or
// can never match anything, naming its key.
func (p *Playground) check() error {
	awsCtx := len(p.Systems) == 0
	for _, s := range p.Systems {
		if strings.HasPrefix(s, "aws:") || s == "*" || s == "**" {
			awsCtx = true
		}
	}
	if len(p.Statements) > maxRules-1 {
		return keyErr("playground.statements", "at most %d statements", maxRules-1)
	}
	if len(p.Statements) > 0 && len(p.Actions) == 0 && len(p.Resources) > 0 {
		return keyErr("playground.resources", "beside statements, resources belong in a statement with the actions they apply to")
	}
	for i, a := range p.Actions {
		if err := p.checkAction(fmt.Sprintf("playground.actions[%d]", i), a, awsCtx); err != nil {
			return err
		}
	}
	for i, r := range p.Resources {
		if err := p.checkResource(fmt.Sprintf("playground.resources[%d]", i), r, p.Actions); err != nil {
			return err
		}
	}
	for i, st := range p.Statements {
		key := fmt.Sprintf("playground.statements[%d]", i)
		if len(st.Actions) == 0 {
			return keyErr(key+".actions", "is required")
		}
		if len(st.Resources) == 0 {
			return keyErr(key+".resources", "is required (write [\"*\"] for any resource)")
		}
		for j, a := range st.Actions {
			if err := p.checkAction(fmt.Sprintf("%s.actions[%d]", key, j), a, awsCtx); err != nil {
				return err
			}
		}
		for j, r := range st.Resources {
			if err := p.checkResource(fmt.Sprintf("%s.resources[%d]", key, j), r, st.Actions); err != nil {
				return err
			}
		}
	}
	for i, d := range p.Delegators {
		key := fmt.Sprintf("playground.delegators[%d]", i)
		if d == DelegatorsNone && len(p.Delegators) > 1 {
			return keyErr("playground.delegators", "none means the agent acts for nobody; it cannot stand beside delegators")
		}
		if _, err := path.Match(strings.ReplaceAll(d, "**", "*"), ""); err != nil {
			return keyErr(key, "bad glob %q: %v", d, err)
		}
	}
	for i, n := range p.Networks {
		if _, err := parseNetwork(n); err != nil {
			return keyErr(fmt.Sprintf("playground.networks[%d]", i), "%q is not a CIDR (10.0.0.0/8) or an IP address", n)
		}
	}
	for i, c := range p.Clients {
		if !clientName.MatchString(c) {
			return keyErr(fmt.Sprintf("playground.clients[%d]", i),
				"%q can never match: a client family is a lower-case name without a version (%s, or a product name such as review-bot)",
				c, strings.Join(ClientFamilies, ", "))
		}
	}
	for i, h := range p.Hours {
		if _, err := parseHourRange(h); err != nil {
			return keyErr(fmt.Sprintf("playground.hours[%d]", i), "%v", err)
		}
	}
	if p.CredentialPolicy.MaxAge < 0 {
		return keyErr("playground.credentials.max_age", "must not be negative")
	}
	if p.CredentialPolicy.RotateEvery < 0 {
		return keyErr("playground.credentials.rotate_every", "must not be negative")
	}
	return nil
}

// checkAction: a glob must be well formed; an IAM-shaped action must name
// an AWS service, and one whose system the playground's systems leave out
// can never be allowed.
func (p *Playground) checkAction(key, a string, awsCtx bool) error {
	if a == "*" {
		return nil
	}
	if !awsiam.LooksLikeAction(a) {
		if _, err := path.Match(strings.ReplaceAll(a, "**", "*"), ""); err != nil {
			return keyErr(key, "bad glob %q: %v", a, err)
		}
		return nil
	}
	if !awsCtx {
		return nil
	}
	if err := awsiam.CheckAction(a); err != nil {
		return keyErr(key, "%v", err)
	}
	prefix, _, _ := strings.Cut(a, ":")
	if len(p.Systems) > 0 && !strings.ContainsAny(prefix, "*?") && !p.AllowsSystem("aws:"+strings.ToLower(prefix)) {
		return keyErr(key, "%q can never be allowed: its system aws:%s is not in playground.systems [%s]",
			a, strings.ToLower(prefix), strings.Join(p.Systems, ", "))
	}
	return nil
}

// checkResource: an ARN pattern must be able to match some ARN; a glob
// must be well formed, and cannot stand for AWS resources agentwatch
// names by ARN.
func (p *Playground) checkResource(key, r string, actions []string) error {
	switch {
	case r == "*" || r == "**":
		return nil
	case strings.HasPrefix(r, "arn:"):
		if err := awsiam.CheckResource(r); err != nil {
			return keyErr(key, "%v", err)
		}
		return nil
	}
	if _, err := path.Match(strings.ReplaceAll(r, "**", "*"), ""); err != nil {
		return keyErr(key, "bad glob %q: %v", r, err)
	}
	if p.onlyARNNamed(actions) {
		return keyErr(key, "%q can never match: agentwatch names these AWS services' resources by ARN (arn:aws:...), as IAM does", r)
	}
	return nil
}

// onlyARNNamed reports whether every event the actions (or, with none,
// the systems) can allow is an AWS event whose resource is an ARN.
func (p *Playground) onlyARNNamed(actions []string) bool {
	if len(actions) == 0 {
		if len(p.Systems) == 0 {
			return false
		}
		for _, s := range p.Systems {
			svc, ok := strings.CutPrefix(s, "aws:")
			if !ok || awsiam.ServiceOf(svc) == nil {
				return false
			}
		}
		return true
	}
	for _, a := range actions {
		prefix, _, _ := strings.Cut(a, ":")
		if !awsiam.LooksLikeAction(a) || awsiam.ServiceOf(strings.ToLower(prefix)) == nil {
			return false
		}
	}
	return true
}

// lineOf returns the line of key ("playground.statements[1].resources[0]")
// under the mapping node n, or n's own line when the key is not there.
func lineOf(n *yaml.Node, key string) int {
	line := n.Line
	cur := n
	for _, part := range strings.Split(key, ".") {
		name, idx, _ := strings.Cut(part, "[")
		next := mapValue(cur, name)
		if next == nil {
			return line
		}
		cur, line = next, next.Line
		for idx != "" {
			num, rest, _ := strings.Cut(idx, "]")
			i, err := strconv.Atoi(num)
			if err != nil || cur.Kind != yaml.SequenceNode || i >= len(cur.Content) {
				return line
			}
			cur, line = cur.Content[i], cur.Content[i].Line
			idx = strings.TrimPrefix(rest, "[")
		}
	}
	return line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
