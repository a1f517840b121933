package ingest

import (
	"testing"

	"github.com/agentwatch/agentwatch/internal/inventory"
)

// The quick matcher must agree with inventory.Glob on star-only patterns.
func TestStarMatchAgreesWithGlob(t *testing.T) {
	patterns := []string{"*", "a*", "*b", "a*b", "arn:aws:sts::*:assumed-role/agent-*/*", "system:serviceaccount:agents:*",
		"x/*/y", "*/*", "a**b", "**", "a*b*c", "invoice-agent@*.iam.gserviceaccount.com", ""}
	names := []string{"", "a", "ab", "axb", "a/b", "x/q/y", "x/q/r/y", "arn:aws:sts::1:assumed-role/agent-x/s", "arn:aws:sts::1:assumed-role/agent-x/s/t",
		"system:serviceaccount:agents:bot", "system:serviceaccount:agents:", "abc", "aXbYc", "a/b/c", "invoice-agent@p.iam.gserviceaccount.com"}
	for _, p := range patterns {
		c, err := compileRule(Rule{Principal: p, Agent: "x"})
		if p == "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if got, want := c.globMatch(n), inventory.Glob(p, n); got != want {
				t.Errorf("pattern %q name %q: got %v, inventory.Glob %v", p, n, got, want)
			}
		}
	}
}

func FuzzStarMatch(f *testing.F) {
	f.Add("a*b/*", "axb/c")
	f.Fuzz(func(t *testing.T, p, n string) {
		c, err := compileRule(Rule{Principal: p, Agent: "x"})
		if err != nil || p == "" {
			return
		}
		if got, want := c.globMatch(n), inventory.Glob(p, n); got != want {
			t.Fatalf("pattern %q name %q: got %v, inventory.Glob %v", p, n, got, want)
		}
	})
}
