package inventory

import (
	"strings"
	"testing"
)

// A policy in the shape of AWS's documented examples: S3 read on one
// prefix (with the ListBucket prefix condition), Athena and Glue for one
// workgroup and database, Describe on "*", a Deny, a NotAction, a
// per-user home folder, and a source-address condition.
const analystPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ListLakeDocs", "Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::acme-lake",
     "Condition": {"StringLike": {"s3:prefix": ["docs/*"]}, "IpAddress": {"aws:SourceIp": ["10.20.0.0/16", "203.0.113.7/32"]}}},
    {"Sid": "ReadLakeDocs", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
     "Resource": "arn:aws:s3:::acme-lake/docs/*",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.20.0.0/16"}}},
    {"Sid": "Query", "Effect": "Allow",
     "Action": ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"],
     "Resource": "arn:aws:athena:eu-west-1:123456789012:workgroup/analytics",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.20.0.0/16"}, "StringEquals": {"aws:PrincipalTag/team": "analytics"}}},
    {"Sid": "Catalog", "Effect": "Allow", "Action": ["glue:GetTable", "glue:GetPartitions", "glue:GetDatabase"],
     "Resource": ["arn:aws:glue:eu-west-1:123456789012:catalog",
                  "arn:aws:glue:eu-west-1:123456789012:database/analytics",
                  "arn:aws:glue:eu-west-1:123456789012:table/analytics/*"],
     "Condition": {"IpAddress": {"aws:SourceIp": "10.20.0.0/16"}}},
    {"Sid": "Home", "Effect": "Allow", "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::acme-lake/home/${aws:username}/*",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.20.0.0/16"}}},
    {"Sid": "DbSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
     "Resource": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:analytics/db-??????",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.20.0.0/16"}}},
    {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
    {"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
  ]
}`

func TestImportIAM(t *testing.T) {
	r, err := ImportIAM([]byte(analystPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if r.Statements != 8 || r.Imported != 6 {
		t.Fatalf("imported %d of %d", r.Imported, r.Statements)
	}
	pg := r.Playground
	if strings.Join(pg.Systems, ",") != "aws:athena,aws:glue,aws:s3,aws:secretsmanager" {
		t.Errorf("systems = %v", pg.Systems)
	}
	if strings.Join(pg.Networks, ",") != "10.20.0.0/16,203.0.113.7" {
		t.Errorf("networks = %v", pg.Networks)
	}
	home := pg.Statements[4]
	if home.Sid != "Home" || home.Resources[0] != "arn:aws:s3:::acme-lake/home/*/*" {
		t.Errorf("home = %+v", home)
	}
	if s := pg.Statements[5]; s.Resources[0] != "arn:aws:secretsmanager:eu-west-1:123456789012:secret:analytics/db*" {
		t.Errorf("secret = %+v", s)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{
		"ListLakeDocs: condition StringLike s3:prefix docs/* cannot be expressed; the statement is imported without it",
		"Query: condition StringEquals aws:PrincipalTag/team analytics kept as attribution",
		"Home: resource widened to \"arn:aws:s3:::acme-lake/home/*/*\": the policy variable ${aws:username} depends on the request",
		"DbSecret: resource widened",
		"NoDeletes: not imported: a Deny statement",
		"AllButIam: not imported: NotAction",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}

	// The YAML pastes into agents.yaml as it is, and means what the
	// policy allows.
	out, err := r.YAML("reporter", "analyst.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Made by agentwatch inventory import-iam from analyst.json: 6 of 8 statements imported.", "# - NoDeletes: not imported", "- id: reporter\n  playground:\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("YAML lacks %q:\n%s", want, out)
		}
	}
	inv, err := Parse("agents.yaml", append([]byte("agents:\n"), indent(out)...))
	if err != nil {
		t.Fatalf("pasted YAML does not load: %v\n%s", err, out)
	}
	p := &inv.Get("reporter").Playground
	for _, c := range []struct {
		action, resource string
		want             bool
	}{
		{"s3:GetObject", "arn:aws:s3:::acme-lake/docs/2026/q1.pdf", true},
		{"s3:GetObject", "arn:aws:s3:::acme-lake/finance/q1.pdf", false},
		{"s3:ListObjects", "arn:aws:s3:::acme-lake", true},
		{"glue:GetTable", "arn:aws:glue:eu-west-1:123456789012:table/analytics/events", true},
		{"athena:GetQueryResults", "arn:aws:athena:eu-west-1:123456789012:workgroup/primary", false},
		{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:analytics/db", true},
		{"s3:DeleteObject", "arn:aws:s3:::acme-lake/docs/a", false},
	} {
		if got := p.AllowsActionOn(c.action, c.resource); got != c.want {
			t.Errorf("%s on %s = %v, want %v", c.action, c.resource, got, c.want)
		}
	}
	if p.AllowsNetwork("192.0.2.1") || !p.AllowsNetwork("10.20.1.1") {
		t.Error("networks")
	}

	// Without --agent: the playground block alone.
	out, _ = r.YAML("", "analyst.json")
	if !strings.HasPrefix(strings.SplitN(string(out), "\nplayground:", 2)[1], "\n  systems:") {
		t.Errorf("block:\n%s", out)
	}
}

func indent(b []byte) []byte {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

func TestImportIAMShapesAndErrors(t *testing.T) {
	// A single statement object; the wrappers the AWS CLI prints.
	for name, doc := range map[string]string{
		"single":             `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}}`,
		"get-role-policy":    `{"RoleName":"r","PolicyName":"p","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}}`,
		"get-policy-version": `{"PolicyVersion":{"Document":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*"],"Resource":"*"}]},"VersionId":"v1"}}`,
	} {
		r, err := ImportIAM([]byte(doc))
		if err != nil || r.Imported != 1 || r.Playground.Statements[0].Actions[0] != "ec2:Describe*" {
			t.Errorf("%s: %+v, %v", name, r, err)
		}
	}
	// Some statements with a source address and some without: networks
	// would narrow the others, so they are left out.
	r, err := ImportIAM([]byte(`{"Statement":[
	  {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
	  {"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}`))
	if err != nil || len(r.Playground.Networks) != 0 || !strings.Contains(strings.Join(r.Notes, "\n"), "networks left out") {
		t.Errorf("partial networks: %+v %v", r, err)
	}
	// Patterns that can never match are named and left out.
	r, _ = ImportIAM([]byte(`{"Statement":[{"Sid":"Typo","Effect":"Allow","Action":["s3:GetObject","s4:GetObject"],"Resource":["arn:aws:s3:::b/*","arn:aws:s3:::/x"]}]}`))
	if notes := strings.Join(r.Notes, "\n"); !strings.Contains(notes, `Typo: action left out: "s4:GetObject"`) || !strings.Contains(notes, `Typo: resource left out: "arn:aws:s3:::/x"`) {
		t.Errorf("notes: %s", notes)
	}
	for doc, want := range map[string]string{
		"{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",, }\n  ]\n}": "line 3, column",
		`{"Version":"2012-10-17"}`:                                      "no Statement",
		`{"Statement":[{"Effect":"Allow","Action":7}]}`:                 "Statement",
	} {
		if _, err := ImportIAM([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", doc, err, want)
		}
	}
}

// FuzzImportIAM: any document either fails with an error or imports into
// YAML that loads as an inventory.
func FuzzImportIAM(f *testing.F) {
	f.Add([]byte(analystPolicy))
	f.Add([]byte(`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:userid}/*"}}`))
	f.Add([]byte(`{"PolicyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ImportIAM(data)
		if err != nil || r.Imported == 0 {
			return
		}
		out, err := r.YAML("fuzzed", "fuzz.json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("agents.yaml", append([]byte("agents:\n"), indent(out)...)); err != nil {
			t.Fatalf("imported YAML does not load: %v\n%s", err, out)
		}
	})
}
