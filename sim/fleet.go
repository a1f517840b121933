// Package sim simulates a fleet of AI agents with distinct daily and weekly
// habits, injects scripted incidents into their traffic, labels every event,
// and scores the alerts a detector raised against the incidents.
//
// Everything is a pure function of the configuration: randomness comes from
// math/rand/v2 PCG sources seeded from Config.Seed and the agent id, output is
// ordered explicitly (never by map iteration), and no wall clock is read.
package sim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
)

// The five agent kinds the fleet is built from.
const (
	KindSupport = "support-bot"
	KindCI      = "ci-deploy"
	KindData    = "data-analyst"
	KindSales   = "sales-email"
	KindOps     = "ops-agent"
)

// Kinds lists every simulated kind in the order agents are assigned to them.
var Kinds = []string{KindSupport, KindCI, KindData, KindSales, KindOps}

// DecommissionedID is the inventory's decommissioned agent. It produces no
// normal traffic; any event carrying its identity is an incident.
const DecommissionedID = "legacy-report-bot"

// Config shapes the simulated fleet.
type Config struct {
	// Agents is the number of active agents of each kind (the demo's
	// --agents); 0 means 1. The fleet has Agents x kinds active agents plus
	// the decommissioned one.
	Agents int `koanf:"agents"`
	// Days is the number of normal days before the incident day (>= 14 when
	// the scripted incidents are on, so learned baselines can mature).
	Days int `koanf:"days"`
	// Seed makes the whole stream reproducible.
	Seed int64 `koanf:"seed"`
	// Start is the first simulated instant; it is truncated to a UTC day.
	// Zero means Monday 2026-11-02.
	Start time.Time `koanf:"start"`

	// Kinds restricts the fleet to these kinds (the eval harness builds a
	// slice of the fleet per scenario); empty means all five.
	Kinds []string `koanf:"kinds"`
	// NoIncidents leaves the scripted incidents out; the eval harness
	// injects its own. Without incidents Days may be as low as 1.
	NoIncidents bool `koanf:"no_incidents"`
	// TailDays is how many days of normal traffic follow the normal days
	// (the incidents happen on the first of them); 0 means 1.
	TailDays int `koanf:"tail_days"`
	// Changes are benign behaviour drifts applied to the background.
	Changes []Change `koanf:"changes"`
}

// DefaultStart is the default first simulated day, a Monday.
var DefaultStart = time.Date(2026, time.November, 2, 0, 0, 0, 0, time.UTC)

// DefaultConfig returns the demo's fleet: one agent per kind, 14 normal
// days, seed 1.
func DefaultConfig() Config {
	return Config{Agents: 1, Days: 14, Seed: 1, Start: DefaultStart}
}

// Validate names the first offending key.
func (c *Config) Validate() error {
	kinds := c.kinds()
	for _, k := range kinds {
		if !slices.Contains(Kinds, k) {
			return fmt.Errorf("kinds: %q is not one of %v", k, Kinds)
		}
	}
	if c.Agents < 0 || c.Agents > 100 {
		return fmt.Errorf("agents: %d agents per kind is outside 0-100", c.Agents)
	}
	minDays := 1
	if !c.NoIncidents {
		minDays = 14
	}
	if c.Days < minDays {
		return fmt.Errorf("days: %d is fewer than %d", c.Days, minDays)
	}
	if c.Days > 400 {
		return fmt.Errorf("days: %d is more than 400", c.Days)
	}
	if c.TailDays < 0 || c.TailDays > 30 {
		return fmt.Errorf("tail_days: %d is outside 0-30", c.TailDays)
	}
	for i := range c.Changes {
		if err := c.Changes[i].validate(); err != nil {
			return fmt.Errorf("changes[%d]: %w", i, err)
		}
	}
	return nil
}

func (c *Config) kinds() []string {
	if len(c.Kinds) == 0 {
		return Kinds
	}
	return c.Kinds
}

// Fleet is a configured simulated fleet. It is immutable after NewFleet, so
// Events may be called repeatedly and yields the same stream each time.
type Fleet struct {
	cfg       Config
	start     time.Time
	agents    []*agent // active agents, sorted by id
	byID      map[string]*agent
	legacy    *agent // the decommissioned agent (no normal traffic)
	inv       *inventory.Inventory
	decls     []inventory.Agent
	incidents []Incident
	attacks   []Labeled // the incidents' events, time-ordered
}

// agent is one simulated agent: its declared entry and its habits.
type agent struct {
	id       string
	kind     string
	ordinal  int // 0 for the first agent of a kind
	decl     inventory.Agent
	insts    []string
	network  netip.Prefix // the /24 its instances live in
	ua       string
	role     string // cloud role or service account the backend sees
	staticID string // long-lived key id, if the agent has one
	issued   time.Time
	changes  []Change
}

// NewFleet builds the fleet, its inventory and its incidents.
func NewFleet(cfg Config) (*Fleet, error) {
	if cfg.Agents == 0 {
		cfg.Agents = 1
	}
	// Validation fills the changes' parsed fields; work on a copy so the
	// caller's slice is left alone.
	cfg.Changes = slices.Clone(cfg.Changes)
	cfg.Kinds = slices.Clone(cfg.Kinds)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim config: %w", err)
	}
	if cfg.Start.IsZero() {
		cfg.Start = DefaultStart
	}
	if cfg.TailDays == 0 {
		cfg.TailDays = 1
	}
	f := &Fleet{cfg: cfg, start: cfg.Start.UTC().Truncate(24 * time.Hour), byID: map[string]*agent{}}
	for _, k := range cfg.kinds() {
		for n := range cfg.Agents {
			a := newAgent(k, n, f.start)
			f.agents = append(f.agents, a)
			f.byID[a.id] = a
		}
	}
	f.legacy = newLegacyAgent(f.start)
	f.byID[f.legacy.id] = f.legacy
	slices.SortFunc(f.agents, func(x, y *agent) int { return cmpString(x.id, y.id) })
	for i, ch := range cfg.Changes {
		a := f.byID[ch.Agent]
		if a == nil || a == f.legacy {
			return nil, fmt.Errorf("sim config: changes[%d]: agent: %q is not an active agent of this fleet", i, ch.Agent)
		}
		ch.bind(f.start)
		a.changes = append(a.changes, ch)
	}
	decls := []inventory.Agent{f.legacy.decl}
	for _, a := range f.agents {
		decls = append(decls, a.decl)
	}
	var err error
	if f.inv, err = inventory.New(decls); err != nil {
		return nil, fmt.Errorf("fleet inventory: %w", err)
	}
	f.decls = decls
	if !cfg.NoIncidents {
		if err := f.buildIncidents(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Inventory is the fleet's declared inventory, including the decommissioned
// agent.
func (f *Fleet) Inventory() *inventory.Inventory { return f.inv }

// InventoryYAML is the inventory as agents.yaml text.
func (f *Fleet) InventoryYAML() []byte {
	b, err := renderInventory(f.decls)
	if err != nil {
		// The declarations passed inventory.New, so they always render.
		panic(fmt.Sprintf("render fleet inventory: %v", err))
	}
	return b
}

// Incidents lists the scripted incidents in time order.
func (f *Fleet) Incidents() []Incident { return slices.Clone(f.incidents) }

// Start is the first simulated instant.
func (f *Fleet) Start() time.Time { return f.start }

// End is the instant after the last simulated hour.
func (f *Fleet) End() time.Time {
	return f.start.Add(time.Duration(f.cfg.Days+f.cfg.TailDays) * 24 * time.Hour)
}

// IncidentDay is the start of the first day after the normal days.
func (f *Fleet) IncidentDay() time.Time {
	return f.start.Add(time.Duration(f.cfg.Days) * 24 * time.Hour)
}

// AgentIDs lists the active agents' ids, sorted.
func (f *Fleet) AgentIDs() []string {
	ids := make([]string, len(f.agents))
	for i, a := range f.agents {
		ids[i] = a.id
	}
	return ids
}

// AgentKind returns the kind of an agent of this fleet, or "".
func (f *Fleet) AgentKind(id string) string {
	if a := f.byID[id]; a != nil {
		return a.kind
	}
	return ""
}

// FirstOfKind returns the id of the first agent of kind, or "".
func (f *Fleet) FirstOfKind(kind string) string {
	for _, a := range f.agents {
		if a.kind == kind && a.ordinal == 0 {
			return a.id
		}
	}
	return ""
}

// agentName is the id of the n-th agent of a kind: "support-bot",
// "support-bot-2", ...
func agentName(kind string, n int) string {
	if n == 0 {
		return kind
	}
	return fmt.Sprintf("%s-%d", kind, n+1)
}

// rngFor returns a generator that depends only on the seed and the labels,
// so one agent's stream does not shift when another agent changes.
func rngFor(seed int64, labels ...string) *rand.Rand {
	h := fnv.New64a()
	for _, l := range labels {
		h.Write([]byte(l))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// hash32 is a stable small hash for deriving ids and addresses.
func hash32(parts ...string) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum32()
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
