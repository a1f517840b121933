package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/schemas"
)

// view is what every page template gets.
type view struct {
	Title string
	Nav   string
	User  principal
	Auth  string
	CSRF  string
	Data  any
	Now   time.Time
}

type pageFunc func(r *http.Request, p principal) (tmpl, title string, data any, err error)

// page authenticates, runs f and renders its template inside the layout.
func (s *Server) page(f pageFunc) http.Handler {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p principal) {
		name, title, data, err := f(r, p)
		v := view{Title: title, Nav: name, User: p, Auth: s.auth.mode(), CSRF: s.csrfToken(p), Data: data, Now: s.deps.Now().UTC()}
		status := http.StatusOK
		if err != nil {
			status = http.StatusInternalServerError
			msg := "The console could not read the store: " + err.Error()
			if errors.Is(err, errNotFound) {
				status, msg = http.StatusNotFound, "Nothing here: no agent or incident "+r.PathValue("id")+" in the store or the inventory."
			} else {
				s.deps.Log.Error("console page failed", "path", r.URL.Path, "err", err)
			}
			name, v.Title, v.Data = "error", http.StatusText(status), msg
		}
		var buf bytes.Buffer
		if err := s.tmpl[name].ExecuteTemplate(&buf, "layout", v); err != nil {
			s.deps.Log.Error("console render failed", "page", name, "err", err)
			http.Error(w, "render failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		w.Write(buf.Bytes())
	})
}

var funcs = template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() || t.Unix() <= 0 {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"short": func(t time.Time) string {
		if t.IsZero() || t.Unix() <= 0 {
			return "—"
		}
		return t.UTC().Format("Jan 2 15:04")
	},
	"ago": func(now, t time.Time) string {
		if t.IsZero() || t.Unix() <= 0 {
			return "never"
		}
		d := now.Sub(t)
		if d < 0 {
			return "in " + notify.Age(-d)
		}
		return notify.Age(d) + " ago"
	},
	"age": func(at, issued time.Time) string {
		if issued.IsZero() || issued.Unix() <= 0 {
			return "unknown"
		}
		return notify.Age(at.Sub(issued))
	},
	"agentURL":    func(id string) string { return "/agents/" + url.PathEscape(id) },
	"incidentURL": func(id string) string { return "/incidents/" + url.PathEscape(id) },
	"searchURL": func(kv ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		return "/search?" + q.Encode()
	},
	"sevClass": func(s schemas.Severity) string { return "sev-" + string(s) },
	"upper":    strings.ToUpper,
	"status":   statusClass,
	"n":        func(v float64) string { return compact(v) },
	"sevName":  func(i int) string { return string(schemas.Severities[i]) },
	"revSev":   func() []int { return []int{4, 3, 2, 1, 0} },
	"join":     strings.Join,
	"deref": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
	"eq2": func(a, b string) bool { return a == b },
	"chain": func(ev schemas.AgentEvent) []string {
		parts := []string{ev.AgentID}
		if ev.AgentInstance != "" {
			parts = append(parts, ev.AgentInstance)
		}
		return parts
	},
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	},
}

func parseTemplates() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range []string{"fleet", "agent", "incident", "search", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: parse template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}
