package console

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/agentwatch/agentwatch/alerts/outbox"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

type incidentView struct {
	Alert       schemas.Alert
	Events      []schemas.AgentEvent
	Notes       []*outbox.Notification
	NoOutbox    string
	Actions     []schemas.ActionRow
	Chart       template.HTML
	Scope       []scopeRow
	Evidence    []evidenceRow
	Rises       []riseRow
	EvTitle     string
	EvAgainst   string
	Suggestion  string
	Matchers    string
	CanAct      bool
	ReadOnly    bool
	Flash, Fail string
	Durations   []durationChoice
}

type durationChoice struct {
	Value, Label string
	Default      bool
}

var acceptDurations = []durationChoice{{"24h", "1 day", false}, {"168h", "7 days", false}, {"720h", "30 days", true}, {"2160h", "90 days", false}}
var silenceDurations = []durationChoice{{"1h", "1 hour", false}, {"4h", "4 hours", false}, {"24h", "1 day", true}, {"168h", "7 days", false}}

func (s *Server) incident(r *http.Request, p principal) (string, string, any, error) {
	ctx := r.Context()
	st := s.deps.Store
	id := r.PathValue("id")
	as, err := st.LoadAlerts(ctx, store.AlertFilter{ID: id})
	if err != nil {
		return "", "", nil, err
	}
	if len(as) == 0 {
		return "", "", nil, errNotFound
	}
	a := as[0]
	v := &incidentView{Alert: a, CanAct: p.Writer() && s.deps.Actions != nil, ReadOnly: s.deps.Actions == nil,
		Flash: r.FormValue("done"), Fail: r.FormValue("error"), Durations: acceptDurations}
	v.Scope = incidentScope(&a)
	v.Evidence, v.Rises = incidentEvidence(&a)
	v.EvTitle, v.EvAgainst = evidenceHeads(a.Boundary)
	v.Matchers = "agent=" + a.Identity.AgentID + "\ndetector=" + a.Detector
	if len(a.EventIDs) > 0 {
		if v.Events, err = st.SearchEvents(ctx, store.EventSearch{AgentID: a.Identity.AgentID, EventIDs: a.EventIDs, Limit: len(a.EventIDs)}); err != nil {
			return "", "", nil, err
		}
	}
	v.Suggestion = pipeline.Suggestion(&a, s.deps.Inventory.Get(a.Identity.AgentID), v.Events)
	if v.Actions, err = st.LoadActions(ctx, store.ActionFilter{AlertID: id}); err != nil {
		return "", "", nil, err
	}
	v.Notes, v.NoOutbox = s.notifications(ctx, id)
	// The main feature around the incident: a day before to a day after.
	from, to := a.FirstSeen.Add(-24*time.Hour).Truncate(time.Hour), a.LastSeen.Add(24*time.Hour).Truncate(time.Hour)
	if now := s.deps.Now(); to.After(now) {
		to = now
	}
	wins, err := st.LoadWindows(ctx, a.Identity.AgentID, from)
	if err != nil {
		return "", "", nil, err
	}
	bases, err := st.LoadBaselines(ctx, []string{a.Identity.AgentID})
	if err != nil {
		return "", "", nil, err
	}
	ser := series{Title: "Events", Wide: true, From: from, To: to, Markers: []marker{{T: a.FirstSeen, Severity: string(a.Severity), Label: "this incident: " + a.Summary, Href: "#summary"}}}
	for i := range bases {
		if bases[i].Feature == "events" {
			b := &bases[i]
			ser.Median, ser.P95, ser.P99, ser.Seasonality = b.Median, b.P95, b.P99, b.Seasonality
			for j := range wins {
				w := &wins[j]
				if w.WindowStart.After(to) {
					break
				}
				ser.Points = append(ser.Points, point{T: w.WindowStart.Add(s.deps.Window / 2), V: float64(w.Events), Expected: expected(b, w.WindowStart)})
			}
		}
	}
	if len(bases) > 0 {
		v.Chart = featureChart(ser)
	}
	title := fmt.Sprintf("%s · %s", strings.ToUpper(string(a.Severity)), a.Identity.AgentID)
	return "incident", title, v, nil
}

// outboxReader opens the alert outbox for reading notification history
// once it exists (the alerts stage creates it).
type outboxReader struct {
	mu sync.Mutex
	ob *outbox.Outbox
}

func (s *Server) notifications(ctx context.Context, alertID string) ([]*outbox.Notification, string) {
	path := s.deps.OutboxPath
	s.obr.mu.Lock()
	if s.obr.ob == nil {
		if _, err := os.Stat(path); path == "" || err != nil {
			s.obr.mu.Unlock()
			return s.storedNotifications(ctx, alertID)
		}
		ob, err := outbox.Open(path)
		if err != nil {
			s.obr.mu.Unlock()
			return nil, "cannot open the alert outbox: " + err.Error()
		}
		s.obr.ob = ob
	}
	ob := s.obr.ob
	s.obr.mu.Unlock()
	ns, err := ob.ListByAlert(ctx, alertID)
	if err != nil {
		return nil, "cannot read the alert outbox: " + err.Error()
	}
	return ns, ""
}

// storedNotifications reads an incident's notification history from the
// store, where the alerts stage copies its outbox's states every few
// seconds: what a console on another host than the alerts stage shows.
func (s *Server) storedNotifications(ctx context.Context, alertID string) ([]*outbox.Notification, string) {
	rows, err := s.deps.Store.LoadNotifications(ctx, alertID)
	if err != nil {
		return nil, "cannot read the notification history from the store: " + err.Error()
	}
	out := make([]*outbox.Notification, len(rows))
	for i, r := range rows {
		out[i] = &outbox.Notification{Receiver: r.Receiver, Target: r.Target, State: r.State, Attempts: r.Attempts,
			LastSentAt: r.LastSentAt, LastError: r.LastError, UpdatedAt: r.UpdatedAt}
	}
	return out, ""
}

// act runs accept, silence or resolve from the incident page's forms.
func (s *Server) act(w http.ResponseWriter, r *http.Request, p principal) {
	id, action := r.PathValue("id"), r.PathValue("action")
	back := "/incidents/" + url.PathEscape(id)
	if s.deps.Actions == nil {
		http.Error(w, "this console is read-only", http.StatusForbidden)
		return
	}
	if !p.Writer() {
		http.Error(w, "actions need the writer role; "+p.Name+" is a reader", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := s.checkCSRF(r, p); err != nil {
		http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
		return
	}
	req := pipeline.ActionRequest{AlertID: id, Actor: p.Name, Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if f := r.PostFormValue("for"); f != "" {
		d, err := time.ParseDuration(f)
		if err != nil {
			http.Redirect(w, r, back+"?error="+url.QueryEscape("for: "+err.Error()), http.StatusSeeOther)
			return
		}
		req.For = d
	}
	for _, m := range strings.Split(r.PostFormValue("matchers"), "\n") {
		if m = strings.TrimSpace(m); m != "" {
			req.Matchers = append(req.Matchers, m)
		}
	}
	var row schemas.ActionRow
	var err error
	switch action {
	case schemas.ActionAccept:
		row, err = s.deps.Actions.Accept(r.Context(), req)
	case schemas.ActionSilence:
		row, err = s.deps.Actions.Silence(r.Context(), req)
	case schemas.ActionResolve:
		row, err = s.deps.Actions.Resolve(r.Context(), req)
	default:
		http.NotFound(w, r)
		return
	}
	if errors.Is(err, pipeline.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.deps.Log.Warn("console action failed", "action", action, "incident", id, "actor", p.Name, "err", err)
		http.Redirect(w, r, back+"?error="+url.QueryEscape(err.Error()), http.StatusSeeOther)
		return
	}
	s.deps.Log.Info("console action", "action", action, "incident", id, "actor", p.Name, "action_id", row.ID)
	http.Redirect(w, r, back+"?done="+url.QueryEscape(action), http.StatusSeeOther)
}
