package posture

import (
	"strings"
	"testing"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// usedBy is what the agent's own events evs used, as collect records it.
func usedBy(ag *inventory.Agent, evs ...schemas.AgentEvent) *agentUse {
	use := newAgentUse(ag.ID, false, ag)
	uc := newUseCache()
	for i := range evs {
		use.events++
		use.use(&ag.Playground, &evs[i], uc)
	}
	return use
}

func TestPolicyDiffKubernetesAndGCP(t *testing.T) {
	inv, err := inventory.Parse("agents.yaml", []byte(`agents:
  - id: a
    playground:
      systems: [k8s, gcp:storage]
      actions: ["k8s:get deployments", "k8s:patch deployments.apps", "k8s:delete pods", "storage.objects.get", "storage.objects.delete"]
`))
	if err != nil {
		t.Fatal(err)
	}
	ag := inv.Get("a")
	use := usedBy(ag, schemas.AgentEvent{System: "k8s", Action: "k8s:get deployments"},
		schemas.AgentEvent{System: "gcp:storage", Action: "storage.objects.get"})
	diff := policyDiff(ag, use, unusedOf(ag, use))
	for _, want := range []string{
		`remove verb "patch" on resource "deployments" (apiGroup "apps")`,
		`remove verb "delete" on resource "pods" (apiGroup "")`,
		"GCP IAM (the service account's custom role): remove permissions storage.objects.delete",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "AWS IAM") || strings.Contains(diff, `"get"`) {
		t.Errorf("diff names what was used or no AWS action:\n%s", diff)
	}
}

func TestFoldGlobs(t *testing.T) {
	var globs []string
	for _, k := range []string{"a", "b", "c", "d"} {
		globs = append(globs, "arn:aws:s3:::lake/reports/"+k+".csv")
	}
	globs = append(globs, "arn:aws:s3:::lake/raw/x.json")
	got := strings.Join(foldGlobs(globs, 2), " ")
	if got != "arn:aws:s3:::lake/raw/x.json arn:aws:s3:::lake/reports/**" {
		t.Errorf("folded = %s", got)
	}
	if g := globOf("arn:aws:s3:::lake/2026-11-02/part-00017.parquet"); !strings.Contains(g, "*") || strings.Contains(g, "2026") {
		t.Errorf("globOf = %s", g)
	}
}
