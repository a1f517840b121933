package awsfleet

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/inventory"
)

func TestInventoriesAreWrittenFromThePolicies(t *testing.T) {
	f, err := NewFleet(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	copied, err := f.InventoryCopiedYAML()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Parse("agents.copied.yaml", copied)
	if err != nil {
		t.Fatalf("the first draft does not load: %v\n%s", err, copied)
	}
	if inv.Len() != len(agents) || len(inv.Principals()) != len(KnownPrincipals()) {
		t.Fatalf("%d agents and %d principals in the inventory, want %d and %d", inv.Len(), len(inv.Principals()), len(agents), len(KnownPrincipals()))
	}
	for p, want := range map[string]string{
		"arn:aws:sts::" + Account + ":assumed-role/" + PlatformNodeRole + "/i-0abc":                 inventory.KindInfrastructure,
		"arn:aws:sts::" + Account + ":assumed-role/" + ssoRole("Developer") + "/frank@acme.example": inventory.KindHuman,
		"cloudtrail.amazonaws.com":                                                           inventory.KindInfrastructure,
		"arn:aws:iam::" + Account + ":user/svc-backup-sync":                                  "",
		"arn:aws:sts::" + Account + ":assumed-role/agent-finops-reporter/botocore-session-1": "",
	} {
		got := ""
		if k := inv.Principal(p); k != nil {
			got = k.Kind
		}
		if got != want {
			t.Errorf("principal %s is %q, want %q", p, got, want)
		}
	}
	for _, s := range agents {
		a := inv.Get(s.ID)
		if a == nil {
			t.Fatalf("agent %s missing", s.ID)
		}
		var actions, resources []string
		for _, st := range s.Policy.Statement {
			for _, x := range st.Action {
				if !slices.Contains(actions, x) {
					actions = append(actions, x)
				}
			}
			for _, x := range st.Resource {
				if !slices.Contains(resources, x) {
					resources = append(resources, x)
				}
			}
		}
		if !slices.Equal(a.Playground.Actions, actions) || !slices.Equal(a.Playground.Resources, resources) {
			t.Errorf("%s: playground actions %v resources %v; the policy has %v and %v", s.ID, a.Playground.Actions, a.Playground.Resources, actions, resources)
		}
		if a.Owner != s.Owner || a.Contact.SlackChannel != s.Slack || !slices.Equal(a.Playground.Hours, s.Hours) {
			t.Errorf("%s: owner, contact or hours not the owner's", s.ID)
		}
		if !strings.Contains(string(copied), "iam/"+s.Role+".json") {
			t.Errorf("%s: the inventory does not say which policy it came from", s.ID)
		}
	}
	onboarded, err := f.InventoryYAML()
	if err != nil {
		t.Fatal(err)
	}
	inv2, err := inventory.Parse("agents.yaml", onboarded)
	if err != nil {
		t.Fatalf("the inventory does not load: %v\n%s", err, onboarded)
	}
	if len(inv2.Principals()) != len(KnownPrincipals()) {
		t.Errorf("%d principals in the inventory, want %d", len(inv2.Principals()), len(KnownPrincipals()))
	}
	for _, s := range agents {
		p := inv2.Get(s.ID).Playground
		if len(p.Statements) != len(s.Policy.Statement) || len(p.Actions) != 0 || !p.ActsForNobody() {
			t.Errorf("%s: imported playground has %d statements (policy %d), %d loose actions, delegators %v", s.ID, len(p.Statements),
				len(s.Policy.Statement), len(p.Actions), p.Delegators)
		}
		nw := networks[s.Region]
		if len(p.Networks) != 4 || p.Networks[0] != nw.vpc.String() || !slices.Contains(p.Networks, nw.nat[2]) {
			t.Errorf("%s: networks %v, want the VPC %s and the NAT gateways %v", s.ID, p.Networks, nw.vpc, nw.nat)
		}
		// Every pod, task and function address is in the VPC.
		for az := range nw.subnets {
			if !nw.vpc.Contains(nw.subnets[az].Addr()) || !p.AllowsNetwork(nw.subnets[az].Addr().Next().String()) {
				t.Errorf("%s: subnet %s is outside the declared networks %v", s.ID, nw.subnets[az], p.Networks)
			}
		}
		if len(p.Clients) != 1 || !p.AllowsClient(s.Client(s.Versions[len(s.Versions)-1]), "10.20.0.9") {
			t.Errorf("%s: clients %v do not cover the agent's own SDK", s.ID, p.Clients)
		}
	}
	if h := inv2.Get("finops-reporter").Playground.Hours; !slices.Contains(h, "1st 04:00-05:00") {
		t.Errorf("finops-reporter's hours %v lack the month-end day", h)
	}
	cfg := ingest.DefaultConfig()
	cfg.Attribution = AttributionRules()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	run, err := RunConfigYAML()
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Inventory string `yaml:"inventory"`
		Ingest    struct {
			Attribution []map[string]any `yaml:"attribution"`
			Files       struct {
				Paths []string `yaml:"paths"`
			} `yaml:"files"`
		} `yaml:"ingest"`
	}
	if err := yaml.Unmarshal(run, &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed.Inventory != InventoryFile || len(parsed.Ingest.Attribution) != 2*len(agents) || len(parsed.Ingest.Files.Paths) != 1 {
		t.Fatalf("run configuration: %+v", parsed)
	}
	if rp, _ := parsed.Ingest.Attribution[len(agents)]["request_parameters"].(map[string]any); rp["roleArn"] == nil || rp["roleSessionName"] == nil {
		t.Fatalf("run configuration: the credential rules do not read request parameters: %+v", parsed.Ingest.Attribution[len(agents)])
	}
}

func TestWriteThenReadBack(t *testing.T) {
	f, err := NewFleet(Config{Seed: 2, Weeks: 2, Scale: 0.01, TestWeek: DefaultTestWeek})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w, err := NewWriter(dir, f)
	if err != nil {
		t.Fatal(err)
	}
	var want []*File
	src := &Generated{Fleet: f, Out: w}
	if err := src.Each(func(d *Delivery) error {
		want = append(want, &File{Key: d.Key, Delivered: d.Delivered, JSON: d.Raw, Labels: d.Labels})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWriter(dir, f); err == nil || !strings.Contains(err.Error(), "already holds a fleet") {
		t.Fatalf("writing over a fleet: %v", err)
	}
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := d.Manifest()
	if m.Records != src.Stats().Records || m.Files != len(want) || d.Objects() != len(want) || len(m.Attacks) != len(attacks) {
		t.Fatalf("manifest %d records %d files, %d objects on disk; generated %d objects", m.Records, m.Files, d.Objects(), len(want))
	}
	labels := 0
	i := 0
	if err := d.Each(func(del *Delivery) error {
		labels += len(del.Labels)
		if del.Key != want[i].Key || !del.Delivered.Equal(want[i].Delivered) {
			t.Fatalf("object %d: read %s at %v, generated %s at %v", i, del.Key, del.Delivered, want[i].Key, want[i].Delivered)
		}
		zr, err := gzip.NewReader(bytes.NewReader(del.Raw))
		if err != nil {
			t.Fatalf("%s: %v", del.Key, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, want[i].JSON) {
			t.Fatalf("%s: read back different content (%v)", del.Key, err)
		}
		i++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if labels != m.Labelled[LabelAttack]+m.Labelled[LabelDrift] || labels == 0 {
		t.Fatalf("%d labels read, manifest says %v", labels, m.Labelled)
	}
	for _, a := range agents {
		b, err := os.ReadFile(filepath.Join(dir, PolicyDir, a.Role+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var p Policy
		if err := json.Unmarshal(b, &p); err != nil || p.Version != "2012-10-17" || len(p.Statement) == 0 {
			t.Fatalf("%s: policy %v: %s", a.Role, err, b)
		}
	}
	for _, name := range []string{InventoryFile, RunConfigFile, ReadmeFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inventory.Load(filepath.Join(dir, InventoryFile)); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDirErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), ManifestFile) {
		t.Fatalf("empty directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"weeks": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "AWSLogs", "x")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "notes.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "notes.txt: not a CloudTrail object name") {
		t.Fatalf("stray file: %v", err)
	}
}
