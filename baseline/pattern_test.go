package baseline

import "testing"

func TestGeneralize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"prod/db-password", "prod/db-password"},
		{"tickets/123", "tickets/{n}"},
		{"tickets/456", "tickets/{n}"},
		{"ticket-123", "ticket-{n}"},
		{"ticket123", "ticket{n}"},
		{"customers/3f2b1c4e-9a7d-4e21-b5c3-0d9e8f7a6b5c/profile", "customers/{uuid}/profile"},
		{"s3://logs/2024/01/05/file-77.json", "s3://logs/{n}/{n}/{n}/file-{n}.json"},
		{"reports/2024-01-05/summary.csv", "reports/{date}/summary.csv"},
		{"reports/export_20240105.csv", "reports/export_{date}.csv"},
		// S3 objects: the folders are the habit, the object name is not.
		{"arn:aws:s3:::bucket/obj", "arn:aws:s3:::bucket/*"},
		{"arn:aws:s3:::bucket", "arn:aws:s3:::bucket"},
		{"arn:aws:s3:::acme-lake/docs/2026/03/q1/report.pdf", "arn:aws:s3:::acme-lake/docs/{n}/{n}/q1/*"},
		{"arn:aws:s3:::acme-lake/docs/", "arn:aws:s3:::acme-lake/docs/*"},
		{"arn:aws-cn:s3:::b/k", "arn:aws-cn:s3:::b/*"},
		{"arn:aws:s3:us-east-1:123456789012:accesspoint/ap", "arn:aws:s3:us-east-1:{n}:accesspoint/ap"},
		// The ARNs ingest names for other services.
		{"arn:aws:glue:eu-west-1:123456789012:table/analytics/events", "arn:aws:glue:eu-west-1:{n}:table/analytics/events"},
		{"arn:aws:kms:us-east-1:123837392027:key/dad21b23-9915-42bd-981b-2a9f3c8f20c8", "arn:aws:kms:us-east-1:{n}:key/{uuid}"},
		{"arn:aws:ssm:us-east-1:123837392027:parameter/credentials/stratus-red-team/credentials-6", "arn:aws:ssm:us-east-1:{n}:parameter/credentials/stratus-red-team/credentials-6"},
		{"arn:aws:logs:eu-west-1:111122223333:log-group:/agents/data:log-stream:", "arn:aws:logs:eu-west-1:{n}:log-group:/agents/data:log-stream:"},
		{"arn:aws:lambda:eu-west-1:111122223333:function:summarise:prod", "arn:aws:lambda:eu-west-1:{n}:function:summarise:prod"},
		{"arn:aws:athena:eu-west-1:111122223333:workgroup/analytics", "arn:aws:athena:eu-west-1:{n}:workgroup/analytics"},
		{"arn:aws:iam::123456789012:role/agent-7", "arn:aws:iam::{n}:role/agent-7"},
		{"arn:aws:ec2:us-east-1:123456789012:instance/i-0abc123def4567890", "arn:aws:ec2:us-east-1:{n}:instance/i-{hash}"},
		{"blobs/sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "blobs/sha256:{hash}"},
		{"api/v1/users/42", "api/v1/users/{n}"},
		{"ec2", "ec2"},
		{"objects/AKIA1234XYZ7", "objects/{id}"},
		{"", ""},
		{"mailto:jon.kowalski@vandelay.example", "mailto:{email}"},
		{"users/ana@example.com/inbox", "users/{email}/inbox"},
		{"git@github.com:org/repo", "{email}:org/repo"},
		{"@handle", "@handle"},
	}
	for _, c := range cases {
		if got := Generalize(c.in); got != c.want {
			t.Errorf("Generalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestGeneralizeSameHabit(t *testing.T) {
	if Generalize("tickets/123/comments/9") != Generalize("tickets/456/comments/10") {
		t.Fatal("two tickets should share one pattern")
	}
	if Generalize("tickets/123") == Generalize("secrets/123") {
		t.Fatal("different collections must not share a pattern")
	}
}

func TestGeneralizeNoAllocWithoutDigits(t *testing.T) {
	r := "prod/db-password"
	if n := testing.AllocsPerRun(100, func() { _ = Generalize(r) }); n != 0 {
		t.Fatalf("allocs = %v, want 0", n)
	}
}

func TestGeneralizeUserAgent(t *testing.T) {
	cases := []struct{ in, want string }{
		{"boto3/1.34.2 Python/3.12.1", "boto3/{v} Python/{v}"},
		{"boto3/1.35.0 Python/3.12.4", "boto3/{v} Python/{v}"},
		{"agent-sdk v2.1", "agent-sdk {v}"},
		{"curl", "curl"},
		{"k8s-client", "k8s-client"},
	}
	for _, c := range cases {
		if got := GeneralizeUserAgent(c.in); got != c.want {
			t.Errorf("GeneralizeUserAgent(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
