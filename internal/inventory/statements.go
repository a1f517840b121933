package inventory

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/agentwatch/agentwatch/internal/awsiam"
)

// Statement pairs actions with the resources they may be performed on, as
// an IAM policy statement's Action and Resource do: "ec2:Describe*" on "*",
// "s3:GetObject" on one prefix only.
type Statement struct {
	// Sid names the statement in messages (an IAM policy's Sid).
	Sid       string   `yaml:"sid" json:"sid,omitempty"`
	Actions   []string `yaml:"actions" json:"actions"`
	Resources []string `yaml:"resources" json:"resources"`
}

// maxRules bounds the statements (and the implicit one made of the
// top-level actions and resources) so that the set of rules matching an
// action fits a uint64 the detector can cache, with AnyRule (all 64 bits)
// left distinct.
const maxRules = 63

// Patterns: an action shaped like an IAM action ("s3:Get*") matches as IAM
// matches actions, ignoring case, against the event's action and the IAM
// action that authorises it (CloudTrail's s3:ListObjects is s3:ListBucket);
// other actions match as globs. A resource starting with "arn:" matches as
// IAM matches Resource values ("*" and "?" cross "/"); "*" alone matches
// anything; other resources match as globs ("*" within a "/"-separated
// segment, "**" across).

type actionMatcher struct {
	iam  *awsiam.ActionPattern
	glob string
}

func compileActionPattern(a string) actionMatcher {
	if a == "*" || awsiam.LooksLikeAction(a) {
		return actionMatcher{iam: awsiam.CompileAction(a)}
	}
	return actionMatcher{glob: a}
}

func (m *actionMatcher) match(action string, lower, iamLower string) bool {
	if m.iam != nil {
		return m.iam.MatchLower(lower) || (iamLower != lower && m.iam.MatchLower(iamLower))
	}
	return Glob(m.glob, action)
}

type resourceMatcher struct {
	all  bool
	arn  *awsiam.ResourcePattern
	glob string
}

func compileResourcePattern(r string) (resourceMatcher, error) {
	switch {
	case r == "*" || r == "**":
		return resourceMatcher{all: true}, nil
	case strings.HasPrefix(r, "arn:"):
		p, err := awsiam.CompileResource(r)
		if err != nil {
			return resourceMatcher{}, err
		}
		return resourceMatcher{arn: p}, nil
	}
	return resourceMatcher{glob: r}, nil
}

func (m *resourceMatcher) match(r string) bool {
	switch {
	case m.all:
		return true
	case m.arn != nil:
		return m.arn.Match(r)
	}
	return Glob(m.glob, r)
}

// rule is a compiled statement: empty actions or resources mean any.
type rule struct {
	name      string // for messages: the Sid, or where it is declared
	stmt      int    // index in Statements; -1 for the top-level lists
	actions   []actionMatcher
	resources []resourceMatcher
	resAt     []int    // index in written of each of resources
	acts      []string // the actions as written
	written   []string // the resources as written
}

// compiledPlayground is what a playground's lists compile to, once.
type compiledPlayground struct {
	rules []rule
	// resources: some rule names resources (otherwise every resource is
	// allowed wherever the action is).
	resources bool
	networks  []netPrefix
	clients   map[string]bool
	// masks caches ActionRules by action, direct mapped: an agent repeats
	// its actions, the detector asks for every event, and a map lookup
	// per event cost more than the rest of the declared checks.
	masks [maskSlots]atomic.Pointer[maskSlot]
}

const maskSlots = 256

type maskSlot struct {
	action string
	mask   uint64
}

var maskSeed = maphash.MakeSeed()

// compile builds the matchers; patterns that do not compile (validate
// reports them) are left out.
func (p *Playground) compile() *compiledPlayground {
	c := &compiledPlayground{}
	add := func(name string, stmt int, actions, resources []string) {
		if len(c.rules) == maxRules {
			return
		}
		r := rule{name: name, stmt: stmt, acts: actions, written: resources}
		for _, a := range actions {
			r.actions = append(r.actions, compileActionPattern(a))
		}
		for j, res := range resources {
			if m, err := compileResourcePattern(res); err == nil {
				r.resources = append(r.resources, m)
				r.resAt = append(r.resAt, j)
				c.resources = c.resources || !m.all
			}
		}
		c.rules = append(c.rules, r)
	}
	for _, r := range p.Rules() {
		add(r.Name, r.Statement, r.Actions, r.Resources)
	}
	c.networks = compileNetworks(p.Networks)
	if len(p.Clients) > 0 {
		c.clients = map[string]bool{}
		for _, f := range p.Clients {
			c.clients[f] = true
		}
	}
	return c
}

// compiled returns the playground's matchers: made by validate, or made
// now (not kept, so that a playground built in code and shared stays
// race-free) when it was not validated.
func (p *Playground) compiled() *compiledPlayground {
	if p.c != nil {
		return p.c
	}
	return p.compile()
}

// ActionRules returns the set of rules (statements, and the top-level
// actions as one more) whose actions match action, one bit per rule. With
// no actions declared anywhere every action is allowed: it returns
// AnyRule.
func (p *Playground) ActionRules(action string) uint64 {
	c := p.compiled()
	if len(c.rules) == 0 {
		return AnyRule
	}
	slot := &c.masks[maphash.String(maskSeed, action)&(maskSlots-1)]
	if e := slot.Load(); e != nil && e.action == action {
		return e.mask
	}
	mask := c.actionRules(action)
	slot.Store(&maskSlot{action: strings.Clone(action), mask: mask})
	return mask
}

// actionForms returns action in lower case and, in lower case too, the
// IAM action that authorises it (CloudTrail's s3:ListObjects is
// s3:ListBucket): the two forms actionMatcher.match takes.
func actionForms(action string) (lower, iamLower string) {
	lower = strings.ToLower(action)
	iamLower = lower
	if strings.IndexByte(action, ':') > 0 {
		if a := awsiam.IAMAction(action); a != action {
			iamLower = strings.ToLower(a)
		}
	}
	return lower, iamLower
}

func (c *compiledPlayground) actionRules(action string) uint64 {
	lower, iamLower := actionForms(action)
	var mask uint64
	for i := range c.rules {
		r := &c.rules[i]
		if len(r.actions) == 0 {
			mask |= 1 << uint(i)
			continue
		}
		for j := range r.actions {
			if r.actions[j].match(action, lower, iamLower) {
				mask |= 1 << uint(i)
				break
			}
		}
	}
	return mask
}

// AnyRule is ActionRules' answer for a playground that declares no actions.
const AnyRule = ^uint64(0)

// AllowsAction reports whether the declared playground allows action.
func (p *Playground) AllowsAction(a string) bool { return p.ActionRules(a) != 0 }

// ResourceAllowed reports whether one of the rules in mask (from
// ActionRules) allows resource. An event without a resource is not judged
// on it.
func (p *Playground) ResourceAllowed(mask uint64, resource string) bool {
	if resource == "" || mask == AnyRule {
		return true
	}
	c := p.compiled()
	for i := range c.rules {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		r := &c.rules[i]
		if len(r.resources) == 0 {
			return true
		}
		for j := range r.resources {
			if r.resources[j].match(resource) {
				return true
			}
		}
	}
	return false
}

// ResourcesFor lists the resources the rules in mask allow, as written,
// and the rules' names, for messages.
func (p *Playground) ResourcesFor(mask uint64) (resources, rules []string) {
	c := p.compiled()
	seen := map[string]bool{}
	for i := range c.rules {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		rules = append(rules, c.rules[i].name)
		for _, r := range c.rules[i].written {
			if !seen[r] {
				seen[r] = true
				resources = append(resources, r)
			}
		}
	}
	return resources, rules
}

// AllowsResource reports whether any rule allows resource, whatever the
// action. An event without a resource is not judged on it.
func (p *Playground) AllowsResource(r string) bool {
	return p.ResourceAllowed(p.allRules(), r)
}

// AllowsActionOn reports whether action on resource is inside the
// declared actions and resources.
func (p *Playground) AllowsActionOn(action, resource string) bool {
	m := p.ActionRules(action)
	return m != 0 && p.ResourceAllowed(m, resource)
}

func (p *Playground) allRules() uint64 {
	n := len(p.compiled().rules)
	if n == 0 {
		return AnyRule
	}
	return 1<<uint(n) - 1
}

// ConstrainsResources reports whether any rule limits resources: when
// none does, an allowed action is allowed on every resource.
func (p *Playground) ConstrainsResources() bool {
	if p.c != nil {
		return p.limited
	}
	return p.compile().resources
}

// HasStatements reports whether the playground pairs actions with
// resources in statements.
func (p *Playground) HasStatements() bool { return len(p.Statements) > 0 }

// compiledPatterns caches MatchAction's and MatchResource's patterns.
var compiledPatterns sync.Map // "a"+pattern → actionMatcher, "r"+pattern → resourceMatcher

// MatchAction reports whether one declared action pattern matches action
// the way a playground matches it: IAM-shaped patterns as IAM does
// (ignoring case, also against the IAM action of a CloudTrail event name),
// others as globs.
func MatchAction(pattern, action string) bool {
	v, ok := compiledPatterns.Load("a" + pattern)
	if !ok {
		v, _ = compiledPatterns.LoadOrStore("a"+pattern, compileActionPattern(pattern))
	}
	m := v.(actionMatcher)
	lower, iamLower := actionForms(action)
	return m.match(action, lower, iamLower)
}

// MatchResource reports whether one declared resource pattern matches
// resource the way a playground matches it: ARN patterns as IAM does,
// others as globs.
func MatchResource(pattern, resource string) bool {
	v, ok := compiledPatterns.Load("r" + pattern)
	if !ok {
		m, err := compileResourcePattern(pattern)
		if err != nil {
			return false
		}
		v, _ = compiledPatterns.LoadOrStore("r"+pattern, m)
	}
	m := v.(resourceMatcher)
	return m.match(resource)
}
