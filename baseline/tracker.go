package baseline

import (
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Agent is everything learned about one agent. Ids in habits are interned
// in the owning Tracker.
type Agent struct {
	ID, Kind string
	// Decl is the agent's inventory entry, or nil: found once, when the
	// agent is first tracked (an inventory does not change).
	Decl *inventory.Agent
	// peer is the peer group of Kind (nil without one), set with Kind:
	// Observe needs it for every event, and a lookup by kind would hash
	// the kind each time.
	peer        *Peer
	idx         uint32
	First, Last int64 // unix seconds of the first and latest event
	Open        bool  // W holds an open window
	W           Window
	P           Profile
	Triples     Habits
	Actions     Habits
	Systems     Habits
	Networks    Habits
	UserAgents  Habits
	Delegators  Habits
	Creds       Habits
	// Version grows with every persisted state of this agent.
	Version int64
	// Flags is free for the detector (e.g. one-shot alerts already raised).
	Flags uint32
	// last holds the interned ids of the agent's latest system, action,
	// delegator and credential: an agent's consecutive events mostly
	// repeat them, and comparing with the interned string costs less than
	// the interner's map lookup.
	last [numLast]uint32
}

const (
	lastSystem = iota
	lastAction
	lastDelegator
	lastCred
	numLast
)

// Peer is the pooled behaviour of the agents of one kind.
type Peer struct {
	Kind    string
	Members int
	Actions map[uint32]struct{}
	Systems map[uint32]struct{}
	Triples map[uint32]struct{}
	P       Profile
}

// maxPeerSet bounds each peer and fleet set.
const maxPeerSet = 1 << 14

// Obs is what one event meant against the state before it was learned.
type Obs struct {
	Agent *Agent
	Peer  *Peer
	// Interned ids of the event's parts.
	System, Action, Pattern, Triple, Network, UserAgent, Delegator, Cred uint32
	// New* are first sightings for this agent; PeerNew* for its peer group
	// (all agents of its kind); FleetNew* for every agent.
	NewTriple, NewAction, NewSystem, NewNetwork, NewUserAgent, NewDelegator, NewCred bool
	PeerNewAction, PeerNewSystem, PeerNewTriple                                      bool
	FleetNewAction, FleetNewSystem                                                   bool
	// CredSharedWith is another agent that used the same credential first.
	CredSharedWith string
	// Late marks an event older than the open window; it teaches habits but
	// is not counted in windows.
	Late bool
	// Gap is the time since the agent's previous event (0 for its first).
	Gap time.Duration
}

// Tracker holds the state of every agent it has seen. It is not safe for
// concurrent use: one pipeline stage owns it.
type Tracker struct {
	cfg    Config
	win    int64
	inv    *inventory.Inventory
	strs   *interner
	trips  map[[3]uint32]uint32
	tkeys  [][3]uint32
	agents map[string]*Agent
	peers  map[string]*Peer

	fleetActions map[uint32]struct{}
	fleetSystems map[uint32]struct{}
	credAgent    map[uint32]uint32

	netCache map[string]uint32
	uaCache  map[string]uint32
	patBuf   []byte
	// patCache maps a resource's 64-bit hash to its pattern id, direct
	// mapped: most events touch a resource seen recently, and generalising
	// it again is the costliest step of Observe.
	patCache [patCacheSize]struct {
		h  uint64
		id uint32
	}

	// OnWindow, when set, receives every closed non-empty window as a row
	// (the worker persists them; the detector leaves it nil).
	OnWindow func(a *Agent, row schemas.WindowRow)
	// OnClose, when set, is called after an agent's windows were closed
	// and a new one opened, before the event that caused it is learned:
	// the agent's state is then exactly "everything before the open
	// window", which is what the worker persists and replays from.
	OnClose func(a *Agent)
}

// NewTracker returns an empty tracker; inv supplies kinds for peer groups.
func NewTracker(cfg Config, inv *inventory.Inventory) *Tracker {
	return &Tracker{
		cfg: cfg, win: int64(cfg.Window / time.Second), inv: inv,
		strs: newInterner(), trips: map[[3]uint32]uint32{}, tkeys: [][3]uint32{{}},
		agents: map[string]*Agent{}, peers: map[string]*Peer{},
		fleetActions: map[uint32]struct{}{}, fleetSystems: map[uint32]struct{}{},
		credAgent: map[uint32]uint32{}, netCache: map[string]uint32{}, uaCache: map[string]uint32{},
	}
}

// Config returns the tracker's configuration.
func (t *Tracker) Config() Config { return t.cfg }

// Str returns the string behind an interned id.
func (t *Tracker) Str(id uint32) string { return t.strs.str(id) }

// TripleOf returns the (system, action, resource pattern) of a triple id.
func (t *Tracker) TripleOf(id uint32) (system, action, pattern string) {
	if int(id) >= len(t.tkeys) {
		return "", "", ""
	}
	k := t.tkeys[id]
	return t.strs.str(k[0]), t.strs.str(k[1]), t.strs.str(k[2])
}

// Get returns the agent's state, or nil.
func (t *Tracker) Get(id string) *Agent { return t.agents[id] }

// Len is the number of tracked agents.
func (t *Tracker) Len() int { return len(t.agents) }

// Each calls fn for every tracked agent, in no particular order.
func (t *Tracker) Each(fn func(a *Agent)) {
	for _, a := range t.agents {
		fn(a)
	}
}

// Drop forgets an agent (after a rebalance moved it elsewhere), and its
// membership of its peer group with it.
func (t *Tracker) Drop(id string) {
	a := t.agents[id]
	if a == nil {
		return
	}
	delete(t.agents, id)
	if p := a.peer; p != nil && p.Members > 0 {
		p.Members--
	}
}

// PeerOf returns the peer group of a kind, or nil.
func (t *Tracker) PeerOf(kind string) *Peer {
	if kind == "" || !t.cfg.PeerGroups {
		return nil
	}
	return t.peers[kind]
}

// Mature reports whether the agent's own history is long enough for
// learned detectors.
func (t *Tracker) Mature(a *Agent) bool { return t.matureProfile(&a.P) }

// PeerMature reports whether a peer group can stand in for a young member.
func (t *Tracker) PeerMature(p *Peer) bool {
	return p != nil && p.Members > 1 && t.matureProfile(&p.P)
}

func (t *Tracker) matureProfile(p *Profile) bool {
	return int(p.N) >= t.cfg.MinWindows && p.Span() >= time.Duration(t.cfg.MinDays)*24*time.Hour
}

// WindowStart is the start (unix seconds) of the window holding ts.
func (t *Tracker) WindowStart(ts int64) int64 {
	s := ts - ts%t.win
	if ts < 0 && ts%t.win != 0 {
		s -= t.win
	}
	return s
}

// idOf interns s, trying the id in *last (an agent's previous value of the
// same field) first, and leaves s's id there.
func (t *Tracker) idOf(last *uint32, s string) uint32 {
	if id := *last; id != 0 && t.strs.str(id) == s {
		return id
	}
	id := t.strs.id(s)
	*last = id
	return id
}

func (t *Tracker) agent(id string) *Agent {
	if a := t.agents[id]; a != nil {
		return a
	}
	a := &Agent{ID: clone(id), idx: t.strs.id(id), Decl: t.inv.Get(id)}
	if a.Decl != nil {
		a.Kind = a.Decl.Kind
	}
	t.agents[a.ID] = a
	t.join(a)
	return a
}

// join makes the agent a member of the peer group of its Kind.
func (t *Tracker) join(a *Agent) {
	a.peer = t.peerFor(a.Kind)
	if a.peer != nil {
		a.peer.Members++
	}
}

func (t *Tracker) peerFor(kind string) *Peer {
	if kind == "" || !t.cfg.PeerGroups {
		return nil
	}
	p := t.peers[kind]
	if p == nil {
		p = &Peer{Kind: kind, Actions: map[uint32]struct{}{}, Systems: map[uint32]struct{}{}, Triples: map[uint32]struct{}{}}
		t.peers[kind] = p
	}
	return p
}

func (t *Tracker) network(ip string) uint32 {
	if ip == "" {
		return 0
	}
	if v, ok := t.netCache[ip]; ok {
		return v
	}
	if len(t.netCache) > 1<<16 {
		clear(t.netCache) // bounded: a cache, not state
	}
	v := t.strs.id(schemas.NetworkOf(ip))
	t.netCache[clone(ip)] = v
	return v
}

func (t *Tracker) userAgent(ua string) uint32 {
	if ua == "" {
		return 0
	}
	if v, ok := t.uaCache[ua]; ok {
		return v
	}
	if len(t.uaCache) > 1<<14 {
		clear(t.uaCache)
	}
	v := t.strs.id(GeneralizeUserAgent(ua))
	t.uaCache[clone(ua)] = v
	return v
}

const patCacheSize = 4096

func (t *Tracker) pattern(res string, h uint64) uint32 {
	slot := &t.patCache[h%patCacheSize]
	if slot.h == h && slot.id != 0 {
		return slot.id
	}
	t.patBuf = AppendPattern(t.patBuf[:0], res)
	id := t.strs.idBytes(t.patBuf)
	slot.h, slot.id = h, id
	return id
}

func (t *Tracker) triple(sys, act, pat uint32) uint32 {
	k := [3]uint32{sys, act, pat}
	if v, ok := t.trips[k]; ok {
		return v
	}
	v := uint32(len(t.tkeys))
	t.trips[k] = v
	t.tkeys = append(t.tkeys, k)
	return v
}

// MadeFor reports whether an event attributed to an agent was made for it
// by a principal known not to be an agent (principal_kind set): a
// platform node calling sts:AssumeRole with the agent's role, which an
// attribution rule on request parameters gives to the agent. It records
// that a credential was made for the agent; it is not something the agent
// did, so its network, client and action are the caller's and are not
// learned as the agent's habits.
func MadeFor(ev *schemas.AgentEvent) bool { return !ev.Unattributed && ev.PrincipalKind != "" }

// Observe closes any windows the event's time ends, judges the event
// against what was learned before it, then learns from it.
func (t *Tracker) Observe(ev *schemas.AgentEvent) Obs {
	a := t.agent(ev.AgentID)
	ts := ev.Time.Unix()
	o := Obs{Agent: a, Peer: a.peer}
	ws := t.WindowStart(ts)
	if a.Open && ws < a.W.Start {
		o.Late = true
	} else {
		t.closeUntil(a, ws)
	}
	if a.Last != 0 && ts > a.Last {
		o.Gap = time.Duration(ts-a.Last) * time.Second
	}

	o.System = t.idOf(&a.last[lastSystem], ev.System)
	o.Action = t.idOf(&a.last[lastAction], ev.Action)
	var resHash uint64
	if ev.Resource != "" {
		resHash = hashString64(ev.Resource)
		o.Pattern = t.pattern(ev.Resource, resHash)
	}
	o.Triple = t.triple(o.System, o.Action, o.Pattern)
	o.Network = t.network(ev.SrcIP)
	o.UserAgent = t.userAgent(ev.UserAgent)
	if ev.OnBehalfOf != "" {
		o.Delegator = t.idOf(&a.last[lastDelegator], ev.OnBehalfOf)
	}
	if ev.CredentialID != "" {
		o.Cred = t.idOf(&a.last[lastCred], ev.CredentialID)
	}

	u := uint32(ts)
	lim, vlim := t.cfg.MaxTriples, t.cfg.MaxValues
	o.NewTriple = a.Triples.observe(o.Triple, u, lim)
	o.NewAction = a.Actions.observe(o.Action, u, lim)
	o.NewSystem = a.Systems.observe(o.System, u, vlim)
	if o.Network != 0 {
		o.NewNetwork = a.Networks.observe(o.Network, u, vlim)
	}
	if o.UserAgent != 0 {
		o.NewUserAgent = a.UserAgents.observe(o.UserAgent, u, vlim)
	}
	if o.Delegator != 0 {
		o.NewDelegator = a.Delegators.observe(o.Delegator, u, vlim)
	}
	if o.Cred != 0 {
		o.NewCred = a.Creds.observe(o.Cred, u, vlim)
		// Checked when the agent first uses the credential: one finding
		// per agent and credential is enough.
		if o.NewCred {
			if first, ok := t.credAgent[o.Cred]; !ok {
				t.credAgent[o.Cred] = a.idx
			} else if first != a.idx {
				o.CredSharedWith = t.strs.str(first)
			}
		}
	}
	// What the agent already does, its peers and the fleet already do:
	// their sets are consulted only for the agent's first sightings.
	if p := o.Peer; p != nil {
		if o.NewAction {
			o.PeerNewAction = addSet(p.Actions, o.Action)
		}
		if o.NewSystem {
			o.PeerNewSystem = addSet(p.Systems, o.System)
		}
		if o.NewTriple {
			o.PeerNewTriple = addSet(p.Triples, o.Triple)
		}
	}
	if o.NewAction {
		o.FleetNewAction = addSet(t.fleetActions, o.Action)
	}
	if o.NewSystem {
		o.FleetNewSystem = addSet(t.fleetSystems, o.System)
	}

	if !o.Late {
		w := &a.W
		w.Events++
		switch ev.Outcome {
		case schemas.OutcomeFailure:
			w.Failures++
		case schemas.OutcomeDenied:
			w.Denials++
		}
		w.Bytes += ev.Bytes
		w.Records += ev.Records
		w.Actions.Add(o.Action)
		w.Systems.Add(o.System)
		if ev.Resource != "" {
			w.Resources.Add(uint32(resHash ^ resHash>>32))
		}
		if o.Network != 0 {
			w.Networks.Add(o.Network)
		}
		if o.Delegator != 0 {
			w.Delegators.Add(o.Delegator)
		}
		if ev.AgentInstance != "" {
			w.Inst.Add(hashString(ev.AgentInstance))
		}
		w.ActionCounts.observe(o.Action, u, maxActionCounts)
	}
	if a.First == 0 || ts < a.First {
		a.First = ts
	}
	if ts > a.Last {
		a.Last = ts
	}
	return o
}

func addSet(m map[uint32]struct{}, k uint32) bool {
	if _, ok := m[k]; ok {
		return false
	}
	if len(m) < maxPeerSet {
		m[k] = struct{}{}
	}
	return true
}
