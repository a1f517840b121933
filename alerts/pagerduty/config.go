// Package pagerduty sends alerts to PagerDuty through the Events API v2:
// a trigger per dedup key while the alert fires and a resolve when it
// resolves, with the identity block and evidence in custom_details.
package pagerduty

import (
	"fmt"
	"net/url"
	"time"

	"github.com/agentwatch/agentwatch/internal/config"
)

// DefaultURL is the Events API v2 enqueue endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// Config is one PagerDuty receiver.
type Config struct {
	// RoutingKey is the integration key of the service's Events API v2
	// integration (or RoutingKeyFile, a file holding it).
	RoutingKey     config.Secret `koanf:"routing_key" json:"routing_key,omitempty" yaml:"routing_key,omitempty"`
	RoutingKeyFile string        `koanf:"routing_key_file" json:"routing_key_file,omitempty" yaml:"routing_key_file,omitempty"`
	// Service is the inventory's pagerduty_service this key pages; owner
	// routing sends an agent's alerts here when its entry names it.
	Service string `koanf:"service" json:"service,omitempty" yaml:"service,omitempty"`
	// URL defaults to DefaultURL; tests and EU accounts change it.
	URL string `koanf:"url" json:"url,omitempty" yaml:"url,omitempty"`
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `koanf:"timeout" json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// Validate checks c; key is its configuration path for error messages
// (e.g. "alerts.receivers[1].pagerduty").
func (c *Config) Validate(key string) error {
	if !c.RoutingKey.IsSet() && c.RoutingKeyFile == "" {
		return fmt.Errorf("%s.routing_key: is required (or routing_key_file)", key)
	}
	if c.RoutingKey.IsSet() && c.RoutingKeyFile != "" {
		return fmt.Errorf("%s.routing_key and %s.routing_key_file are both set; use one", key, key)
	}
	if c.URL != "" {
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.url: %q is not an http(s) URL", key, c.URL)
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%s.timeout: must not be negative", key)
	}
	return nil
}
