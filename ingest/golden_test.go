package ingest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenRules exercise every kind of attribution condition over the
// testdata records.
var goldenRules = []Rule{
	{Name: "aws-agent-sessions", Formats: []string{FormatCloudTrail}, Principal: "arn:aws:sts::*:assumed-role/agent-*/*",
		SessionName: `^(?P<agent>[a-z-]+)@(?P<instance>.+)$`},
	{Name: "aws-session-tags", Formats: []string{FormatCloudTrail}, AgentTag: "agent", SessionName: `^(?P<instance>.+)$`},
	{Name: "aws-orchestrator", Principal: "arn:aws:sts::*:assumed-role/agent-orchestrator/*", Agent: "orchestrator"},
	{Name: "k8s-agent-pods", Formats: []string{FormatK8s}, Principal: "system:serviceaccount:agents:*",
		UserAgent: `^(?P<agent>[a-z-]+)/`, InstanceTag: k8sExtraPodName},
	{Name: "okta-clients", Formats: []string{FormatOkta}, UserAgent: `^(?P<agent>[a-z-]+-agent)/\S+ \(instance=(?P<instance>[^)]+)\)`},
	{Name: "mcp-review-bot", Formats: []string{FormatMCP}, Principal: "svc-review-bot", Agent: "review-bot", SessionName: `^sess-(?P<instance>.+)$`},
	{Name: "gcp-invoice", Formats: []string{FormatGCP}, Principal: "invoice-agent@*.iam.gserviceaccount.com", Agent: "invoice-agent"},
}

type goldenDead struct {
	Line   int    `json:"line"`
	Format string `json:"format"`
	Reason string `json:"reason"`
}

type goldenOut struct {
	Events      []schemas.AgentEvent `json:"events"`
	DeadLetters []goldenDead         `json:"dead_letters"`
}

func TestGolden(t *testing.T) {
	n := newTestNormalizer(t, goldenRules...)
	inputs, _ := filepath.Glob("testdata/*.json")
	nd, _ := filepath.Glob("testdata/*.ndjson")
	inputs = append(inputs, nd...)
	if len(inputs) == 0 {
		t.Fatal("no testdata inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			evs, dead := normalizeAll(t, n, filepath.Base(in), data)
			out := goldenOut{Events: evs, DeadLetters: []goldenDead{}}
			for _, d := range dead {
				out.DeadLetters = append(out.DeadLetters, goldenDead{Line: d.Line, Format: d.Format, Reason: d.Reason})
			}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata", "golden", name+".golden.json"), append(got, '\n'))
		})
	}
}

func TestExplainGolden(t *testing.T) {
	n := newTestNormalizer(t, goldenRules...)
	n.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	for _, in := range []string{"testdata/cloudtrail_agents.json", "testdata/mcp_gateway.ndjson"} {
		f, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		err = n.Explain(&buf, f, in)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
		compareGolden(t, filepath.Join("testdata", "golden", name+".explain.txt"), buf.Bytes())
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ingest -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output; got:\n%s", path, got)
	}
}

// Records handed to the normaliser without a receive time (the golden
// inputs use a fixed one) must still get deterministic ids.
func TestEventIDStableAcrossRedelivery(t *testing.T) {
	n := newTestNormalizer(t)
	raw := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, _ := n.Normalize(Record{Raw: raw, Time: at})
	b, _ := n.Normalize(Record{Raw: raw, Time: at.Add(time.Hour)})
	if len(a) != 1 || len(b) != 1 || a[0].EventID != b[0].EventID {
		t.Fatalf("ids differ across redelivery: %+v %+v", a, b)
	}
}
