package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInventoryImportIAMAndCheck(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "reporter-policy.json")
	if err := os.WriteFile(policy, []byte(`{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Describe", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
    {"Sid": "Docs", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-lake/docs/*"},
    {"Sid": "NoIam", "Effect": "Deny", "Action": "iam:*", "Resource": "*"}
  ]
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out, errOut, err := cli(t, ctx, nil, "inventory", "import-iam", policy, "--agent", "reporter")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 of 3 statements imported", "NoIam: not imported: a Deny statement", "- id: reporter",
		`actions: ["s3:GetObject"]`, `resources: ["arn:aws:s3:::acme-lake/docs/*"]`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "2 of 3 statements imported; 1 things not expressed") {
		t.Errorf("stderr = %q", errOut)
	}
	// What it prints is a valid agents.yaml entry.
	inv := filepath.Join(dir, "agents.yaml")
	var b strings.Builder
	b.WriteString("agents:\n")
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	if err := os.WriteFile(inv, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = cli(t, ctx, nil, "inventory", "check", inv)
	if err != nil || !strings.Contains(out, "1 agents, 2 playground statements") {
		t.Fatalf("check: %q %v", out, err)
	}
	// A pattern that can never match is named with its file, line and key.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("agents:\n  - id: a\n    playground:\n      resources:\n        - arn:aws:s3:::/docs/*\n"), 0o600)
	if _, _, err := cli(t, ctx, nil, "inventory", "check", bad); err == nil || !strings.Contains(err.Error(), "bad.yaml:5: agent \"a\": key playground.resources[0]") {
		t.Fatalf("check bad: %v", err)
	}
	if _, _, err := cli(t, ctx, nil, "inventory", "import-iam", filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("a missing file must fail")
	}
}
