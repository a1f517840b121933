// Package slack posts alerts to Slack as Block Kit messages, either
// through an incoming webhook (one message per notification) or through
// the Web API with a bot token, where one alert is one message: later
// deliveries update it in place (chat.update) and add a short thread reply
// saying what changed.
package slack

import (
	"fmt"
	"net/url"
	"time"

	"github.com/agentwatch/agentwatch/internal/config"
)

// DefaultAPIURL is the Slack Web API base.
const DefaultAPIURL = "https://slack.com/api"

// Config is one Slack receiver: set webhook_url (or webhook_url_file) for
// an incoming webhook, or token (or token_file) and channel for the Web
// API.
type Config struct {
	WebhookURL     config.Secret `koanf:"webhook_url" json:"webhook_url,omitempty" yaml:"webhook_url,omitempty"`
	WebhookURLFile string        `koanf:"webhook_url_file" json:"webhook_url_file,omitempty" yaml:"webhook_url_file,omitempty"`
	// Token is a bot token (xoxb-...) with chat:write.
	Token     config.Secret `koanf:"token" json:"token,omitempty" yaml:"token,omitempty"`
	TokenFile string        `koanf:"token_file" json:"token_file,omitempty" yaml:"token_file,omitempty"`
	// Channel (id or #name) receives the alerts of agents whose inventory
	// entry names no Slack channel; Web API only.
	Channel string `koanf:"channel" json:"channel,omitempty" yaml:"channel,omitempty"`
	// APIURL defaults to DefaultAPIURL.
	APIURL string `koanf:"api_url" json:"api_url,omitempty" yaml:"api_url,omitempty"`
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `koanf:"timeout" json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// WebAPI reports whether the receiver uses the Web API (a bot token).
func (c *Config) WebAPI() bool { return c.Token.IsSet() || c.TokenFile != "" }

// Validate checks c; key is its configuration path for error messages
// (e.g. "alerts.receivers[2].slack").
func (c *Config) Validate(key string) error {
	hook := c.WebhookURL.IsSet() || c.WebhookURLFile != ""
	switch {
	case hook && c.WebAPI():
		return fmt.Errorf("%s: set webhook_url or token, not both", key)
	case !hook && !c.WebAPI():
		return fmt.Errorf("%s.webhook_url: is required (or token and channel for the Web API)", key)
	case c.WebhookURL.IsSet() && c.WebhookURLFile != "":
		return fmt.Errorf("%s.webhook_url and %s.webhook_url_file are both set; use one", key, key)
	case c.Token.IsSet() && c.TokenFile != "":
		return fmt.Errorf("%s.token and %s.token_file are both set; use one", key, key)
	case c.WebAPI() && c.Channel == "":
		return fmt.Errorf("%s.channel: is required with token", key)
	case hook && c.Channel != "":
		return fmt.Errorf("%s.channel: an incoming webhook posts to its own channel; remove channel or use token", key)
	case c.Timeout < 0:
		return fmt.Errorf("%s.timeout: must not be negative", key)
	}
	if c.WebhookURL.IsSet() {
		// The value is never quoted: it is a secret.
		if u, err := url.Parse(c.WebhookURL.Value()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.webhook_url: is not an http(s) URL", key)
		}
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.api_url: %q is not an http(s) URL", key, c.APIURL)
		}
	}
	return nil
}
