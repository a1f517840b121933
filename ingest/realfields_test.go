package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

func realEvents(t *testing.T, n *Normalizer, rel string) []schemas.AgentEvent {
	t.Helper()
	realFiles(t) // skips when the folder is absent
	matches, err := filepath.Glob(filepath.Join(realDir, rel))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no file matches %s", rel)
	}
	var all []schemas.AgentEvent
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		evs, _ := normalizeAll(t, n, rel, data)
		all = append(all, evs...)
	}
	return all
}

func byID(t *testing.T, evs []schemas.AgentEvent, id string) schemas.AgentEvent {
	t.Helper()
	for _, e := range evs {
		if e.EventID == id {
			return e
		}
	}
	t.Fatalf("no event %s", id)
	return schemas.AgentEvent{}
}

func check(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func TestRealCloudTrailFields(t *testing.T) {
	n := newTestNormalizer(t, Rule{Name: "stratus", Principal: "arn:aws:sts::*:assumed-role/stratus-red-team-*/*",
		SessionName: `^aws-go-sdk-(?P<instance>\d+)$`, Agent: "stratus-red-team"})
	evs := realEvents(t, n, "aws-cloudtrail/*/*.json")
	e := byID(t, evs, "cloudtrail:fbd91225-39aa-4c00-822c-9f0b96e7758f")
	check(t, "outcome", e.Outcome, schemas.OutcomeDenied)
	check(t, "error_code", e.ErrorCode, "Client.UnauthorizedOperation")
	check(t, "action", e.Action, "ec2:GetPasswordData")
	check(t, "system", e.System, "aws:ec2")
	check(t, "principal", e.Principal, "arn:aws:sts::123837392027:assumed-role/stratus-red-team-ec2-get-password-data-role/aws-go-sdk-1688990082523310002")
	check(t, "credential_id", e.CredentialID, "ASIATFQR7NSCWLLE7IWW")
	check(t, "credential_type", e.CredentialType, schemas.CredSTSSession)
	check(t, "agent_id", e.AgentID, "stratus-red-team")
	check(t, "agent_instance", e.AgentInstance, "1688990082523310002")
	check(t, "src_ip", e.SrcIP, "192.168.10.20")
	check(t, "resource", e.Resource, "arn:aws:ec2:us-east-1:123837392027:instance/i-durz4ux740gjqvcm")
	check(t, "user_agent", e.UserAgent, "stratus-red-team_39f95f43-cd2f-4beb-b69e-be60b6fe1f57")
	if e.CredentialIssuedAt == nil || !e.CredentialIssuedAt.Equal(time.Date(2023, 7, 10, 11, 54, 47, 0, time.UTC)) {
		t.Errorf("credential_issued_at = %v", e.CredentialIssuedAt)
	}
	if e.Unattributed {
		t.Error("stratus session should be attributed")
	}
	// An AWS service acting (no arn) is named by the service.
	s := byID(t, evs, "cloudtrail:895dc875-cb08-45a5-b8c2-9158838741c0")
	check(t, "service principal", s.Principal, "ec2.amazonaws.com")
	if !s.Unattributed {
		t.Error("service event should be unattributed")
	}
}

func TestRealLogstashCloudTrailFields(t *testing.T) {
	n := newTestNormalizer(t)
	evs := realEvents(t, n, "aws-cloudtrail-elk-jsonl/*/*.json")
	if len(evs) != 103 {
		t.Fatalf("got %d events, want 103", len(evs))
	}
	stolen := 0
	for _, e := range evs {
		if strings.Contains(e.Principal, "BankingWAFRole") && strings.Contains(e.UserAgent, "Darwin") {
			stolen++
			check(t, "credential_type", e.CredentialType, schemas.CredSTSSession)
			if !e.Unattributed || e.AgentID != e.Principal {
				t.Errorf("unattributed event should keep its principal as agent id: %+v", e)
			}
		}
	}
	if stolen != 11 {
		t.Errorf("found %d events by the stolen role credential from the laptop, want 11", stolen)
	}
	e := byID(t, evs, "cloudtrail:bf575a0c-c344-4302-a468-00e6a84a127a")
	check(t, "action", e.Action, "s3:ListObjects")
	check(t, "credential_id", e.CredentialID, "ASIA5FLZVX4OPVKKVBMX")
	if e.Time.IsZero() || e.Time.Year() != 2020 {
		t.Errorf("time from @timestamp = %v", e.Time)
	}
}

func TestRealK8sFields(t *testing.T) {
	n := newTestNormalizer(t)
	evs := realEvents(t, n, "k8s-audit/*/create_configmap.json")
	e := byID(t, evs, "k8s:155b887c-c27c-4fdb-9667-999f74512d0a:ResponseComplete")
	check(t, "principal", e.Principal, "minikube-user")
	check(t, "action", e.Action, "k8s:create configmaps")
	check(t, "resource", e.Resource, "default/configmaps/my-config")
	check(t, "outcome", e.Outcome, schemas.OutcomeSuccess)
	check(t, "src_ip", e.SrcIP, "192.168.99.1")
	if !e.Time.Equal(time.Date(2018, 10, 26, 13, 13, 3, 539180000, time.UTC)) {
		t.Errorf("time = %v, want requestReceivedTimestamp", e.Time)
	}
}

func TestRealGCPFields(t *testing.T) {
	n := newTestNormalizer(t)
	p := realEvents(t, n, "gcp-audit/*/policy.json")[0]
	check(t, "outcome", p.Outcome, schemas.OutcomeDenied)
	check(t, "agent_id", p.AgentID, UnknownPrincipal)
	check(t, "system", p.System, "gcp:storage")
	check(t, "action", p.Action, "google.storage.buckets.get")
	d := realEvents(t, n, "gcp-audit/*/data_access.json")[0]
	check(t, "principal", d.Principal, "service-8560181848@container-engine-robot.iam.gserviceaccount.com")
	check(t, "event_id", d.EventID, "gcp:ak85oqe14p19")
	check(t, "user_agent", d.UserAgent, "google-api-go-client/0.5 cluster-autoscaler,gzip(gfe)")
	check(t, "src_ip", d.SrcIP, "34.29.77.17")
	check(t, "resource", d.Resource, "projects/elastic-observability/zones/us-central1-c/clusters/edge-oblt")
}

func TestRealAzureFields(t *testing.T) {
	n := newTestNormalizer(t)
	e := realEvents(t, n, "azure-activity/*/*.json")[0]
	check(t, "principal", e.Principal, "user@example.com")
	check(t, "system", e.System, "azure:microsoft.insights")
	check(t, "outcome", e.Outcome, schemas.OutcomeUnknown)
	check(t, "credential_type", e.CredentialType, schemas.CredOAuthToken)
}
