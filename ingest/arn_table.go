package ingest

import (
	"net/url"
	"strings"

	"github.com/agentwatch/agentwatch/internal/awsiam"
)

// arnTable: one row per service and family of CloudTrail event names,
// naming the resource type IAM authorises the call against (the "Resource
// types" column of the Service Authorization Reference's actions table)
// and where the record names that resource. The first row whose glob
// matches the event name applies; each service ends with "*". Rows with
// no type are calls IAM authorises against "*" (lists, describes): their
// resource stays empty and the declared playground does not judge it.
// Services not listed keep the record's first resources[] ARN, else the
// first naming request parameter (see cloudTrailParams).
var arnTable = []arnService{
	{prefix: "s3", rules: []arnRule{
		{events: l("ListBuckets ListAllMyBuckets ListDirectoryBuckets ListAccessPoints* ListJobs ListStorageLens* CreateJob " +
			"GetAccountPublicAccessBlock PutAccountPublicAccessBlock DeleteAccountPublicAccessBlock ListAccessGrants*")},
		{events: l("GetStorageLensConfiguration* PutStorageLensConfiguration* DeleteStorageLensConfiguration* GetStorageLensDashboard*"),
			typ: "s3:storagelensconfiguration", vars: v("configId")},
		// Object actions name the object; everything else about a
		// bucket (ListObjects is s3:ListBucket) names the bucket.
		{events: l("GetObject GetObjectAcl GetObjectTagging GetObjectRetention GetObjectLegalHold GetObjectTorrent GetObjectAttributes " +
			"GetObjectVersion* PutObject PutObjectAcl PutObjectTagging PutObjectRetention PutObjectLegalHold HeadObject DeleteObject " +
			"DeleteObjectTagging DeleteObjectVersion* CopyObject RestoreObject SelectObjectContent CreateMultipartUpload UploadPart " +
			"UploadPartCopy CompleteMultipartUpload AbortMultipartUpload ListParts"),
			typ: "s3:object", vars: v("bucketName", "key")},
		// A multi-object delete names its objects only in the record's
		// resources list, when at all.
		{events: l("DeleteObjects"), typ: "s3:object", resourcesOnly: true},
		{events: l("*"), typ: "s3:bucket", vars: v("bucketName|bucket")},
	}},
	{prefix: "lambda", rules: []arnRule{
		{events: l("ListFunctions* ListEventSourceMappings* GetAccountSettings* ListLayers* ListCodeSigningConfigs* " +
			"CreateCodeSigningConfig* ListCapacityProviders*")},
		{events: l("*EventSourceMapping*"), typ: "lambda:eventSourceMapping", vars: v("uUID|UUID|uuid")},
		{events: l("*LayerVersion*"), typ: "lambda:layerVersion", vars: v("layerName", "versionNumber")},
		{events: l("*Layer*"), typ: "lambda:layer", vars: v("layerName")},
		{events: l("*CodeSigningConfig*"), typ: "lambda:code signing config", vars: v("codeSigningConfigArn")},
		{events: l("*"), typ: "lambda:function", fn: lambdaFunction},
	}},
	{prefix: "glue", account: []string{"catalogId"}, rules: []arnRule{
		{events: l("GetDatabases SearchTables GetDataCatalogEncryptionSettings PutDataCatalogEncryptionSettings GetCatalogImportStatus"),
			typ: "glue:catalog", vars: nil, fn: glueCatalog},
		{events: l("CreateDatabase"), typ: "glue:database", vars: v("databaseInput.name")},
		{events: l("GetDatabase DeleteDatabase UpdateDatabase"), typ: "glue:database", vars: v("name")},
		{events: l("GetTables"), typ: "glue:database", vars: v("databaseName")},
		{events: l("CreateTable UpdateTable"), typ: "glue:table", vars: v("databaseName", "tableInput.name")},
		{events: l("GetTable DeleteTable"), typ: "glue:table", vars: v("databaseName", "name")},
		{events: l("BatchDeleteTable"), typ: "glue:table", vars: v("databaseName", "tablesToDelete.0")},
		{events: l("*Partition* *TableVersion* *ColumnStatistics*"), typ: "glue:table", vars: v("databaseName", "tableName")},
		{events: l("*UserDefinedFunction*"), typ: "glue:userdefinedfunction", vars: v("databaseName", "functionName")},
		{events: l("GetConnections"), typ: ""},
		{events: l("*Connection*"), typ: "glue:connection", vars: v("connectionName|name|connectionInput.name")},
		{events: l("GetJobs ListJobs GetCrawlers ListCrawlers GetTriggers ListTriggers ListWorkflows")},
		{events: l("*JobRun* GetJob CreateJob UpdateJob DeleteJob BatchGetJobs"), typ: "glue:job", vars: v("jobName|name|jobNames.0")},
		{events: l("*Crawler*"), typ: "glue:crawler", vars: v("name|crawlerName|crawlerNames.0")},
		{events: l("*Trigger*"), typ: "glue:trigger", vars: v("name|triggerName")},
		{events: l("*Workflow*"), typ: "glue:workflow", vars: v("name")},
		{events: l("*")},
	}},
	{prefix: "athena", rules: []arnRule{
		{events: l("ListWorkGroups ListDataCatalogs ListCapacityReservations ListEngineVersions")},
		{events: l("StartQueryExecution"), typ: "athena:workgroup", fn: athenaStart},
		{events: l("GetQueryExecution GetQueryResults StopQueryExecution GetQueryRuntimeStatistics BatchGetQueryExecution"),
			typ: "athena:workgroup", fn: athenaQuery},
		{events: l("*WorkGroup ListQueryExecutions ListNamedQueries CreateNamedQuery ListPreparedStatements *PreparedStatement*"),
			typ: "athena:workgroup", vars: v("workGroup|name|=primary")},
		{events: l("*DataCatalog* GetDatabase ListDatabases GetTableMetadata ListTableMetadata"),
			typ: "athena:datacatalog", vars: v("name|catalogName")},
		{events: l("*CapacityReservation*"), typ: "athena:capacity-reservation", vars: v("name")},
		{events: l("*")},
	}},
	{prefix: "secretsmanager", rules: []arnRule{
		{events: l("ListSecrets GetRandomPassword BatchGetSecretValue")},
		{events: l("CreateSecret"), typ: "secretsmanager:Secret", vars: v("@response.arn|name")},
		// A secret named by its name, not its ARN, has no six-character
		// suffix here: write "secret:NAME*" rather than "NAME-??????".
		{events: l("*"), typ: "secretsmanager:Secret", vars: v("secretId")},
	}},
	{prefix: "ssm", rules: []arnRule{
		{events: l("DescribeParameters DescribeInstanceInformation GetCommandInvocation ListCommands ListCommandInvocations " +
			"DescribeDocument*Permission ListDocuments DescribeSessions DescribeAutomationExecutions")},
		{events: l("GetParameters DeleteParameters"), typ: "ssm:parameter", fn: ssmParam("names.0")},
		{events: l("GetParametersByPath"), typ: "ssm:parameter", fn: ssmParam("path")},
		{events: l("*Parameter*"), typ: "ssm:parameter", fn: ssmParam("name")},
		{events: l("ListTagsForResource AddTagsToResource RemoveTagsFromResource"), fn: ssmTagged},
		{events: l("SendCommand"), fn: ssmCommand},
		{events: l("StartSession"), fn: ssmInstance("target")},
		{events: l("ResumeSession TerminateSession"), typ: "ssm:session", vars: v("sessionId")},
		{events: l("*Document*"), typ: "ssm:document", fn: ssmDocument("name", "documentName")},
		{events: l("PutComplianceItems"), fn: ssmInstance("resourceId")},
		{events: l("UpdateInstanceInformation PutInventory ListInstanceAssociations UpdateInstanceAssociationStatus " +
			"GetDeployablePatchSnapshotForInstance DescribeInstanceAssociationsStatus DescribeEffectiveInstanceAssociations"),
			fn: ssmInstance("instanceId")},
		{events: l("*")},
	}},
	{prefix: "kms", rules: []arnRule{
		{events: l("CreateKey ListKeys ListAliases GenerateRandom CreateCustomKeyStore DescribeCustomKeyStores ListRetirableGrants " +
			"ConnectCustomKeyStore DisconnectCustomKeyStore DeleteCustomKeyStore UpdateCustomKeyStore")},
		{events: l("CreateAlias DeleteAlias UpdateAlias"), typ: "kms:alias", fn: kmsAlias},
		{events: l("*"), typ: "kms:key", fn: kmsKey},
	}},
	{prefix: "iam", rules: []arnRule{
		{events: l("ListUsers ListRoles ListPolicies ListGroups ListInstanceProfiles GetAccountSummary GetAccountAuthorizationDetails " +
			"ListAccountAliases CreateAccountAlias DeleteAccountAlias GetAccountPasswordPolicy UpdateAccountPasswordPolicy " +
			"DeleteAccountPasswordPolicy GenerateCredentialReport GetCredentialReport ListOpenIDConnectProviders ListSAMLProviders " +
			"ListServerCertificates ListVirtualMFADevices GetServiceLastAccessedDetails* SimulateCustomPolicy " +
			"GetContextKeysForCustomPolicy CreateServiceLinkedRole GetAccountEmailAddress GetOrganizationsAccessReport")},
		{events: l("AddRoleToInstanceProfile RemoveRoleFromInstanceProfile *InstanceProfile*"), typ: "iam:instance-profile",
			vars: v("@response.instanceProfile.arn|instanceProfileName")},
		{events: l("ListGroupsForUser"), typ: "iam:user", vars: v("userName|@self")},
		{events: l("AddUserToGroup RemoveUserFromGroup *GroupPolic* CreateGroup GetGroup DeleteGroup UpdateGroup"), typ: "iam:group",
			vars: v("@response.group.arn|groupName")},
		{events: l("CreateRole"), typ: "iam:role", vars: v("@response.role.arn|roleName")},
		{events: l("*Role*"), typ: "iam:role", vars: v("roleName")},
		{events: l("CreateVirtualMFADevice DeleteVirtualMFADevice"), typ: "iam:mfa", vars: v("serialNumber|virtualMFADeviceName")},
		{events: l("CreateUser"), typ: "iam:user", vars: v("@response.user.arn|userName")},
		{events: l("*User* *AccessKey* *LoginProfile* *SSHPublicKey* *MFADevice* *ServiceSpecificCredential* *SigningCertificate* ChangePassword"),
			typ: "iam:user", vars: v("userName|@self")},
		{events: l("CreatePolicy"), typ: "iam:policy", vars: v("@response.policy.arn|policyName")},
		{events: l("*Policy*"), typ: "iam:policy", vars: v("policyArn")},
		{events: l("*OpenIDConnectProvider*"), typ: "iam:oidc-provider", vars: v("openIDConnectProviderArn")},
		{events: l("*SAMLProvider*"), typ: "iam:saml-provider", vars: v("sAMLProviderArn|sAMLProviderARN")},
		{events: l("*ServerCertificate*"), typ: "iam:server-certificate", vars: v("serverCertificateName")},
		{events: l("*")},
	}},
	{prefix: "sts", rules: []arnRule{
		{events: l("AssumeRole AssumeRoleWithWebIdentity AssumeRoleWithSAML SetSourceIdentity TagSession"), typ: "iam:role", vars: v("roleArn")},
		{events: l("GetFederationToken"), typ: "sts:federated-user", vars: v("name")},
		{events: l("*")},
	}},
	{prefix: "ec2", rules: []arnRule{
		{events: l("Describe*")},
		{events: l("RunInstances"), typ: "ec2:instance", vars: v("@response.instancesSet.items.0.instanceId")},
		{events: l("GetPasswordData GetConsoleOutput GetConsoleScreenshot *Instance *Instances *InstanceAttribute *IamInstanceProfile* " +
			"*InstanceMetadataOptions *InstanceCreditSpecification"),
			typ: "ec2:instance", vars: v("instanceId|instancesSet.items.0.instanceId")},
		{events: l("*Volume*"), typ: "ec2:volume", vars: v("volumeId|@response.volumeId")},
		{events: l("*Snapshot*"), typ: "ec2:snapshot", vars: v("snapshotId|@response.snapshotId")},
		{events: l("*Image*"), typ: "ec2:image", vars: v("imageId|@response.imageId")},
		{events: l("*SecurityGroup*"), typ: "ec2:security-group", vars: v("groupId|@response.groupId")},
		{events: l("*KeyPair*"), typ: "ec2:key-pair", vars: v("keyName")},
		{events: l("*VpcEndpoint*"), typ: "ec2:vpc-endpoint", vars: v("vpcEndpointId|@response.vpcEndpoint.vpcEndpointId")},
		{events: l("*Subnet*"), typ: "ec2:subnet", vars: v("subnetId|@response.subnet.subnetId")},
		{events: l("*NetworkInterface*"), typ: "ec2:network-interface", vars: v("networkInterfaceId|@response.networkInterface.networkInterfaceId")},
		{events: l("*RouteTable* CreateRoute DeleteRoute ReplaceRoute"), typ: "ec2:route-table", vars: v("routeTableId|@response.routeTable.routeTableId")},
		{events: l("*InternetGateway*"), typ: "ec2:internet-gateway", vars: v("internetGatewayId|@response.internetGateway.internetGatewayId")},
		{events: l("*NatGateway*"), typ: "ec2:natgateway", vars: v("natGatewayId|@response.CreateNatGatewayResponse.natGateway.natGatewayId")},
		{events: l("AllocateAddress ReleaseAddress AssociateAddress DisassociateAddress"), typ: "ec2:elastic-ip",
			vars: v("allocationId|@response.allocationId")},
		{events: l("*FlowLogs"), typ: "ec2:vpc-flow-log", vars: v("DeleteFlowLogsRequest.FlowLogId.content|@response.CreateFlowLogsResponse.flowLogIdSet.item")},
		{events: l("*LaunchTemplate*"), typ: "ec2:launch-template", vars: v("launchTemplateId|@response.CreateLaunchTemplateResponse.launchTemplate.launchTemplateId")},
		{events: l("*NetworkAcl*"), typ: "ec2:network-acl", vars: v("networkAclId")},
		{events: l("*Vpc*"), typ: "ec2:vpc", vars: v("vpcId|@response.vpc.vpcId")},
		{events: l("*")},
	}},
	{prefix: "ecr", account: []string{"registryId"}, rules: []arnRule{
		{events: l("GetAuthorizationToken DescribeRegistry GetRegistryPolicy PutRegistryPolicy DeleteRegistryPolicy " +
			"PutReplicationConfiguration DescribePullThroughCacheRules GetRegistryScanningConfiguration PutRegistryScanningConfiguration")},
		{events: l("*"), typ: "ecr:repository", vars: v("repositoryName|repositoryNames.0")},
	}},
	{prefix: "cloudtrail", rules: []arnRule{
		{events: l("DescribeTrails ListTrails LookupEvents ListEventDataStores ListChannels ListPublicKeys ListDashboards ListImports")},
		{events: l("CreateTrail"), typ: "cloudtrail:trail", vars: v("@response.trailARN|name")},
		{events: l("*EventDataStore*"), typ: "cloudtrail:eventdatastore", vars: v("eventDataStore|name")},
		{events: l("*"), typ: "cloudtrail:trail", vars: v("name|trailName")},
	}},
	{prefix: "logs", rules: []arnRule{
		{events: l("DescribeQueries GetQueryResults StopQuery DescribeDestinations DescribeExportTasks DescribeResourcePolicies " +
			"DescribeQueryDefinitions DescribeDeliveries DescribeDeliverySources DescribeDeliveryDestinations")},
		{events: l("TagResource UntagResource ListTagsForResource"), fn: logsTagged},
		{events: l("TagLogGroup UntagLogGroup ListTagsLogGroup"), typ: "logs:log-group", vars: v("logGroupName")},
		{events: l("PutLogEvents GetLogEvents CreateLogStream DeleteLogStream"), fn: logsStream},
		{events: l("*"), fn: logsGroup},
	}},
	{prefix: "dynamodb", rules: []arnRule{
		{events: l("ListTables DescribeLimits DescribeEndpoints ListBackups ListGlobalTables ListExports ListImports " +
			"DescribeReservedCapacity* ListContributorInsights ExecuteStatement BatchExecuteStatement ExecuteTransaction")},
		{events: l("*GlobalTable*"), typ: "dynamodb:global-table", vars: v("globalTableName")},
		{events: l("BatchGetItem BatchWriteItem TransactGetItems TransactWriteItems"), typ: "dynamodb:table", resourcesOnly: true},
		{events: l("*"), typ: "dynamodb:table", vars: v("tableName|tableArn|resourceArn")},
	}},
	{prefix: "sns", rules: []arnRule{
		{events: l("ListTopics ListSubscriptions ListPlatformApplications ListPhoneNumbersOptedOut CheckIfPhoneNumberIsOptedOut " +
			"GetSMSAttributes SetSMSAttributes ListOriginationNumbers")},
		{events: l("CreateTopic"), typ: "sns:topic", vars: v("@response.topicArn")},
		{events: l("*"), typ: "sns:topic", vars: v("topicArn|targetArn|resourceArn")},
	}},
	{prefix: "sqs", rules: []arnRule{
		{events: l("ListQueues")},
		{events: l("CreateQueue"), typ: "sqs:queue", vars: v("queueName")},
		{events: l("*"), typ: "sqs:queue", fn: sqsQueue},
	}},
	{prefix: "bedrock", rules: []arnRule{
		{events: l("List*")},
		{events: l("InvokeModel InvokeModelWithResponseStream Converse ConverseStream CountTokens GetFoundationModel StartAsyncInvoke"),
			fn: bedrockModel},
		{events: l("InvokeAgent"), typ: "bedrock:agent-alias", vars: v("agentId", "agentAliasId")},
		{events: l("Retrieve"), typ: "bedrock:knowledge-base", vars: v("knowledgeBaseId")},
		{events: l("RetrieveAndGenerate*"), typ: "bedrock:knowledge-base",
			vars: v("retrieveAndGenerateConfiguration.knowledgeBaseConfiguration.knowledgeBaseId")},
		{events: l("ApplyGuardrail"), typ: "bedrock:guardrail", vars: v("guardrailIdentifier")},
		{events: l("*")},
	}},
	{prefix: "cloudwatch", rules: []arnRule{
		{events: l("PutMetricAlarm DeleteAlarms SetAlarmState EnableAlarmActions DisableAlarmActions DescribeAlarmHistory " +
			"PutCompositeAlarm DescribeAlarms"),
			typ: "cloudwatch:alarm", vars: v("alarmName|alarmNames.0")},
		{events: l("ListDashboards")},
		{events: l("*Dashboard*"), typ: "cloudwatch:dashboard", vars: v("dashboardName|dashboardNames.0")},
		{events: l("*")},
	}},
}

// l splits a space-separated list of event-name globs.
func l(s string) []string { return strings.Fields(s) }

// v builds a rule's vars: one argument per template variable, each a
// "|"-separated list of paths to try.
func v(paths ...string) [][]string {
	out := make([][]string, len(paths))
	for i, p := range paths {
		out[i] = strings.Split(p, "|")
	}
	return out
}

// named is a resource a rule's function found: its ARN and CloudFormation
// type.
type named struct{ arn, cfn string }

// passthrough names a resource the record gave as an ARN.
func passthrough(arn string) named {
	if arn == "" {
		return named{}
	}
	if t := awsiam.TypeOf(arn); t != nil {
		return named{arn, t.CFN}
	}
	return named{arn: arn}
}

// build renders an ARN of typ in the record's partition, region and
// account, interned.
func build(c arnCtx, typ string, vals ...string) named {
	return buildIn(c, typ, c.region, c.account, vals...)
}

func buildIn(c arnCtx, typ, region, account string, vals ...string) named {
	return buildType(c, awsiam.TypeNamed(typ), region, account, vals...)
}

func glueCatalog(c arnCtx) named { return build(c, "glue:catalog") }

// lambdaFunction reads functionName, which may be a name, a full ARN or a
// partial one ("123456789012:function:name"), each optionally qualified
// with a version or alias, which IAM then authorises against.
func lambdaFunction(c arnCtx) named {
	name := c.param("functionName")
	if name == "" {
		return named{}
	}
	qualifier := c.param("qualifier")
	if strings.HasPrefix(name, "arn:") {
		if qualifier != "" && strings.Count(name, ":") == 6 {
			return passthrough(name + ":" + qualifier)
		}
		return passthrough(name)
	}
	account := c.account
	if parts := strings.Split(name, ":"); len(parts) >= 3 && parts[1] == "function" {
		account, name = parts[0], strings.Join(parts[2:], ":")
	}
	if qualifier != "" && !strings.Contains(name, ":") {
		name += ":" + qualifier
	}
	return buildIn(c, "lambda:function", c.region, account, name)
}

func athenaStart(c arnCtx) named {
	wg := c.value([]string{"workGroup", "=primary"})
	if c.ok && wg != "" {
		c.athena.put(c.in.jsonPath(c.resp, "queryExecutionId"), wg)
	}
	return build(c, "athena:workgroup", wg)
}

func athenaQuery(c arnCtx) named {
	id := c.value([]string{"queryExecutionId", "queryExecutionIds.0"})
	wg, _ := c.athena.get(id)
	if wg == "" {
		return named{}
	}
	return build(c, "athena:workgroup", wg)
}

// ssmParam names a parameter; its ARN drops the name's leading "/".
func ssmParam(p string) func(c arnCtx) named {
	return func(c arnCtx) named {
		name := c.param(p)
		if strings.HasPrefix(name, "arn:") {
			return passthrough(name)
		}
		name = strings.TrimPrefix(name, "/")
		if name == "" {
			return named{}
		}
		return build(c, "ssm:parameter", name)
	}
}

func ssmTagged(c arnCtx) named {
	id := c.param("resourceId")
	switch c.param("resourceType") {
	case "Parameter":
		return build(c, "ssm:parameter", strings.TrimPrefix(id, "/"))
	case "Document":
		return build(c, "ssm:document", id)
	case "ManagedInstance":
		return build(c, "ssm:managed-instance", id)
	}
	return named{}
}

// ssmCommand: SendCommand is authorised against the instances and the
// document; the instance says more about what an agent reached.
func ssmCommand(c arnCtx) named {
	if id := c.param("instanceIds.0"); id != "" {
		return instanceARN(c, id)
	}
	return ssmDocument("documentName")(c)
}

// ssmDocument names a document; those AWS owns ("AWS-RunShellScript")
// have no account in their ARN.
func ssmDocument(paths ...string) func(c arnCtx) named {
	return func(c arnCtx) named {
		doc := c.value(paths)
		if doc == "" || strings.HasPrefix(doc, "arn:") {
			return passthrough(doc)
		}
		account := c.account
		if strings.HasPrefix(doc, "AWS-") || strings.HasPrefix(doc, "Amazon") {
			account = ""
		}
		return buildIn(c, "ssm:document", c.region, account, doc)
	}
}

func ssmInstance(p string) func(c arnCtx) named {
	return func(c arnCtx) named { return instanceARN(c, c.param(p)) }
}

// instanceARN names an EC2 instance, or a hybrid managed instance ("mi-").
func instanceARN(c arnCtx, id string) named {
	switch {
	case id == "":
		return named{}
	case strings.HasPrefix(id, "mi-"):
		return build(c, "ssm:managed-instance", id)
	}
	return build(c, "ec2:instance", id)
}

// kmsKey reads keyId: a key id, a key ARN, an alias name or an alias ARN.
// (The record's resources list, consulted first, names the key behind an
// alias.)
func kmsKey(c arnCtx) named {
	id := c.value([]string{"keyId", "destinationKeyId", "sourceKeyId"})
	switch {
	case id == "":
		return named{}
	case strings.HasPrefix(id, "arn:"):
		return passthrough(id)
	case strings.HasPrefix(id, "alias/"):
		return build(c, "kms:alias", strings.TrimPrefix(id, "alias/"))
	}
	return build(c, "kms:key", id)
}

func kmsAlias(c arnCtx) named {
	name := c.param("aliasName")
	if name == "" {
		return named{}
	}
	if strings.HasPrefix(name, "arn:") {
		return passthrough(name)
	}
	return build(c, "kms:alias", strings.TrimPrefix(name, "alias/"))
}

// sqsQueue reads queueUrl ("https://sqs.REGION.amazonaws.com/ACCOUNT/NAME").
func sqsQueue(c arnCtx) named {
	u := c.param("queueUrl")
	if u == "" {
		return named{}
	}
	pu, err := url.Parse(u)
	if err != nil {
		return named{}
	}
	parts := strings.Split(strings.Trim(pu.Path, "/"), "/")
	if len(parts) != 2 {
		return named{}
	}
	region := c.region
	if h := strings.Split(pu.Host, "."); len(h) >= 3 && h[0] == "sqs" {
		region = h[1]
	}
	return buildIn(c, "sqs:queue", region, parts[0], parts[1])
}

// bedrockModel: a model id names a foundation model (no account in its
// ARN); one with a geography prefix ("us.anthropic…") a system inference
// profile; an ARN (a provisioned model, a custom model, an application
// inference profile) itself.
func bedrockModel(c arnCtx) named {
	id := c.param("modelId")
	switch {
	case id == "":
		return named{}
	case strings.HasPrefix(id, "arn:"):
		return passthrough(id)
	}
	if geo, _, ok := strings.Cut(id, "."); ok {
		switch geo {
		case "us", "eu", "apac", "us-gov", "global", "jp", "au", "ca":
			return build(c, "bedrock:inference-profile", id)
		}
	}
	return build(c, "bedrock:foundation-model", id)
}

// logsGroup names a log-group-level call as CloudWatch Logs authorises it:
// "log-group:NAME:log-stream:" (which IAM policies cover with
// "log-group:NAME:*"); DescribeLogGroups, about no group in particular,
// "log-group::log-stream:".
func logsGroup(c arnCtx) named {
	name := c.value([]string{"logGroupName", "logGroupIdentifier", "logGroupNames.0", "logGroupIdentifiers.0"})
	if strings.HasPrefix(name, "arn:") {
		return named{arn: strings.TrimSuffix(name, ":*") + ":log-stream:"}
	}
	if name == "" && !strings.HasPrefix(c.eventName, "Describe") {
		return named{}
	}
	return named{arn: "arn:" + c.partition + ":logs:" + c.region + ":" + c.account + ":log-group:" + name + ":log-stream:"}
}

func logsStream(c arnCtx) named {
	group, stream := c.param("logGroupName"), c.param("logStreamName")
	if group == "" {
		return named{}
	}
	if stream == "" {
		return logsGroup(c)
	}
	return build(c, "logs:log-stream", group, stream)
}

// logsTagged: the tagging calls take the log group's ARN without ":*".
func logsTagged(c arnCtx) named {
	return passthrough(strings.TrimSuffix(c.value([]string{"resourceArn", "resourceARN"}), ":*"))
}
