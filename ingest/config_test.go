package ingest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
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

// The configuration loads through koanf (as the lead's config package
// does) into exactly the expected struct.
func TestConfigLoadsFromYAML(t *testing.T) {
	k := koanf.New(".")
	if err := k.Load(file.Provider("testdata/config/ingest.yaml"), yaml.Parser()); err != nil {
		t.Fatal(err)
	}
	got := DefaultConfig()
	if err := k.Unmarshal("ingest", &got); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.MaxRecordBytes = 512 << 10
	want.OnBehalfOfTags = []string{"on_behalf_of"}
	want.Attribution = []Rule{
		{Name: "aws-agent-sessions", Formats: []string{"cloudtrail"}, Principal: "arn:aws:sts::*:assumed-role/agent-*/*", SessionName: `^(?P<agent>[a-z-]+)@(?P<instance>.+)$`},
		{Name: "k8s-agent-pods", Principal: "system:serviceaccount:agents:*", UserAgent: `^(?P<agent>[a-z-]+)/`, InstanceTag: "authentication.kubernetes.io/pod-name"},
	}
	want.HTTP.MaxBodyBytes = 8 << 20
	want.HTTP.RetryAfter = 10 * time.Second
	want.HTTP.Sources = []HTTPSource{{Name: "vector", Token: "not-a-real-token"}, {Name: "k8s-apiserver", TokenFile: "testdata/config/k8s.token"}}
	want.Files = FileConfig{Paths: []string{"/var/log/agents"}, Exclude: DefaultExclude, StateFile: "/var/lib/agentwatch/offsets.json", PollInterval: 2 * time.Second}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("loaded\n%#v\nwant\n%#v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
}
