package ingest

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/agentwatch/agentwatch/internal/awsiam"
)

// Every AWS event names its resource as the ARN IAM evaluates for the
// call. These are records from the real CloudTrail captures in
// shared/data/real, one or more per service that appears there.
func TestARNFromRealCloudTrail(t *testing.T) {
	n := newTestNormalizer(t)
	evs := realEvents(t, n, "aws-cloudtrail/*/*.json")
	evs = append(evs, realEvents(t, n, "aws-cloudtrail-elk-jsonl/*/*")...)
	cases := []struct{ service, id, action, resource, typ string }{
		{"kms", "c6ebc8b7-572c-4123-92bf-9d94933724ca", "kms:Decrypt",
			"arn:aws:kms:us-east-1:123837392027:key/dad21b23-9915-42bd-981b-2a9f3c8f20c8", "AWS::KMS::Key"},
		{"kms", "1fb0962b-8d29-4ea5-b0f3-b12665a99c40", "kms:GenerateDataKey",
			// keyId is the alias; the resources list names the key behind it.
			"arn:aws:kms:us-east-1:123837392027:key/dad21b23-9915-42bd-981b-2a9f3c8f20c8", "AWS::KMS::Key"},
		{"secretsmanager", "0bdf2b9c-2cf9-40dd-a88b-0148e08e5a75", "secretsmanager:GetSecretValue",
			"arn:aws:secretsmanager:us-east-1:123837392027:secret:stratus-red-team-retrieve-secret-6-fAVH0t", "AWS::SecretsManager::Secret"},
		{"secretsmanager", "30f9bf7b-a5dd-4661-8c97-d288ef5680a1", "secretsmanager:CreateSecret",
			// Named by name in the request; the response has the full ARN.
			"arn:aws:secretsmanager:us-east-1:123837392027:secret:stratus-red-team-retrieve-secret-0-xehWok", "AWS::SecretsManager::Secret"},
		{"ssm", "736cbe1d-d978-4599-ba4c-a4d682b908b8", "ssm:GetParameter",
			"arn:aws:ssm:us-east-1:123837392027:parameter/credentials/stratus-red-team/credentials-6", "AWS::SSM::Parameter"},
		{"ssm", "928546c4-79d3-4f9e-aec5-319ef6685cde", "ssm:GetParameters",
			"arn:aws:ssm:us-east-1:123837392027:parameter/credentials/stratus-red-team/credentials-0", "AWS::SSM::Parameter"},
		{"ssm", "46499e1d-8ecf-4bab-9042-c6c23ce59271", "ssm:ListTagsForResource",
			"arn:aws:ssm:us-east-1:123837392027:parameter/credentials/stratus-red-team/credentials-30", "AWS::SSM::Parameter"},
		{"ssm", "99b46479-d5c7-4384-b342-006ece8c36a0", "ssm:SendCommand",
			"arn:aws:ec2:us-east-1:123837392027:instance/i-0dbc91f429e48eeed", "AWS::EC2::Instance"},
		{"ssm", "46041132-1dd7-49f5-88af-4b3f3521f861", "ssm:PutComplianceItems",
			"arn:aws:ec2:us-east-1:123837392027:instance/i-0dbc91f429e48eeed", "AWS::EC2::Instance"},
		{"ssm", "ea812b7e-ebeb-4950-8dc8-a4a9af56a8c6", "ssm:GetDocument",
			"arn:aws:ssm:us-east-1::document/AWS-GatherSoftwareInventory", "AWS::SSM::Document"},
		{"ssm", "4441ee50-0138-46ac-b99c-1b2e10980d7f", "ssm:DescribeParameters", "", ""},
		{"ec2", "fbd91225-39aa-4c00-822c-9f0b96e7758f", "ec2:GetPasswordData",
			"arn:aws:ec2:us-east-1:123837392027:instance/i-durz4ux740gjqvcm", "AWS::EC2::Instance"},
		{"ec2", "3bcc9d61-5936-429a-8b49-d5cb8e7b0e06", "ec2:DescribeInstances", "", ""},
		{"ec2", "86eac0ac-8521-4126-aa32-a22f2b74d02e", "ec2:RunInstances",
			"arn:aws:ec2:us-east-1:123837392027:instance/i-0dbc91f429e48eeed", "AWS::EC2::Instance"},
		{"ec2", "078ad2dc-a2bf-46ee-90dc-f524fb5fe1f1", "ec2:CreateSubnet",
			"arn:aws:ec2:us-east-1:123837392027:subnet/subnet-01ed430875cff578d", "AWS::EC2::Subnet"},
		{"iam", "cc66d3e3-6fb2-4e6a-9cb3-8eff6c2c973a", "iam:GetUser",
			// No userName: the caller itself.
			"arn:aws:iam::123837392027:user/bert-jan", "AWS::IAM::User"},
		{"iam", "6c1eed73-00ee-4810-8009-c9ce5990c100", "iam:PutRolePolicy",
			"arn:aws:iam::123837392027:role/stratus-red-team-ec2-get-password-data-role", "AWS::IAM::Role"},
		{"iam", "ff709962-49b6-494d-8198-cdf0f7e8e666", "iam:CreateRole",
			"arn:aws:iam::123837392027:role/stratus-red-team-ec2-get-password-data-role", "AWS::IAM::Role"},
		{"iam", "50527d85-87ec-438c-af05-39032b6ca4a6", "iam:AddRoleToInstanceProfile",
			"arn:aws:iam::123837392027:instance-profile/stratus-red-team-ec2-steal-credentials-instance", "AWS::IAM::InstanceProfile"},
		{"iam", "4a81a319-3f88-4f76-a01d-4f206b7e1c0d", "iam:ListUsers", "", ""},
		{"sts", "4bd2a6f6-dddc-49e6-ba7d-08f73e809e64", "sts:AssumeRole",
			"arn:aws:iam::123837392027:role/stratus-red-team-ec2-get-password-data-role", "AWS::IAM::Role"},
		{"sts", "c51ec284-c59d-4e86-8dc2-a81867b807be", "sts:GetCallerIdentity", "", ""},
		{"cloudtrail", "f6e10706-705c-47f2-94d4-112a9527ab8b", "cloudtrail:StopLogging",
			"arn:aws:cloudtrail:us-east-1:123837392027:trail/stratus-red-team-ct-stop-trail-qzbgnfqisx", "AWS::CloudTrail::Trail"},
		{"cloudtrail", "3a1acb39-c13b-4e73-a0e3-dcd8ce5c1a3a", "cloudtrail:CreateTrail",
			"arn:aws:cloudtrail:us-east-1:123837392027:trail/stratus-red-team-ctlr-trail-zqfsvooxqj", "AWS::CloudTrail::Trail"},
		{"cloudtrail", "076e96d5-2983-473f-920a-2fc2d7e02777", "cloudtrail:PutEventSelectors",
			"arn:aws:cloudtrail:us-east-1:123837392027:trail/stratus-red-team-ctes-trail-qyxyekjbtk", "AWS::CloudTrail::Trail"},
		{"s3", "d9a07e9d-28ac-45d9-b8ef-43433808f2f0", "s3:GetBucketAcl",
			"arn:aws:s3:::baker221b-bucketssecuritylogsbef08b3e-13nrzhi7fcs7w", "AWS::S3::Bucket"},
		{"s3", "44a42357-fa38-4c9c-a58c-709254a857f7", "s3:ListBuckets", "", ""},
		{"s3", "771299cb-e200-4926-9604-c85358b30499", "s3:GetObject",
			"arn:aws:s3:::mordors3stack-s3bucket-llp2yingx64a/ring.txt", "AWS::S3::Object"},
		{"s3", "bf575a0c-c344-4302-a468-00e6a84a127a", "s3:ListObjects",
			"arn:aws:s3:::mordors3stack-s3bucket-llp2yingx64a", "AWS::S3::Bucket"},
		{"logs", "2633ba8f-4efe-44e0-a03a-33479e371e64", "logs:DescribeLogGroups",
			"arn:aws:logs:us-east-1:123837392027:log-group::log-stream:", ""},
		{"cloudwatch", "c4c3837f-8613-49f9-b1b0-e71306f4a71d", "cloudwatch:DescribeAlarms", "", ""},
	}
	for _, c := range cases {
		t.Run(c.service+"/"+c.action, func(t *testing.T) {
			e := byID(t, evs, "cloudtrail:"+c.id)
			check(t, "action", e.Action, c.action)
			check(t, "system", e.System, "aws:"+strings.Split(c.action, ":")[0])
			check(t, "resource", e.Resource, c.resource)
			check(t, "resource_type", e.ResourceType, c.typ)
		})
	}
}

// ctRecord writes a CloudTrail record in the shape AWS documents (the
// CloudTrail record contents reference and each service's "Logging API
// calls with CloudTrail" page), with an assumed-role caller.
type ctRecord struct {
	source, name, params, response, resources string
	region, account, callerAccount            string
	errorCode                                 string
	id                                        int
}

func (r ctRecord) json() string {
	orNull := func(s string) string {
		if s == "" {
			return "null"
		}
		return s
	}
	region, account, caller := r.region, r.account, r.callerAccount
	if caller == "" {
		caller = "111122223333"
	}
	fields := []string{
		`"eventVersion":"1.09"`,
		fmt.Sprintf(`"userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:worker-1","arn":"arn:aws:sts::%s:assumed-role/agent-data/worker-1","accountId":"%s","accessKeyId":"ASIAEXAMPLE0000000001","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::%s:role/agent-data","accountId":"%s","userName":"agent-data"},"attributes":{"creationDate":"2026-03-02T08:00:00Z","mfaAuthenticated":"false"}}}`, caller, caller, caller, caller),
		`"eventTime":"2026-03-02T08:30:00Z"`,
		fmt.Sprintf(`"eventSource":"%s.amazonaws.com"`, r.source),
		fmt.Sprintf(`"eventName":"%s"`, r.name),
		`"sourceIPAddress":"10.1.2.3"`,
		`"userAgent":"Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#6.1 lang/python#3.12.1"`,
		`"requestParameters":` + orNull(r.params),
		`"responseElements":` + orNull(r.response),
		`"requestID":"5f1c0e4b-0000-4000-8000-000000000000"`,
		fmt.Sprintf(`"eventID":"00000000-0000-4000-8000-%012d"`, r.id),
		`"readOnly":true`,
		`"eventType":"AwsApiCall"`,
		`"managementEvent":true`,
	}
	if region != "-" {
		if region == "" {
			region = "eu-west-1"
		}
		fields = append(fields, fmt.Sprintf(`"awsRegion":"%s"`, region))
	}
	if account != "-" {
		if account == "" {
			account = "111122223333"
		}
		fields = append(fields, fmt.Sprintf(`"recipientAccountId":"%s"`, account))
	}
	if r.resources != "" {
		fields = append(fields, `"resources":`+r.resources)
	}
	if r.errorCode != "" {
		fields = append(fields, fmt.Sprintf(`"errorCode":"%s"`, r.errorCode))
	}
	return "{" + strings.Join(fields, ",") + "}"
}

// Services that do not appear in the real captures, and situations they
// lack, with records written in the shape AWS documents for the event.
func TestARNFromDocumentedRecords(t *testing.T) {
	cases := []struct {
		service string
		rec     ctRecord
		want    string
	}{
		// Lambda: a data event names the function in resources; a
		// management event by name, with CloudTrail's API-version suffix
		// on the event name; a partial ARN; a qualifier.
		{"lambda", ctRecord{source: "lambda", name: "Invoke",
			params:    `{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:summarise","sourceArn":""}`,
			resources: `[{"accountId":"111122223333","type":"AWS::Lambda::Function","ARN":"arn:aws:lambda:eu-west-1:111122223333:function:summarise"}]`},
			"arn:aws:lambda:eu-west-1:111122223333:function:summarise"},
		{"lambda", ctRecord{source: "lambda", name: "GetFunction20150331v2", params: `{"functionName":"summarise"}`},
			"arn:aws:lambda:eu-west-1:111122223333:function:summarise"},
		{"lambda", ctRecord{source: "lambda", name: "UpdateFunctionCode20150331v2",
			params: `{"functionName":"444455556666:function:summarise","publish":true}`},
			"arn:aws:lambda:eu-west-1:444455556666:function:summarise"},
		{"lambda", ctRecord{source: "lambda", name: "GetFunctionConfiguration20150331v2", params: `{"functionName":"summarise","qualifier":"prod"}`},
			"arn:aws:lambda:eu-west-1:111122223333:function:summarise:prod"},
		{"lambda", ctRecord{source: "lambda", name: "ListFunctions20150331", params: `{"maxItems":50}`}, ""},
		// Glue: tables by database and name, never the bare table name.
		{"glue", ctRecord{source: "glue", name: "GetTable", params: `{"catalogId":"111122223333","databaseName":"analytics","name":"events"}`},
			"arn:aws:glue:eu-west-1:111122223333:table/analytics/events"},
		{"glue", ctRecord{source: "glue", name: "GetPartitions", params: `{"databaseName":"analytics","tableName":"events","expression":"dt='2026-03-01'"}`},
			"arn:aws:glue:eu-west-1:111122223333:table/analytics/events"},
		{"glue", ctRecord{source: "glue", name: "CreateTable", params: `{"databaseName":"analytics","tableInput":{"name":"sessions","storageDescriptor":{}}}`},
			"arn:aws:glue:eu-west-1:111122223333:table/analytics/sessions"},
		{"glue", ctRecord{source: "glue", name: "GetDatabase", params: `{"name":"analytics"}`},
			"arn:aws:glue:eu-west-1:111122223333:database/analytics"},
		{"glue", ctRecord{source: "glue", name: "GetTables", params: `{"databaseName":"analytics"}`},
			"arn:aws:glue:eu-west-1:111122223333:database/analytics"},
		{"glue", ctRecord{source: "glue", name: "GetDatabases", params: `{}`},
			"arn:aws:glue:eu-west-1:111122223333:catalog"},
		// Another account's catalog, named by catalogId.
		{"glue", ctRecord{source: "glue", name: "GetTable", params: `{"catalogId":"444455556666","databaseName":"shared","name":"orders"}`},
			"arn:aws:glue:eu-west-1:444455556666:table/shared/orders"},
		// ECR: the repository, in the registry's account.
		{"ecr", ctRecord{source: "ecr", name: "BatchGetImage",
			params: `{"registryId":"444455556666","repositoryName":"base/python","imageIds":[{"imageTag":"3.12"}]}`},
			"arn:aws:ecr:eu-west-1:444455556666:repository/base/python"},
		{"ecr", ctRecord{source: "ecr", name: "GetAuthorizationToken", params: `{}`}, ""},
		// CloudWatch Logs: streams, and groups as Logs authorises them.
		{"logs", ctRecord{source: "logs", name: "PutLogEvents", params: `{"logGroupName":"/agents/data","logStreamName":"worker-1"}`},
			"arn:aws:logs:eu-west-1:111122223333:log-group:/agents/data:log-stream:worker-1"},
		{"logs", ctRecord{source: "logs", name: "FilterLogEvents", params: `{"logGroupName":"/agents/data","filterPattern":"ERROR"}`},
			"arn:aws:logs:eu-west-1:111122223333:log-group:/agents/data:log-stream:"},
		{"logs", ctRecord{source: "logs", name: "ListTagsForResource", params: `{"resourceArn":"arn:aws:logs:eu-west-1:111122223333:log-group:/agents/data"}`},
			"arn:aws:logs:eu-west-1:111122223333:log-group:/agents/data"},
		// KMS by alias with no resources list.
		{"kms", ctRecord{source: "kms", name: "DescribeKey", params: `{"keyId":"alias/agents"}`},
			"arn:aws:kms:eu-west-1:111122223333:alias/agents"},
		{"kms", ctRecord{source: "kms", name: "ListKeys", params: `{"limit":100}`}, ""},
		// Secrets Manager by name.
		{"secretsmanager", ctRecord{source: "secretsmanager", name: "GetSecretValue", params: `{"secretId":"prod/db"}`},
			"arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db"},
		// SSM by path: the leading slash is not part of the ARN.
		{"ssm", ctRecord{source: "ssm", name: "GetParametersByPath", params: `{"path":"/agents/data","recursive":true}`},
			"arn:aws:ssm:eu-west-1:111122223333:parameter/agents/data"},
		// IAM has no region; STS's role lives in IAM.
		{"iam", ctRecord{source: "iam", name: "CreateAccessKey", params: `{"userName":"ci"}`},
			"arn:aws:iam::111122223333:user/ci"},
		{"iam", ctRecord{source: "iam", name: "GetPolicyVersion", params: `{"policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess","versionId":"v1"}`},
			"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		{"sts", ctRecord{source: "sts", name: "AssumeRole",
			params: `{"roleArn":"arn:aws:iam::444455556666:role/reader","roleSessionName":"worker-1"}`},
			"arn:aws:iam::444455556666:role/reader"},
		// S3: objects for object actions, the bucket otherwise.
		{"s3", ctRecord{source: "s3", name: "PutObject", params: `{"bucketName":"lake","key":"reports/2026/03/q1.csv","Host":"lake.s3.eu-west-1.amazonaws.com"}`},
			"arn:aws:s3:::lake/reports/2026/03/q1.csv"},
		{"s3", ctRecord{source: "s3", name: "ListObjectsV2", params: `{"bucketName":"lake","prefix":"reports/","list-type":"2"}`},
			"arn:aws:s3:::lake"},
		{"s3", ctRecord{source: "s3", name: "HeadBucket", params: `{"bucketName":"lake"}`}, "arn:aws:s3:::lake"},
		// DynamoDB, SNS, SQS.
		{"dynamodb", ctRecord{source: "dynamodb", name: "GetItem", params: `{"tableName":"sessions","key":{"id":"HIDDEN_DUE_TO_SECURITY_REASONS"}}`},
			"arn:aws:dynamodb:eu-west-1:111122223333:table/sessions"},
		{"sns", ctRecord{source: "sns", name: "Publish", params: `{"topicArn":"arn:aws:sns:eu-west-1:111122223333:alerts","message":"HIDDEN_DUE_TO_SECURITY_REASONS"}`},
			"arn:aws:sns:eu-west-1:111122223333:alerts"},
		{"sqs", ctRecord{source: "sqs", name: "SendMessage", params: `{"queueUrl":"https://sqs.eu-west-1.amazonaws.com/111122223333/jobs","messageBody":"HIDDEN_DUE_TO_SECURITY_REASONS"}`},
			"arn:aws:sqs:eu-west-1:111122223333:jobs"},
		// Bedrock: a foundation model has no account in its ARN; a
		// geography-prefixed id is an inference profile.
		{"bedrock", ctRecord{source: "bedrock", name: "InvokeModel", params: `{"modelId":"anthropic.claude-3-haiku-20240307-v1:0"}`},
			"arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"},
		{"bedrock", ctRecord{source: "bedrock", name: "Converse", params: `{"modelId":"eu.anthropic.claude-3-haiku-20240307-v1:0"}`},
			"arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.anthropic.claude-3-haiku-20240307-v1:0"},
		// CloudWatch arrives as "monitoring" and is named as IAM names it.
		{"cloudwatch", ctRecord{source: "monitoring", name: "SetAlarmState", params: `{"alarmName":"queue-depth","stateValue":"ALARM"}`},
			"arn:aws:cloudwatch:eu-west-1:111122223333:alarm:queue-depth"},
		// No recipientAccountId: the caller's account. Neither: empty.
		{"account", ctRecord{source: "glue", name: "GetTable", params: `{"databaseName":"analytics","name":"events"}`, account: "-", callerAccount: "777788889999"},
			"arn:aws:glue:eu-west-1:777788889999:table/analytics/events"},
		{"region", ctRecord{source: "glue", name: "GetTable", params: `{"databaseName":"analytics","name":"events"}`, region: "-"},
			"arn:aws:glue::111122223333:table/analytics/events"},
		{"partition", ctRecord{source: "glue", name: "GetTable", params: `{"databaseName":"analytics","name":"events"}`, region: "cn-north-1"},
			"arn:aws:glue:cn-north-1:111122223333:table/analytics/events"},
	}
	n := newTestNormalizer(t)
	for i, c := range cases {
		c.rec.id = i + 1
		t.Run(fmt.Sprintf("%s/%s", c.service, c.rec.name), func(t *testing.T) {
			evs, dead := n.Normalize(Record{Raw: []byte(c.rec.json()), Format: FormatCloudTrail})
			if len(dead) != 0 || len(evs) != 1 {
				t.Fatalf("events %d, dead letters %v", len(evs), dead)
			}
			check(t, "resource", evs[0].Resource, c.want)
		})
	}
}

// Athena's later calls name only the query; the workgroup comes from the
// StartQueryExecution that created it ("primary" when it named none).
func TestARNAthenaWorkgroup(t *testing.T) {
	n := newTestNormalizer(t)
	one := func(r ctRecord) string {
		t.Helper()
		evs, dead := n.Normalize(Record{Raw: []byte(r.json()), Format: FormatCloudTrail})
		if len(dead) != 0 || len(evs) != 1 {
			t.Fatalf("events %d, dead letters %v", len(evs), dead)
		}
		return evs[0].Resource
	}
	start := ctRecord{id: 1, source: "athena", name: "StartQueryExecution",
		params:   `{"queryString":"SELECT 1","workGroup":"analytics","queryExecutionContext":{"database":"lake"},"clientRequestToken":"x"}`,
		response: `{"queryExecutionId":"fc62d701-d474-46a4-b6cf-de6bafdbdb3c"}`}
	check(t, "start", one(start), "arn:aws:athena:eu-west-1:111122223333:workgroup/analytics")
	results := ctRecord{id: 2, source: "athena", name: "GetQueryResults", params: `{"queryExecutionId":"fc62d701-d474-46a4-b6cf-de6bafdbdb3c","maxResults":1000}`}
	check(t, "results", one(results), "arn:aws:athena:eu-west-1:111122223333:workgroup/analytics")
	primary := ctRecord{id: 3, source: "athena", name: "StartQueryExecution", params: `{"queryString":"SELECT 2"}`,
		response: `{"queryExecutionId":"aaaaaaaa-0000-4000-8000-000000000001"}`}
	check(t, "default workgroup", one(primary), "arn:aws:athena:eu-west-1:111122223333:workgroup/primary")
	status := ctRecord{id: 4, source: "athena", name: "GetQueryExecution", params: `{"queryExecutionId":"aaaaaaaa-0000-4000-8000-000000000001"}`}
	check(t, "status", one(status), "arn:aws:athena:eu-west-1:111122223333:workgroup/primary")
	unknown := ctRecord{id: 5, source: "athena", name: "GetQueryResults", params: `{"queryExecutionId":"bbbbbbbb-0000-4000-8000-000000000009"}`}
	check(t, "unknown query", one(unknown), "")
	// A refused start created no query to remember.
	refused := ctRecord{id: 6, source: "athena", name: "StartQueryExecution", params: `{"queryString":"SELECT 3","workGroup":"admin"}`,
		response: `{"queryExecutionId":"cccccccc-0000-4000-8000-000000000001"}`, errorCode: "AccessDeniedException"}
	check(t, "refused", one(refused), "arn:aws:athena:eu-west-1:111122223333:workgroup/admin")
	check(t, "after refused", one(ctRecord{id: 7, source: "athena", name: "GetQueryResults", params: `{"queryExecutionId":"cccccccc-0000-4000-8000-000000000001"}`}), "")
}

// The table names resources for exactly the services whose resource types
// the catalogue lists (the inventory relies on it to tell which services'
// resources are ARNs), and every service's list closes with "*".
func TestARNTableMatchesCatalogue(t *testing.T) {
	var inTable []string
	for _, s := range arnTable {
		inTable = append(inTable, s.prefix)
		last := s.rules[len(s.rules)-1]
		if len(last.events) != 1 || last.events[0] != "*" {
			t.Errorf("%s: the last rule is %v, not \"*\"", s.prefix, last.events)
		}
		for _, r := range s.rules {
			if r.typ == "" && (len(r.vars) > 0 || r.resourcesOnly) {
				t.Errorf("%s %v: vars without a type", s.prefix, r.events)
			}
			if ty := awsiam.TypeNamed(r.typ); r.typ != "" && r.fn == nil && !r.resourcesOnly && len(r.vars) != len(ty.Vars()) {
				t.Errorf("%s %v: %d paths for %d variables of %s", s.prefix, r.events, len(r.vars), len(ty.Vars()), ty.Template)
			}
		}
	}
	sort.Strings(inTable)
	if got, want := strings.Join(inTable, " "), strings.Join(awsiam.Services(), " "); got != want {
		t.Errorf("table services %s\ncatalogue services %s", got, want)
	}
}
