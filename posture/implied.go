package posture

import (
	"strings"

	"github.com/agentwatch/agentwatch/internal/awsiam"
	"github.com/agentwatch/agentwatch/internal/inventory"
)

// What IAM checks besides the resource an audit record names. Some calls
// are authorised against more than one resource: removing the others
// from the policy, because no record named them, would break the call.
// Each entry below marks, for a call inside a statement, the statement's
// resources IAM also checked as used.

// alsoAuthorised reports whether IAM, authorising action on resource
// (the ARN the record names), also checks a resource that the declared
// pattern covers.
func alsoAuthorised(action, resource, pattern string) bool {
	if !strings.HasPrefix(pattern, "arn:") {
		return false
	}
	svc, _, _ := strings.Cut(action, ":")
	switch strings.ToLower(svc) {
	case "glue":
		// Data Catalog calls on a table are checked against the catalog,
		// the database and the table; calls on a database against the
		// catalog and the database.
		return glueParents(resource, pattern)
	case "bedrock":
		// A call through a cross-region inference profile is checked
		// against the profile and the foundation model in each region
		// the profile routes to.
		return bedrockModel(resource, pattern)
	case "ssm":
		// SendCommand and StartSession are checked against the instance
		// and the SSM document, which the record does not name.
		name := strings.ToLower(action[len(svc)+1:])
		p, ok := awsiam.Parse(pattern)
		return (name == "sendcommand" || name == "startsession") && ok && p.Service == "ssm" &&
			strings.HasPrefix(p.Resource, "document/")
	}
	return false
}

// glueParents: resource is a Glue table or database ARN and pattern
// covers its catalog or database.
func glueParents(resource, pattern string) bool {
	r, ok := awsiam.Parse(resource)
	if !ok || r.Service != "glue" || arnService(pattern) != "glue" {
		return false
	}
	head := resource[:len(resource)-len(r.Resource)] // arn:aws:glue:REGION:ACCOUNT:
	kind, rest, _ := strings.Cut(r.Resource, "/")
	var parents []string
	switch kind {
	case "table", "userDefinedFunction":
		db, _, _ := strings.Cut(rest, "/")
		parents = []string{head + "catalog", head + "database/" + db}
	case "database":
		parents = []string{head + "catalog"}
	}
	for _, p := range parents {
		if inventory.MatchResource(pattern, p) {
			return true
		}
	}
	return false
}

// bedrockModel: resource is a system-defined inference profile
// ("us.anthropic.claude-sonnet-4-...") and pattern covers its model in
// some region (the pattern's own region stands for the regions the
// profile routes to).
func bedrockModel(resource, pattern string) bool {
	r, ok := awsiam.Parse(resource)
	if !ok || r.Service != "bedrock" || arnService(pattern) != "bedrock" {
		return false
	}
	profile, ok := strings.CutPrefix(r.Resource, "inference-profile/")
	if !ok {
		return false
	}
	_, model, ok := strings.Cut(profile, ".") // "us." "eu." "apac." "global."
	if !ok {
		return false
	}
	p, ok := awsiam.Parse(pattern)
	if !ok || !strings.HasPrefix(p.Resource, "foundation-model/") {
		return false
	}
	return inventory.MatchResource(pattern, "arn:"+p.Partition+":bedrock:"+p.Region+"::foundation-model/"+model)
}

// arnService is the service part of an ARN ("s3" in arn:aws:s3:::b/k),
// also of a declared pattern with fewer than six parts ("arn:aws:glue:*"),
// which awsiam.Parse does not take.
func arnService(arn string) string {
	parts := strings.SplitN(arn, ":", 4)
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}

// permissionOnly are actions IAM checks that no audit record names:
// iam:PassRole is checked when a call hands a role to a service (a
// Lambda deploy, an ECS task), inside that call's record. No record can
// show them used, so they are never called unused.
var permissionOnly = map[string]bool{"iam:passrole": true}
