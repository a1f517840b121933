package awsfleet

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Attack is one attack in the test week, in the style of a Stratus Red
// Team technique, carried out through an agent: a prompt-injected agent
// acting with its own identity, or its credentials stolen and used from
// elsewhere. Every record it causes is labelled with its id.
type Attack struct {
	ID string
	// Stratus is the Stratus Red Team technique it follows.
	Stratus string
	// Technique is the MITRE ATT&CK technique.
	Technique string
	// Agent is the agent through which it happens.
	Agent string
	// At is when it starts, from the test week's Monday 00:00 UTC.
	At          time.Duration
	Title       string
	Description string
	run         func(g *gen, x *attackCtx)
}

// attackCtx is what an attack script works with.
type attackCtx struct {
	f     *Fleet
	a     *agentRun
	runs  []*agentRun
	t     time.Time
	r     *rand.Rand
	label Label
}

func (f *Fleet) attackCtx(at *Attack, runs []*agentRun, t time.Time) *attackCtx {
	x := &attackCtx{f: f, runs: runs, t: t, r: rngFor(f.cfg.Seed, "attack", at.ID), label: Label{Kind: LabelAttack, ID: at.ID}}
	for _, a := range runs {
		if a.spec.ID == at.Agent {
			x.a = a
		}
	}
	return x
}

// inside is the agent's own instance acting at t (a prompt-injected or
// compromised agent): its identity, address and client.
func (x *attackCtx) inside(t time.Time) *caller {
	in := x.a.pick(t)
	c := x.a.caller(in, t)
	c.r, c.label = x.r, x.label
	return c
}

// stolen is an instance's session used from ip with client ua. The thief
// takes the session the instance renews next after t (fresh credentials
// last longest) and starts using it at the returned time.
func (x *attackCtx) stolen(t time.Time, ip, ua string) (*caller, time.Time) {
	in := x.a.pick(t)
	k := int64(t.Sub(in.from)/in.every) + 1
	start := in.from.Add(time.Duration(k)*in.every + time.Duration(30+x.r.IntN(90))*time.Second)
	c := x.a.caller(in, start)
	c.r, c.label = x.r, x.label
	c.ip, c.privIP, c.vpce, c.ua = ip, "", nil, ua
	return c, start
}

// step advances t by lo..hi milliseconds.
func (x *attackCtx) step(t time.Time, lo, hi int) time.Time { return after(x.r, t, lo, hi) }

// Attacker addresses and clients: networks and tools the fleet never uses.
const (
	torExit   = "185.220.101.34"
	vpsAddr   = "45.142.120.87"
	vpsAddr2  = "5.188.62.140"
	attackCLI = "aws-cli/2.17.4 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off"
	attackPy  = "Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/windows#10 md/arch#amd64 lang/python#3.11.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.11"
)

// attacks is the test week's attacks.
var attacks = []Attack{
	{ID: "A1-secrets-retrieve", Stratus: "aws.credential-access.secretsmanager-retrieve-secrets", Technique: "T1555.006", Agent: "code-review-bot",
		At: day(1, 15, 42), Title: "secrets harvested by a prompt-injected review bot",
		Description: "a malicious pull request makes the review bot list Secrets Manager and read every secret it can name",
		run: func(g *gen, x *attackCtx) {
			t := x.t
			c := x.inside(t)
			for range 2 {
				t = x.step(t, 400, 1500)
				g.apiDenied(c, t, "secretsmanager", "ListSecrets", map[string]any{"maxResults": 100}, "*")
			}
			names := []string{"prod/devex/github-app-private-key", "prod/devex/github-app-webhook-secret", "prod/devex/sonar-token", "prod/devex/npm-publish-token",
				"prod/support-assistant/zendesk-api-token", "prod/finops/slack-webhook", "prod/invoice-processor/erp-api-key", "prod/payments/stripe-live-key",
				"prod/payments/adyen-api-key", "prod/db/orders-admin", "prod/db/payments-admin", "prod/auth/jwt-signing-key", "prod/auth/okta-api-token",
				"prod/notifier/twilio-auth-token", "prod/notifier/sendgrid-api-key", "prod/search/opensearch-master", "staging/db/orders-admin",
				"prod/ci/docker-hub-token", "prod/ci/github-deploy-key", "prod/analytics/snowflake-service"}
			for _, n := range names {
				t = x.step(t, 300, 2500)
				g.secretValue(c, t, n, len(n) > 22 && n[:22] == "prod/devex/github-app-")
			}
		}},
	{ID: "A2-cloudtrail-stop", Stratus: "aws.defense-evasion.cloudtrail-stop", Technique: "T1562.008", Agent: "ops-remediator",
		At: day(2, 8, 17), Title: "trail stopped by the ops agent at night",
		Description: "a poisoned runbook makes the ops agent stop the organisation trail (its cloudtrail:*Logging wildcard allows it)",
		run: func(g *gen, x *attackCtx) {
			t := x.t
			c := x.inside(t)
			trail := "arn:aws:cloudtrail:" + HomeRegion + ":" + Account + ":trail/" + TrailName
			g.api(c, t, "cloudtrail", "DescribeTrails", map[string]any{"includeShadowTrails": true})
			g.api(c, x.step(t, 800, 2000), "cloudtrail", "GetTrailStatus", map[string]any{"name": trail})
			g.api(c, x.step(t, 3000, 6000), "cloudtrail", "StopLogging", map[string]any{"name": trail})
		}},
	{ID: "A3-ec2-enumerate", Stratus: "aws.discovery.ec2-enumerate-from-instance", Technique: "T1580", Agent: "invoice-processor",
		At: day(2, 14, 5), Title: "EC2 enumeration from a compromised pod",
		Description: "a malicious PDF gets code running in an invoice pod; the attacker enumerates EC2 with the AWS CLI and the pod's credentials",
		run: func(g *gen, x *attackCtx) {
			t := x.t
			c := x.inside(t)
			c.ua = attackCLI + " command/sts.get-caller-identity"
			g.callerIdentity(c, t)
			for _, op := range []string{"DescribeInstances", "DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "DescribeVolumes",
				"DescribeSnapshots", "DescribeImages", "DescribeKeyPairs", "DescribeNetworkInterfaces", "DescribeRouteTables", "DescribeInstanceTypes",
				"DescribeAddresses", "DescribeLaunchTemplates", "DescribeNatGateways", "DescribeVpcEndpoints"} {
				for _, region := range []string{EURegion, HomeRegion} {
					t = x.step(t, 200, 1500)
					cc := *c
					cc.region = region
					cc.ua = attackCLI + " command/ec2." + op
					g.ec2Describe(&cc, t, op, true)
				}
			}
		}},
	{ID: "A4-s3-backdoor-policy", Stratus: "aws.exfiltration.s3-backdoor-bucket-policy", Technique: "T1537", Agent: "data-analyst",
		At: day(3, 3, 48), Title: "lake bucket shared with an outside account",
		Description: "an analyst's question, planted in a dashboard, makes the data agent add a bucket policy granting an external account read access",
		run: func(g *gen, x *attackCtx) {
			t := x.t
			c := x.inside(t)
			r := g.s3Bucket(c, t, "GetBucketPolicy", "acme-analytics-lake", map[string]any{"policy": ""})
			fail(r, "NoSuchBucketPolicy", "The bucket policy does not exist")
			pol, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{"Effect": "Allow",
				"Principal": map[string]any{"AWS": "arn:aws:iam::" + ExternalAccount + ":root"}, "Action": []string{"s3:GetObject", "s3:ListBucket"},
				"Resource": []string{"arn:aws:s3:::acme-analytics-lake", "arn:aws:s3:::acme-analytics-lake/*"}}}})
			g.s3Bucket(c, x.step(t, 2000, 5000), "PutBucketPolicy", "acme-analytics-lake", map[string]any{"policy": string(pol)})
		}},
	{ID: "A5-bulk-download-new-network", Stratus: "aws.credential-access.ec2-steal-instance-credentials", Technique: "T1530", Agent: "support-assistant",
		At: day(4, 6, 30), Title: "support attachments downloaded with a stolen session",
		Description: "a pod's session credentials, leaked through an SSRF, are used from a VPS with the AWS CLI to sync the ticket attachments bucket",
		run: func(g *gen, x *attackCtx) {
			c, t := x.stolen(x.t, vpsAddr, attackCLI+" command/s3.sync")
			g.callerIdentity(c, t)
			t = x.step(t, 5000, 20_000)
			ticket := 4_700_000
			for range 4 {
				g.s3List(c, t, "acme-support-attachments", "tickets/", 1000, "")
				for range 300 {
					t = x.step(t, 300, 2200)
					ticket += 1 + x.r.IntN(40)
					ext := []string{"png", "pdf", "jpg", "log", "txt"}[x.r.IntN(5)]
					g.s3Object(c, t, "GetObject", "acme-support-attachments", fmt.Sprintf("tickets/%d/%s.%s", ticket, newUUID(x.r), ext),
						int64(200_000+x.r.IntN(4_000_000)), "")
				}
			}
		}},
	{ID: "A6-iam-admin-user", Stratus: "aws.persistence.iam-create-admin-user", Technique: "T1136.003", Agent: "ci-deployer",
		At: day(5, 16, 20), Title: "admin user created from a CI runner",
		Description: "a poisoned build step uses the runner's role to create an IAM user with AdministratorAccess and an access key, then uses the key from a Tor exit",
		run: func(g *gen, x *attackCtx) {
			t := x.t
			c := x.inside(t)
			c.ua = attackCLI + " command/iam.create-user"
			user := "svc-backup-sync"
			g.iam(c, t, "CreateUser", map[string]any{"userName": user, "tags": []map[string]any{{"key": "owner", "value": "platform"}}})
			t = x.step(t, 1000, 3000)
			g.iam(c, t, "AttachUserPolicy", map[string]any{"userName": user, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
			t = x.step(t, 1000, 3000)
			key := "AKIA" + randString(x.r, upperAlnum, 16)
			r := g.iam(c, t, "CreateAccessKey", map[string]any{"userName": user})
			r.ResponseElements = map[string]any{"accessKey": map[string]any{"accessKeyId": key, "status": "Active", "userName": user,
				"createDate": expirationStamp(t)}}
			// Twenty minutes later, from elsewhere, with the new key.
			uid := "AIDA" + stableString(upperAlnum, 17, "user", user)
			u := &caller{id: Identity{Type: "IAMUser", PrincipalID: uid, ARN: "arn:aws:iam::" + Account + ":user/" + user, AccountID: Account,
				AccessKeyID: key, UserName: user}, ip: torExit, ua: attackCLI, r: x.r, region: HomeRegion, label: x.label}
			t = t.Add(time.Duration(18+x.r.IntN(5)) * time.Minute)
			g.callerIdentity(u, t)
			g.s3Bucket(u, x.step(t, 2000, 5000), "ListBuckets", "", nil)
			t = x.step(t, 5000, 9000)
			g.iam(u, t, "ListUsers", nil)
			g.iam(u, x.step(t, 1000, 3000), "ListRoles", nil)
			for _, op := range []string{"DescribeInstances", "DescribeSecurityGroups", "DescribeSnapshots"} {
				t = x.step(t, 1000, 4000)
				g.ec2Describe(u, t, op, false)
			}
			g.api(u, x.step(t, 1000, 4000), "secretsmanager", "ListSecrets", map[string]any{"maxResults": 100})
		}},
	{ID: "A7-role-trust-backdoor", Stratus: "aws.persistence.iam-backdoor-role", Technique: "T1098.003", Agent: "security-triage",
		At: day(5, 23, 5), Title: "agent role trust opened to an outside account",
		Description: "the security agent, fed a forged finding, rewrites the finops agent's role trust to an external account, which then assumes the role and reads cost data",
		run: func(g *gen, x *attackCtx) {
			t := x.t
			c := x.inside(t)
			target := "agent-finops-reporter"
			g.iam(c, t, "GetRole", map[string]any{"roleName": target})
			doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{
				{"Effect": "Allow", "Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"},
				{"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + ExternalAccount + ":root"}, "Action": "sts:AssumeRole"}}})
			g.iam(c, x.step(t, 1500, 4000), "UpdateAssumeRolePolicy", map[string]any{"roleName": target, "policyDocument": string(doc)})
			// The outside account uses the backdoor.
			t = t.Add(time.Duration(20+x.r.IntN(10)) * time.Minute)
			ext := &caller{id: Identity{Type: "AWSAccount", PrincipalID: "AIDA" + randString(x.r, upperAlnum, 17), AccountID: ExternalAccount},
				ip: vpsAddr2, ua: attackCLI + " command/sts.assume-role", r: x.r, region: HomeRegion, label: x.label}
			s := &session{roleName: target, roleID: roleID(target), name: fmt.Sprintf("botocore-session-%d", t.Unix()),
				key: "ASIA" + randString(x.r, upperAlnum, 16), created: t, duration: time.Hour}
			g.assumeRole(ext, t, s, nil)
			u := &caller{id: s.identity(), ip: vpsAddr2, ua: attackCLI, r: x.r, region: HomeRegion, label: x.label}
			t = x.step(t, 3000, 8000)
			g.callerIdentity(u, t)
			g.s3Bucket(u, x.step(t, 2000, 4000), "ListBuckets", "", nil)
			t = x.step(t, 4000, 8000)
			g.api(u, t, "ce", "GetCostAndUsage", map[string]any{"granularity": "MONTHLY", "metrics": []string{"UnblendedCost"}})
			g.s3List(u, x.step(t, 2000, 4000), "acme-cur-reports", "cur/", 1000, "")
			for range 30 {
				t = x.step(t, 500, 3000)
				g.s3Object(u, t, "GetObject", "acme-cur-reports", curFile("2025-11", x.r.IntN(60))[1], int64(20_000_000+x.r.IntN(80_000_000)), "")
			}
		}},
	{ID: "A8-lambda-credentials-stolen", Stratus: "aws.credential-access.ec2-steal-instance-credentials", Technique: "T1078.004", Agent: "doc-indexer",
		At: day(3, 21, 10), Title: "Lambda credentials used from a new network and client",
		Description: "the indexer's environment variables (its session credentials) leak through a debug endpoint; the session is used from a VPS with a Windows boto3 script",
		run: func(g *gen, x *attackCtx) {
			c, t := x.stolen(x.t, vpsAddr2, attackPy)
			g.callerIdentity(c, t)
			t = x.step(t, 3000, 9000)
			deny(g.s3Bucket(c, t, "ListBuckets", "", nil), "*")
			g.apiDenied(c, x.step(t, 1000, 2000), "lambda", lambdaNames["ListFunctions"], nil, "*")
			g.apiDenied(c, x.step(t, 2000, 4000), "iam", "ListRoles", nil, "arn:aws:iam::"+Account+":role/")
			t = x.step(t, 5000, 15_000)
			for _, sp := range []string{"HR", "LEGAL", "FIN", "SEC"} {
				g.s3List(c, t, "acme-docs", "confluence/"+sp+"/", 400, "")
				for range 50 {
					t = x.step(t, 200, 1500)
					var pages int
					for _, d := range docSpaces {
						if d.key == sp {
							pages = d.pages
						}
					}
					g.s3Object(c, t, "GetObject", "acme-docs", docKey(sp, x.r.IntN(pages)), int64(8_000+x.r.IntN(200_000)), "")
				}
			}
		}},
	{ID: "A9-ssm-parameters", Stratus: "aws.credential-access.ssm-retrieve-securestring-parameters", Technique: "T1552", Agent: "support-assistant",
		At: day(6, 15, 40), Title: "SecureString parameters read by a prompt-injected support bot",
		Description: "a customer ticket carrying a prompt injection makes the support assistant describe SSM parameters and read the SecureString ones",
		run: func(g *gen, x *attackCtx) {
			t := x.t
			c := x.inside(t)
			for range 3 {
				t = x.step(t, 500, 1500)
				g.apiDenied(c, t, "ssm", "DescribeParameters", map[string]any{"maxResults": 50}, "arn:aws:ssm:"+HomeRegion+":"+Account+":*")
			}
			names := []string{"/support-assistant/prod/config", "/support-assistant/prod/feature-flags", "/support-assistant/prod/zendesk-webhook-secret",
				"/prod/db/orders/password", "/prod/db/payments/password", "/prod/api/internal-token", "/prod/stripe/secret-key", "/prod/okta/client-secret",
				"/ci/deploy/api-orders/config", "/ci/deploy/api-payments/config", "/prod/notifier/twilio-token", "/prod/search/admin-password"}
			for _, n := range names {
				t = x.step(t, 300, 1500)
				ok := len(n) > 19 && n[:19] == "/support-assistant/"
				g.parameter(c, t, []string{n}, true, ok)
			}
		}},
}
