package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAttributeExplainReadsInventoryPrincipals: attribute --explain loads
// the configured inventory, so a record of a listed principal is explained
// as infrastructure, not as an unknown identity; a bad principals entry
// stops it with the file, line and key.
func TestAttributeExplainReadsInventoryPrincipals(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "agents.yaml")
	os.WriteFile(inv, []byte(`agents: []
principals:
  - match: ec2.amazonaws.com
    kind: infrastructure
    owner: team-platform
`), 0o644)
	recs := filepath.Join(dir, "recs.json")
	os.WriteFile(recs, []byte(`{"userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},"eventTime":"2023-07-10T11:55:22Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::123837392027:role/web","roleSessionName":"i-0dbc91f429e48eeed"},"responseElements":{"credentials":{"accessKeyId":"ASIATFQR7NSC36DZQP7P"}},"eventID":"x"}`), 0o644)
	env := []string{"AGENTWATCH_DATA_DIR=" + dir, "AGENTWATCH_INVENTORY=" + inv}
	out, _, err := cli(t, context.Background(), env, "attribute", "--explain", recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`principals: "ec2.amazonaws.com" matches principals[0] (line 3) [ec2.amazonaws.com]: kind infrastructure, owner team-platform`,
		`-> infrastructure principal, not an agent: agent="ec2.amazonaws.com"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	os.WriteFile(inv, []byte("agents: []\nprincipals:\n  - match: ec2.amazonaws.com\n    kind: robot\n"), 0o644)
	if _, _, err := cli(t, context.Background(), env, "attribute", "--explain", recs); err == nil ||
		!strings.Contains(err.Error(), "agents.yaml:4: principals[0]: key kind:") {
		t.Fatalf("bad inventory: err = %v", err)
	}
}
