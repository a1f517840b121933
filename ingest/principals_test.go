package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// nodeAssumeRole is a successful sts:AssumeRole made by an EKS node's
// role session for an agent's pod, shaped as the real AssumeRole records
// of shared/data/real (requestParameters roleArn, roleSessionName,
// durationSeconds; responseElements credentials and assumedRoleUser),
// with the session tags and source identity a platform sets.
func nodeAssumeRole(node, session, newKey string) string {
	return `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROANODE:` + node + `",` +
		`"arn":"arn:aws:sts::123456789012:assumed-role/eks-node-role/` + node + `","accountId":"123456789012","accessKeyId":"ASIANODEKEY` + node + `",` +
		`"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::123456789012:role/eks-node-role"},"attributes":{"creationDate":"2026-03-02T08:00:00Z","mfaAuthenticated":"false"}}},` +
		`"eventTime":"2026-03-02T09:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"eu-west-1","sourceIPAddress":"10.0.3.17",` +
		`"userAgent":"aws-sdk-go-v2/1.30.3","requestParameters":{"roleArn":"arn:aws:iam::123456789012:role/agent-support","roleSessionName":"` + session + `",` +
		`"durationSeconds":3600,"sourceIdentity":"alice@example.com","tags":[{"key":"agent","value":"support-bot"}]},` +
		`"responseElements":{"credentials":{"accessKeyId":"` + newKey + `","expiration":"Mar 2, 2026, 10:00:00 AM"},` +
		`"assumedRoleUser":{"assumedRoleId":"AROAAGENT:` + session + `","arn":"arn:aws:sts::123456789012:assumed-role/agent-support/` + session + `"}},` +
		`"requestID":"r-` + node + `","eventID":"assume-` + node + `","readOnly":true,"resources":[{"accountId":"123456789012","type":"AWS::IAM::Role","ARN":"arn:aws:iam::123456789012:role/agent-support"}],` +
		`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`
}

// agentCall is a call made with the credential the node obtained.
func agentCall(id, session, key, action string) string {
	return `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAAGENT:` + session + `",` +
		`"arn":"arn:aws:sts::123456789012:assumed-role/agent-support/` + session + `","accountId":"123456789012","accessKeyId":"` + key + `"},` +
		`"eventTime":"2026-03-02T09:01:00Z","eventSource":"s3.amazonaws.com","eventName":"` + action + `","awsRegion":"eu-west-1","sourceIPAddress":"10.0.3.17",` +
		`"userAgent":"aws-sdk-go-v2/1.30.3","requestParameters":{"bucketName":"kb","key":"articles/1.md"},"eventID":"` + id + `",` +
		`"eventType":"AwsApiCall","recipientAccountId":"123456789012"}`
}

func principalsInv(t *testing.T, yaml string) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Parse("agents.yaml", []byte("agents: []\nprincipals:\n"+yaml))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

const nodePrincipals = `  - match: "arn:aws:sts::123456789012:assumed-role/eks-node-role/*"
    kind: infrastructure
    owner: team-platform
    note: EKS nodes assume the agents' roles for their pods
    actions: ["sts:AssumeRole", "sts:TagSession"]
`

func normalizeOne(t *testing.T, n *Normalizer, raw string) schemas.AgentEvent {
	t.Helper()
	evs, dead := n.Normalize(Record{Raw: []byte(raw), Source: "test"})
	if len(evs) != 1 || len(dead) != 0 {
		t.Fatalf("%d events, dead %+v", len(evs), dead)
	}
	return evs[0]
}

// TestInfrastructurePrincipalIsMarkedAndFeedsAttribution: the node's
// AssumeRole is stored as an event of a known infrastructure principal
// (not an unknown identity), the session tags and source identity it set
// still attribute the calls the new session makes, and the node using its
// key for anything outside its declared actions is an unknown principal.
func TestInfrastructurePrincipalIsMarkedAndFeedsAttribution(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Attribution = []Rule{{Name: "agent-by-session-tag", Formats: []string{FormatCloudTrail}, AgentTag: "agent", SessionName: `^[a-z-]+@(?P<instance>.+)$`}}
	n, err := NewNormalizer(cfg, nil, WithPrincipals(principalsInv(t, nodePrincipals).Principals()))
	if err != nil {
		t.Fatal(err)
	}
	assume := normalizeOne(t, n, nodeAssumeRole("i-0node1", "support-bot@pod-7", "ASIANEWKEY1"))
	if !assume.Unattributed || assume.PrincipalKind != schemas.PrincipalInfrastructure ||
		assume.AgentID != "arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0node1" || assume.Action != "sts:AssumeRole" {
		t.Fatalf("node AssumeRole = %+v, want an unattributed event of an infrastructure principal", assume)
	}
	call := normalizeOne(t, n, agentCall("c1", "support-bot@pod-7", "ASIANEWKEY1", "GetObject"))
	if call.Unattributed || call.AgentID != "support-bot" || call.AgentInstance != "pod-7" || call.OnBehalfOf != "alice@example.com" || call.PrincipalKind != "" {
		t.Fatalf("the new session's call = %+v, want support-bot/pod-7 for alice (tags and source identity from the node's AssumeRole)", call)
	}
	// The node's own key reading a bucket is outside the entry's actions.
	misuse := strings.Replace(strings.Replace(nodeAssumeRole("i-0node1", "x", "ASIAX"), `"eventSource":"sts.amazonaws.com","eventName":"AssumeRole"`, `"eventSource":"s3.amazonaws.com","eventName":"GetObject"`, 1), `"eventID":"assume-`, `"eventID":"misuse-`, 1)
	ev := normalizeOne(t, n, misuse)
	if !ev.Unattributed || ev.PrincipalKind != "" {
		t.Fatalf("node reading s3 = %+v, want an unknown principal (principal_kind empty)", ev)
	}
	// The kind survives the trip through the events topic.
	var back schemas.AgentEvent
	if err := schemas.UnmarshalEvent(schemas.AppendEventJSON(nil, &assume), &back); err != nil || back.PrincipalKind != schemas.PrincipalInfrastructure {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}

// TestAssumeRoleRuleAttributesByRoleSessionName: a rule on the AssumeRole
// record's request parameters attributes the record that makes an
// agent's credential to that agent; the event names the credential made,
// the caller stays its principal (marked infrastructure) and its own key
// moves to an attribute, so one node serving many agents is not a shared
// credential.
func TestAssumeRoleRuleAttributesByRoleSessionName(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Attribution = []Rule{{
		Name: "credentials-made-for-agents", Formats: []string{FormatCloudTrail}, Actions: []string{"sts:AssumeRole"},
		RequestParameters: map[string]string{
			"roleArn":         `^arn:aws:iam::\d+:role/agent-`,
			"roleSessionName": `^(?P<agent>[a-z-]+)@(?P<instance>.+)$`,
		},
	}}
	n, err := NewNormalizer(cfg, nil, WithPrincipals(principalsInv(t, nodePrincipals).Principals()))
	if err != nil {
		t.Fatal(err)
	}
	ev := normalizeOne(t, n, nodeAssumeRole("i-0node1", "support-bot@pod-7", "ASIANEWKEY1"))
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if ev.Unattributed || ev.AgentID != "support-bot" || ev.AgentInstance != "pod-7" ||
		ev.Principal != "arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0node1" || ev.PrincipalKind != schemas.PrincipalInfrastructure ||
		ev.CredentialID != "ASIANEWKEY1" || ev.CredentialType != schemas.CredSTSSession || ev.CredentialIssuedAt == nil || !ev.CredentialIssuedAt.Equal(at) ||
		ev.Attributes["caller.credential_id"] != "ASIANODEKEYi-0node1" {
		t.Fatalf("event = %+v", ev)
	}
	// A second node making the same agent's next credential: its own
	// credential, not the node's shared one.
	ev2 := normalizeOne(t, n, nodeAssumeRole("i-0node2", "support-bot@pod-8", "ASIANEWKEY2"))
	if ev2.AgentInstance != "pod-8" || ev2.CredentialID != "ASIANEWKEY2" {
		t.Fatalf("second event = %+v", ev2)
	}
	// A session name that names no agent: the rule does not match and the
	// record is the node's, as before.
	other := normalizeOne(t, n, nodeAssumeRole("i-0node1", "aws-go-sdk-1688990082523310002", "ASIANEWKEY3"))
	if !other.Unattributed || other.PrincipalKind != schemas.PrincipalInfrastructure || other.CredentialID != "ASIANODEKEYi-0node1" {
		t.Fatalf("unmatched AssumeRole = %+v", other)
	}

	// attribute --explain says all of it.
	var out bytes.Buffer
	records := nodeAssumeRole("i-0node1", "support-bot@pod-7", "ASIANEWKEY1") + "\n" + nodeAssumeRole("i-0node1", "aws-go-sdk-1", "ASIANEWKEY3") + "\n"
	if err := n.Explain(&out, strings.NewReader(records), "assume.json"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`rule credentials-made-for-agents: matched: action sts:AssumeRole in [sts:AssumeRole]; request parameter roleArn "arn:aws:iam::123456789012:role/agent-support" matches /^arn:aws:iam::\d+:role/agent-/; request parameter roleSessionName "support-bot@pod-7" matches /^(?P<agent>[a-z-]+)@(?P<instance>.+)$/`,
		`principals: "arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0node1" matches principals[0] (line 3) [arn:aws:sts::123456789012:assumed-role/eks-node-role/*]: kind infrastructure, owner team-platform (EKS nodes assume the agents' roles for their pods)`,
		`-> agent="support-bot" instance="pod-7" (rule credentials-made-for-agents, from request parameters): the record made credential ASIANEWKEY1 for the agent; the caller is infrastructure (principal_kind=infrastructure)`,
		`rule credentials-made-for-agents: no match: action sts:AssumeRole in [sts:AssumeRole]; request parameter roleArn "arn:aws:iam::123456789012:role/agent-support" matches /^arn:aws:iam::\d+:role/agent-/; request parameter roleSessionName "aws-go-sdk-1" does not match`,
		`-> infrastructure principal, not an agent: agent="arn:aws:sts::123456789012:assumed-role/eks-node-role/i-0node1" (the principal), stored with principal_kind=infrastructure; raises no identity.unattributed`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain lacks\n%s\nin\n%s", want, out.String())
		}
	}
}

// TestKindRule: an attribution rule can mark principals too, without the
// inventory; and a misspelt or contradictory rule is refused with its name.
func TestKindRule(t *testing.T) {
	n := newTestNormalizer(t, Rule{Name: "sso-admins", Principal: "arn:aws:sts::*:assumed-role/AWSReservedSSO_Admin_*/*", Kind: "human", Owner: "team-security"})
	rec := strings.Replace(agentCall("h1", "alice@example.com", "ASIAH", "ListBuckets"), "agent-support", "AWSReservedSSO_Admin_1f2e", 2)
	ev := normalizeOne(t, n, rec)
	if !ev.Unattributed || ev.PrincipalKind != schemas.PrincipalHuman {
		t.Fatalf("SSO admin = %+v, want an unattributed human principal", ev)
	}
	for _, c := range []struct {
		rule Rule
		want string
	}{
		{Rule{Name: "r", Principal: "x", Kind: "robot"}, `rule "r": kind: "robot" is not one of infrastructure, human`},
		{Rule{Name: "r", Principal: "x", Kind: "human", Agent: "a"}, `rule "r": names an agent and a kind`},
		{Rule{Name: "r", Principal: "x", Agent: "a", Owner: "o"}, `rule "r": owner and note describe a known principal: set kind`},
		{Rule{Name: "r", RequestParameters: map[string]string{"roleSessionName": "(?P<agent>"}}, `rule "r": request_parameters.roleSessionName: error parsing regexp`},
		{Rule{Name: "r", RequestParameters: map[string]string{"roleArn": "agent"}}, `rule "r": names no agent`},
		{Rule{Name: "r", Principal: "x", Agent: "a", Actions: []string{"[sts"}}, `rule "r": actions:`},
	} {
		_, err := compileRule(c.rule)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.rule, err, c.want)
		}
	}
}

// TestRealAssumeRoleRecords runs the rules and principals on the real
// CloudTrail capture: EC2 assumes the Stratus instance roles (the
// platform-makes-the-credential shape), Inspector assumes its service
// role, and the person running the attacks assumes roles from his laptop.
// EC2's one record that is not an AssumeRole is outside the actions its
// entry lists, so it stays an unknown principal's.
// Expected counts come from the raw records, not from the normaliser.
func TestRealAssumeRoleRecords(t *testing.T) {
	files, _, records := realCloudTrail(t)
	type raw struct {
		EventName    string `json:"eventName"`
		UserIdentity struct {
			ARN       string `json:"arn"`
			InvokedBy string `json:"invokedBy"`
		} `json:"userIdentity"`
		RequestParameters struct {
			RoleArn         string `json:"roleArn"`
			RoleSessionName string `json:"roleSessionName"`
		} `json:"requestParameters"`
		ResponseElements struct {
			Credentials struct {
				AccessKeyID string `json:"accessKeyId"`
			} `json:"credentials"`
		} `json:"responseElements"`
	}
	want := map[string]int{}
	wantKeys := map[string]bool{}
	for _, data := range files {
		var doc struct{ Records []raw }
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		for _, r := range doc.Records {
			switch {
			case r.UserIdentity.InvokedBy == "ec2.amazonaws.com" && r.EventName == "AssumeRole":
				want["made by ec2 for an instance"]++
				wantKeys[r.ResponseElements.Credentials.AccessKeyID] = true
			case r.UserIdentity.InvokedBy == "ec2.amazonaws.com":
				want["ec2 outside its actions"]++
			case r.UserIdentity.InvokedBy == "inspector2.amazonaws.com":
				want["infrastructure"]++
			case r.UserIdentity.ARN == "arn:aws:iam::123837392027:user/bert-jan":
				want["human"]++
			}
		}
	}
	if want["made by ec2 for an instance"] != 3 || want["ec2 outside its actions"] != 1 || want["infrastructure"] != 3 || want["human"] != 607 {
		t.Fatalf("the real capture changed: %v", want)
	}
	inv := principalsInv(t, `  - match: ec2.amazonaws.com
    kind: infrastructure
    owner: aws
    note: EC2 makes each instance's role credentials
    actions: ["sts:AssumeRole"]
  - match: [inspector2.amazonaws.com, "arn:aws:sts::123837392027:assumed-role/AWSServiceRoleForAmazonInspector2/*"]
    kind: infrastructure
    note: Inspector assumes its service role, then scans with it
  - match: "arn:aws:iam::123837392027:user/bert-jan"
    kind: human
    owner: team-red
`)
	cfg := DefaultConfig()
	cfg.Attribution = []Rule{{
		Name: "instance-role-credentials", Formats: []string{FormatCloudTrail}, Actions: []string{"sts:AssumeRole"},
		RequestParameters: map[string]string{
			"roleArn":         `:role/(?P<agent>stratus-red-team-[a-z0-9-]+)-role$`,
			"roleSessionName": `^(?P<instance>i-[0-9a-f]+)$`,
		},
	}}
	n, err := NewNormalizer(cfg, nil, WithPrincipals(inv.Principals()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	total := 0
	for name, data := range files {
		evs, dead := n.Normalize(Record{Raw: data, Source: "file:" + name})
		if len(dead) != 0 {
			t.Fatalf("%s: dead letters %+v", name, dead[0].Reason)
		}
		total += len(evs)
		for _, ev := range evs {
			switch {
			case !ev.Unattributed && ev.Principal == "ec2.amazonaws.com":
				got["made by ec2 for an instance"]++
				if ev.PrincipalKind != schemas.PrincipalInfrastructure || !strings.HasPrefix(ev.AgentID, "stratus-red-team-ec2-") ||
					!strings.HasPrefix(ev.AgentInstance, "i-") || !wantKeys[ev.CredentialID] || ev.CredentialType != schemas.CredSTSSession {
					t.Errorf("instance credential event = %+v", ev)
				}
			case !ev.Unattributed:
				t.Errorf("unexpected attribution %+v", ev)
			case ev.Principal == "ec2.amazonaws.com" && ev.PrincipalKind == "":
				got["ec2 outside its actions"]++
			case ev.PrincipalKind != "":
				got[ev.PrincipalKind]++
			}
		}
	}
	if total != records {
		t.Fatalf("%d events from %d records", total, records)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d events, want %d", k, got[k], v)
		}
	}
}

// The rule options load from YAML through koanf with the parameter names'
// case kept (roleArn, roleSessionName).
func TestRequestParameterRuleFromYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(`ingest:
  attribution:
    - name: made-for-agents
      actions: ["sts:AssumeRole*"]
      request_parameters:
        roleArn: ':role/agent-'
        roleSessionName: '^(?P<agent>[a-z-]+)@'
    - name: nodes
      principal: "arn:aws:sts::*:assumed-role/eks-node-role/*"
      kind: infrastructure
      owner: team-platform
`), 0o644)
	got := loadIngestYAML(t, path)
	want := []Rule{
		{Name: "made-for-agents", Actions: []string{"sts:AssumeRole*"}, RequestParameters: map[string]string{"roleArn": ":role/agent-", "roleSessionName": "^(?P<agent>[a-z-]+)@"}},
		{Name: "nodes", Principal: "arn:aws:sts::*:assumed-role/eks-node-role/*", Kind: "infrastructure", Owner: "team-platform"},
	}
	if b, w := mustJSON(t, got.Attribution), mustJSON(t, want); b != w {
		t.Fatalf("rules\n%s\nwant\n%s", b, w)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadIngestYAML(t *testing.T, path string) Config {
	t.Helper()
	k := koanf.New(".")
	if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
		t.Fatal(err)
	}
	got := DefaultConfig()
	if err := k.Unmarshal("ingest", &got); err != nil {
		t.Fatal(err)
	}
	return got
}
