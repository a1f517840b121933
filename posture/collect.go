package posture

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Reader is what posture needs from the store.
type Reader interface {
	ScanEvents(ctx context.Context, agentIDs []string, from, to time.Time, fn func(schemas.AgentEvent) error) error
	LoadPlayground(ctx context.Context, agentIDs []string) ([]schemas.PlaygroundRow, error)
}

// Bounds on what one agent or credential keeps while the events stream
// by: posture needs counts and a few examples, never every value, so
// memory stays bounded however long the window.
const (
	maxSetValues  = 64
	maxActions    = 1024
	maxResources  = 4096
	maxInstances  = 4096
	maxDelegators = 512
)

// set is a bounded set of strings that still counts past its bound.
type set struct {
	vals  map[string]int64
	extra bool // values were dropped
	limit int
}

func newSet(limit int) *set { return &set{vals: map[string]int64{}, limit: limit} }

func (s *set) add(v string) {
	if v == "" {
		return
	}
	if _, ok := s.vals[v]; ok || len(s.vals) < s.limit {
		s.vals[v]++
		return
	}
	s.extra = true
}

func (s *set) len() int { return len(s.vals) }

// sorted returns up to n values, most frequent first.
func (s *set) sorted(n int) []string {
	out := make([]string, 0, len(s.vals))
	for v := range s.vals {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		if s.vals[out[i]] != s.vals[out[j]] {
			return s.vals[out[i]] > s.vals[out[j]]
		}
		return out[i] < out[j]
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

func (s *set) text(n int) string {
	v := s.sorted(n)
	t := strings.Join(v, ", ")
	if s.len() > len(v) || s.extra {
		t += fmt.Sprintf(" (+%d more)", s.len()-len(v))
	}
	return t
}

// agentUse is what one agent (or unattributed principal) did in the window.
type agentUse struct {
	id           string
	unattributed bool
	events       int64
	// known counts the unattributed events of principals known not to be
	// agents (principal_kind, or the inventory's principals list): a
	// principal all of whose events are known is no unknown principal.
	known       int64
	denied      int64
	first, last time.Time
	principals  *set
	systems     *set
	actions     *set // "system action"
	resources   *set // generalised resource globs, for the suggested playground
	networks    *set
	instances   *set
	// spans are when each instance acted, first to last, for how many
	// ran at once (instances.go)
	spans      map[string]*span
	delegators *set
	sources    *set
	// declared entries of an inventory agent that its own events used:
	// systems, the rules (statements, and the top-level lists as one
	// more; privilege.go), networks and client families
	usedSys, usedNet, usedClient []bool
	rules                        []ruleUse
	// made counts the credentials made for the agent by principals known
	// not to be agents (baseline.MadeFor): not its own activity, kept
	// apart from everything above.
	made *madeUse
	// undeclared delegators (not matching the declared delegators)
	undeclared *set
	// humans acted for, when the agent declares no delegators
	humans *set
	// sessions used past the agent's max_age: count and oldest age
	tooOld    int64
	oldestAge time.Duration
	oldestID  string
	// Vault: dynamic leases, kv reads, and the auth methods seen
	vaultLeases, vaultKV int64
	vaultPaths           *set
	vaultAuth            *set
	// credential types used outside Vault
	credTypes *set
}

func newAgentUse(id string, unattributed bool, ag *inventory.Agent) *agentUse {
	u := &agentUse{id: id, unattributed: unattributed,
		principals: newSet(maxSetValues), systems: newSet(maxSetValues), actions: newSet(maxActions),
		resources: newSet(maxResources), networks: newSet(maxSetValues), instances: newSet(maxInstances), spans: map[string]*span{},
		delegators: newSet(maxDelegators), sources: newSet(16), undeclared: newSet(maxSetValues),
		humans: newSet(maxSetValues), vaultPaths: newSet(maxSetValues), vaultAuth: newSet(8), credTypes: newSet(8)}
	if ag != nil {
		pg := &ag.Playground
		u.usedSys = make([]bool, len(pg.Systems))
		u.usedNet = make([]bool, len(pg.Networks))
		u.usedClient = make([]bool, len(pg.Clients))
		for _, r := range pg.Rules() {
			u.rules = append(u.rules, newRuleUse(r))
		}
	}
	return u
}

// madeUse is the credentials made for an agent by known non-agent
// principals (a platform node's sts:AssumeRole of the agent's role): who
// made them, when, for which instances. They say the agent still holds
// credentials, not what it did.
type madeUse struct {
	events      int64
	first, last time.Time
	callers     *set // the principals that made them
	creds       *set
	instances   *set
}

func (m *madeUse) add(ev *schemas.AgentEvent) {
	m.events++
	if m.first.IsZero() || ev.Time.Before(m.first) {
		m.first = ev.Time
	}
	if ev.Time.After(m.last) {
		m.last = ev.Time
	}
	m.callers.add(principalGroup(ev.Principal))
	m.creds.add(ev.CredentialID)
	m.instances.add(ev.AgentInstance)
}

// text says what was made, for evidence: "1,234 by arn:...:assumed-role/node/*, last 2026-03-16T18:00:00Z".
func (m *madeUse) text() string {
	return fmt.Sprintf("%d role assumptions by %s, last %s", m.events, m.callers.text(3), m.last.Format(time.RFC3339))
}

// credUse is what one credential id was used for in the window.
type credUse struct {
	id, typ     string
	agents      *set
	networks    *set
	principals  *set
	first, last time.Time
	issued      *time.Time
	events      int64
	vault       bool
}

// usage is the window's aggregate.
type usage struct {
	from, to time.Time
	agents   map[string]*agentUse
	creds    map[string]*credUse
	// first sightings of credentials from the learned playground, which
	// outlives event retention
	credFirst map[string]time.Time
	// last activity per agent from the learned playground
	agentLast map[string]time.Time
}

// collect scans [from, to) once and aggregates it.
func collect(ctx context.Context, r Reader, inv *inventory.Inventory, from, to time.Time) (*usage, error) {
	u := &usage{from: from, to: to, agents: map[string]*agentUse{}, creds: map[string]*credUse{},
		credFirst: map[string]time.Time{}, agentLast: map[string]time.Time{}}
	// Verdicts of declared system globs per agent and value, cached:
	// globbing every event against every entry would dominate the scan.
	cache := newMemo[agentValue, []int](1 << 18)
	systems := func(ag *inventory.Agent, v string) []int {
		return cache.get(agentValue{ag.ID, v}, func() []int {
			var m []int
			for i, g := range ag.Playground.Systems {
				if inventory.Glob(g, v) {
					m = append(m, i)
				}
			}
			return m
		})
	}
	uc := newUseCache()
	entries := map[string]*inventory.Principal{} // principal -> its principals entry (nil: none)
	known := func(ev *schemas.AgentEvent) bool {
		if ev.PrincipalKind != "" {
			return true
		}
		p, ok := entries[ev.Principal]
		if !ok {
			p = inv.Principal(ev.Principal)
			entries[ev.Principal] = p
		}
		return p != nil && p.Covers(ev.Action)
	}
	err := r.ScanEvents(ctx, nil, from, to, func(ev schemas.AgentEvent) error {
		if ev.Unattributed && ev.Principal == "" && ev.Source == "vault" && ev.Outcome == schemas.OutcomeUnknown {
			// A Vault login's request entry: no token yet, so no identity;
			// its response entry names who logged in.
			return nil
		}
		ag := inv.Get(ev.AgentID)
		id := ev.AgentID
		if ev.Unattributed {
			ag = nil
			id = principalGroup(id)
		}
		a := u.agents[id]
		if a == nil {
			a = newAgentUse(id, ev.Unattributed, ag)
			u.agents[id] = a
		}
		if baseline.MadeFor(&ev) {
			// A credential made for the agent (a node assuming its role):
			// the caller acted, not the agent. Its permissions, network,
			// client and delegator are the caller's, so it uses nothing
			// of the agent's playground; it only says the agent still
			// gets credentials (lifecycle).
			if a.made == nil {
				a.made = &madeUse{callers: newSet(maxSetValues), creds: newSet(maxSetValues), instances: newSet(maxInstances)}
			}
			a.made.add(&ev)
			return nil
		}
		a.events++
		if ev.Unattributed && known(&ev) {
			a.known++
		}
		if ev.Outcome == schemas.OutcomeDenied {
			a.denied++
		}
		if a.first.IsZero() || ev.Time.Before(a.first) {
			a.first = ev.Time
		}
		if ev.Time.After(a.last) {
			a.last = ev.Time
		}
		a.principals.add(ev.Principal)
		a.systems.add(ev.System)
		a.actions.add(ev.System + " " + ev.Action)
		if ev.Resource != "" {
			a.resources.add(globOf(ev.Resource))
		}
		a.networks.add(ev.Network())
		a.instances.add(ev.AgentInstance)
		a.span(ev.AgentInstance, ev.Time)
		a.sources.add(ev.Source)
		if ev.OnBehalfOf != "" {
			a.delegators.add(ev.OnBehalfOf)
		}
		if strings.HasPrefix(ev.System, "vault:") {
			a.vaultAuth.add(ev.Attributes["vault.auth"])
			if ev.Outcome == schemas.OutcomeSuccess && ev.Attributes["vault.type"] == "response" {
				switch {
				case ev.Attributes["vault.lease_id"] != "":
					a.vaultLeases++
					a.vaultPaths.add(ev.Resource)
				case ev.System == "vault:kv" && ev.Action == "vault:read":
					a.vaultKV++
					a.vaultPaths.add(ev.Resource)
				}
			}
		} else if ev.CredentialType != "" {
			a.credTypes.add(ev.CredentialType)
		}
		if ag != nil {
			pg := &ag.Playground
			for _, i := range systems(ag, ev.System) {
				a.usedSys[i] = true
			}
			a.use(pg, &ev, uc)
			if ev.OnBehalfOf != "" {
				// The inventory's own judgement: "delegators: none" allows
				// nobody, an empty list anybody.
				if !pg.AllowsDelegator(ev.OnBehalfOf) {
					a.undeclared.add(ev.OnBehalfOf)
				}
				if len(pg.Delegators) == 0 && looksHuman(ev.OnBehalfOf) {
					a.humans.add(ev.OnBehalfOf)
				}
			}
			if max := time.Duration(pg.CredentialPolicy.MaxAge); max > 0 && ev.CredentialIssuedAt != nil &&
				ev.CredentialType != schemas.CredStaticKey {
				if age := ev.Time.Sub(*ev.CredentialIssuedAt); age > max {
					a.tooOld++
					if age > a.oldestAge {
						a.oldestAge, a.oldestID = age, ev.CredentialID
					}
				}
			}
		}
		if ev.CredentialID != "" {
			c := u.creds[ev.CredentialID]
			if c == nil {
				c = &credUse{id: ev.CredentialID, typ: ev.CredentialType, agents: newSet(maxSetValues),
					networks: newSet(maxSetValues), principals: newSet(8)}
				u.creds[ev.CredentialID] = c
			}
			c.events++
			c.agents.add(id)
			c.networks.add(ev.Network())
			c.principals.add(ev.Principal)
			c.vault = c.vault || strings.HasPrefix(ev.System, "vault:")
			if c.typ == "" || c.typ == schemas.CredUnknown {
				c.typ = ev.CredentialType
			}
			if c.first.IsZero() || ev.Time.Before(c.first) {
				c.first = ev.Time
			}
			if ev.Time.After(c.last) {
				c.last = ev.Time
			}
			if ev.CredentialIssuedAt != nil && (c.issued == nil || ev.CredentialIssuedAt.Before(*c.issued)) {
				t := *ev.CredentialIssuedAt
				c.issued = &t
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("posture: scan events: %w", err)
	}
	rows, err := r.LoadPlayground(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("posture: load learned playground: %w", err)
	}
	for _, row := range rows {
		if row.LastSeen.After(u.agentLast[row.AgentID]) {
			u.agentLast[row.AgentID] = row.LastSeen
		}
		if row.Kind == schemas.PlayCredential && row.Value != "" {
			if f, ok := u.credFirst[row.Value]; !ok || row.FirstSeen.Before(f) {
				u.credFirst[row.Value] = row.FirstSeen
			}
		}
	}
	return u, nil
}

// principalGroup names an unattributed principal the way an owner would
// claim it: an AWS assumed-role session by its role (every session has a
// new name; the role is the identity), anything else as it is.
func principalGroup(p string) string {
	if strings.HasPrefix(p, "arn:aws:sts::") && strings.Contains(p, ":assumed-role/") {
		if i := strings.LastIndexByte(p, '/'); i > strings.Index(p, ":assumed-role/")+len(":assumed-role/") {
			return p[:i] + "/*"
		}
	}
	return p
}

// awsService reports an AWS service acting on its own (invokedBy, or a
// service-linked role): infrastructure, not an unknown identity.
func awsService(p string) bool {
	return strings.HasSuffix(p, ".amazonaws.com") || strings.Contains(p, ":assumed-role/AWSServiceRoleFor")
}

// globOf turns a resource into the glob of its shape: the identifiers the
// baseline generalises (ids, dates, hashes, e-mails) become "*".
func globOf(resource string) string { return baseline.Glob(baseline.Generalize(resource)) }

// looksHuman tells a person's identity from a service's: an e-mail
// address that is not a cloud service account, or a "user:" principal.
func looksHuman(id string) bool {
	l := strings.ToLower(id)
	switch {
	case strings.HasPrefix(l, "user:"), strings.HasPrefix(l, "human:"):
		return true
	case strings.HasPrefix(l, "system:"), strings.HasPrefix(l, "serviceaccount:"), strings.HasPrefix(l, "arn:"),
		strings.HasSuffix(l, ".gserviceaccount.com"), strings.Contains(l, "@svc."), strings.HasPrefix(l, "svc-"):
		return false
	}
	at := strings.IndexByte(l, '@')
	return at > 0 && strings.Contains(l[at:], ".")
}
