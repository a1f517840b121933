package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

type searchView struct {
	Q       store.EventSearch
	From    string
	To      string
	Limit   int
	Asked   bool
	Events  []schemas.AgentEvent
	SQL     string
	Problem string
	Elapsed time.Duration
}

// timeForms are the layouts the search form accepts for its bounds (UTC).
var timeForms = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339, store.TimeLayout, "2006-01-02"}

func parseFormTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeForms {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (use 2026-03-16T10:00, UTC)", s)
}

func (s *Server) search(r *http.Request, _ principal) (string, string, any, error) {
	v := &searchView{Limit: 100}
	f := r.FormValue
	v.Q = store.EventSearch{AgentID: strings.TrimSpace(f("agent")), Instance: strings.TrimSpace(f("instance")),
		OnBehalfOf: strings.TrimSpace(f("on_behalf_of")), CredentialID: strings.TrimSpace(f("credential")),
		Action: strings.TrimSpace(f("action")), Resource: strings.TrimSpace(f("resource"))}
	v.From, v.To = f("from"), f("to")
	var problems []string
	if v.From != "" {
		t, err := parseFormTime(v.From)
		if err != nil {
			problems = append(problems, "from: "+err.Error())
		}
		v.Q.From = t
	}
	if v.To != "" {
		t, err := parseFormTime(v.To)
		if err != nil {
			problems = append(problems, "to: "+err.Error())
		}
		v.Q.To = t
	}
	if l := f("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			problems = append(problems, "limit: want 1 to 1000")
		} else {
			v.Limit = n
		}
	}
	v.Q.Limit = v.Limit
	v.Asked = len(r.URL.Query()) > 0
	q, args := store.SearchSQL(store.DialectOf(s.deps.Store), v.Q)
	v.SQL = store.Inline(q, args)
	if len(problems) > 0 {
		v.Problem = strings.Join(problems, "; ")
		return "search", "Search", v, nil
	}
	if v.Asked {
		start := time.Now()
		evs, err := s.deps.Store.SearchEvents(r.Context(), v.Q)
		if err != nil {
			return "", "", nil, err
		}
		v.Events, v.Elapsed = evs, time.Since(start)
	}
	return "search", "Search", v, nil
}
