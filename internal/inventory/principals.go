package inventory

import (
	"fmt"
	"github.com/agentwatch/agentwatch/schemas"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Principal kinds: identities in the audit stream known not to be agents
// (the events' principal_kind values).
const (
	KindInfrastructure = schemas.PrincipalInfrastructure
	KindHuman          = schemas.PrincipalHuman
)

// Principal is one entry of agents.yaml's top-level principals list: an
// identity that acts in the audit stream but is not an agent, such as the
// node role that calls sts:AssumeRole for the agents' pods, a deploy
// pipeline, or the people of the platform team. Its records are still
// stored (events.principal_kind says what it is) and still feed
// attribution (the session tags and source identity of the roles it
// assumes), but it never raises identity.unattributed.
//
//	principals:
//	  - match: "arn:aws:sts::123456789012:assumed-role/eks-node-role/*"
//	    kind: infrastructure
//	    owner: team-platform
//	    note: EKS nodes; assume each agent's role for its pods
//	    actions: ["sts:AssumeRole", "sts:TagSession"]
type Principal struct {
	// Match are globs on the principal as the source shows it (an ARN, a
	// service account, an e-mail); "*" stays within a "/" segment, "**"
	// crosses it. One string or a list.
	Match StringList `yaml:"match" json:"match"`
	Kind  string     `yaml:"kind" json:"kind"`
	Owner string     `yaml:"owner" json:"owner,omitempty"`
	Note  string     `yaml:"note" json:"note,omitempty"`
	// Actions, when set, are the only actions the entry covers (globs).
	// Any other action by the principal is judged as an unknown
	// principal's (identity.unattributed): a node identity whose key is
	// stolen and used to read a bucket is still news.
	Actions []string `yaml:"actions" json:"actions,omitempty"`

	// Index is the entry's position in the list (0-based) and Line its
	// line in the file, for explanations.
	Index int `yaml:"-" json:"-"`
	Line  int `yaml:"-" json:"-"`
}

// StringList reads one string or a list of strings.
type StringList []string

// UnmarshalYAML accepts "x" as well as ["x", "y"].
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = StringList{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// Where names the entry for explanations: "principals[0] (agents.yaml
// line 12)".
func (p *Principal) Where() string {
	if p.Line > 0 {
		return fmt.Sprintf("principals[%d] (line %d)", p.Index, p.Line)
	}
	return fmt.Sprintf("principals[%d]", p.Index)
}

// Matches reports whether the entry's patterns match principal.
func (p *Principal) Matches(principal string) bool {
	return principal != "" && AnyGlob(p.Match, principal)
}

// Covers reports whether the entry covers action (every action when it
// lists none).
func (p *Principal) Covers(action string) bool {
	return len(p.Actions) == 0 || AnyGlob(p.Actions, action)
}

func (p *Principal) validate() error {
	if len(p.Match) == 0 {
		return &keyError{key: "match", msg: "is required: the principal's ARN, account or e-mail, or a glob of them"}
	}
	for _, m := range p.Match {
		switch {
		case strings.TrimSpace(m) == "":
			return &keyError{key: "match", msg: "has an empty pattern"}
		case strings.Trim(m, "*") == "":
			return &keyError{key: "match", msg: fmt.Sprintf("%q matches every principal: no agent could then be found unattributed", m)}
		}
		if err := checkGlob(m); err != nil {
			return &keyError{key: "match", msg: err.Error()}
		}
	}
	if p.Kind == "" {
		return &keyError{key: "kind", msg: "is required: infrastructure or human"}
	}
	if !slices.Contains(schemas.PrincipalKinds, p.Kind) {
		return &keyError{key: "kind", msg: fmt.Sprintf("%q is not one of infrastructure, human", p.Kind)}
	}
	for _, a := range p.Actions {
		if err := checkGlob(a); err != nil {
			return &keyError{key: "actions", msg: err.Error()}
		}
	}
	return nil
}

func checkGlob(g string) error {
	if _, err := path.Match(strings.ReplaceAll(g, "**", "*"), ""); err != nil {
		return fmt.Errorf("bad glob %q: %v", g, err)
	}
	return nil
}

// Principals returns the known non-agent principals, in file order.
func (inv *Inventory) Principals() []*Principal {
	if inv == nil {
		return nil
	}
	return inv.principals
}

// Principal returns the first entry whose patterns match principal, or
// nil. Whether it covers a given action is the entry's Covers.
func (inv *Inventory) Principal(principal string) *Principal {
	if inv == nil {
		return nil
	}
	for _, p := range inv.principals {
		if p.Matches(principal) {
			return p
		}
	}
	return nil
}

// parsePrincipals decodes the principals list; errors name the file, the
// line of the offending key and the key.
func parsePrincipals(name string, nodes []yaml.Node) ([]*Principal, error) {
	var out []*Principal
	for i := range nodes {
		n := &nodes[i]
		var p Principal
		if err := decodeStrict(n, &p); err != nil {
			line := n.Line
			if le, ok := err.(*lineError); ok {
				line = le.line
			}
			return nil, fmt.Errorf("%s:%d: principals[%d]: %w", name, line, i, err)
		}
		p.Index, p.Line = i, n.Line
		if err := p.validate(); err != nil {
			line := n.Line
			if ke, ok := err.(*keyError); ok {
				line = keyLine(n, ke.key)
			}
			return nil, fmt.Errorf("%s:%d: principals[%d]: %w", name, line, i, err)
		}
		out = append(out, &p)
	}
	return out, nil
}

// WithPrincipals returns a copy of inv with principals appended (for
// inventories built in code).
func (inv *Inventory) WithPrincipals(ps ...Principal) (*Inventory, error) {
	c := &Inventory{agents: map[string]*Agent{}, principals: append([]*Principal(nil), inv.Principals()...)}
	if inv != nil {
		c.agents, c.ids = inv.agents, inv.ids
	}
	for _, p := range ps {
		p := p
		p.Index = len(c.principals)
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("principals[%d]: %w", p.Index, err)
		}
		c.principals = append(c.principals, &p)
	}
	return c, nil
}
