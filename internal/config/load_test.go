package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testSink struct {
	URL     Secret `koanf:"url"`
	URLFile string `koanf:"url_file"`
	Name    string `koanf:"name"`
}

type testCfg struct {
	DataDir string        `koanf:"data_dir"`
	Workers int           `koanf:"workers"`
	Wait    time.Duration `koanf:"wait"`
	Bus     struct {
		Brokers []string `koanf:"brokers"`
	} `koanf:"bus"`
	Sinks  []testSink        `koanf:"sinks"`
	Labels map[string]string `koanf:"labels"`
}

func defaults() testCfg {
	c := testCfg{DataDir: "data", Workers: 1, Wait: time.Second}
	c.Bus.Brokers = []string{"127.0.0.1:9092"}
	return c
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cfg.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLayersOverrideInOrder(t *testing.T) {
	p := writeFile(t, "workers: 3\nwait: 5s\ndata_dir: /file\nsinks:\n  - name: a\n    url: https://hooks.example/secret-token\n")
	c := defaults()
	err := Load(&c, Sources{
		File: p,
		Environ: func() []string {
			return []string{"AGENTWATCH_WORKERS=4", "AGENTWATCH_BUS__BROKERS=k1:9092,k2:9092", "OTHER=1"}
		},
		Overrides: []string{"data_dir=/flag"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 4 {
		t.Errorf("workers = %d, want 4 (env beats file)", c.Workers)
	}
	if c.Wait != 5*time.Second {
		t.Errorf("wait = %v, want 5s (file beats default)", c.Wait)
	}
	if c.DataDir != "/flag" {
		t.Errorf("data_dir = %q, want /flag (flag beats file)", c.DataDir)
	}
	if strings.Join(c.Bus.Brokers, ",") != "k1:9092,k2:9092" {
		t.Errorf("brokers = %v", c.Bus.Brokers)
	}
	if len(c.Sinks) != 1 || c.Sinks[0].URL.Value() != "https://hooks.example/secret-token" {
		t.Errorf("sinks = %+v", c.Sinks)
	}
}

func TestUnknownKeysAreNamed(t *testing.T) {
	cases := []struct {
		name string
		src  Sources
		want string
	}{
		{"file top level", Sources{File: writeFile(t, "workers: 2\nworkerz: 3\n")}, "cfg.yaml:2: unknown key workerz"},
		{"file nested in list", Sources{File: writeFile(t, "sinks:\n  - name: a\n    ulr: x\n")}, "cfg.yaml:3: unknown key sinks[0].ulr"},
		{"env", Sources{Environ: func() []string { return []string{"AGENTWATCH_BUS__BROKER=x"} }}, "AGENTWATCH_BUS__BROKER: unknown key bus.broker"},
		{"env nested typo", Sources{Environ: func() []string { return []string{"AGENTWATCH_BUZ__BROKERS=x"} }}, "AGENTWATCH_BUZ: unknown key buz"},
		{"flag", Sources{Overrides: []string{"nope=1"}}, "flag: unknown key nope"},
		{"bad value", Sources{Overrides: []string{"workers=many"}}, "workers"},
		{"bad duration", Sources{File: writeFile(t, "wait: soon\n")}, "wait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.src.Environ == nil {
				tc.src.Environ = func() []string { return nil }
			}
			c := defaults()
			err := Load(&c, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPrintRedactsSecrets(t *testing.T) {
	c := defaults()
	c.Sinks = []testSink{{Name: "pd", URL: "routing-key-abc123"}}
	out, err := Print(c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "routing-key-abc123") {
		t.Fatalf("secret leaked:\n%s", s)
	}
	for _, want := range []string{"url: <secret>", "data_dir: data", "wait: 1s", "- 127.0.0.1:9092"} {
		if !strings.Contains(s, want) {
			t.Errorf("printed config lacks %q:\n%s", want, s)
		}
	}
	// The printed form loads back.
	p := writeFile(t, s)
	c2 := defaults()
	if err := Load(&c2, Sources{File: p, Environ: func() []string { return nil }}); err != nil {
		t.Fatalf("printed config does not load: %v", err)
	}
}

func TestScriptVariablesAreNotConfiguration(t *testing.T) {
	c := defaults()
	err := Load(&c, Sources{Environ: func() []string {
		return []string{"AGENTWATCH_STATE_DIR=/tmp/x", "AGENTWATCH_TEST_KAFKA=127.0.0.1:9092", "AGENTWATCH_DATA_DIR=/d"}
	}})
	if err != nil || c.DataDir != "/d" {
		t.Fatalf("err = %v, data_dir = %q", err, c.DataDir)
	}
}

func TestSecretNeverFormats(t *testing.T) {
	s := Secret("xoxb-123")
	for _, got := range []string{s.String(), fmtAll(s)} {
		if strings.Contains(got, "xoxb") {
			t.Fatalf("secret leaked: %q", got)
		}
	}
	if v, err := ResolveSecret("token", "", writeFile(t, "  file-token\n")); err != nil || v.Value() != "file-token" {
		t.Fatalf("ResolveSecret = %q, %v", v.Value(), err)
	}
	if _, err := ResolveSecret("token", "a-secret-value", "/x"); err == nil || strings.Contains(err.Error(), "a-secret-value") {
		t.Fatalf("want both-set error without value, got %v", err)
	}
}
