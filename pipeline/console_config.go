package pipeline

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/agentwatch/agentwatch/alerts/notify"

	"github.com/agentwatch/agentwatch/internal/config"
)

// ConsoleConfig configures the web console (package console), which
// `agentwatch run` and `agentwatch console` serve. It lives here, in the
// whole configuration, because the console stands above the pipeline.
type ConsoleConfig struct {
	// Listen is the console's address; "" turns it off.
	Listen string `koanf:"listen"`
	// ExternalURL is the console's address as people reach it (behind a
	// proxy, say); alert messages link to its incident pages. "" = no link.
	ExternalURL string `koanf:"external_url"`
	// Tokens are bearer tokens (Authorization: Bearer ...); Users are
	// basic-auth accounts. With neither, the console answers only on a
	// loopback address, to anyone there, as a writer.
	Tokens []ConsoleCredential `koanf:"tokens"`
	Users  []ConsoleCredential `koanf:"users"`
}

// ConsoleCredential is one token or one user: a name (recorded as the
// actor of actions), a secret with its *_file variant, and a role.
type ConsoleCredential struct {
	Name         string        `koanf:"name"`
	Token        config.Secret `koanf:"token"`
	TokenFile    string        `koanf:"token_file"`
	Password     config.Secret `koanf:"password"`
	PasswordFile string        `koanf:"password_file"`
	// Role is reader (pages only) or writer (pages and actions).
	Role string `koanf:"role"`
}

// Console roles.
const (
	RoleReader = "reader"
	RoleWriter = "writer"
)

// DefaultConsoleConfig serves the console on loopback.
func DefaultConsoleConfig() ConsoleConfig { return ConsoleConfig{Listen: "127.0.0.1:8081"} }

// HasAuth reports whether any credential is configured.
func (c *ConsoleConfig) HasAuth() bool { return len(c.Tokens)+len(c.Users) > 0 }

// Validate checks the console configuration and refuses a non-loopback
// listen address without credentials.
func (c *ConsoleConfig) Validate() error {
	var errs []error
	if c.Listen != "" && !c.HasAuth() && !isLoopback(c.Listen) {
		errs = append(errs, fmt.Errorf("console.listen: %s is not a loopback address, and the console has no authentication: set console.tokens or console.users (or listen on 127.0.0.1)", c.Listen))
	}
	if c.ExternalURL != "" {
		if u, err := url.Parse(c.ExternalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("console.external_url: %q is not an http(s) URL", c.ExternalURL))
		}
	}
	names := map[string]bool{}
	check := func(kind string, i int, cr ConsoleCredential, secret string, inline config.Secret, file string) {
		key := fmt.Sprintf("console.%s[%d]", kind, i)
		switch {
		case cr.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: is required", key))
		case names[cr.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %q is used twice", key, cr.Name))
		}
		names[cr.Name] = true
		if cr.Role != RoleReader && cr.Role != RoleWriter {
			errs = append(errs, fmt.Errorf("%s.role: %q is not reader or writer", key, cr.Role))
		}
		v, err := config.ResolveSecret(key+"."+secret, inline, file)
		if err != nil {
			errs = append(errs, err)
		} else if !v.IsSet() {
			errs = append(errs, fmt.Errorf("%s.%s: is required (or %s_file)", key, secret, secret))
		}
	}
	for i, t := range c.Tokens {
		if t.Password.IsSet() || t.PasswordFile != "" {
			errs = append(errs, fmt.Errorf("console.tokens[%d].password: tokens have no password (users do)", i))
		}
		check("tokens", i, t, "token", t.Token, t.TokenFile)
	}
	for i, u := range c.Users {
		if u.Token.IsSet() || u.TokenFile != "" {
			errs = append(errs, fmt.Errorf("console.users[%d].token: users have a password, not a token", i))
		}
		check("users", i, u, "password", u.Password, u.PasswordFile)
	}
	return errors.Join(errs...)
}

// IncidentURL is the console page of incident id under the console's
// external URL; "" when base is "". Alert messages link to it.
func IncidentURL(base, id string) string { return notify.IncidentURL(base, id) }
