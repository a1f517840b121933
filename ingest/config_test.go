package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidateNamesKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"record size", func(c *Config) { c.MaxRecordBytes = 0 }, "ingest.max_record_bytes"},
		{"rule without condition", func(c *Config) { c.Attribution = []Rule{{Name: "r", Agent: "a"}} }, "ingest.attribution[0]"},
		{"rule without agent", func(c *Config) { c.Attribution = []Rule{{Name: "r", Principal: "x*"}} }, "names no agent"},
		{"bad regexp", func(c *Config) { c.Attribution = []Rule{{Name: "r", SessionName: "(?P<agent>"}} }, "session_name"},
		{"bad glob", func(c *Config) { c.Attribution = []Rule{{Name: "r", Principal: "[x", Agent: "a"}} }, "principal"},
		{"bad format", func(c *Config) {
			c.Attribution = []Rule{{Name: "r", Principal: "x", Agent: "a", Formats: []string{"syslog"}}}
		}, "formats"},
		{"no token", func(c *Config) { c.HTTP.Sources = []HTTPSource{{Name: "v"}} }, "ingest.http.sources[0].token"},
		{"dup source", func(c *Config) {
			c.HTTP.Sources = []HTTPSource{{Name: "v", Token: "a"}, {Name: "v", Token: "b"}}
		}, "ingest.http.sources[1].name"},
		{"token file missing", func(c *Config) { c.HTTP.Sources = []HTTPSource{{Name: "v", TokenFile: "/nonexistent/tok"}} }, "ingest.http.sources[0].token_file"},
		{"retry after", func(c *Config) { c.HTTP.RetryAfter = 0 }, "ingest.http.retry_after"},
		{"poll", func(c *Config) { c.Files.PollInterval = -time.Second }, "ingest.files.poll_interval"},
		{"file format", func(c *Config) { c.Files.Format = "csv" }, "ingest.files.format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %q", err, tc.want)
			}
		})
	}
}

func TestConfigNeverPrintsTokens(t *testing.T) {
	c := DefaultConfig()
	c.HTTP.Sources = []HTTPSource{{Name: "v", Token: "hunter2-token"}, {Name: "v", Token: "other-secret"}}
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", c, c, c), fmt.Sprint(c.Validate())} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "other-secret") {
			t.Fatalf("token leaked: %s", s)
		}
	}
}
