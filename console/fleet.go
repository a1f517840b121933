package console

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// fleetRow is one agent (or unattributed principal) on the fleet page.
type fleetRow struct {
	ID, Name, Owner, Kind, Status string
	Unattributed, Declared        bool
	Mature                        bool
	Windows                       int64
	Events                        int64 // in the day shown
	Hourly                        []float64
	Median, P95, P99              float64
	Busiest                       int64
	OverBand                      bool
	Open                          [5]int      // firing incidents by severity rank
	OpenBy                        [5][]string // their detectors, by severity rank
	OpenTotal                     int
	Recent                        int // resolved incidents in the last 7 days
	RecentTop                     string
	LastSeen                      time.Time
	Risk                          int
	Spark                         template.HTML
	Pills                         []pill
}

// pill is a count of open incidents of one severity, with the detectors
// that raised them.
type pill struct {
	Severity  string
	N         int
	Detectors string
}

type fleetView struct {
	Rows                 []fleetRow
	Attention            []fleetRow // unattributed principals and agents with no owner
	DayEnd               time.Time
	Owners, Kinds        []string
	Statuses             []string
	Owner, Kind, Status  string
	Sort                 string
	Agents, Firing, Crit int
	Recent               int
	Shown                int
}

// severityWeight makes risk: one critical outweighs many lows.
var severityWeight = [5]int{1, 3, 10, 40, 100}

// dayEnd is the end of "the last day" the fleet page shows: now, or the
// latest stored event when the store holds only older events (a replay of
// past logs, the demo), so that the page shows that day rather than none.
func (s *Server) dayEnd(ctx context.Context) (time.Time, error) {
	now := s.deps.Now().UTC()
	res, err := query(ctx, s.deps.Store, "latest_event_time")
	if err != nil {
		return now, err
	}
	if len(res.Rows) == 1 {
		if t := asTime(res.Rows[0][0]); t.Unix() > 0 && t.Before(now) {
			return t.Add(time.Second), nil
		}
	}
	return now, nil
}

func (s *Server) fleet(r *http.Request, _ principal) (string, string, any, error) {
	ctx := r.Context()
	st := s.deps.Store
	d := store.DialectOf(st)
	end, err := s.dayEnd(ctx)
	if err != nil {
		return "", "", nil, err
	}
	start := end.Add(-24 * time.Hour).Truncate(time.Hour)
	rows := map[string]*fleetRow{}
	get := func(id string) *fleetRow {
		if x := rows[id]; x != nil {
			return x
		}
		x := &fleetRow{ID: id, Hourly: make([]float64, 25)}
		rows[id] = x
		return x
	}
	for _, ag := range s.deps.Inventory.Agents() {
		x := get(ag.ID)
		x.Name, x.Owner, x.Kind, x.Status, x.Declared = ag.DisplayName, ag.Owner, ag.Kind, ag.Status, true
	}
	// Closed windows give the hours of the day (the baseline worker
	// counted them already); the last two hours, whose windows may still
	// be open, come from the events themselves. A full day of events would
	// be a large scan on SQLite (48,000 rows at 1,000 agents).
	win := s.deps.Window
	cut := end.Truncate(win).Add(-win)
	wins, err := query(ctx, st, "fleet_windows", store.TimeArg(d, start), store.TimeArg(d, cut))
	if err != nil {
		return "", "", nil, err
	}
	for _, row := range wins.Rows {
		x := get(asString(row[0]))
		ws := asTime(row[1])
		n := asInt(row[2])
		if h := int(ws.Sub(start) / time.Hour); h >= 0 && h < len(x.Hourly) {
			x.Hourly[h] += float64(n)
		}
		x.Events += n
		x.Busiest = max(x.Busiest, n)
		if t := ws.Add(win); n > 0 && t.After(x.LastSeen) {
			x.LastSeen = t
		}
	}
	recent, err := query(ctx, st, "fleet_recent", store.TimeArg(d, cut), store.TimeArg(d, end))
	if err != nil {
		return "", "", nil, err
	}
	for _, row := range recent.Rows {
		x := get(asString(row[0]))
		n := asInt(row[2])
		x.Events += n
		if h := int(asTime(row[1]).Sub(start) / time.Hour); h >= 0 && h < len(x.Hourly) {
			x.Hourly[h] += float64(n)
			x.Busiest = max(x.Busiest, int64(x.Hourly[h]))
		}
		if t := asTime(row[3]); t.After(x.LastSeen) {
			x.LastSeen = t
		}
		if asInt(row[4]) == 1 {
			x.Unattributed = true
		}
	}
	base, err := query(ctx, st, "fleet_baselines")
	if err != nil {
		return "", "", nil, err
	}
	for _, row := range base.Rows {
		x := rows[asString(row[0])]
		if x == nil {
			// Known to the store but silent for a day and not in the
			// inventory: still part of the fleet.
			x = get(asString(row[0]))
		}
		x.Windows, x.Median, x.P95, x.P99 = asInt(row[1]), asFloat(row[2]), asFloat(row[3]), asFloat(row[4])
		x.Mature = asInt(row[5]) == 1
		if lw := asTime(row[6]).Add(s.deps.Window); x.LastSeen.IsZero() && lw.Unix() > 0 {
			x.LastSeen = lw
		}
	}
	firing, err := st.LoadAlerts(ctx, store.AlertFilter{Status: schemas.StatusFiring})
	if err != nil {
		return "", "", nil, err
	}
	closed, err := st.LoadAlerts(ctx, store.AlertFilter{Status: schemas.StatusResolved, Since: end.Add(-7 * 24 * time.Hour)})
	if err != nil {
		return "", "", nil, err
	}
	for _, a := range closed {
		x := get(a.Identity.AgentID)
		x.Recent++
		if rk := a.Severity.Rank(); rk >= 0 {
			x.Risk += severityWeight[rk] / 4
			if x.RecentTop == "" || rk > schemas.Severity(x.RecentTop).Rank() {
				x.RecentTop = string(a.Severity)
			}
		}
		if a.Identity.Unattributed {
			x.Unattributed = true
		}
	}
	v := &fleetView{DayEnd: end, Owner: r.FormValue("owner"), Kind: r.FormValue("kind"), Status: r.FormValue("status"), Sort: r.FormValue("sort")}
	for _, a := range firing {
		x := get(a.Identity.AgentID)
		if a.Identity.Unattributed {
			x.Unattributed = true
		}
		if rk := a.Severity.Rank(); rk >= 0 {
			x.Open[rk]++
			x.OpenTotal++
			if !slices.Contains(x.OpenBy[rk], a.Detector) {
				x.OpenBy[rk] = append(x.OpenBy[rk], a.Detector)
			}
		}
		v.Firing++

		if a.Severity == schemas.SeverityCritical {
			v.Crit++
		}
	}
	owners, kinds, statuses := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, x := range rows {
		if x.Status == "" {
			x.Status = "unknown"
			if x.Unattributed {
				x.Status = "unattributed"
			}
		}
		x.OverBand = x.Mature && x.P99 > 0 && float64(x.Busiest) > x.P99
		for rk, n := range x.Open {
			x.Risk += n * severityWeight[rk]
		}
		if x.Unattributed {
			x.Risk += 50
		}
		if x.Owner == "" && !x.Unattributed {
			x.Risk += 20
		}
		if x.OverBand {
			x.Risk += 10
		}
		x.Spark = sparkline(x.Hourly, x.Median, x.P99, x.Mature)
		for rk := len(x.Open) - 1; rk >= 0; rk-- {
			if x.Open[rk] > 0 {
				sort.Strings(x.OpenBy[rk])
				x.Pills = append(x.Pills, pill{string(schemas.Severities[rk]), x.Open[rk], strings.Join(x.OpenBy[rk], ", ")})
			}
		}
		statuses[x.Status] = true
		if x.Owner != "" {
			owners[x.Owner] = true
		}
		if x.Kind != "" {
			kinds[x.Kind] = true
		}
	}
	v.Recent = len(closed)
	v.Owners, v.Kinds, v.Statuses = sortedKeys(owners), sortedKeys(kinds), sortedKeys(statuses)
	list := make([]fleetRow, 0, len(rows))
	for _, x := range rows {
		list = append(list, *x)
	}
	sortFleet(list, v.Sort)
	for _, x := range list {
		if x.Unattributed || (x.Owner == "" && x.Status != "decommissioned") {
			v.Attention = append(v.Attention, x)
		}
		if !x.Unattributed {
			v.Agents++
		}
		if (v.Owner != "" && x.Owner != v.Owner) || (v.Kind != "" && x.Kind != v.Kind) || (v.Status != "" && x.Status != v.Status) {
			continue
		}
		v.Rows = append(v.Rows, x)
	}
	v.Shown = len(v.Rows)
	return "fleet", "Fleet", v, nil
}

func sortFleet(list []fleetRow, by string) {
	sort.Slice(list, func(i, j int) bool {
		a, b := &list[i], &list[j]
		switch by {
		case "name":
			return a.ID < b.ID
		case "events":
			if a.Events != b.Events {
				return a.Events > b.Events
			}
		case "last_seen":
			if !a.LastSeen.Equal(b.LastSeen) {
				return a.LastSeen.After(b.LastSeen)
			}
		default:
			if a.Risk != b.Risk {
				return a.Risk > b.Risk
			}
			if a.OpenTotal != b.OpenTotal {
				return a.OpenTotal > b.OpenTotal
			}
		}
		return a.ID < b.ID
	})
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// statusClass maps a status onto a badge style.
func statusClass(s string) string {
	switch strings.ToLower(s) {
	case "active", "mature", "delivered", "resolved":
		return "ok"
	case "suspended", "learning", "pending", "suppressed":
		return "warn"
	case "decommissioned", "unattributed", "failed", "firing":
		return "bad"
	}
	return "muted"
}
