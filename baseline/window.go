package baseline

import (
	"sort"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Window is one agent's open tumbling window.
type Window struct {
	Start                                                   int64 // unix seconds
	Events, Failures, Denials                               uint32
	Bytes, Records                                          int64
	Actions, Resources, Systems, Networks, Delegators, Inst Distinct
	ActionCounts                                            Habits
	// Crit caches the detector's critical values for this window (0 = not
	// computed yet) and Flags records what it already raised in it; the
	// tracker resets both when the window closes.
	Crit  [NumFeatures]int64
	Flags uint32
}

// maxActionCounts bounds the per-action counts kept for one window.
const maxActionCounts = 64

// Values returns the window's feature values.
func (w *Window) Values() [NumFeatures]float64 {
	return [NumFeatures]float64{
		FEvents: float64(w.Events), FDistinctActions: float64(w.Actions.Count()),
		FDistinctResources: float64(w.Resources.Count()), FDistinctSystems: float64(w.Systems.Count()),
		FDistinctNetworks: float64(w.Networks.Count()), FFailures: float64(w.Failures),
		FDenials: float64(w.Denials), FBytes: float64(w.Bytes), FRecords: float64(w.Records),
		FDistinctDelegators: float64(w.Delegators.Count()),
	}
}

func (w *Window) reset(start int64) {
	w.Start = start
	w.Events, w.Failures, w.Denials, w.Bytes, w.Records = 0, 0, 0, 0, 0
	w.Actions.Reset()
	w.Resources.Reset()
	w.Systems.Reset()
	w.Networks.Reset()
	w.Delegators.Reset()
	w.Inst.Reset()
	w.ActionCounts = w.ActionCounts[:0]
	w.Crit = [NumFeatures]int64{}
	w.Flags = 0
}

// Advance closes every open window that ends at or before now.
func (t *Tracker) Advance(now time.Time) {
	ws := t.WindowStart(now.Unix())
	for _, a := range t.agents {
		if a.Open && a.W.Start < ws {
			t.closeUntil(a, ws)
		}
	}
}

// closeUntil folds the open window and any empty windows after it, up to
// (not including) the window starting at ws, which becomes the open one.
func (t *Tracker) closeUntil(a *Agent, ws int64) {
	if !a.Open {
		a.Open = true
		a.W.reset(ws)
		return
	}
	if a.W.Start >= ws {
		return
	}
	t.fold(a, &a.W)
	next := a.W.Start + t.win
	if empty := (ws - next) / t.win; empty > 0 {
		if max := int64(t.cfg.MaxGapWindows); empty > max {
			next = ws - max*t.win
		}
		var zero [NumFeatures]float64
		for s := next; s < ws; s += t.win {
			t.foldValues(a, &zero, s)
		}
	}
	a.W.reset(ws)
	if a.Kind == "" && t.cfg.PeerGroups {
		t.learnKind(a)
	}
	if t.OnClose != nil {
		t.OnClose(a)
	}
}

// learnKind gives an agent the inventory does not classify a peer group
// learned from its playground: the set of systems it used in its first
// window ("auto:crm+helpdesk"). Agents doing the same kind of work then
// pool their habits, so the next such agent starts from their profile.
func (t *Tracker) learnKind(a *Agent) {
	if len(a.Systems) == 0 {
		return
	}
	names := make([]string, 0, len(a.Systems))
	for _, h := range a.Systems {
		names = append(names, t.strs.str(h.Key))
	}
	sort.Strings(names)
	a.Kind = "auto:" + strings.Join(names, "+")
	t.join(a)
	p := a.peer
	for _, h := range a.Actions {
		addSet(p.Actions, h.Key)
	}
	for _, h := range a.Systems {
		addSet(p.Systems, h.Key)
	}
	for _, h := range a.Triples {
		addSet(p.Triples, h.Key)
	}
}

// CloseDue closes the agent's open window if it ends at or before now and
// reports whether it did.
func (t *Tracker) CloseDue(a *Agent, now time.Time) bool {
	ws := t.WindowStart(now.Unix())
	if !a.Open || a.W.Start >= ws {
		return false
	}
	t.closeUntil(a, ws)
	return true
}

// IsLate reports whether an event at ts would be older than the agent's
// open window.
func (t *Tracker) IsLate(id string, ts time.Time) bool {
	a := t.agents[id]
	return a != nil && a.Open && t.WindowStart(ts.Unix()) < a.W.Start
}

func (t *Tracker) fold(a *Agent, w *Window) {
	vals := w.Values()
	t.foldValues(a, &vals, w.Start)
	if t.OnWindow != nil && w.Events > 0 {
		t.OnWindow(a, t.windowRow(a, w, &vals))
	}
}

func (t *Tracker) foldValues(a *Agent, vals *[NumFeatures]float64, start int64) {
	a.P.Fold(vals, start, t.cfg.EWMAAlpha, t.cfg.SeasonalAlpha)
	if p := a.peer; p != nil {
		p.P.Fold(vals, start, t.cfg.EWMAAlpha, t.cfg.SeasonalAlpha)
	}
}

func (t *Tracker) windowRow(a *Agent, w *Window, vals *[NumFeatures]float64) schemas.WindowRow {
	start := time.Unix(w.Start, 0).UTC()
	counts := make(map[string]int64, len(w.ActionCounts))
	for _, h := range w.ActionCounts {
		counts[t.strs.str(h.Key)] = int64(h.Count)
	}
	return schemas.WindowRow{
		AgentID: a.ID, WindowStart: start, WindowEnd: start.Add(t.cfg.Window), HourOfWeek: HourOfWeek(start),
		Events: int64(vals[FEvents]), DistinctActions: int64(vals[FDistinctActions]),
		DistinctResources: int64(vals[FDistinctResources]), DistinctSystems: int64(vals[FDistinctSystems]),
		DistinctNetworks: int64(vals[FDistinctNetworks]), Failures: int64(vals[FFailures]),
		Denials: int64(vals[FDenials]), Bytes: int64(vals[FBytes]), Records: int64(vals[FRecords]),
		ActionCounts: counts,
	}
}
