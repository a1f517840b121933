// Package webhook POSTs alerts as JSON to any HTTP endpoint, signed with
// HMAC-SHA256 over a timestamp and the body, so the receiver can check
// that a request came from us and reject replays.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/alerts/ocsf"
	"github.com/agentwatch/agentwatch/internal/config"
)

// Headers carrying the signature.
const (
	HeaderTimestamp = "X-Agentwatch-Timestamp" // unix seconds
	HeaderSignature = "X-Agentwatch-Signature" // "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body))
	HeaderDelivery  = "X-Agentwatch-Delivery"  // stable per notification version: lets the receiver drop duplicates
)

// Body formats.
const (
	FormatAlert = "alert" // schemas.Alert JSON
	FormatOCSF  = "ocsf"  // OCSF Detection Finding
)

// Config is one webhook receiver.
type Config struct {
	// URL may embed credentials or tokens, so it is a secret.
	URL     config.Secret `koanf:"url" json:"url,omitempty" yaml:"url,omitempty"`
	URLFile string        `koanf:"url_file" json:"url_file,omitempty" yaml:"url_file,omitempty"`
	// Secret keys the HMAC signature (required: unsigned alerts could be
	// forged by anyone who finds the URL).
	Secret     config.Secret `koanf:"secret" json:"secret,omitempty" yaml:"secret,omitempty"`
	SecretFile string        `koanf:"secret_file" json:"secret_file,omitempty" yaml:"secret_file,omitempty"`
	// Format is "alert" or "ocsf"; empty follows alerts.ocsf.
	Format  string        `koanf:"format" json:"format,omitempty" yaml:"format,omitempty"`
	Timeout time.Duration `koanf:"timeout" json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// Validate checks c; key is its configuration path.
func (c *Config) Validate(key string) error {
	switch {
	case !c.URL.IsSet() && c.URLFile == "":
		return fmt.Errorf("%s.url: is required (or url_file)", key)
	case c.URL.IsSet() && c.URLFile != "":
		return fmt.Errorf("%s.url and %s.url_file are both set; use one", key, key)
	case !c.Secret.IsSet() && c.SecretFile == "":
		return fmt.Errorf("%s.secret: is required (or secret_file) to sign requests", key)
	case c.Secret.IsSet() && c.SecretFile != "":
		return fmt.Errorf("%s.secret and %s.secret_file are both set; use one", key, key)
	case c.Format != "" && c.Format != FormatAlert && c.Format != FormatOCSF:
		return fmt.Errorf("%s.format: %q is not alert or ocsf", key, c.Format)
	case c.Timeout < 0:
		return fmt.Errorf("%s.timeout: must not be negative", key)
	}
	if c.URL.IsSet() {
		if u, err := url.Parse(c.URL.Value()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.url: is not an http(s) URL", key)
		}
	}
	return nil
}

// Notifier posts signed alert JSON.
type Notifier struct {
	name   string
	url    config.Secret
	secret config.Secret
	format string
	client *http.Client
}

var _ notify.Notifier = (*Notifier)(nil)

// New builds a notifier; defaultFormat applies when c.Format is empty.
func New(key, name string, c Config, defaultFormat string, client *http.Client) (*Notifier, error) {
	n := &Notifier{name: name, format: c.Format, client: client}
	var err error
	if n.url, err = config.ResolveSecret(key+".url", c.URL, c.URLFile); err != nil {
		return nil, err
	}
	if err := notify.CheckURL(key+".url", n.url.Value()); err != nil {
		return nil, err
	}
	if n.secret, err = config.ResolveSecret(key+".secret", c.Secret, c.SecretFile); err != nil {
		return nil, err
	}
	if n.format == "" {
		n.format = defaultFormat
	}
	if n.client == nil {
		n.client = http.DefaultClient
	}
	return n, nil
}

// Sign returns the signature header value for body sent at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Errors returned by Verify.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook timestamp is outside the tolerance (replay?)")
)

// Verify is what a receiver runs: it checks the signature over the
// timestamp and body, and that the timestamp is within tolerance of now,
// which rejects a captured request replayed later. Remember delivery ids
// seen within the tolerance to drop exact duplicates as well.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook timestamp %q: %w", timestamp, err)
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(want), []byte(strings.TrimSpace(signature))) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}

// Notify posts the alert.
func (n *Notifier) Notify(ctx context.Context, d notify.Delivery) (notify.State, bool, error) {
	var body []byte
	var err error
	if n.format == FormatOCSF {
		// An update of an incident the SIEM has seen: same finding uid,
		// new counts.
		body, err = ocsf.MarshalFor(d.Alert, d.Prev.Sent)
	} else {
		body, err = json.Marshal(d.Alert)
	}
	if err != nil {
		return notify.State{}, false, fmt.Errorf("%s: %w", n.name, err)
	}
	delivery := strconv.FormatInt(d.ID, 10) + "-" + strconv.Itoa(d.Alert.Count) + "-" + d.Alert.Status
	if retry, err := n.Post(ctx, body, delivery, d.Now); err != nil {
		return notify.State{}, retry, err
	}
	return notify.StateOf(d.Alert), false, nil
}

// Post sends body signed as of now, with delivery as its HeaderDelivery
// (stable per version of what is sent, so the receiver can drop a
// redelivery). retry says whether a failure is worth trying again. The
// posture digest's OCSF findings go through it too.
func (n *Notifier) Post(ctx context.Context, body []byte, delivery string, now time.Time) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url.Value(), bytes.NewReader(body))
	if err != nil {
		// The error would quote the URL, which may hold a secret.
		return false, fmt.Errorf("%s: build request: invalid url", n.name)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign([]byte(n.secret.Value()), ts, body))
	req.Header.Set(HeaderDelivery, delivery)
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.TransportError(n.name, err)
	}
	defer resp.Body.Close()
	return notify.CheckResponse(n.name, resp)
}

// Secrets lists the values to scrub from error text.
func (n *Notifier) Secrets() []string {
	return append(notify.URLSecrets(n.url.Value()), n.secret.Value())
}
