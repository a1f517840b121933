package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Redacted is what a Secret prints as.
const Redacted = "<secret>"

// Secret holds a webhook URL, routing key or token. Every way of printing
// it (fmt verbs, JSON, YAML, text marshalling) shows Redacted, so it cannot
// leak into logs, errors, metrics or `config print` by accident; Value is
// the only way to read it.
type Secret string

// Value returns the secret itself. Call it only where the secret is sent.
func (s Secret) Value() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// Format implements fmt.Formatter so that every verb (%s, %v, %q, %x, %d)
// prints Redacted.
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// MarshalJSON writes Redacted.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText writes Redacted (YAML and koanf use it).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the secret.
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

// ResolveSecret returns inline if set, else the trimmed contents of file;
// key names the configuration key in errors (never the value).
func ResolveSecret(key string, inline Secret, file string) (Secret, error) {
	if inline.IsSet() && file != "" {
		return "", fmt.Errorf("%s and %s_file are both set; use one", key, key)
	}
	if file == "" {
		return inline, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_file: %w", key, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s_file: %s is empty", key, file)
	}
	return Secret(v), nil
}
