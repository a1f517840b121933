package inventory

import (
	"testing"
	"time"
)

// TestIAMExample loads examples/agents-iam.yaml, the fleet docs/inventory.md
// walks through, and checks that it means what its comments say.
func TestIAMExample(t *testing.T) {
	inv, err := Load("../../examples/agents-iam.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rep := &inv.Get("lake-reporter").Playground
	dep := &inv.Get("lambda-deployer").Playground
	rot := &inv.Get("secret-rotator").Playground
	checks := []struct {
		what string
		got  bool
		want bool
	}{
		{"a report in a sub-folder of docs/", rep.AllowsActionOn("s3:GetObject", "arn:aws:s3:::acme-lake/docs/2026/q1/board.pdf"), true},
		{"finance is not docs/", rep.AllowsActionOn("s3:GetObject", "arn:aws:s3:::acme-lake/finance/payroll.csv"), false},
		{"ListObjects is s3:ListBucket", rep.AllowsActionOn("s3:ListObjectsV2", "arn:aws:s3:::acme-lake"), true},
		{"writing docs/", rep.AllowsActionOn("s3:PutObject", "arn:aws:s3:::acme-lake/docs/x"), false},
		{"a curated table", rep.AllowsActionOn("glue:GetTable", "arn:aws:glue:eu-west-1:123456789012:table/curated/orders"), true},
		{"the primary workgroup", rep.AllowsActionOn("athena:StartQueryExecution", "arn:aws:athena:eu-west-1:123456789012:workgroup/primary"), false},
		{"describe anything", rep.AllowsActionOn("ec2:DescribeInstances", ""), true},
		{"acts for nobody", rep.AllowsDelegator("ana@acme.example"), false},
		{"the month-end run", rep.AllowsTime(time.Date(2026, 8, 1, 4, 30, 0, 0, time.UTC)), true}, // a Saturday
		{"a Saturday otherwise", rep.AllowsTime(time.Date(2026, 8, 8, 4, 30, 0, 0, time.UTC)), false},
		{"the month-end run is a dated slot", rep.InDatedSlot(time.Date(2026, 8, 1, 4, 30, 0, 0, time.UTC)), true},
		{"weekday hours are not", rep.InDatedSlot(time.Date(2026, 8, 3, 9, 0, 0, 0, time.UTC)), false},
		{"the 1st outside the slot is not", rep.InDatedSlot(time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)), false},
		{"GetFunction, as CloudTrail spells it", dep.AllowsActionOn("lambda:GetFunction20150331v2", "arn:aws:lambda:eu-west-1:123456789012:function:agent-summarise"), true},
		{"another function", dep.AllowsActionOn("lambda:UpdateFunctionCode20150331v2", "arn:aws:lambda:eu-west-1:123456789012:function:billing"), false},
		{"the log group as Logs names it", dep.AllowsActionOn("logs:CreateLogGroup", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/agent-summarise:log-stream:"), true},
		{"terraform", dep.AllowsClient("APN/1.0 HashiCorp/1.0 Terraform/1.9.8 terraform-provider-aws/5.80.0 aws-sdk-go-v2/1.32.6", "10.30.1.9"), true},
		{"the CLI", dep.AllowsClient("aws-cli/2.22.0 Python/3.12.6", "10.30.1.9"), false},
		{"the NAT address", dep.AllowsNetwork("203.0.113.7"), true},
		{"a secret by name", rot.AllowsActionOn("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ops/db"), true},
		{"a secret by ARN", rot.AllowsActionOn("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ops/db-a1B2c3"), true},
		{"another team's secret", rot.AllowsActionOn("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:billing/db"), false},
		{"the first Monday", rot.AllowsTime(time.Date(2026, 6, 1, 2, 30, 0, 0, time.UTC)), true},
		{"the second Monday", rot.AllowsTime(time.Date(2026, 6, 8, 2, 30, 0, 0, time.UTC)), false},
		{"the 15th", rot.AllowsTime(time.Date(2026, 6, 15, 3, 59, 0, 0, time.UTC)), true},
		{"the on-call engineer", rot.AllowsDelegator("oncall:ana"), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if time.Duration(dep.CredentialPolicy.RotateEvery) != 90*24*time.Hour {
		t.Error("rotate_every")
	}
}
