package awsiam

import (
	"errors"
	"strings"
	"testing"
)

// The cases follow the IAM User Guide's description of Resource matching:
// wildcards within a part, "*" crossing "/", a closing "*" crossing colons,
// case-sensitive comparison.
func TestResourceMatchAsIAM(t *testing.T) {
	cases := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", "arn:aws:s3:::bucket/a/b", true},
		{"*", "anything", true},
		// "*" crosses "/": the reason for this package.
		{"arn:aws:s3:::bucket/docs/*", "arn:aws:s3:::bucket/docs/a.txt", true},
		{"arn:aws:s3:::bucket/docs/*", "arn:aws:s3:::bucket/docs/2024/q1/a.txt", true},
		{"arn:aws:s3:::bucket/docs/*", "arn:aws:s3:::bucket/other/a.txt", false},
		{"arn:aws:s3:::bucket/docs/*", "arn:aws:s3:::bucket", false},
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/", true},
		{"arn:aws:s3:::bucket*", "arn:aws:s3:::bucket-logs/x", true},
		{"arn:aws:s3:::*", "arn:aws:s3:::any/key", true},
		// "?" is exactly one character.
		{"arn:aws:s3:::bucket/report-?.csv", "arn:aws:s3:::bucket/report-7.csv", true},
		{"arn:aws:s3:::bucket/report-?.csv", "arn:aws:s3:::bucket/report-17.csv", false},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-??????", "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbC123", true},
		// Case sensitive.
		{"arn:aws:iam::123456789012:user/Bob", "arn:aws:iam::123456789012:user/bob", false},
		// Part by part: a wildcard in the region does not reach the account.
		{"arn:aws:lambda:*:123456789012:function:fn", "arn:aws:lambda:eu-west-1:123456789012:function:fn", true},
		{"arn:aws:lambda:eu-*:*:function:fn", "arn:aws:lambda:us-east-1:123456789012:function:fn", false},
		{"arn:aws:lambda:*:*:function:fn", "arn:aws:lambda:eu-west-1:123456789012:function:fn:prod", false},
		// The last part's "*" crosses colons.
		{"arn:aws:lambda:*:*:function:fn*", "arn:aws:lambda:eu-west-1:123456789012:function:fn:prod", true},
		{"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:*", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:log-stream:2024/01/01/x", true},
		{"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:*", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:log-stream:", true},
		// A short pattern ending in "*" covers the rest.
		{"arn:aws:logs:*", "arn:aws:logs:us-east-1:123456789012:log-group:x", true},
		{"arn:aws:iam::*", "arn:aws:iam::123456789012:role/x", true},
		{"arn:aws:iam::*", "arn:aws:sts::123456789012:assumed-role/x/y", false},
		// Empty parts: "*" matches an empty region.
		{"arn:aws:s3:*:*:bucket", "arn:aws:s3:::bucket", true},
		{"arn:aws:glue:eu-west-1:123456789012:table/analytics/*", "arn:aws:glue:eu-west-1:123456789012:table/analytics/events", true},
		{"arn:aws:glue:eu-west-1:123456789012:table/analytics/*", "arn:aws:glue:eu-west-1:123456789012:database/analytics", false},
		// Not an ARN.
		{"arn:aws:s3:::bucket", "bucket", false},
		// Escapes stand for literal characters.
		{"arn:aws:s3:::bucket/${*}", "arn:aws:s3:::bucket/*", true},
		{"arn:aws:s3:::bucket/${*}", "arn:aws:s3:::bucket/x", false},
	}
	for _, c := range cases {
		p, err := CompileResource(c.pattern)
		if err != nil {
			t.Fatalf("compile %q: %v", c.pattern, err)
		}
		if got := p.Match(c.arn); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pattern, c.arn, got, c.want)
		}
	}
}

func TestCompileResourceErrors(t *testing.T) {
	cases := []struct{ pattern, want string }{
		{"bucket/docs/*", "not an ARN pattern"},
		{"arn:aws:s3", "six colon-separated parts"},
		{"arn:aws:s3:::${aws:username}/*", "policy variables"},
	}
	for _, c := range cases {
		_, err := CompileResource(c.pattern)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.pattern, err, c.want)
		}
	}
	if _, err := CompileResource("arn:aws:s3:::${aws:username}/*"); !errors.Is(err, ErrPolicyVariable) {
		t.Errorf("policy variable error = %v", err)
	}
}

func TestActionMatchIgnoresCase(t *testing.T) {
	cases := []struct {
		pattern, action string
		want            bool
	}{
		{"s3:GetObject", "s3:GetObject", true},
		{"S3:getobject", "s3:GetObject", true},
		{"ec2:Describe*", "ec2:DescribeInstances", true},
		{"ec2:Describe*", "ec2:RunInstances", false},
		{"iam:*AccessKey*", "iam:ListAccessKeys", true},
		{"s3:Get?bject", "s3:GetObject", true},
		{"*", "kms:Decrypt", true},
	}
	for _, c := range cases {
		if got := CompileAction(c.pattern).Match(c.action); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pattern, c.action, got, c.want)
		}
	}
}

func TestCheckResourceNamesPatternsThatCannotMatch(t *testing.T) {
	ok := []string{
		"*",
		"arn:aws:s3:::bucket",
		"arn:aws:s3:::bucket/docs/*",
		"arn:aws:s3:::*",
		"arn:aws:logs:*",
		"arn:aws:lambda:us-east-1:123456789012:function:fn",
		"arn:aws:lambda:*:*:function:fn*",
		"arn:aws:glue:eu-west-1:123456789012:table/db/*",
		"arn:aws:glue:eu-west-1:123456789012:catalog",
		"arn:aws:glue:*:*:*",
		"arn:aws:iam::aws:policy/ReadOnlyAccess",
		"arn:aws:iam::123456789012:role/agents/*",
		"arn:aws:secretsmanager:*:123456789012:secret:ops/*",
		"arn:aws:ec2:us-east-1:123456789012:whatever/x", // EC2's list is partial: not judged
		"arn:aws:sqs:us-east-1:123456789012:queue-1",
		"arn:aws:athena:us-east-1:123456789012:workgroup/primary",
		"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*",
	}
	for _, p := range ok {
		if err := CheckResource(p); err != nil {
			t.Errorf("%q: unexpected error %v", p, err)
		}
	}
	bad := []struct{ pattern, want string }{
		{"arn:aws:s3:::/docs/*", "names its bucket first"},
		{"arn:aws:s3:::", "names its bucket first"},
		{"arn:aws:s3:us-east-1:123456789012:bucket/x", "no region or account"},
		{"arn:aws:glue:eu-west-1:123456789012:tabel/db/*", "fits none of glue's resource types"},
		{"arn:aws:lambda:us-east-1:123456789012:function/fn", "fits none of lambda's"},
		{"arn:aws:iam:us-east-1:123456789012:role/x", "fits none of iam's"},
		{"arn:aws:lambda::123456789012:function:fn", "fits none of lambda's"},
		{"arn:aws:s4:::bucket", "not an AWS service prefix"},
		{"arn:aws:*:::bucket", "service part"},
		{"arn:amazon:s3:::bucket", "partition"},
		{"arn:aws:lambda:useast1:123456789012:function:fn", "not an AWS region"},
		{"arn:aws:lambda:us-east-1:1234:function:fn", "12-digit"},
		{"arn:aws:s3:::bucket/${aws:username}", "policy variables"},
	}
	for _, c := range bad {
		err := CheckResource(c.pattern)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want it to say %q", c.pattern, err, c.want)
		}
	}
}

func TestCheckAction(t *testing.T) {
	for _, a := range []string{"*", "s3:GetObject", "ec2:Describe*", "cloudwatch:GetMetricData", "bedrock:InvokeModel"} {
		if err := CheckAction(a); err != nil {
			t.Errorf("%q: %v", a, err)
		}
	}
	for _, a := range []string{"s4:GetObject", "athena", "s3:Get Object"} {
		if err := CheckAction(a); err == nil {
			t.Errorf("%q: want an error", a)
		}
	}
	if !LooksLikeAction("s4:GetObject") || !LooksLikeAction("S3:getobject") || LooksLikeAction("k8s:get pods") ||
		LooksLikeAction("tools/call:search") || LooksLikeAction("actions.*") || LooksLikeAction("crm:read") {
		t.Error("LooksLikeAction")
	}
}

func TestIAMAction(t *testing.T) {
	cases := map[string]string{
		"s3:ListObjects":                       "s3:ListBucket",
		"s3:ListObjectsV2":                     "s3:ListBucket",
		"s3:HeadObject":                        "s3:GetObject",
		"s3:GetObject":                         "s3:GetObject",
		"s3:ListBuckets":                       "s3:ListAllMyBuckets",
		"lambda:GetFunction20150331v2":         "lambda:GetFunction",
		"lambda:ListFunctions20150331":         "lambda:ListFunctions",
		"lambda:Invoke":                        "lambda:InvokeFunction",
		"cloudfront:GetDistribution2020_05_31": "cloudfront:GetDistribution",
		"kms:Decrypt":                          "kms:Decrypt",
		"ec2:DescribeInstances":                "ec2:DescribeInstances",
	}
	for in, want := range cases {
		if got := IAMAction(in); got != want {
			t.Errorf("IAMAction(%q) = %q, want %q", in, got, want)
		}
	}
	if PrefixOfSource("monitoring.amazonaws.com") != "cloudwatch" || PrefixOfSource("s3.amazonaws.com") != "s3" {
		t.Error("PrefixOfSource")
	}
}

func TestTypesBuildAndFit(t *testing.T) {
	tbl := TypeNamed("glue:table")
	got := tbl.Build("aws", "eu-west-1", "123456789012", "analytics", "events")
	if got != "arn:aws:glue:eu-west-1:123456789012:table/analytics/events" {
		t.Fatalf("glue table = %q", got)
	}
	if b := TypeNamed("s3:object").Build("aws", "us-east-1", "123456789012", "bucket", "a/b.txt"); b != "arn:aws:s3:::bucket/a/b.txt" {
		t.Fatalf("s3 object = %q", b)
	}
	if TypeNamed("s3:object").Build("aws", "", "", "bucket", "") != "" {
		t.Fatal("a missing value must give no ARN")
	}
	cases := map[string]string{
		"arn:aws:s3:::bucket":                                                                "bucket",
		"arn:aws:s3:::bucket/k/e/y":                                                          "object",
		"arn:aws:lambda:us-east-1:123456789012:function:fn":                                  "function",
		"arn:aws:lambda:us-east-1:123456789012:function:fn:v2":                               "function alias",
		"arn:aws:logs:us-east-1:123456789012:log-group:/a/b":                                 "log-group",
		"arn:aws:logs:us-east-1:1:log-group:/a:log-stream:s/1":                               "log-stream",
		"arn:aws:kms:us-east-1:123456789012:key/abc":                                         "key",
		"arn:aws:iam::123456789012:role/path/name":                                           "role",
		"arn:aws:ssm:us-east-1:1:parameter/credentials/x/y":                                  "parameter",
		"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0": "foundation-model",
	}
	for arn, want := range cases {
		ty := TypeOf(arn)
		if ty == nil || ty.Name != want {
			t.Errorf("TypeOf(%q) = %v, want %s", arn, ty, want)
		}
	}
	if TypeOf("arn:aws:s3:us-east-1::bucket") != nil {
		t.Error("an S3 bucket ARN with a region is no bucket")
	}
}
