package awsiam

import (
	"strings"
)

// knownPrefixes are the service prefixes of IAM actions and ARNs, after the
// Service Authorization Reference's list of services. An action or ARN
// whose prefix is not here names no AWS service.
var knownPrefixes = strings.Fields(`
a4b access-analyzer account acm acm-pca activate aiops airflow amplify amplifyadmin amplifybackend
amplifyuibuilder aoss apigateway app-integrations appconfig appfabric appflow application-autoscaling
application-cost-profiler application-signals applicationinsights appmesh appmesh-preview apprunner appstream
appstudio appsync apptest aps arc-region-switch arc-zonal-shift arsenal artifact athena auditmanager
autoscaling autoscaling-plans aws-marketplace aws-marketplace-management aws-portal awsconnector b2bi backup
backup-gateway backup-search backup-storage batch bcm-dashboards bcm-data-exports bcm-pricing-calculator
bcm-recommended-actions bedrock bedrock-agentcore billing billingconductor braket budgets bugbust cases
cassandra ce chatbot chime cleanrooms cleanrooms-ml cloud9 clouddirectory cloudformation cloudfront
cloudfront-keyvaluestore cloudhsm cloudsearch cloudshell cloudtrail cloudtrail-data cloudwatch codeartifact
codebuild codecatalyst codecommit codeconnections codedeploy codedeploy-commands-secure codeguru
codeguru-profiler codeguru-reviewer codeguru-security codepipeline codestar codestar-connections
codestar-notifications codewhisperer cognito-identity cognito-idp cognito-sync comprehend comprehendmedical
compute-optimizer config connect connect-campaigns consoleapp consolidatedbilling controlcatalog
controltower cost-optimization-hub cur customer-verification databrew dataexchange datapipeline datasync
datazone dax dbqms deadline deepcomposer deepracer detective devicefarm devops-guru directconnect discovery
dlm dms docdb-elastic drs ds ds-data dsql dynamodb ebs ec2 ec2-instance-connect ec2messages ecr ecr-public
ecs eks eks-auth elasticache elasticbeanstalk elasticfilesystem elasticloadbalancing elasticmapreduce
elastictranscoder elemental-activations elemental-appliances-software elemental-support-cases
emr-containers emr-serverless entityresolution es events evidently evs execute-api firehose fis fms
forecast frauddetector freertos freetier fsx gamelift gameliftstreams geo geo-maps geo-places geo-routes
glacier globalaccelerator glue grafana greengrass groundstation groundtruthlabeling guardduty health
healthlake iam identity-sync identitystore identitystore-auth imagebuilder importexport inspector
inspector-scan inspector2 internetmonitor invoicing iot iot-device-tester iot1click iotanalytics
iotdeviceadvisor iotevents iotfleethub iotfleetwise iotjobsdata iotmanagedintegrations iotsitewise
iottwinmaker iotwireless iq iq-permission ivs ivschat kafka kafka-cluster kafkaconnect kendra
kendra-ranking kinesis kinesisanalytics kinesisvideo kms lakeformation lambda launchwizard lex
license-manager license-manager-linux-subscriptions license-manager-user-subscriptions lightsail logs
lookoutequipment lookoutmetrics lookoutvision m2 machinelearning macie2 managedblockchain
managedblockchain-query mapcredits marketplacecommerceanalytics mechanicalturk mediaconnect mediaconvert
mediaimport medialive mediapackage mediapackage-vod mediapackagev2 mediastore mediatailor medical-imaging
memorydb mgh mgn migrationhub-orchestrator migrationhub-strategy mobileanalytics monitron mpa mq
neptune-db neptune-graph network-firewall networkflowmonitor networkmanager networkmanager-chat
networkmonitor notifications notifications-contacts oam observabilityadmin omics one opensearch opsworks
opsworks-cm organizations osis outposts partnercentral payment-cryptography payments pca-connector-ad
pca-connector-scep pcs personalize pi pipes polly pricing private-networks profile proton
purchase-orders q qapps qbusiness qdeveloper qldb quicksight ram rbin rds rds-data rds-db redshift
redshift-data redshift-serverless refactor-spaces rekognition repostspace resiliencehub
resource-explorer-2 resource-groups rhelkb robomaker rolesanywhere route53 route53-recovery-cluster
route53-recovery-control-config route53-recovery-readiness route53domains route53profiles
route53resolver rum s3 s3-object-lambda s3-outposts s3express s3tables s3vectors sagemaker
sagemaker-geospatial sagemaker-groundtruth-synthetic sagemaker-mlflow savingsplans scheduler schemas
sdb secretsmanager securityhub securitylake serverlessrepo servicecatalog servicediscovery serviceextract
servicequotas ses shield signer signin simspaceweaver sms sms-voice snow-device-management snowball sns
social-messaging sqlworkbench sqs ssm ssm-contacts ssm-guiconnect ssm-incidents ssm-quicksetup ssm-sap
ssmmessages sso sso-directory sso-oauth states storagegateway sts support supportapp supportplans
sustainability swf synthetics tag tax textract thinclient timestream timestream-influxdb tiros tnb
transcribe transfer translate trustedadvisor ts user-subscriptions vendor-onboarding verifiedpermissions
voiceid vpc-lattice vpc-lattice-svcs vpce waf waf-regional wafv2 wam wellarchitected wickr wisdom
workdocs worklink workmail workmailmessageflow workspaces workspaces-instances workspaces-web xray
`)

var knownPrefix = func() map[string]bool {
	m := make(map[string]bool, len(knownPrefixes))
	for _, p := range knownPrefixes {
		m[p] = true
	}
	return m
}()

// KnownPrefix reports whether p is an AWS service prefix.
func KnownPrefix(p string) bool { return knownPrefix[strings.ToLower(p)] }

// sourcePrefix maps CloudTrail event sources (without ".amazonaws.com")
// whose IAM prefix is spelt differently.
var sourcePrefix = map[string]string{
	"monitoring":           "cloudwatch",
	"email":                "ses",
	"runtime.sagemaker":    "sagemaker",
	"api.sagemaker":        "sagemaker",
	"runtime.lex":          "lex",
	"models.lex":           "lex",
	"tagging":              "tag",
	"bedrock-runtime":      "bedrock",
	"bedrock-agent":        "bedrock",
	"elasticfilesystem":    "elasticfilesystem",
	"metering.marketplace": "aws-marketplace",
	"api.ecr":              "ecr",
	"execute-api":          "execute-api",
	"streams.dynamodb":     "dynamodb",
	"data.iot":             "iot",
	"iotsitewise":          "iotsitewise",
	"sso-directory":        "sso-directory",
	"identitystore":        "identitystore",
	"s3-control":           "s3",
}

// PrefixOfSource returns the IAM prefix of a CloudTrail event source
// ("monitoring.amazonaws.com" or "monitoring" → "cloudwatch").
func PrefixOfSource(source string) string {
	s := strings.TrimSuffix(source, ".amazonaws.com")
	if p, ok := sourcePrefix[s]; ok {
		return p
	}
	return s
}

// s3Actions maps S3 CloudTrail event names to the IAM action that
// authorises them where the two differ (Amazon S3 User Guide, "Amazon S3
// actions" and "CloudTrail event names").
var s3Actions = map[string]string{
	"ListObjects": "ListBucket", "ListObjectsV2": "ListBucket", "HeadBucket": "ListBucket",
	"ListObjectVersions": "ListBucketVersions", "ListBuckets": "ListAllMyBuckets",
	"HeadObject": "GetObject", "SelectObjectContent": "GetObject", "GetObjectAttributes": "GetObjectAttributes",
	"ListMultipartUploads": "ListBucketMultipartUploads", "ListParts": "ListMultipartUploadParts",
	"CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "UploadPartCopy": "PutObject",
	"CompleteMultipartUpload": "PutObject", "CopyObject": "PutObject", "DeleteObjects": "DeleteObject",
	"GetBucketLifecycle": "GetLifecycleConfiguration", "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
	"PutBucketLifecycle": "PutLifecycleConfiguration", "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
	"DeleteBucketLifecycle": "PutLifecycleConfiguration",
	"GetBucketEncryption":   "GetEncryptionConfiguration", "PutBucketEncryption": "PutEncryptionConfiguration",
	"DeleteBucketEncryption": "PutEncryptionConfiguration",
	"GetBucketReplication":   "GetReplicationConfiguration", "PutBucketReplication": "PutReplicationConfiguration",
	"DeleteBucketReplication": "PutReplicationConfiguration",
	"GetBucketCors":           "GetBucketCORS", "PutBucketCors": "PutBucketCORS", "DeleteBucketCors": "PutBucketCORS",
	"DeleteBucketPublicAccessBlock":    "PutBucketPublicAccessBlock",
	"DeleteAccountPublicAccessBlock":   "PutAccountPublicAccessBlock",
	"GetBucketAccelerateConfiguration": "GetAccelerateConfiguration", "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
	"GetObjectLockConfiguration": "GetBucketObjectLockConfiguration", "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
	"DeleteBucketTagging":                      "PutBucketTagging",
	"GetBucketNotificationConfiguration":       "GetBucketNotification",
	"PutBucketNotificationConfiguration":       "PutBucketNotification",
	"GetBucketInventoryConfiguration":          "GetInventoryConfiguration",
	"PutBucketInventoryConfiguration":          "PutInventoryConfiguration",
	"GetBucketMetricsConfiguration":            "GetMetricsConfiguration",
	"PutBucketMetricsConfiguration":            "PutMetricsConfiguration",
	"GetBucketAnalyticsConfiguration":          "GetAnalyticsConfiguration",
	"PutBucketAnalyticsConfiguration":          "PutAnalyticsConfiguration",
	"GetBucketIntelligentTieringConfiguration": "GetIntelligentTieringConfiguration",
	"PutBucketIntelligentTieringConfiguration": "PutIntelligentTieringConfiguration",
	"DeleteBucketOwnershipControls":            "PutBucketOwnershipControls",
	"DeleteObjectTagging":                      "DeleteObjectTagging",
	"GetBucketWebsite":                         "GetBucketWebsite",
}

// otherActions maps "prefix:EventName" pairs of other services whose IAM
// action is spelt differently.
var otherActions = map[string]string{
	"lambda:Invoke":                   "lambda:InvokeFunction",
	"lambda:InvokeWithResponseStream": "lambda:InvokeFunction",
	"bedrock:Converse":                "bedrock:InvokeModel",
	"bedrock:ConverseStream":          "bedrock:InvokeModelWithResponseStream",
	"kms:ReEncrypt":                   "kms:ReEncryptFrom",
}

// IAMAction returns the IAM action that authorises a CloudTrail call
// named action ("prefix:EventName", prefix already mapped with
// PrefixOfSource), or action itself when they are spelt alike. API-version
// suffixes on event names ("GetFunction20150331v2", "GetDistribution2020_05_31")
// are dropped.
func IAMAction(action string) string {
	prefix, name, ok := strings.Cut(action, ":")
	if !ok {
		return action
	}
	if n := versionSuffix(name); n > 0 {
		name = name[:len(name)-n]
		action = prefix + ":" + name
	}
	if prefix == "s3" {
		if a, ok := s3Actions[name]; ok {
			return "s3:" + a
		}
		return action
	}
	if a, ok := otherActions[action]; ok {
		return a
	}
	return action
}

// versionSuffix returns the length of an API-version suffix at the end of
// an event name: eight digits, optionally "v" and digits
// ("20150331v2"), or "YYYY_MM_DD".
func versionSuffix(name string) int {
	n := len(name)
	e := n
	for e > 0 && name[e-1] >= '0' && name[e-1] <= '9' {
		e--
	}
	if e < n && e > 0 && name[e-1] == 'v' {
		// "…20150331v2": the digits before the "v" are the date.
		d := e - 1
		s := d
		for s > 0 && name[s-1] >= '0' && name[s-1] <= '9' {
			s--
		}
		if d-s == 8 && s > 0 {
			return n - s
		}
		return 0
	}
	if n-e == 8 && e > 0 {
		return n - e
	}
	// "2020_05_31"
	if n >= 11 && name[n-3] == '_' && name[n-6] == '_' {
		ok := true
		for _, i := range []int{n - 10, n - 9, n - 8, n - 7, n - 5, n - 4, n - 2, n - 1} {
			if name[i] < '0' || name[i] > '9' {
				ok = false
			}
		}
		if ok {
			return 10
		}
	}
	return 0
}
