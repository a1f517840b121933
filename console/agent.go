package console

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/agentwatch/agentwatch/baseline"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

// errNotFound makes a page answer 404.
var errNotFound = errors.New("not found")

type instanceRow struct {
	Instance                        string
	Events, Credentials, Delegators int64
	LastSeen                        time.Time
}

type credentialRow struct {
	Credential, Type  string
	Issued, LastSeen  time.Time
	Events, Instances int64
}

type chartView struct {
	Title string
	SVG   template.HTML
}

type agentView struct {
	ID          string
	Agent       *inventory.Agent
	Unknown     bool // not in the inventory
	Baseline    *schemas.BaselineRow
	Declared    []declRow
	Learned     []habit
	Accepted    []schemas.ActionRow
	Suggest     []string
	Instances   []instanceRow
	Credentials []credentialRow
	Delegators  int
	Charts      []chartView
	Heat        template.HTML
	HeatTitle   string
	From, To    time.Time
	Incidents   []schemas.Alert
	Events      []schemas.AgentEvent
	Actions     []schemas.ActionRow
}

// chartFeatures are the features charted, in order.
var chartFeatures = []struct {
	name, title string
	value       func(w *schemas.WindowRow) float64
}{
	{"events", "Events", func(w *schemas.WindowRow) float64 { return float64(w.Events) }},
	{"distinct_actions", "Distinct actions", func(w *schemas.WindowRow) float64 { return float64(w.DistinctActions) }},
	{"distinct_resources", "Distinct resources", func(w *schemas.WindowRow) float64 { return float64(w.DistinctResources) }},
	{"failures", "Failures", func(w *schemas.WindowRow) float64 { return float64(w.Failures) }},
	{"records", "Records read or written", func(w *schemas.WindowRow) float64 { return float64(w.Records) }},
}

func (s *Server) agent(r *http.Request, _ principal) (string, string, any, error) {
	ctx := r.Context()
	st := s.deps.Store
	id := r.PathValue("id")
	v := &agentView{ID: id, Agent: s.deps.Inventory.Get(id)}
	v.Unknown = v.Agent == nil
	bases, err := st.LoadBaselines(ctx, []string{id})
	if err != nil {
		return "", "", nil, err
	}
	byFeature := map[string]*schemas.BaselineRow{}
	for i := range bases {
		bases[i].State = nil
		byFeature[bases[i].Feature] = &bases[i]
	}
	v.Baseline = byFeature["events"]
	play, err := st.LoadPlayground(ctx, []string{id})
	if err != nil {
		return "", "", nil, err
	}
	if v.Incidents, err = st.LoadAlerts(ctx, store.AlertFilter{AgentID: id, Limit: 200}); err != nil {
		return "", "", nil, err
	}
	if v.Events, err = st.SearchEvents(ctx, store.EventSearch{AgentID: id, Limit: 25}); err != nil {
		return "", "", nil, err
	}
	if v.Actions, err = st.LoadActions(ctx, store.ActionFilter{AgentID: id, Limit: 100}); err != nil {
		return "", "", nil, err
	}
	if v.Unknown && v.Baseline == nil && len(v.Events) == 0 && len(v.Incidents) == 0 {
		return "", "", nil, errNotFound
	}
	// The charts end at the agent's latest event (or now) and show a week.
	v.To = s.deps.Now().UTC()
	if len(v.Events) > 0 && v.Events[0].Time.Before(v.To) {
		v.To = v.Events[0].Time.Add(s.deps.Window).Truncate(s.deps.Window)
	}
	v.From = v.To.Add(-7 * 24 * time.Hour)
	wins, err := st.LoadWindows(ctx, id, v.From)
	if err != nil {
		return "", "", nil, err
	}
	var markers []marker
	for _, a := range v.Incidents {
		markers = append(markers, marker{T: a.FirstSeen, Severity: string(a.Severity), Label: string(a.Severity) + " · " + a.Detector + ": " + a.Summary, Href: "/incidents/" + url.PathEscape(a.ID)})
	}
	for _, f := range chartFeatures {
		b := byFeature[f.name]
		ser := series{Feature: f.name, Title: f.title, From: v.From, To: v.To, Markers: markers}
		if b != nil {
			ser.Median, ser.P95, ser.P99, ser.Seasonality = b.Median, b.P95, b.P99, b.Seasonality
		}
		for i := range wins {
			w := &wins[i]
			p := point{T: w.WindowStart.Add(s.deps.Window / 2), V: f.value(w)}
			if b != nil {
				p.Expected = expected(b, w.WindowStart)
			}
			ser.Points = append(ser.Points, p)
		}
		v.Charts = append(v.Charts, chartView{Title: f.title, SVG: featureChart(ser)})
	}
	if v.Baseline != nil && len(v.Baseline.Seasonal) > 0 {
		v.HeatTitle = "Hour-of-week seasonality: expected events per hour"
		if len(v.Baseline.Seasonal) == 24 {
			v.HeatTitle = "Hour-of-day seasonality: expected events per hour"
		}
		v.Heat = heatmap(v.Baseline.Seasonal, v.HeatTitle)
	}
	since := store.TimeArg(store.DialectOf(st), v.To.Add(-7*24*time.Hour))
	inst, err := query(ctx, st, "agent_instances", id, since)
	if err != nil {
		return "", "", nil, err
	}
	for _, row := range inst.Rows {
		v.Instances = append(v.Instances, instanceRow{Instance: asString(row[0]), Events: asInt(row[1]), Credentials: asInt(row[2]),
			Delegators: asInt(row[3]), LastSeen: asTime(row[4])})
	}
	creds, err := query(ctx, st, "agent_credentials", id, since)
	if err != nil {
		return "", "", nil, err
	}
	seen := map[string]credSeen{}
	for _, row := range creds.Rows {
		c := credentialRow{Credential: asString(row[0]), Type: asString(row[1]), Issued: asTime(row[2]),
			Events: asInt(row[3]), Instances: asInt(row[4]), LastSeen: asTime(row[5])}
		v.Credentials = append(v.Credentials, c)
		seen[c.Credential] = credSeen{Type: c.Type, Issued: c.Issued}
	}
	for _, p := range play {
		if p.Kind == schemas.PlayDelegator {
			v.Delegators++
		}
	}
	for _, a := range v.Actions {
		if a.Action == schemas.ActionAccept {
			v.Accepted = append(v.Accepted, a)
			if a.Detail != "" {
				v.Suggest = append(v.Suggest, a.Detail)
			}
		}
	}
	v.Declared, v.Learned = playgrounds(v.Agent, play, v.Accepted, seen, v.To)
	return "agent", id, v, nil
}

// expected is the baseline's expectation for the window starting at t.
func expected(b *schemas.BaselineRow, t time.Time) float64 {
	switch len(b.Seasonal) {
	case 168:
		return b.Seasonal[baseline.HourOfWeek(t)]
	case 24:
		return b.Seasonal[t.UTC().Hour()]
	}
	return b.Median
}
