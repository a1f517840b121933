// Package console is agentwatch's web console: the fleet, each agent's
// identity, playground and baseline as pictures, incidents with their
// evidence and notification history, a search over events, and the
// actions people take on incidents (accept, silence, resolve), which it
// hands to the pipeline. Pages are server-rendered HTML with embedded CSS
// and inline SVG charts, so the binary needs no front-end build and the
// pages work without JavaScript.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/pipeline"
	"github.com/agentwatch/agentwatch/schemas"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Actions is what the console needs of pipeline.Actions.
type Actions interface {
	Accept(ctx context.Context, r pipeline.ActionRequest) (schemas.ActionRow, error)
	Silence(ctx context.Context, r pipeline.ActionRequest) (schemas.ActionRow, error)
	Resolve(ctx context.Context, r pipeline.ActionRequest) (schemas.ActionRow, error)
}

// Deps are what the console reads and acts through.
type Deps struct {
	Store     store.Store
	Inventory *inventory.Inventory
	// Actions, when nil, makes the console read-only.
	Actions Actions
	// OutboxPath is the alert outbox, read for notification history when
	// the file exists ("" = none).
	OutboxPath string
	// Window is the baseline window (charts draw one point per window).
	Window time.Duration
	Log    *slog.Logger
	// Now is the clock (tests inject one).
	Now func() time.Time
}

// Server serves the console.
type Server struct {
	cfg   pipeline.ConsoleConfig
	deps  Deps
	auth  *authenticator
	tmpl  map[string]*template.Template
	mux   *http.ServeMux
	csrfK []byte
	obr   outboxReader
}

// New builds the console. It refuses a non-loopback listen address
// without credentials, whatever the caller validated.
func New(cfg pipeline.ConsoleConfig, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil {
		return nil, errors.New("console: a store is required")
	}
	if deps.Inventory == nil {
		deps.Inventory = inventory.Empty()
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Window <= 0 {
		deps.Window = time.Hour
	}
	auth, err := newAuthenticator(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, auth: auth, csrfK: randomKey()}
	if s.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	m.Handle("GET /{$}", s.page(s.fleet))
	m.Handle("GET /agents/{id}", s.page(s.agent))
	m.Handle("GET /incidents/{id}", s.page(s.incident))
	m.Handle("GET /search", s.page(s.search))
	m.Handle("POST /incidents/{id}/{action}", s.authed(s.act))
	s.mux = m
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// Serve listens on cfg.Listen until ctx ends; ready, if set, receives the
// bound address once listening.
func (s *Server) Serve(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("console: listen %s: %w", s.cfg.Listen, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s.deps.Log.Info("console listening", "url", "http://"+ln.Addr().String()+"/", "auth", s.auth.mode())
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-done:
		return fmt.Errorf("console: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("console: shutdown: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}
