package ingest

import (
	"errors"
	"fmt"
	"time"

	"github.com/agentwatch/agentwatch/internal/config"
)

// Config configures normalisation, attribution and the HTTP and file
// collectors.
type Config struct {
	// Attribution rules, tried in order; the first that matches names the
	// agent and instance.
	Attribution []Rule     `koanf:"attribution"`
	HTTP        HTTPConfig `koanf:"http"`
	Files       FileConfig `koanf:"files"`
	// MaxRecordBytes bounds one record (after gzip decoding); larger
	// records are dead-lettered. Default 1 MiB.
	MaxRecordBytes int `koanf:"max_record_bytes"`
	// OnBehalfOfTags are the session-tag or label keys whose value names
	// the human or service an agent acts for, when the source has no
	// dedicated field (CloudTrail session tags, Kubernetes user extras).
	OnBehalfOfTags []string `koanf:"on_behalf_of_tags"`
}

// HTTPConfig configures the HTTP collector.
type HTTPConfig struct {
	// Sources are the senders allowed to POST; each has its own token so a
	// leaked token can be revoked without touching the others.
	Sources []HTTPSource `koanf:"sources"`
	// MaxBodyBytes bounds one request body, compressed or not (default 16 MiB).
	MaxBodyBytes int64 `koanf:"max_body_bytes"`
	// RetryAfter is the Retry-After sent with 429 when the bus is backed up
	// (default 5s).
	RetryAfter time.Duration `koanf:"retry_after"`
	// AllowUnauthenticated accepts requests without a token (source
	// "http:anonymous"). Only for a loopback-only embedded setup.
	AllowUnauthenticated bool `koanf:"allow_unauthenticated"`
}

// HTTPSource is one authenticated sender.
type HTTPSource struct {
	Name      string        `koanf:"name"`
	Token     config.Secret `koanf:"token"`
	TokenFile string        `koanf:"token_file"`
}

// FileConfig configures the file tailer.
type FileConfig struct {
	// Paths are files, directories (read recursively) or globs with "**"
	// ("/logs/AWSLogs/*/CloudTrail/**/*.json.gz") to follow, plain or .gz.
	Paths []string `koanf:"paths"`
	// Include, when set, keeps only the files found by walking a directory
	// or glob path whose path below it matches one of these globs ("**"
	// crosses folders; a pattern without "/" matches the file name).
	Include []string `koanf:"include"`
	// Exclude skips the files found by walking that match one of these
	// globs (same syntax). Default: CloudTrail's digest files.
	Exclude []string `koanf:"exclude"`
	// Format forces a format for every record ("" = detect per record).
	Format string `koanf:"format"`
	// StateFile remembers how far each file was read, across restarts.
	StateFile string `koanf:"state_file"`
	// PollInterval is how often files are checked for growth and rotation
	// (default 1s).
	PollInterval time.Duration `koanf:"poll_interval"`
}

// DefaultConfig returns the defaults: no attribution rules (every record
// is unattributed until rules are written), no HTTP sources.
func DefaultConfig() Config {
	return Config{
		MaxRecordBytes: 1 << 20,
		OnBehalfOfTags: []string{"on_behalf_of", "OnBehalfOf", "agentwatch.io/on-behalf-of"},
		HTTP: HTTPConfig{
			MaxBodyBytes: 16 << 20,
			RetryAfter:   5 * time.Second,
		},
		Files: FileConfig{
			Exclude:      append([]string(nil), DefaultExclude...),
			StateFile:    "ingest-offsets.json",
			PollInterval: time.Second,
		},
	}
}

// Validate checks the configuration; errors name the key.
func (c Config) Validate() error {
	var errs []error
	if c.MaxRecordBytes <= 0 {
		errs = append(errs, fmt.Errorf("ingest.max_record_bytes: must be positive, got %d", c.MaxRecordBytes))
	}
	for i, r := range c.Attribution {
		if _, err := compileRule(r); err != nil {
			errs = append(errs, fmt.Errorf("ingest.attribution[%d]: %w", i, err))
		}
	}
	if err := c.HTTP.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Files.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate checks the HTTP collector configuration.
func (c HTTPConfig) Validate() error {
	var errs []error
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("ingest.http.max_body_bytes: must be positive, got %d", c.MaxBodyBytes))
	}
	if c.RetryAfter < time.Second {
		errs = append(errs, fmt.Errorf("ingest.http.retry_after: must be at least 1s, got %s", c.RetryAfter))
	}
	seen := map[string]bool{}
	for i, s := range c.Sources {
		key := fmt.Sprintf("ingest.http.sources[%d]", i)
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: is required", key))
		} else if seen[s.Name] {
			errs = append(errs, fmt.Errorf("%s.name: %q is used twice", key, s.Name))
		}
		seen[s.Name] = true
		tok, err := config.ResolveSecret(key+".token", s.Token, s.TokenFile)
		if err != nil {
			errs = append(errs, err)
		} else if !tok.IsSet() {
			errs = append(errs, fmt.Errorf("%s.token: is required (or token_file)", key))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the file collector configuration.
func (c FileConfig) Validate() error {
	var errs []error
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("ingest.files.poll_interval: must be positive, got %s", c.PollInterval))
	}
	if len(c.Paths) > 0 && c.StateFile == "" {
		errs = append(errs, fmt.Errorf("ingest.files.state_file: is required when ingest.files.paths is set"))
	}
	if c.Format != "" && !knownFormat(c.Format) {
		errs = append(errs, fmt.Errorf("ingest.files.format: %q is not a known format (%s)", c.Format, formatList()))
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"paths", c.Paths}, {"include", c.Include}, {"exclude", c.Exclude}} {
		key := l.key
		for i, p := range l.list {
			if p == "" {
				errs = append(errs, fmt.Errorf("ingest.files.%s[%d]: is empty", key, i))
			} else if err := checkFileGlob(p); err != nil {
				errs = append(errs, fmt.Errorf("ingest.files.%s[%d]: %w", key, i, err))
			}
		}
	}
	return errors.Join(errs...)
}
