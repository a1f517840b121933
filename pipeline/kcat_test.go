package pipeline

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/inventory"
)

// otrfFile is real CloudTrail (exported through Logstash, one event per
// line): a stolen EC2 instance-role credential used from a laptop to read
// S3, among benign console activity. See shared/data/real/MANIFEST.md.
var otrfFile = filepath.Join("..", "..", "shared", "data", "real", "aws-cloudtrail-elk-jsonl",
	"otrf_ec2-proxy-s3-exfiltration", "ec2_proxy_s3_exfiltration_2020-09-14011940.json")

// TestKcatShipsToEmbeddedBroker ships real audit records with kcat (the
// librdkafka command-line producer people use) to the embedded broker's
// ingest topic and sees canonical events and alerts come out.
func TestKcatShipsToEmbeddedBroker(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("AGENTWATCH_TEST_KCAT") != "" {
			t.Fatalf("AGENTWATCH_TEST_KCAT is set but kcat is not installed: %v", err)
		}
		t.Skip("kcat not installed (apt-get install kcat); set AGENTWATCH_TEST_KCAT=1 to require it")
	}
	if _, err := os.Stat(otrfFile); err != nil {
		t.Skipf("real audit data not found beside the checkout: %v", err)
	}
	records := countLines(t, otrfFile)

	inv, err := inventory.Parse("agents.yaml", []byte(`agents:
  - id: banking-waf
    kind: waf
    owner: team-edge
    playground:
      systems: ["aws:wafv2", "aws:logs", "aws:sts"]
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t.TempDir())
	cfg.Ingest.Attribution = []ingest.Rule{{
		Name:        "waf instance role",
		Principal:   "arn:aws:sts::*:assumed-role/MordorNginxStack-BankingWAFRole-*/*",
		SessionName: `^(?P<instance>i-[0-9a-f]+)$`,
		Agent:       "banking-waf",
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := startPipeline(t, cfg, inv)

	cmd := exec.Command(kcat, "-P", "-b", strings.Join(p.app.Brokers, ","), "-t", cfg.Bus.Topics.Ingest, "-H", "format=cloudtrail", "-l", otrfFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	waitFor(t, 60*time.Second, "the pipeline to process what kcat shipped", func() bool { return p.app.Drained(int64(records)) })

	events := p.app.eventsOut.Load()
	dead := p.app.Committed(StageIngest) - events
	if events+dead != int64(records) || events == 0 {
		t.Errorf("events %d + dead letters %d != %d records", events, dead, records)
	}

	var waf, unattributed bool
	for _, a := range p.firing() {
		switch {
		case a.Detector == "playground.declared" && a.Identity.AgentID == "banking-waf":
			waf = true
			if a.Identity.AgentInstance != "i-0317f6c6b66ae9c40" || a.Identity.Owner != "team-edge" || a.Identity.CredentialType != "sts_session" {
				t.Errorf("waf alert identity = %+v", a.Identity)
			}
			if !strings.Contains(a.Summary, "aws:s3") && !strings.Contains(a.Reason, "aws:s3") {
				t.Errorf("waf alert does not say it reached S3: %s / %s", a.Summary, a.Reason)
			}
		case a.Detector == "identity.unattributed" && strings.Contains(a.Identity.AgentID, "user/pedro"):
			unattributed = true
		}
	}
	if !waf {
		t.Errorf("no playground.declared alert for the stolen WAF role credential; alerts: %v", detectors(p))
	}
	if !unattributed {
		t.Errorf("no identity.unattributed alert for the console user; alerts: %v", detectors(p))
	}
}

func detectors(p *pipeline) []string {
	var out []string
	for _, a := range p.firing() {
		out = append(out, a.Detector+" "+a.Identity.AgentID)
	}
	return out
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n := 0
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			n++
		}
	}
	return n
}
