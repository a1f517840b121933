package posture

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/agentwatch/agentwatch/schemas"
)

func TestReportFormats(t *testing.T) {
	r, inv := realReport(t)
	opt := WriteOptions{InventoryPath: "examples/agents.yaml", Inventory: inv}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := r.Write(&buf, format, opt); err != nil {
				t.Fatal(err)
			}
			if os.Getenv("POSTURE_SHOW") != "" {
				t.Log("\n" + buf.String())
			}
			switch format {
			case "table":
				if !strings.Contains(buf.String(), "SEVERITY  TYPE") || !strings.Contains(buf.String(), "Fix: ") {
					t.Errorf("table:\n%s", buf.String())
				}
			case "json":
				var back Report
				if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Findings) != len(r.Findings) {
					t.Errorf("json round trip: %v, %d findings", err, len(back.Findings))
				}
			case "csv":
				rows, err := csv.NewReader(&buf).ReadAll()
				if err != nil || len(rows) != len(r.Findings)+1 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
					t.Errorf("csv: %v, %d rows", err, len(rows))
				}
			case "sarif":
				var log struct {
					Version string `json:"version"`
					Runs    []struct {
						Tool struct {
							Driver struct {
								Rules []struct{ ID string } `json:"rules"`
							} `json:"driver"`
						} `json:"tool"`
						Results []struct {
							RuleID    string `json:"ruleId"`
							RuleIndex int    `json:"ruleIndex"`
							Level     string `json:"level"`
							Locations []struct {
								PhysicalLocation struct {
									ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
									Region           struct{ StartLine int } `json:"region"`
								} `json:"physicalLocation"`
							} `json:"locations"`
							Fingerprints map[string]string `json:"partialFingerprints"`
						} `json:"results"`
					} `json:"runs"`
				}
				if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
					t.Fatal(err)
				}
				if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != len(r.Findings) {
					t.Fatalf("sarif: version %s, %d runs", log.Version, len(log.Runs))
				}
				rules := log.Runs[0].Tool.Driver.Rules
				located := false
				for i, res := range log.Runs[0].Results {
					if rules[res.RuleIndex].ID != res.RuleID || res.RuleID != r.Findings[i].Type {
						t.Errorf("result %d: rule %s index %d", i, res.RuleID, res.RuleIndex)
					}
					if res.Fingerprints["agentwatchFindingId/v1"] != r.Findings[i].ID {
						t.Errorf("result %d: fingerprint %v", i, res.Fingerprints)
					}
					want := map[schemas.Severity]string{schemas.SeverityCritical: "error", schemas.SeverityHigh: "error", schemas.SeverityMedium: "warning"}[r.Findings[i].Severity]
					if want == "" {
						want = "note"
					}
					if res.Level != want {
						t.Errorf("result %d: level %s for %s", i, res.Level, r.Findings[i].Severity)
					}
					if r.Findings[i].AgentID == "stratus-operator" && res.Locations[0].PhysicalLocation.Region.StartLine == 3 {
						located = true
					}
				}
				if !located {
					t.Error("no result points at stratus-operator's line in agents.yaml")
				}
			}
		})
	}
}

func TestFilterAndFailOn(t *testing.T) {
	r, _ := realReport(t)
	total := len(r.Findings)
	if r.AtLeast(schemas.SeverityInfo) != total || r.AtLeast(schemas.SeverityCritical) != 0 || r.AtLeast(schemas.SeverityHigh) == 0 {
		t.Errorf("AtLeast: info %d of %d, critical %d, high %d", r.AtLeast(schemas.SeverityInfo), total, r.AtLeast(schemas.SeverityCritical), r.AtLeast(schemas.SeverityHigh))
	}
	r.Filter("", "team-redteam")
	if len(r.Findings) == 0 || len(r.Findings) == total {
		t.Fatalf("owner filter kept %d of %d", len(r.Findings), total)
	}
	for _, f := range r.Findings {
		if f.Owner != "team-redteam" {
			t.Errorf("owner filter kept %+v", f)
		}
	}
	r.Filter("nobody", "")
	if len(r.Findings) != 0 {
		t.Errorf("agent filter kept %d", len(r.Findings))
	}
}

// TestReadmeExplainsEveryFinding: the README's posture table names every
// finding type, and every type has a description for SARIF.
func TestReadmeExplainsEveryFinding(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range Types {
		if !strings.Contains(string(readme), "| `"+typ+"` |") {
			t.Errorf("README has no row for %s", typ)
		}
		if d := TypeDescriptions[typ]; d.Means == "" || d.Fix == "" || d.Severity.Rank() < 0 {
			t.Errorf("no description for %s", typ)
		}
	}
}
