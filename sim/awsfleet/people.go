package awsfleet

import (
	"math/rand/v2"
	"time"
)

// Person is an engineer who signs in through IAM Identity Center: their
// calls are an assumed SSO role session named after their e-mail address,
// from the console or the CLI, from home or the office.
type Person struct {
	Email         string
	PermissionSet string
	// Home is their home address; OfficeIP is everyone's office egress.
	Home string
	// Sessions is how many sessions they open on a busy working day.
	Sessions float64
	// Console is the share of their sessions in the console (the rest are
	// CLI or Terraform).
	Console float64
	// OnCall: also works at night now and then.
	OnCall bool
	// Calls is their usual mix of calls; each draws one call.
	Calls []personCall
	// Terraform: runs plan/apply twice a week.
	Terraform bool
}

// personCall is one thing a person does, with its weight in their mix.
type personCall struct {
	weight int
	do     func(g *gen, c *caller, t time.Time)
}

// OfficeIP is the office's egress address (documentation range).
const OfficeIP = "198.51.100.24"

const (
	browserUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	consoleUA = "AWS Internal"
	cliUA     = "aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off"
	tfUA      = "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.76.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.4 ua/2.0 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 m/C"
)

func call(w int, svc, name string, params func(r *rand.Rand) map[string]any) personCall {
	return personCall{w, func(g *gen, c *caller, t time.Time) {
		var p map[string]any
		if params != nil {
			p = params(c.r)
		}
		g.api(c, t, svc, name, p)
	}}
}

func denied(w int, svc, name, resource string, params map[string]any) personCall {
	return personCall{w, func(g *gen, c *caller, t time.Time) { g.apiDenied(c, t, svc, name, params, resource) }}
}

func anyRole(r *rand.Rand) map[string]any {
	return map[string]any{"roleName": accountRoles[r.IntN(len(accountRoles))]}
}
func anyFunction(r *rand.Rand) map[string]any {
	return map[string]any{"functionName": services[r.IntN(len(services))].name}
}
func noFilter(*rand.Rand) map[string]any { return map[string]any{"filterSet": map[string]any{}} }

var bucketCall = func(w int, name string) personCall {
	return personCall{w, func(g *gen, c *caller, t time.Time) {
		b := accountBuckets[c.r.IntN(len(accountBuckets))]
		r := g.s3Bucket(c, t, name, b, nil)
		if name == "GetBucketPolicy" && c.r.IntN(3) == 0 {
			fail(r, "NoSuchBucketPolicy", "The bucket policy does not exist")
		}
	}}
}

// people is the account's humans.
var people = []Person{
	{Email: "alice.nguyen@acme.example", PermissionSet: "PlatformAdmin", Home: "203.0.113.45", Sessions: 2.5, Console: 0.6, Terraform: true,
		Calls: []personCall{
			call(6, "ec2", "DescribeInstances", func(*rand.Rand) map[string]any {
				return map[string]any{"instancesSet": map[string]any{}, "filterSet": map[string]any{}}
			}),
			call(3, "ec2", "DescribeSecurityGroups", noFilter), call(2, "ec2", "DescribeVpcs", noFilter), call(2, "ec2", "DescribeSubnets", noFilter),
			call(3, "eks", "DescribeCluster", func(*rand.Rand) map[string]any { return map[string]any{"name": "agent-platform"} }),
			call(2, "eks", "ListNodegroups", func(*rand.Rand) map[string]any { return map[string]any{"clusterName": "agent-platform"} }),
			call(3, "iam", "GetRole", anyRole), call(2, "iam", "ListRoles", nil), call(2, "iam", "ListAttachedRolePolicies", anyRole),
			{3, func(g *gen, c *caller, t time.Time) {
				g.lambda(c, t, "GetFunction", services[c.r.IntN(len(services))].name)
			}},
			{2, func(g *gen, c *caller, t time.Time) { g.lambda(c, t, "ListFunctions", "") }},
			call(2, "s3", "ListBuckets", nil), bucketCall(2, "GetBucketPolicy"),
		}},
	{Email: "bob.martins@acme.example", PermissionSet: "DataEngineer", Home: "203.0.113.77", Sessions: 2, Console: 0.8,
		Calls: []personCall{
			{6, func(g *gen, c *caller, t time.Time) {
				table := lakeTables[c.r.IntN(len(lakeTables))].name
				g.athenaQuery(c, t, "data-eng", "lake", table, "SELECT * FROM lake."+table+" LIMIT 100",
					[][2]string{lakeFile(table, t.AddDate(0, 0, -1).Truncate(24*time.Hour), 0)}, "acme-athena-results", "data-eng/")
			}},
			call(3, "glue", "GetTables", func(*rand.Rand) map[string]any { return map[string]any{"catalogId": Account, "databaseName": "lake"} }),
			call(2, "glue", "GetDatabases", func(*rand.Rand) map[string]any { return map[string]any{"catalogId": Account} }),
			{3, func(g *gen, c *caller, t time.Time) {
				g.s3List(c, t, "acme-analytics-lake", "raw/"+lakeTables[c.r.IntN(len(lakeTables))].name+"/", 100, "")
			}},
			call(1, "s3", "ListBuckets", nil),
			call(1, "glue", "GetJobRuns", func(*rand.Rand) map[string]any { return map[string]any{"jobName": "clickstream-ingest"} }),
		}},
	{Email: "carol.diaz@acme.example", PermissionSet: "SecurityAudit", Home: "203.0.113.102", Sessions: 2, Console: 0.7,
		Calls: []personCall{
			call(3, "guardduty", "ListFindings", func(*rand.Rand) map[string]any { return map[string]any{"detectorId": guardDutyDetector} }),
			call(2, "guardduty", "GetFindings", func(r *rand.Rand) map[string]any {
				return map[string]any{"detectorId": guardDutyDetector, "findingIds": []string{randString(r, lowerHex, 32)}}
			}),
			call(3, "securityhub", "GetFindings", func(*rand.Rand) map[string]any { return map[string]any{"maxResults": 100} }),
			call(3, "cloudtrail", "LookupEvents", func(*rand.Rand) map[string]any { return map[string]any{"maxResults": 50} }),
			call(1, "cloudtrail", "DescribeTrails", nil),
			call(3, "iam", "GetRole", anyRole), call(2, "iam", "GetAccountAuthorizationDetails", nil), call(1, "iam", "GenerateCredentialReport", nil),
			call(1, "access-analyzer", "ListAnalyzers", nil),
			denied(1, "secretsmanager", "GetSecretValue", secretARN(HomeRegion, "prod/support-assistant/zendesk-api-token"),
				map[string]any{"secretId": "prod/support-assistant/zendesk-api-token"}),
			bucketCall(2, "GetBucketPolicy"), bucketCall(1, "GetBucketAcl"),
		}},
	{Email: "dan.okafor@acme.example", PermissionSet: "SREOnCall", Home: "203.0.113.188", Sessions: 3, Console: 0.5, OnCall: true,
		Calls: []personCall{
			call(5, "monitoring", "DescribeAlarms", func(*rand.Rand) map[string]any { return map[string]any{"maxRecords": 100} }),
			call(2, "monitoring", "GetDashboard", func(*rand.Rand) map[string]any { return map[string]any{"dashboardName": "agent-platform"} }),
			call(3, "logs", "DescribeLogGroups", nil),
			call(3, "logs", "StartQuery", func(r *rand.Rand) map[string]any {
				return map[string]any{"logGroupName": logGroup(services[r.IntN(len(services))].name), "queryString": "fields @message | limit 100"}
			}),
			call(3, "ec2", "DescribeInstances", func(*rand.Rand) map[string]any {
				return map[string]any{"instancesSet": map[string]any{}, "filterSet": map[string]any{}}
			}),
			call(2, "ssm", "DescribeInstanceInformation", nil),
			call(1, "ssm", "StartSession", func(r *rand.Rand) map[string]any {
				return map[string]any{"target": "i-0" + randString(r, lowerHex, 16)}
			}),
			call(2, "eks", "DescribeCluster", func(*rand.Rand) map[string]any { return map[string]any{"name": "agent-platform"} }),
		}},
	{Email: "erin.kowalski@acme.example", PermissionSet: "FinanceAnalyst", Home: "203.0.113.9", Sessions: 1.2, Console: 1,
		Calls: []personCall{
			call(5, "ce", "GetCostAndUsage", func(*rand.Rand) map[string]any {
				return map[string]any{"granularity": "DAILY", "metrics": []string{"UnblendedCost"}}
			}),
			call(2, "ce", "GetDimensionValues", func(*rand.Rand) map[string]any { return map[string]any{"dimension": "SERVICE"} }),
			call(1, "ce", "GetCostForecast", func(*rand.Rand) map[string]any { return map[string]any{"metric": "UNBLENDED_COST"} }),
			call(2, "budgets", "DescribeBudgets", func(*rand.Rand) map[string]any { return map[string]any{"accountId": Account} }),
		}},
	{Email: "frank.weber@acme.example", PermissionSet: "Developer", Home: "203.0.113.151", Sessions: 2, Console: 0.5,
		Calls: []personCall{
			call(4, "lambda", lambdaNames["GetFunction"], anyFunction),
			call(2, "lambda", lambdaNames["GetFunctionConfiguration"], anyFunction),
			call(2, "lambda", lambdaNames["ListFunctions"], nil),
			call(3, "logs", "StartQuery", func(r *rand.Rand) map[string]any {
				return map[string]any{"logGroupName": "/aws/lambda/" + services[r.IntN(len(services))].name, "queryString": "fields @message"}
			}),
			{2, func(g *gen, c *caller, t time.Time) {
				g.s3List(c, t, "acme-build-artifacts", "builds/"+services[c.r.IntN(len(services))].name+"/", 200, "")
			}},
			{2, func(g *gen, c *caller, t time.Time) {
				g.ecrCall(c, t, "DescribeImages", services[c.r.IntN(len(services))].name)
			}},
			denied(1, "iam", "ListRoles", "arn:aws:iam::"+Account+":role/", nil),
			denied(1, "secretsmanager", "ListSecrets", "*", map[string]any{"maxResults": 100}),
		}},
}

// consoleExtras are calls console pages make on their own, which a
// restricted permission set is refused: the usual background of
// AccessDenied in a real account.
var consoleExtras = []struct{ svc, name, resource string }{
	{"organizations", "DescribeOrganization", "*"},
	{"iam", "ListAccountAliases", "*"},
	{"health", "DescribeEventAggregates", "*"},
	{"ce", "GetCostAndUsage", "arn:aws:ce:us-east-1:" + Account + ":/GetCostAndUsage"},
	{"servicequotas", "ListServiceQuotas", "*"},
	{"notifications", "ListNotificationHubs", "*"},
	{"iam", "GetAccountSummary", "*"},
}

// ssoRole is a permission set's role in the account.
func ssoRole(set string) string {
	return "AWSReservedSSO_" + set + "_" + stableString(lowerHex, 16, "sso", set)
}

// personRun is one person during a generation.
type personRun struct {
	p *Person
	r *rand.Rand
	n int
}

func (pr *personRun) hour(g *gen, hs time.Time) {
	p := pr.p
	rate := p.Sessions / 7 * office.at(hs)
	if p.OnCall && !isWeekendLocal(hs) && office.at(hs) < 0.1 {
		rate += 0.03 // paged at night
	}
	if p.Terraform && (hs.Weekday() == time.Tuesday || hs.Weekday() == time.Thursday) && hs.Hour() == 19 && holidayFactor(hs) > 0.5 {
		pr.terraform(g, at(pr.r, hs))
	}
	for range poisson(pr.r, rate) {
		pr.session(g, at(pr.r, hs))
	}
}

// newSession is a fresh SSO session for the person.
func (pr *personRun) newSession(t time.Time) *session {
	pr.n++
	role := ssoRole(pr.p.PermissionSet)
	return &session{roleName: role, roleID: roleID(role), name: pr.p.Email, key: "ASIA" + randString(pr.r, upperAlnum, 16),
		created: t, duration: 8 * time.Hour}
}

func (pr *personRun) session(g *gen, t time.Time) {
	p := pr.p
	s := pr.newSession(t)
	ip := p.Home
	if !isWeekendLocal(t) && office.at(t) > 0.5 && pr.r.IntN(2) == 0 {
		ip = OfficeIP
	}
	c := &caller{id: s.identity(), ip: ip, ua: cliUA, r: pr.r, region: HomeRegion}
	if pr.r.Float64() < p.Console {
		c.ua, c.console = consoleUA, true
		login := *c
		login.ua, login.console = browserUA, false
		id := login.id
		id.AccessKeyID = ""
		login.id = id
		r := g.rec(&login, t, "signin", "ConsoleLogin")
		r.ReadOnly, r.EventType = false, "AwsConsoleSignIn"
		r.ResponseElements = map[string]any{"ConsoleLogin": "Success"}
		r.AdditionalEventData = map[string]any{"MobileVersion": "No", "MFAUsed": "No"}
		g.emit(&login, r)
	} else if pr.r.IntN(3) == 0 {
		g.callerIdentity(c, t)
	}
	total := 0
	for _, pc := range p.Calls {
		total += pc.weight
	}
	for range 8 + pr.r.IntN(45) {
		t = after(pr.r, t, 2000, 45_000)
		if c.console && pr.r.IntN(12) == 0 {
			// Console pages ask for more than a permission set allows.
			x := consoleExtras[pr.r.IntN(len(consoleExtras))]
			g.apiDenied(c, after(pr.r, t, 100, 900), x.svc, x.name, nil, x.resource)
		}
		k := pr.r.IntN(total)
		for _, pc := range p.Calls {
			if k < pc.weight {
				pc.do(g, c, t)
				break
			}
			k -= pc.weight
		}
	}
}

// terraform is a plan (and now and then an apply) of the platform stack
// from the office: many reads, a few writes.
func (pr *personRun) terraform(g *gen, t time.Time) {
	s := pr.newSession(t)
	c := &caller{id: s.identity(), ip: OfficeIP, ua: tfUA, r: pr.r, region: HomeRegion}
	g.callerIdentity(c, t)
	reads := []func(t time.Time){
		func(t time.Time) { g.iam(c, t, "GetRole", anyRole(pr.r)) },
		func(t time.Time) { g.iam(c, t, "ListRolePolicies", anyRole(pr.r)) },
		func(t time.Time) { g.iam(c, t, "ListAttachedRolePolicies", anyRole(pr.r)) },
		func(t time.Time) {
			g.iam(c, t, "GetPolicyVersion", map[string]any{"policyArn": arnGlobal("iam", "policy/agent-platform"), "versionId": "v7"})
		},
		func(t time.Time) { g.ec2Describe(c, t, "DescribeSecurityGroups", false) },
		func(t time.Time) { g.ec2Describe(c, t, "DescribeSubnets", false) },
		func(t time.Time) { g.ec2Describe(c, t, "DescribeVpcs", false) },
		func(t time.Time) { g.lambda(c, t, "GetFunction", services[pr.r.IntN(len(services))].name) },
		func(t time.Time) {
			g.s3Bucket(c, t, "GetBucketPolicy", accountBuckets[pr.r.IntN(len(accountBuckets))], nil)
		},
		func(t time.Time) {
			g.s3Bucket(c, t, "GetBucketVersioning", accountBuckets[pr.r.IntN(len(accountBuckets))], nil)
		},
		func(t time.Time) { g.ecrCall(c, t, "DescribeImages", services[pr.r.IntN(len(services))].name) },
	}
	g.s3Object(c, after(pr.r, t, 500, 1500), "GetObject", "acme-terraform-state", "platform/terraform.tfstate", 2_400_000, "")
	for range 120 + pr.r.IntN(80) {
		t = after(pr.r, t, 30, 400)
		reads[pr.r.IntN(len(reads))](t)
	}
	if pr.r.IntN(3) == 0 {
		t = after(pr.r, t, 30_000, 120_000)
		g.iam(c, t, "PutRolePolicy", map[string]any{"roleName": "svc-" + services[pr.r.IntN(len(services))].name, "policyName": "inline"})
		g.api(c, after(pr.r, t, 500, 3000), "ec2", "AuthorizeSecurityGroupIngress", map[string]any{"groupId": "sg-0" + randString(pr.r, lowerHex, 16)})
		g.s3Object(c, after(pr.r, t, 5000, 9000), "PutObject", "acme-terraform-state", "platform/terraform.tfstate", 2_400_000, "")
	}
}

// world is everything in the account that is not an agent: people, the
// platform's nodes, AWS services acting for themselves.
type world struct {
	f        *Fleet
	people   []*personRun
	r        *rand.Rand
	launched map[string]bool // nodes whose launch is logged
}

func newWorld(f *Fleet) *world {
	w := &world{f: f, r: rngFor(f.cfg.Seed, "world"), launched: map[string]bool{}}
	for i := range people {
		w.people = append(w.people, &personRun{p: &people[i], r: rngFor(f.cfg.Seed, "person", people[i].Email)})
	}
	return w
}

func (w *world) hour(g *gen, hs time.Time) {
	for _, pr := range w.people {
		pr.hour(g, hs)
	}
	for _, region := range []string{HomeRegion, EURegion} {
		for _, n := range w.f.nodesAt(region, hs) {
			w.node(g, region, n, hs)
		}
	}
	w.config(g, hs)
	if hs.Hour() == 2 {
		w.accessAnalyzer(g, hs)
	}
}

// node: EC2 renews the instance profile credentials hourly
// (ec2.amazonaws.com calls AssumeRole), and Auto Scaling launches a node
// the first time it is seen.
func (w *world) node(g *gen, region string, n *node, hs time.Time) {
	if !w.launched[n.id] && !n.from.Before(w.f.start) {
		w.launched[n.id] = true
		as := &session{roleName: "AWSServiceRoleForAutoScaling", roleID: roleID("AWSServiceRoleForAutoScaling"), name: "AutoScaling",
			key: "ASIA" + randString(w.r, upperAlnum, 16), created: n.from.Add(-time.Hour), duration: time.Hour}
		c := &caller{id: as.identity(), ip: "autoscaling.amazonaws.com", ua: "autoscaling.amazonaws.com", r: w.r, region: region, label: n.label}
		c.id.InvokedBy = "autoscaling.amazonaws.com"
		r := g.api(c, n.from.Add(-90*time.Second), "ec2", "RunInstances", map[string]any{
			"instancesSet": map[string]any{"items": []map[string]any{{"imageId": "ami-0" + randString(w.r, lowerHex, 16), "minCount": 1, "maxCount": 1}}},
			"instanceType": "m7i.2xlarge", "iamInstanceProfile": map[string]any{"name": PlatformNodeRole}})
		r.ResponseElements = map[string]any{"instancesSet": map[string]any{"items": []map[string]any{{"instanceId": n.id}}}}
	}
	for k := int64(0); ; k++ {
		t := n.from.Add(time.Duration(k) * time.Hour)
		if !t.Before(hs.Add(time.Hour)) || !t.Before(n.until) {
			break
		}
		if t.Before(hs) || t.Before(w.f.start) {
			continue
		}
		s := w.f.nodeSession(n, t)
		c := serviceCaller("ec2.amazonaws.com", region, w.r)
		c.label = n.label
		g.assumeRole(c, t.Add(-time.Duration(10+w.r.IntN(50))*time.Second), s, nil)
	}
}

// config is AWS Config's recorder describing resources: a few calls an
// hour as things change, and the daily snapshot just after midnight.
func (w *world) config(g *gen, hs time.Time) {
	n := poisson(w.r, 2.5*w.f.cfg.Scale)
	if hs.Hour() == 0 {
		n += int(40 * w.f.cfg.Scale)
	}
	if n == 0 {
		return
	}
	s := &session{roleName: "AWSServiceRoleForConfig", roleID: roleID("AWSServiceRoleForConfig"), name: "AWSConfig-Describe",
		key: sessionKey(w.f.cfg.Seed, "config", itoa(hs.Unix())), created: hs, duration: time.Hour}
	c := &caller{id: s.identity(), ip: "config.amazonaws.com", ua: "config.amazonaws.com", r: w.r, region: HomeRegion}
	c.id.InvokedBy = "config.amazonaws.com"
	ops := []func(t time.Time){
		func(t time.Time) { g.ec2Describe(c, t, "DescribeInstances", false) },
		func(t time.Time) { g.ec2Describe(c, t, "DescribeSecurityGroups", false) },
		func(t time.Time) { g.ec2Describe(c, t, "DescribeNetworkInterfaces", false) },
		func(t time.Time) { g.ec2Describe(c, t, "DescribeVolumes", false) },
		func(t time.Time) { g.iam(c, t, "GetRole", anyRole(w.r)) },
		func(t time.Time) { g.iam(c, t, "ListAttachedRolePolicies", anyRole(w.r)) },
		func(t time.Time) {
			g.s3Bucket(c, t, "GetBucketAcl", accountBuckets[w.r.IntN(len(accountBuckets))], map[string]any{"acl": ""})
		},
		func(t time.Time) { g.lambda(c, t, "GetFunction", services[w.r.IntN(len(services))].name) },
	}
	for range n {
		ops[w.r.IntN(len(ops))](at(w.r, hs))
	}
}

// accessAnalyzer is IAM Access Analyzer's daily scan of policies.
func (w *world) accessAnalyzer(g *gen, hs time.Time) {
	s := &session{roleName: "AWSServiceRoleForAccessAnalyzer", roleID: roleID("AWSServiceRoleForAccessAnalyzer"), name: "access-analyzer",
		key: sessionKey(w.f.cfg.Seed, "aa", itoa(hs.Unix())), created: hs, duration: time.Hour}
	c := &caller{id: s.identity(), ip: "access-analyzer.amazonaws.com", ua: "access-analyzer.amazonaws.com", r: w.r, region: HomeRegion}
	c.id.InvokedBy = "access-analyzer.amazonaws.com"
	t := hs.Add(time.Duration(w.r.IntN(1200)) * time.Second)
	g.iam(c, t, "ListRoles", nil)
	for _, role := range accountRoles {
		t = after(w.r, t, 100, 600)
		g.iam(c, t, "GetRole", map[string]any{"roleName": role})
	}
	for _, b := range accountBuckets {
		t = after(w.r, t, 100, 600)
		r := g.s3Bucket(c, t, "GetBucketPolicy", b, map[string]any{"policy": ""})
		if w.r.IntN(3) == 0 {
			fail(r, "NoSuchBucketPolicy", "The bucket policy does not exist")
		}
	}
	g.api(c, after(w.r, t, 100, 600), "kms", "GetKeyPolicy", map[string]any{"keyId": kmsKey(HomeRegion, "secrets"), "policyName": "default"})
}
