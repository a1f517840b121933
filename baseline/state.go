package baseline

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// stateVersion is bumped whenever AgentState changes incompatibly; older
// blobs are ignored (the agent relearns) rather than misread.
const stateVersion = 1

// stateFeature is the agent_baselines row whose State column carries the
// whole resumable agent state.
const stateFeature = "events"

// AgentState is the persisted form of an Agent, with strings instead of
// interned ids so it survives restarts and moves between processes.
type AgentState struct {
	V           int                     `json:"v"`
	ID          string                  `json:"id"`
	Kind        string                  `json:"kind,omitempty"`
	First       int64                   `json:"first,omitempty"`
	Last        int64                   `json:"last,omitempty"`
	WindowStart int64                   `json:"window_start,omitempty"`
	Version     int64                   `json:"version"`
	Flags       uint32                  `json:"flags,omitempty"`
	Profile     Profile                 `json:"profile"`
	Triples     []TripleHabit           `json:"triples,omitempty"`
	Values      map[string][]ValueHabit `json:"values,omitempty"`
}

// TripleHabit is a learned (system, action, resource pattern).
type TripleHabit struct {
	System, Action, Pattern string
	Count, First, Last      uint32
}

// ValueHabit is a learned value (action, system, network, ...).
type ValueHabit struct {
	Value              string
	Count, First, Last uint32
}

func (t *Tracker) valueSets(a *Agent) map[string]*Habits {
	return map[string]*Habits{
		"action": &a.Actions, "system": &a.Systems, schemas.PlayNetwork: &a.Networks,
		schemas.PlayUserAgent: &a.UserAgents, schemas.PlayDelegator: &a.Delegators, schemas.PlayCredential: &a.Creds,
	}
}

// Export returns the persisted form of an agent. The open window's counts
// are not part of it: the worker replays the open window's events from the
// store, and the detector restarts the window from zero.
func (t *Tracker) Export(a *Agent) AgentState {
	st := AgentState{V: stateVersion, ID: a.ID, Kind: a.Kind, First: a.First, Last: a.Last,
		Version: a.Version, Flags: a.Flags, Profile: a.P, Values: map[string][]ValueHabit{}}
	if a.Open {
		st.WindowStart = a.W.Start
	}
	for _, h := range a.Triples {
		s, ac, p := t.TripleOf(h.Key)
		st.Triples = append(st.Triples, TripleHabit{s, ac, p, h.Count, h.First, h.Last})
	}
	for kind, hs := range t.valueSets(a) {
		for _, h := range *hs {
			st.Values[kind] = append(st.Values[kind], ValueHabit{t.strs.str(h.Key), h.Count, h.First, h.Last})
		}
	}
	return st
}

// Import installs a persisted agent, replacing any state of that id, and
// merges its habits into its peer group and the fleet.
func (t *Tracker) Import(st AgentState) (*Agent, error) {
	if st.V != stateVersion {
		return nil, fmt.Errorf("import agent %q state: version %d, want %d", st.ID, st.V, stateVersion)
	}
	t.Drop(st.ID)
	a := t.agent(st.ID)
	if a.Kind == "" && st.Kind != "" && t.cfg.PeerGroups {
		a.Kind = st.Kind // a learned peer group
		t.join(a)
	}
	a.First, a.Last, a.Version, a.Flags, a.P = st.First, st.Last, st.Version, st.Flags, st.Profile
	if st.WindowStart != 0 {
		a.Open = true
		a.W.reset(st.WindowStart)
	}
	for _, h := range st.Triples {
		s, ac, p := t.strs.id(h.System), t.strs.id(h.Action), t.strs.id(h.Pattern)
		id := t.triple(s, ac, p)
		a.Triples.put(Habit{id, h.Count, h.First, h.Last}, t.cfg.MaxTriples)
	}
	sets := t.valueSets(a)
	for kind, vs := range st.Values {
		hs := sets[kind]
		if hs == nil {
			continue
		}
		limit := t.cfg.MaxValues
		if kind == "action" {
			limit = t.cfg.MaxTriples
		}
		for _, v := range vs {
			hs.put(Habit{t.strs.id(v.Value), v.Count, v.First, v.Last}, limit)
		}
	}
	for _, h := range a.Actions {
		addSet(t.fleetActions, h.Key)
	}
	for _, h := range a.Systems {
		addSet(t.fleetSystems, h.Key)
	}
	for _, h := range a.Creds {
		if _, ok := t.credAgent[h.Key]; !ok {
			t.credAgent[h.Key] = a.idx
		}
	}
	if p := a.peer; p != nil {
		for _, h := range a.Actions {
			addSet(p.Actions, h.Key)
		}
		for _, h := range a.Systems {
			addSet(p.Systems, h.Key)
		}
		for _, h := range a.Triples {
			addSet(p.Triples, h.Key)
		}
		// The pooled profile cannot be rebuilt from members; the most
		// mature member stands in until new windows refine it.
		if a.P.N > p.P.N {
			p.P = a.P
		}
	}
	return a, nil
}

// nextVersion returns a version above the agent's last one.
func nextVersion(a *Agent, now time.Time) int64 {
	v := now.UnixMicro()
	if v <= a.Version {
		v = a.Version + 1
	}
	a.Version = v
	return v
}

// BaselineRows returns the agent's profile as agent_baselines rows, one per
// feature; the events row carries the resumable state.
func (t *Tracker) BaselineRows(a *Agent, now time.Time) ([]schemas.BaselineRow, error) {
	ver := nextVersion(a, now)
	blob, err := json.Marshal(t.Export(a))
	if err != nil {
		return nil, fmt.Errorf("encode agent %q state: %w", a.ID, err)
	}
	p := &a.P
	mature := t.Mature(a)
	season := p.Seasonality()
	rows := make([]schemas.BaselineRow, 0, NumFeatures)
	for f := Feature(0); f < NumFeatures; f++ {
		med, mad, p50, p95, p99 := p.Robust(f)
		r := schemas.BaselineRow{
			AgentID: a.ID, Feature: FeatureNames[f], Samples: int64(p.N),
			Median: med, MAD: mad, EWMAMean: float64(p.Stats[f].Mean), EWMAVar: float64(p.Stats[f].Var),
			P50: p50, P95: p95, P99: p99, Seasonality: season, Mature: mature,
			Version: ver, UpdatedAt: now.UTC(),
		}
		if p.N > 0 {
			r.FirstWindow = time.Unix(p.FirstWin, 0).UTC()
			r.LastWindow = time.Unix(p.LastWin, 0).UTC()
		}
		switch season {
		case "hour_of_week":
			r.Seasonal = make([]float64, 168)
			for h := range r.Seasonal {
				r.Seasonal[h] = p.Expected(f, h)
			}
		case "hour_of_day":
			r.Seasonal = make([]float64, 24)
			for h := range r.Seasonal {
				r.Seasonal[h] = p.Expected(f, h)
			}
		}
		if FeatureNames[f] == stateFeature {
			r.State = blob
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// PlaygroundRows returns the agent's learned playground as rows carrying
// version ver (use the version of the matching BaselineRows).
func (t *Tracker) PlaygroundRows(a *Agent) []schemas.PlaygroundRow {
	ts := func(u uint32) time.Time { return time.Unix(int64(u), 0).UTC() }
	rows := make([]schemas.PlaygroundRow, 0, len(a.Triples)+len(a.Networks)+len(a.UserAgents)+len(a.Delegators)+len(a.Creds))
	for _, h := range a.Triples {
		s, ac, p := t.TripleOf(h.Key)
		rows = append(rows, schemas.PlaygroundRow{AgentID: a.ID, Kind: schemas.PlayTriple, System: s, Action: ac,
			ResourcePattern: p, Count: int64(h.Count), FirstSeen: ts(h.First), LastSeen: ts(h.Last), Version: a.Version})
	}
	for _, kv := range []struct {
		kind string
		hs   Habits
	}{{schemas.PlayNetwork, a.Networks}, {schemas.PlayUserAgent, a.UserAgents}, {schemas.PlayDelegator, a.Delegators}, {schemas.PlayCredential, a.Creds}} {
		for _, h := range kv.hs {
			rows = append(rows, schemas.PlaygroundRow{AgentID: a.ID, Kind: kv.kind, Value: t.strs.str(h.Key),
				Count: int64(h.Count), FirstSeen: ts(h.First), LastSeen: ts(h.Last), Version: a.Version})
		}
	}
	return rows
}

// DecodeState extracts the resumable state from an agent's baseline rows;
// ok is false when none is present or it is from an older version.
func DecodeState(rows []schemas.BaselineRow) (AgentState, bool) {
	for _, r := range rows {
		if r.Feature != stateFeature || len(r.State) == 0 {
			continue
		}
		var st AgentState
		if err := json.Unmarshal(r.State, &st); err != nil || st.V != stateVersion {
			return AgentState{}, false
		}
		return st, true
	}
	return AgentState{}, false
}
