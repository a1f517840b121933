package detect

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// Checker gathers, per agent and detector, the incidents an engine raised
// and the events behind them, and what those events did outside each
// agent's declared playground. It is the Observer behind `playground
// check` (a replay of stored events) and the report of `run --dry-run`
// (the live engine); it is safe to read while the engine runs.
type Checker struct {
	mu     sync.Mutex
	inv    *inventory.Inventory
	rows   map[[2]string]*CheckRow
	cross  map[string]*crossings // by agent
	events int64
	first  time.Time
	last   time.Time
}

// CheckRow is one agent and detector in the report.
type CheckRow struct {
	Agent, Detector string
	Boundary        string // of the first finding: declared or learned
	Incidents       int
	Events          int64
	ids             map[string]bool
	actions         topCounter
	resources       topCounter
}

// NewChecker reports against inv's declared playgrounds.
func NewChecker(inv *inventory.Inventory) *Checker {
	if inv == nil {
		inv = inventory.Empty()
	}
	return &Checker{inv: inv, rows: map[[2]string]*CheckRow{}, cross: map[string]*crossings{}}
}

var _ Observer = (*Checker)(nil)

// Event implements Observer: it counts the events judged.
func (c *Checker) Event(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events++
	if c.first.IsZero() || t.Before(c.first) {
		c.first = t
	}
	if t.After(c.last) {
		c.last = t
	}
}

// Finding implements Observer.
func (c *Checker) Finding(agentID string, f FindingInfo, ev schemas.AgentEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.row(agentID, f.Detector)
	if r.Boundary == "" {
		r.Boundary = f.Boundary
	}
	r.Events++
	r.actions.add(ev.Action)
	if ev.Resource != "" {
		r.resources.add(baseline.Generalize(ev.Resource))
	}
	if ag := c.inv.Get(agentID); ag != nil {
		x := c.cross[agentID]
		if x == nil {
			x = newCrossings()
			c.cross[agentID] = x
		}
		x.record(ag, f.Detector, &ev)
	}
}

// Alert implements Observer.
func (c *Checker) Alert(a *schemas.Alert) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.row(a.Identity.AgentID, a.Detector)
	if !r.ids[a.ID] {
		r.ids[a.ID] = true
		r.Incidents++
	}
}

func (c *Checker) row(agent, detector string) *CheckRow {
	k := [2]string{agent, detector}
	r := c.rows[k]
	if r == nil {
		r = &CheckRow{Agent: agent, Detector: detector, ids: map[string]bool{}}
		c.rows[k] = r
	}
	return r
}

// Rows returns the report's rows, by agent then detector.
func (c *Checker) Rows() []CheckRow {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CheckRow, 0, len(c.rows))
	for _, k := range slices.SortedFunc(maps.Keys(c.rows), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	}) {
		out = append(out, *c.rows[k])
	}
	return out
}

// Events is the number of events judged.
func (c *Checker) Events() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events
}

// Incidents is the number of distinct incidents raised.
func (c *Checker) Incidents() int {
	n := 0
	for _, r := range c.Rows() {
		n += r.Incidents
	}
	return n
}

// Suggestions returns, per agent whose declared playground was crossed,
// the smallest widening that covers what recurred (see suggest.go).
func (c *Checker) Suggestions() []Suggestion {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Suggestion
	for _, id := range slices.Sorted(maps.Keys(c.cross)) {
		if ag := c.inv.Get(id); ag != nil {
			if s, ok := suggest(ag, c.cross[id]); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// CheckOptions select what Check replays.
type CheckOptions struct {
	Agents   []string // all agents when empty
	From, To time.Time
	// Chunk is how much event time is read and sorted at once (1h when 0):
	// the store returns each agent's events in order but not the
	// interleaving of agents, which the engine's clock needs.
	Chunk time.Duration
}

// Check replays the stored events of [From, To) through a fresh engine in
// dry run (cfg, inv: the detectors and the declared playgrounds to judge
// by) and returns what it would have raised.
func Check(ctx context.Context, st store.Store, cfg Config, inv *inventory.Inventory, opt CheckOptions) (*Checker, error) {
	if !opt.From.Before(opt.To) {
		return nil, fmt.Errorf("playground check: empty time range %s to %s", opt.From.Format(time.RFC3339), opt.To.Format(time.RFC3339))
	}
	chunk := cmp.Or(opt.Chunk, time.Hour)
	cfg.DryRun = true
	c := NewChecker(inv)
	eng, err := NewEngine(cfg, inv, WithObserver(c))
	if err != nil {
		return nil, err
	}
	var buf []schemas.AgentEvent
	for from := opt.From; from.Before(opt.To); from = from.Add(chunk) {
		to := from.Add(chunk)
		if to.After(opt.To) {
			to = opt.To
		}
		buf = buf[:0]
		err := st.ScanEvents(ctx, opt.Agents, from, to, func(ev schemas.AgentEvent) error {
			buf = append(buf, ev)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("playground check: read events %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
		}
		slices.SortStableFunc(buf, func(a, b schemas.AgentEvent) int {
			return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.EventID, b.EventID))
		})
		for i := range buf {
			eng.Process(&buf[i])
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	eng.Advance(opt.To)
	return c, nil
}

// WriteReport writes the check's report: the period and events replayed,
// one row per agent and detector with its incidents and top offending
// actions and resources, what to do about the learned and lifecycle ones,
// and the suggested inventory edits as YAML.
func (c *Checker) WriteReport(w io.Writer, title string) error {
	rows := c.Rows()
	c.mu.Lock()
	events, first, last := c.events, c.first, c.last
	c.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", title)
	if events > 0 {
		fmt.Fprintf(&b, "%s events from %s to %s UTC\n", schemas.Thousands(int(events)), first.UTC().Format("2006-01-02 15:04"), last.UTC().Format("2006-01-02 15:04"))
	}
	if len(rows) == 0 {
		b.WriteString("\nquiet: no incident would have been raised.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tDETECTOR\tBOUNDARY\tINCIDENTS\tEVENTS\tTOP ACTIONS\tTOP RESOURCES")
	total := 0
	for _, r := range rows {
		total += r.Incidents
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Agent, r.Detector, r.Boundary, r.Incidents, schemas.Thousands(int(r.Events)),
			r.actions.top(3), r.resources.top(3))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.Reset()
	fmt.Fprintf(&b, "\n%d incidents in all.\n", total)
	learned := false
	for _, r := range rows {
		learned = learned || r.Boundary == schemas.BoundaryLearned
		if hint := checkHint(r.Detector); hint != "" {
			fmt.Fprintf(&b, "  %s %s: %s\n", r.Agent, r.Detector, hint)
		}
	}
	if learned {
		b.WriteString("  learned-boundary incidents are judged against each agent's own history once it is mature:\n" +
			"  no inventory edit changes them; what is expected is learned and does not alert again.\n")
	}
	sugs := c.Suggestions()
	if len(sugs) > 0 {
		b.WriteString("\nSuggested inventory edits: the smallest widening of each declared playground that covers what\n" +
			"recurred (seen in at least two different hours). Review, then replace each agent's playground block\n" +
			"in agents.yaml with the one below; what happened only once, or was refused by the source every\n" +
			"time (AccessDenied), is listed in comments, not added.\n\n")
		b.WriteString(RenderSuggestions(sugs))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// checkHint says what to do about detectors an inventory widening does
// not quiet.
func checkHint(detector string) string {
	switch {
	case detector == DUnattributed:
		return "no attribution rule maps this principal: add one (ingest.attribution) or declare the principal"
	case strings.HasPrefix(detector, "lifecycle."):
		return "the inventory's status or dates say the agent should not act: correct them if it is in service"
	case detector == DCredTooOld:
		return "rotate the credential; the suggestion below raises max_age only if that is the policy"
	}
	return ""
}

// topCounter counts values with a bound on memory: past topCap distinct
// values, new ones are counted as "other".
type topCounter struct {
	n     map[string]int64
	other int64
}

const topCap = 10000

func (t *topCounter) add(v string) {
	if t.n == nil {
		t.n = map[string]int64{}
	}
	if _, ok := t.n[v]; !ok && len(t.n) >= topCap {
		t.other++
		return
	}
	t.n[v]++
}

// top renders the k most frequent values: "s3:GetObject (1,200), ...".
func (t *topCounter) top(k int) string {
	keys := slices.SortedFunc(maps.Keys(t.n), func(a, b string) int { return cmp.Or(cmp.Compare(t.n[b], t.n[a]), cmp.Compare(a, b)) })
	var parts []string
	for i, key := range keys {
		if i == k {
			parts = append(parts, fmt.Sprintf("+%d more", len(keys)-k))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", key, schemas.Thousands(int(t.n[key]))))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
