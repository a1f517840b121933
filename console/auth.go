package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/pipeline"
)

// principal is who a request comes from and what they may do.
type principal struct {
	Name string
	Role string
}

// Writer reports whether the principal may act on incidents.
func (p principal) Writer() bool { return p.Role == pipeline.RoleWriter }

type credential struct {
	name, role string
	secret     config.Secret
}

// authenticator checks bearer tokens and basic-auth users. With neither
// configured (allowed on loopback only) everyone is the local writer.
type authenticator struct {
	tokens, users []credential
}

func newAuthenticator(cfg pipeline.ConsoleConfig) (*authenticator, error) {
	a := &authenticator{}
	for i, t := range cfg.Tokens {
		v, err := config.ResolveSecret(fmt.Sprintf("console.tokens[%d].token", i), t.Token, t.TokenFile)
		if err != nil {
			return nil, err
		}
		a.tokens = append(a.tokens, credential{t.Name, t.Role, v})
	}
	for i, u := range cfg.Users {
		v, err := config.ResolveSecret(fmt.Sprintf("console.users[%d].password", i), u.Password, u.PasswordFile)
		if err != nil {
			return nil, err
		}
		a.users = append(a.users, credential{u.Name, u.Role, v})
	}
	return a, nil
}

func (a *authenticator) open() bool { return len(a.tokens)+len(a.users) == 0 }

func (a *authenticator) mode() string {
	switch {
	case a.open():
		return "none (loopback only)"
	case len(a.users) == 0:
		return "bearer tokens"
	case len(a.tokens) == 0:
		return "basic"
	}
	return "bearer tokens and basic"
}

// equal compares in constant time (for equal lengths; the length of a
// secret is not what it protects).
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// identify returns the request's principal, or false.
func (a *authenticator) identify(r *http.Request) (principal, bool) {
	if a.open() {
		return principal{Name: "local", Role: pipeline.RoleWriter}, true
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		tok := strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
		for _, c := range a.tokens {
			if equal(tok, c.secret.Value()) {
				return principal{c.name, c.role}, true
			}
		}
		return principal{}, false
	}
	if name, pw, ok := r.BasicAuth(); ok {
		for _, c := range a.users {
			if equal(name, c.name) && equal(pw, c.secret.Value()) {
				return principal{c.name, c.role}, true
			}
		}
	}
	return principal{}, false
}

func (s *Server) challenge(w http.ResponseWriter) {
	if len(s.auth.users) > 0 {
		w.Header().Set("WWW-Authenticate", `Basic realm="agentwatch console", charset="UTF-8"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="agentwatch console"`)
	}
	http.Error(w, "authentication required", http.StatusUnauthorized)
}

type ctxKey struct{}

// authed runs h for authenticated requests only.
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, p principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.auth.identify(r)
		if !ok {
			s.challenge(w)
			return
		}
		h(w, r, p)
	})
}

func randomKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(fmt.Sprintf("console: no randomness for the CSRF key: %v", err))
	}
	return k
}

// csrfToken binds a form to the principal it was rendered for; another
// site cannot read it, so it cannot forge an action with the browser's
// credentials (basic auth, or none on loopback).
func (s *Server) csrfToken(p principal) string {
	m := hmac.New(sha256.New, s.csrfK)
	m.Write([]byte(p.Name + "\x00" + p.Role))
	return hex.EncodeToString(m.Sum(nil))
}

// checkCSRF verifies the form token and, when the browser sends them, that
// the request comes from this origin.
func (s *Server) checkCSRF(r *http.Request, p principal) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("cross-site request (Sec-Fetch-Site: %s)", site)
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("origin %q is not this console", o)
		}
	}
	if !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.csrfToken(p))) {
		return fmt.Errorf("missing or stale form token: reload the page and try again")
	}
	return nil
}
