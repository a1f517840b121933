package awsfleet

import (
	"fmt"
	"time"
)

// Client strings, as the SDKs the agents use build them.
func pythonClient(app string) func(v Version) string {
	return func(v Version) string {
		boto := "1.35.36"
		if v.Drift != "" {
			boto = "1.35.71"
		}
		return fmt.Sprintf("Boto3/%s md/Botocore#%s ua/2.0 os/linux#6.1.112-124.190.amzn2023.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#adaptive app/%s#%s Botocore/%s",
			boto, boto, app, v.Version, boto)
	}
}

func lambdaPythonClient(app string) func(v Version) string {
	return func(v Version) string {
		return fmt.Sprintf("Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy app/%s#%s Botocore/1.34.145",
			app, v.Version)
	}
}

func goClient(app string) func(v Version) string {
	return func(v Version) string {
		return fmt.Sprintf("aws-sdk-go-v2/1.32.4 ua/2.0 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 app/%s#%s m/E,g", app, v.Version)
	}
}

func javaClient(app string) func(v Version) string {
	return func(v Version) string {
		return fmt.Sprintf("aws-sdk-java/2.25.60 Linux/5.10.226-214.880.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.12+7-LTS Java/17.0.12 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/standard app/%s#%s",
			app, v.Version)
	}
}

func nodeClient(app string) func(v Version) string {
	return func(v Version) string {
		return fmt.Sprintf("aws-sdk-js/3.687.0 ua/2.1 os/linux#6.1.112-124.190.amzn2023.x86_64 lang/js md/nodejs#20.18.0 m/E,N app/%s#%s", app, v.Version)
	}
}

// Models the agents call.
const (
	modelSonnet4   = "us.anthropic.claude-sonnet-4-20250514-v1:0"
	modelSonnet45  = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	modelEUSonnet  = "eu.anthropic.claude-3-7-sonnet-20250219-v1:0"
	modelEmbedding = "amazon.titan-embed-text-v2:0"
	modelHaiku     = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
)

// day and hour offsets from the test week's Monday.
func day(d int, h, m int) time.Duration {
	return time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
}

// agents is the fleet: nine agents onboarded by six teams. Their IAM
// policies are written as their owners wrote them in IAM, least privilege
// as far as each team got; agents.yaml is derived from them (inventory.go).
var agents = []Agent{
	{
		ID: "support-assistant", DisplayName: "Customer support assistant", Owner: "team-support-platform",
		Email: "support-platform@acme.example", Slack: "#support-assistant-alerts", PagerDuty: "PSUPAST",
		Purpose: "Answers customer tickets: retrieves knowledge-base articles and ticket attachments, drafts replies with a Claude model.",
		Role:    "agent-support-assistant", Runtime: RuntimePlatform, Region: HomeRegion,
		Replicas: 3, Deployment: "support-assistant", Deploys: []WeeklyAt{{time.Tuesday, 20}, {time.Thursday, 20}},
		Versions: []Version{{From: -400 * 24 * time.Hour, Version: "2.4.1", Model: modelSonnet4},
			{From: day(2, 15, 0), Version: "2.5.0", Model: modelSonnet45, Drift: "D3-model-upgrade"}},
		Client: pythonClient("support-assistant"),
		Policy: policy(
			allow("KnowledgeBaseRead", acts("s3:GetObject"), arnS3("acme-support-kb/articles/*")),
			allow("KnowledgeBaseList", acts("s3:ListBucket"), arnS3("acme-support-kb")),
			allow("KnowledgeBaseDrafts", acts("s3:PutObject"), arnS3("acme-support-kb/drafts/*")),
			allow("TicketAttachments", acts("s3:GetObject", "s3:ListBucket"), arnS3("acme-support-attachments"), arnS3("acme-support-attachments/tickets/*")),
			allow("Models", acts("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
				"arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4*",
				arnRegional("bedrock", HomeRegion, "inference-profile/us.anthropic.claude-sonnet-4*"),
				"arn:aws:bedrock:*::foundation-model/"+modelEmbedding),
			allow("ZendeskToken", acts("secretsmanager:GetSecretValue"), arnRegional("secretsmanager", HomeRegion, "secret:prod/support-assistant/*")),
			allow("Config", acts("ssm:GetParameter", "ssm:GetParameters"), arnRegional("ssm", HomeRegion, "parameter/support-assistant/*")),
			Statement{Sid: "DecryptViaServices", Effect: "Allow", Action: acts("kms:Decrypt"),
				Resource:  []string{kmsKey(HomeRegion, "secrets"), kmsKey(HomeRegion, "ssm")},
				Condition: map[string]any{"StringEquals": map[string]any{"kms:ViaService": []string{"secretsmanager." + HomeRegion + ".amazonaws.com", "ssm." + HomeRegion + ".amazonaws.com"}}}},
		),
		Hours: []string{"* 00:00-24:00"}, MaxAge: time.Hour, Instances: 4,
		Note: "Customer-facing, around the clock. Runs 3 pods (4 at peak) on the agent platform; each pod's session is named after the pod.",
		work: workSupport,
	},
	{
		ID: "ci-deployer", DisplayName: "CI/CD deploy agent", Owner: "team-platform",
		Email: "platform@acme.example", Slack: "#platform-deploys", PagerDuty: "PPLATFORM",
		Purpose: "Builds service images, pushes them to ECR, stores build artifacts and rolls Lambda services out.",
		Role:    "agent-ci-deployer", Runtime: RuntimePlatform, Region: HomeRegion,
		Replicas: 2, Deployment: "ci-deployer-runner", StatefulSet: true, Deploys: []WeeklyAt{{time.Monday, 15}},
		Versions: []Version{{From: -400 * 24 * time.Hour, Version: "3.2.0"}},
		Client:   goClient("ci-deployer"),
		Policy: policy(
			allow("EcrLogin", acts("ecr:GetAuthorizationToken"), "*"),
			allow("EcrPush", acts("ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
				"ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:DescribeImages"), arnRegional("ecr", HomeRegion, "repository/*")),
			allow("Artifacts", acts("s3:GetObject", "s3:PutObject"), arnS3("acme-build-artifacts/*")),
			allow("DeployLambda", acts("lambda:UpdateFunctionCode", "lambda:GetFunction", "lambda:PublishVersion", "lambda:UpdateAlias"),
				arnRegional("lambda", HomeRegion, "function:*")),
			allow("DeployConfig", acts("ssm:GetParameter"), arnRegional("ssm", HomeRegion, "parameter/ci/*")),
			// Services get their own roles and deploy users from CI; the
			// team wrote wildcards rather than list every IAM call.
			allow("ServiceIdentities", acts("iam:GetRole", "iam:PassRole", "iam:Create*", "iam:Attach*", "iam:Put*"),
				arnGlobal("iam", "role/svc-*"), arnGlobal("iam", "user/svc-*")),
		),
		Hours: []string{"* 00:00-24:00"}, MaxAge: time.Hour, Instances: 2,
		Note: "Two self-hosted runners (a StatefulSet). Builds whenever engineers push; deploys Lambda services.",
		work: workCI,
	},
	{
		ID: "data-analyst", DisplayName: "Data analysis agent", Owner: "team-analytics",
		Email: "analytics@acme.example", Slack: "#analytics-agents", PagerDuty: "PANALYTICS",
		Purpose: "Answers analysts' questions with Athena over the lake; a nightly batch and a Monday job write reports.",
		Role:    "agent-data-analyst", Runtime: RuntimePlatform, Region: HomeRegion,
		Replicas: 1, Deployment: "data-analyst", Deploys: []WeeklyAt{{time.Wednesday, 16}},
		Versions: []Version{{From: -400 * 24 * time.Hour, Version: "1.8.3"}},
		Client:   pythonClient("data-analyst"),
		Policy: policy(
			allow("Athena", acts("athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"),
				arnRegional("athena", HomeRegion, "workgroup/analytics")),
			allow("Catalog", acts("glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"),
				arnRegional("glue", HomeRegion, "catalog"), arnRegional("glue", HomeRegion, "database/lake"), arnRegional("glue", HomeRegion, "table/lake/*")),
			allow("LakeRead", acts("s3:GetObject", "s3:ListBucket"), arnS3("acme-analytics-lake"), arnS3("acme-analytics-lake/raw/*")),
			allow("Reports", acts("s3:PutObject"), arnS3("acme-analytics-lake/reports/*")),
			allow("QueryResults", acts("s3:GetObject", "s3:PutObject", "s3:GetBucketLocation"), arnS3("acme-athena-results"), arnS3("acme-athena-results/analytics/*")),
			// The agent shares lake prefixes with partner accounts on request.
			allow("LakeSharing", acts("s3:GetBucketPolicy", "s3:PutBucketPolicy"), arnS3("acme-analytics-lake")),
		),
		Hours: []string{"* 00:00-24:00"}, MaxAge: time.Hour, Instances: 2,
		Note: "One worker pod for analysts' questions, plus a nightly CronJob (06:00 UTC) and a Monday weekly job, each a new pod.",
		work: workData,
	},
	{
		ID: "finops-reporter", DisplayName: "FinOps cost reporter", Owner: "team-finance-eng",
		Email: "finance-eng@acme.example", Slack: "#finops-agents",
		Purpose: "Daily cost report from Cost Explorer and the CUR; the month-end close on the 1st.",
		Role:    "agent-finops-reporter", Runtime: RuntimeECS, Region: HomeRegion,
		Versions: []Version{{From: -400 * 24 * time.Hour, Version: "1.6.0"}},
		Client:   javaClient("finops-reporter"),
		Policy: policy(
			allow("CostExplorer", acts("ce:GetCostAndUsage", "ce:GetCostForecast", "ce:GetReservationUtilization", "ce:GetSavingsPlansUtilization"), "*"),
			allow("Athena", acts("athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"), arnRegional("athena", HomeRegion, "workgroup/finops")),
			allow("Catalog", acts("glue:GetTable", "glue:GetPartitions"), arnRegional("glue", HomeRegion, "catalog"),
				arnRegional("glue", HomeRegion, "database/cur"), arnRegional("glue", HomeRegion, "table/cur/*")),
			allow("CurRead", acts("s3:GetObject", "s3:ListBucket"), arnS3("acme-cur-reports"), arnS3("acme-cur-reports/*")),
			allow("Reports", acts("s3:PutObject"), arnS3("acme-finops-reports/*")),
			allow("QueryResults", acts("s3:GetObject", "s3:PutObject"), arnS3("acme-athena-results/finops/*")),
			allow("SlackWebhook", acts("secretsmanager:GetSecretValue"), arnRegional("secretsmanager", HomeRegion, "secret:prod/finops/*")),
			decryptViaSecretsManager(HomeRegion),
		),
		Hours: []string{"* 04:00-07:00"}, CalendarHours: []string{"* 05:00-07:00", "1st 04:00-05:00"}, MaxAge: 6 * time.Hour, Instances: 1,
		Note: "A scheduled ECS task: daily at 05:30 UTC, and the month-end close on the 1st at 04:00 UTC. Each run is a new task (session name = task id).",
		work: workFinops,
	},
	{
		ID: "ops-remediator", DisplayName: "Ops remediation agent", Owner: "team-sre",
		Email: "sre@acme.example", Slack: "#sre-agents", PagerDuty: "PSRE",
		Purpose: "Watches CloudWatch alarms, reads the platform's logs, restarts unhealthy services through SSM.",
		Role:    "agent-ops-remediator", Runtime: RuntimePlatform, Region: HomeRegion,
		Replicas: 2, Deployment: "ops-remediator", Deploys: []WeeklyAt{{time.Wednesday, 19}},
		Versions: []Version{{From: -400 * 24 * time.Hour, Version: "0.19.4"}},
		Client:   goClient("ops-remediator"),
		Policy: policy(
			allow("Alarms", acts("cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"), "*"),
			allow("LogsQuery", acts("logs:StartQuery"), arnRegional("logs", HomeRegion, "log-group:/aws/containerinsights/*")),
			allow("LogsRead", acts("logs:DescribeLogGroups", "logs:GetQueryResults"), "*"),
			allow("Inventory", acts("ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "autoscaling:DescribeAutoScalingGroups"), "*"),
			allow("Restart", acts("ssm:SendCommand"), arnRegional("ssm", HomeRegion, "document/acme-RestartService"), arnRegional("ec2", HomeRegion, "instance/*")),
			allow("RestartStatus", acts("ssm:GetCommandInvocation"), "*"),
			// Meant to let it restart a stopped trail; the wildcard also
			// allows StopLogging.
			allow("TrailHealth", acts("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:*Logging"),
				arnRegional("cloudtrail", HomeRegion, "trail/*")),
		),
		Hours: []string{"* 00:00-24:00"}, MaxAge: time.Hour, Instances: 2,
		Note: "Polls alarms around the clock from two pods.",
		work: workOps,
	},
	{
		ID: "security-triage", DisplayName: "Security triage agent", Owner: "team-secops",
		Email: "secops@acme.example", Slack: "#secops-agents", PagerDuty: "PSECOPS",
		Purpose: "Triages GuardDuty and Security Hub findings, looks up CloudTrail and IAM context; can quarantine an agent role by removing its trust.",
		Role:    "agent-security-triage", Runtime: RuntimePlatform, Region: HomeRegion,
		Replicas: 1, Deployment: "security-triage", Deploys: []WeeklyAt{{time.Thursday, 15}},
		Versions: []Version{{From: -400 * 24 * time.Hour, Version: "0.7.2"}},
		Client:   pythonClient("security-triage"),
		Policy: policy(
			allow("Findings", acts("guardduty:ListFindings", "guardduty:GetFindings", "securityhub:GetFindings", "access-analyzer:ListFindings"), "*"),
			allow("Context", acts("cloudtrail:LookupEvents", "iam:GetRole", "iam:GetUser", "iam:ListAttachedRolePolicies", "iam:GetPolicy",
				"iam:GetPolicyVersion", "ec2:DescribeSecurityGroups", "s3:GetBucketPolicy", "s3:GetBucketAcl"), "*"),
			allow("QuarantineAgentRoles", acts("iam:UpdateAssumeRolePolicy"), arnGlobal("iam", "role/agent-*")),
		),
		Hours: []string{"* 00:00-24:00"}, MaxAge: time.Hour, Instances: 1,
		Note: "Polls findings every 15 minutes; analysts ask it questions in working hours.",
		work: workSecurity,
	},
	{
		ID: "doc-indexer", DisplayName: "Documentation indexer", Owner: "team-knowledge",
		Email: "knowledge@acme.example", Slack: "#knowledge-agents",
		Purpose: "Keeps the embeddings index of the Confluence export fresh: hourly changes, one space re-indexed each night.",
		Role:    "agent-doc-indexer", Runtime: RuntimeLambda, Region: HomeRegion,
		Versions: []Version{{From: -400 * 24 * time.Hour, Version: "2.1.0"}},
		Client:   lambdaPythonClient("doc-indexer"),
		Policy: policy(
			allow("ListExport", acts("s3:ListBucket"), arnS3("acme-docs")),
			allow("ReadExport", acts("s3:GetObject"), arnS3("acme-docs/confluence/*")),
			allow("WriteIndex", acts("s3:PutObject"), arnS3("acme-docs-index/embeddings/*")),
			allow("Embeddings", acts("bedrock:InvokeModel"), "arn:aws:bedrock:"+HomeRegion+"::foundation-model/"+modelEmbedding),
			allow("LambdaLogs", acts("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
				arnRegional("logs", HomeRegion, "log-group:/aws/lambda/doc-indexer:*")),
		),
		Hours: []string{"* 00:00-24:00"}, MaxAge: 12 * time.Hour, Instances: 1,
		Note: "A Lambda function (session name = function name) run hourly by EventBridge.",
		work: workDocs,
	},
	{
		ID: "invoice-processor", DisplayName: "EU invoice processor", Owner: "team-finance-ops",
		Email: "finance-ops@acme.example", Slack: "#finance-ops-agents", PagerDuty: "PFINOPS",
		Purpose: "Extracts supplier invoices that arrive in the EU bucket and posts them to the ERP; EU data stays in eu-west-1.",
		Role:    "agent-invoice-processor", Runtime: RuntimePlatform, Region: EURegion,
		Replicas: 2, Deployment: "invoice-processor", Deploys: []WeeklyAt{{time.Monday, 10}},
		Versions: []Version{{From: -400 * 24 * time.Hour, Version: "4.0.3", Model: modelEUSonnet}},
		Client:   pythonClient("invoice-processor"),
		Policy: policy(
			allow("Incoming", acts("s3:GetObject"), arnS3("acme-invoices-eu/incoming/*")),
			allow("Processed", acts("s3:PutObject"), arnS3("acme-invoices-eu/processed/*")),
			allow("ListInvoices", acts("s3:ListBucket"), arnS3("acme-invoices-eu")),
			allow("Extraction", acts("bedrock:InvokeModel", "textract:AnalyzeExpense"),
				arnRegional("bedrock", EURegion, "inference-profile/eu.anthropic.claude-3-7-sonnet-*"),
				"arn:aws:bedrock:eu-*::foundation-model/anthropic.claude-3-7-sonnet-*", "*"),
			allow("ErpCredentials", acts("secretsmanager:GetSecretValue"), arnRegional("secretsmanager", EURegion, "secret:prod/invoice-processor/*")),
			decryptViaSecretsManager(EURegion),
		),
		Hours: []string{"Mon-Fri 06:00-19:00"}, MaxAge: time.Hour, Instances: 2,
		Note: "Works EU office hours on weekdays, in eu-west-1 only.",
		work: workInvoices,
	},
	{
		ID: "code-review-bot", DisplayName: "Code review assistant", Owner: "team-devex",
		Email: "devex@acme.example", Slack: "#devex-bots",
		Purpose: "Reviews pull requests with a Claude model; caches repository snapshots in S3.",
		Role:    "agent-code-review-bot", Runtime: RuntimePlatform, Region: HomeRegion,
		Replicas: 2, Deployment: "code-review-bot", Deploys: []WeeklyAt{{time.Thursday, 21}},
		Versions: []Version{{From: -400 * 24 * time.Hour, Version: "1.12.0", Model: modelSonnet4}},
		Client:   nodeClient("code-review-bot"),
		Policy: policy(
			allow("Models", acts("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
				arnRegional("bedrock", HomeRegion, "inference-profile/us.anthropic.claude-*"), "arn:aws:bedrock:*::foundation-model/anthropic.claude-*"),
			allow("RepoCache", acts("s3:GetObject", "s3:PutObject"), arnS3("acme-review-cache/repos/*")),
			allow("GitHubApp", acts("secretsmanager:GetSecretValue"), arnRegional("secretsmanager", HomeRegion, "secret:prod/devex/github-app-*")),
			decryptViaSecretsManager(HomeRegion),
		),
		Hours: []string{"* 00:00-24:00"}, MaxAge: time.Hour, Instances: 2,
		Note: "Runs on pull requests, mostly in working hours.",
		work: workReview,
	},
}
