package awsiam

import (
	"sort"
	"strings"
)

// ResourceType is one resource type of a service, as the AWS Service
// Authorization Reference lists it under "Resource types defined by ...":
// its name and ARN template.
type ResourceType struct {
	// Service is the ARN's service part ("lambda"), Name the SAR's
	// resource-type name ("function").
	Service, Name string
	// Template is the SAR's ARN format, with ${Partition}, ${Region},
	// ${Account} and the type's own variables.
	Template string
	// CFN is the CloudFormation type CloudTrail's resources[].type uses.
	CFN string

	region, account string // template parts: "" or a ${...}
	res             []tmplTok
}

type tmplTok struct {
	lit   string
	v     string // variable name; "" for a literal
	span  bool   // the variable may contain "/" (paths, object keys)
	colon bool   // the variable may contain ":" (model ids with a version)
}

// colonVars may contain ":": Bedrock model ids ("anthropic.claude-v2:1").
var colonVars = map[string]bool{"ResourceId": true, "ObjectName": true}

// spanVars are template variables whose values may contain "/": object
// keys, IAM paths, log group names, parameter paths, model ids.
var spanVars = map[string]bool{
	"ObjectName": true, "RoleNameWithPath": true, "UserNameWithPath": true, "GroupNameWithPath": true,
	"PolicyNameWithPath": true, "InstanceProfileNameWithPath": true, "ParameterNameWithoutLeadingSlash": true,
	"LogGroupName": true, "LogStreamName": true, "SecretId": true, "RepositoryName": true, "MfaTokenIdWithPath": true,
	"CertificateNameWithPath": true, "ResourceId": true, "Alias": true, "DocumentName": true, "EntityPath": true,
	"CatalogName": true, "RoleSessionName": true,
}

// Service is what agentwatch knows of one AWS service.
type Service struct {
	// Prefix is the service part of its ARNs (usually also its IAM
	// action prefix).
	Prefix string
	Types  []*ResourceType
	// Complete is set when Types lists every resource type the SAR
	// defines, so that an ARN pattern fitting none of them can never
	// match. Services with long, changing lists (EC2, SSM, Bedrock,
	// CloudWatch) are only partly listed and not checked this way.
	Complete bool
}

// catalogue rows: service prefix, whether the list is complete, then one
// "name template cfn" triple per resource type. Written from the Service
// Authorization Reference's "Resource types" tables.
var catalogueRows = []struct {
	svc      string
	complete bool
	types    [][3]string
}{
	{"s3", true, [][3]string{
		{"bucket", "arn:${Partition}:s3:::${BucketName}", "AWS::S3::Bucket"},
		{"object", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", "AWS::S3::Object"},
		{"accesspoint", "arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}", "AWS::S3::AccessPoint"},
		{"accesspointobject", "arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}/object/${ObjectName}", ""},
		{"job", "arn:${Partition}:s3:${Region}:${Account}:job/${JobId}", ""},
		{"storagelensconfiguration", "arn:${Partition}:s3:${Region}:${Account}:storage-lens/${ConfigId}", ""},
		{"storagelensgroup", "arn:${Partition}:s3:${Region}:${Account}:storage-lens-group/${Name}", ""},
		{"objectlambdaaccesspoint", "arn:${Partition}:s3-object-lambda:${Region}:${Account}:accesspoint/${AccessPointName}", ""},
		{"multiregionaccesspoint", "arn:${Partition}:s3::${Account}:accesspoint/${AccessPointAlias}", ""},
		{"multiregionaccesspointrequestarn", "arn:${Partition}:s3:us-west-2:${Account}:async-request/mrap/${Operation}/${Token}", ""},
		{"accessgrantsinstance", "arn:${Partition}:s3:${Region}:${Account}:access-grants/default", ""},
		{"accessgrantslocation", "arn:${Partition}:s3:${Region}:${Account}:access-grants/default/location/${Token}", ""},
		{"accessgrant", "arn:${Partition}:s3:${Region}:${Account}:access-grants/default/grant/${Token}", ""},
	}},
	{"lambda", true, [][3]string{
		{"function", "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}", "AWS::Lambda::Function"},
		{"function alias", "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}:${Alias}", ""},
		{"function version", "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}:${Version}", ""},
		{"layer", "arn:${Partition}:lambda:${Region}:${Account}:layer:${LayerName}", ""},
		{"layerVersion", "arn:${Partition}:lambda:${Region}:${Account}:layer:${LayerName}:${LayerVersion}", ""},
		{"eventSourceMapping", "arn:${Partition}:lambda:${Region}:${Account}:event-source-mapping:${UUID}", ""},
		{"code signing config", "arn:${Partition}:lambda:${Region}:${Account}:code-signing-config:${CodeSigningConfigId}", ""},
		{"capacityProvider", "arn:${Partition}:lambda:${Region}:${Account}:capacity-provider:${CapacityProviderName}", ""},
	}},
	{"glue", true, [][3]string{
		{"catalog", "arn:${Partition}:glue:${Region}:${Account}:catalog", ""},
		{"catalog child", "arn:${Partition}:glue:${Region}:${Account}:catalog/${CatalogName}", ""},
		{"database", "arn:${Partition}:glue:${Region}:${Account}:database/${DatabaseName}", "AWS::Glue::Database"},
		{"table", "arn:${Partition}:glue:${Region}:${Account}:table/${DatabaseName}/${TableName}", "AWS::Glue::Table"},
		{"tableversion", "arn:${Partition}:glue:${Region}:${Account}:tableVersion/${DatabaseName}/${TableName}/${TableVersionName}", ""},
		{"connection", "arn:${Partition}:glue:${Region}:${Account}:connection/${ConnectionName}", ""},
		{"userdefinedfunction", "arn:${Partition}:glue:${Region}:${Account}:userDefinedFunction/${DatabaseName}/${UserDefinedFunctionName}", ""},
		{"devendpoint", "arn:${Partition}:glue:${Region}:${Account}:devEndpoint/${DevEndpointName}", ""},
		{"job", "arn:${Partition}:glue:${Region}:${Account}:job/${JobName}", ""},
		{"trigger", "arn:${Partition}:glue:${Region}:${Account}:trigger/${TriggerName}", ""},
		{"crawler", "arn:${Partition}:glue:${Region}:${Account}:crawler/${CrawlerName}", ""},
		{"workflow", "arn:${Partition}:glue:${Region}:${Account}:workflow/${WorkflowName}", ""},
		{"blueprint", "arn:${Partition}:glue:${Region}:${Account}:blueprint/${BlueprintName}", ""},
		{"mlTransform", "arn:${Partition}:glue:${Region}:${Account}:mlTransform/${TransformId}", ""},
		{"registry", "arn:${Partition}:glue:${Region}:${Account}:registry/${RegistryName}", ""},
		{"schema", "arn:${Partition}:glue:${Region}:${Account}:schema/${SchemaName}", ""},
		{"session", "arn:${Partition}:glue:${Region}:${Account}:session/${SessionId}", ""},
		{"dataQualityRuleset", "arn:${Partition}:glue:${Region}:${Account}:dataQualityRuleset/${RulesetName}", ""},
		{"customEntityType", "arn:${Partition}:glue:${Region}:${Account}:customEntityType/${CustomEntityTypeId}", ""},
		{"usageProfile", "arn:${Partition}:glue:${Region}:${Account}:usageProfile/${UsageProfileName}", ""},
		{"completion", "arn:${Partition}:glue:${Region}:${Account}:completion/${CompletionId}", ""},
		{"connectionType", "arn:${Partition}:glue:${Region}:${Account}:connectionType/${ConnectionTypeName}", ""},
		{"integration", "arn:${Partition}:glue:${Region}:${Account}:integration:${IntegrationId}", ""},
	}},
	{"athena", true, [][3]string{
		{"datacatalog", "arn:${Partition}:athena:${Region}:${Account}:datacatalog/${DataCatalogName}", ""},
		{"workgroup", "arn:${Partition}:athena:${Region}:${Account}:workgroup/${WorkGroupName}", "AWS::Athena::WorkGroup"},
		{"capacity-reservation", "arn:${Partition}:athena:${Region}:${Account}:capacity-reservation/${CapacityReservationName}", ""},
	}},
	{"secretsmanager", true, [][3]string{
		{"Secret", "arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}", "AWS::SecretsManager::Secret"},
	}},
	{"ssm", false, [][3]string{
		{"parameter", "arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}", "AWS::SSM::Parameter"},
		{"document", "arn:${Partition}:ssm:${Region}:${Account}:document/${DocumentName}", "AWS::SSM::Document"},
		{"managed-instance", "arn:${Partition}:ssm:${Region}:${Account}:managed-instance/${InstanceId}", ""},
		{"association", "arn:${Partition}:ssm:${Region}:${Account}:association/${AssociationId}", ""},
		{"automation-execution", "arn:${Partition}:ssm:${Region}:${Account}:automation-execution/${AutomationExecutionId}", ""},
		{"automation-definition", "arn:${Partition}:ssm:${Region}:${Account}:automation-definition/${AutomationDefinitionName}:${VersionId}", ""},
		{"maintenancewindow", "arn:${Partition}:ssm:${Region}:${Account}:maintenancewindow/${ResourceId}", ""},
		{"patchbaseline", "arn:${Partition}:ssm:${Region}:${Account}:patchbaseline/${PatchBaselineIdResourceId}", ""},
		{"session", "arn:${Partition}:ssm:${Region}:${Account}:session/${SessionId}", ""},
		{"opsitem", "arn:${Partition}:ssm:${Region}:${Account}:opsitem/${ResourceId}", ""},
		{"opsmetadata", "arn:${Partition}:ssm:${Region}:${Account}:opsmetadata/${ResourceId}", ""},
		{"resourcedatasync", "arn:${Partition}:ssm:${Region}:${Account}:resource-data-sync/${SyncName}", ""},
		{"servicesetting", "arn:${Partition}:ssm:${Region}:${Account}:servicesetting/${ResourceId}", ""},
		{"windowtarget", "arn:${Partition}:ssm:${Region}:${Account}:windowtarget/${WindowTargetId}", ""},
		{"windowtask", "arn:${Partition}:ssm:${Region}:${Account}:windowtask/${WindowTaskId}", ""},
	}},
	{"kms", true, [][3]string{
		{"alias", "arn:${Partition}:kms:${Region}:${Account}:alias/${Alias}", "AWS::KMS::Alias"},
		{"key", "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}", "AWS::KMS::Key"},
	}},
	{"iam", true, [][3]string{
		{"access-report", "arn:${Partition}:iam::${Account}:access-report/${EntityPath}", ""},
		{"assumed-role", "arn:${Partition}:iam::${Account}:assumed-role/${RoleName}/${RoleSessionName}", ""},
		{"federated-user", "arn:${Partition}:iam::${Account}:federated-user/${UserName}", ""},
		{"group", "arn:${Partition}:iam::${Account}:group/${GroupNameWithPath}", "AWS::IAM::Group"},
		{"instance-profile", "arn:${Partition}:iam::${Account}:instance-profile/${InstanceProfileNameWithPath}", "AWS::IAM::InstanceProfile"},
		{"mfa", "arn:${Partition}:iam::${Account}:mfa/${MfaTokenIdWithPath}", ""},
		{"oidc-provider", "arn:${Partition}:iam::${Account}:oidc-provider/${OidcProviderName}", ""},
		{"policy", "arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}", "AWS::IAM::Policy"},
		{"role", "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}", "AWS::IAM::Role"},
		{"saml-provider", "arn:${Partition}:iam::${Account}:saml-provider/${SamlProviderName}", ""},
		{"server-certificate", "arn:${Partition}:iam::${Account}:server-certificate/${CertificateNameWithPath}", ""},
		{"sms-mfa", "arn:${Partition}:iam::${Account}:sms-mfa/${MfaTokenIdWithPath}", ""},
		{"user", "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}", "AWS::IAM::User"},
		{"root", "arn:${Partition}:iam::${Account}:root", ""},
	}},
	{"sts", true, [][3]string{
		{"assumed-role", "arn:${Partition}:sts::${Account}:assumed-role/${RoleName}/${RoleSessionName}", ""},
		{"federated-user", "arn:${Partition}:sts::${Account}:federated-user/${UserName}", ""},
		{"self-session", "arn:${Partition}:sts::${Account}:self", ""},
	}},
	{"ec2", false, [][3]string{
		{"instance", "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}", "AWS::EC2::Instance"},
		{"volume", "arn:${Partition}:ec2:${Region}:${Account}:volume/${VolumeId}", "AWS::EC2::Volume"},
		{"snapshot", "arn:${Partition}:ec2:${Region}::snapshot/${SnapshotId}", "AWS::EC2::Snapshot"},
		{"image", "arn:${Partition}:ec2:${Region}::image/${ImageId}", "AWS::EC2::Image"},
		{"security-group", "arn:${Partition}:ec2:${Region}:${Account}:security-group/${SecurityGroupId}", "AWS::EC2::SecurityGroup"},
		{"security-group-rule", "arn:${Partition}:ec2:${Region}:${Account}:security-group-rule/${SecurityGroupRuleId}", ""},
		{"subnet", "arn:${Partition}:ec2:${Region}:${Account}:subnet/${SubnetId}", "AWS::EC2::Subnet"},
		{"vpc", "arn:${Partition}:ec2:${Region}:${Account}:vpc/${VpcId}", "AWS::EC2::VPC"},
		{"network-interface", "arn:${Partition}:ec2:${Region}:${Account}:network-interface/${NetworkInterfaceId}", "AWS::EC2::NetworkInterface"},
		{"key-pair", "arn:${Partition}:ec2:${Region}:${Account}:key-pair/${KeyPairName}", "AWS::EC2::KeyPair"},
		{"launch-template", "arn:${Partition}:ec2:${Region}:${Account}:launch-template/${LaunchTemplateId}", "AWS::EC2::LaunchTemplate"},
		{"route-table", "arn:${Partition}:ec2:${Region}:${Account}:route-table/${RouteTableId}", "AWS::EC2::RouteTable"},
		{"internet-gateway", "arn:${Partition}:ec2:${Region}:${Account}:internet-gateway/${InternetGatewayId}", "AWS::EC2::InternetGateway"},
		{"natgateway", "arn:${Partition}:ec2:${Region}:${Account}:natgateway/${NatGatewayId}", "AWS::EC2::NatGateway"},
		{"elastic-ip", "arn:${Partition}:ec2:${Region}:${Account}:elastic-ip/${AllocationId}", "AWS::EC2::EIP"},
		{"vpc-flow-log", "arn:${Partition}:ec2:${Region}:${Account}:vpc-flow-log/${VpcFlowLogId}", "AWS::EC2::FlowLog"},
		{"network-acl", "arn:${Partition}:ec2:${Region}:${Account}:network-acl/${NaclId}", "AWS::EC2::NetworkAcl"},
		{"vpc-endpoint", "arn:${Partition}:ec2:${Region}:${Account}:vpc-endpoint/${VpcEndpointId}", "AWS::EC2::VPCEndpoint"},
		{"transit-gateway", "arn:${Partition}:ec2:${Region}:${Account}:transit-gateway/${TransitGatewayId}", "AWS::EC2::TransitGateway"},
		{"placement-group", "arn:${Partition}:ec2:${Region}:${Account}:placement-group/${PlacementGroupName}", ""},
		{"dhcp-options", "arn:${Partition}:ec2:${Region}:${Account}:dhcp-options/${DhcpOptionsId}", ""},
	}},
	{"ecr", true, [][3]string{
		{"repository", "arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}", "AWS::ECR::Repository"},
		{"repository-creation-template", "arn:${Partition}:ecr:${Region}:${Account}:repository-creation-template/${Prefix}", ""},
	}},
	{"cloudtrail", true, [][3]string{
		{"trail", "arn:${Partition}:cloudtrail:${Region}:${Account}:trail/${TrailName}", "AWS::CloudTrail::Trail"},
		{"eventdatastore", "arn:${Partition}:cloudtrail:${Region}:${Account}:eventdatastore/${EventDataStoreId}", ""},
		{"channel", "arn:${Partition}:cloudtrail:${Region}:${Account}:channel/${ChannelId}", ""},
		{"dashboard", "arn:${Partition}:cloudtrail:${Region}:${Account}:dashboard/${DashboardName}", ""},
	}},
	{"logs", true, [][3]string{
		{"log-group", "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}", "AWS::Logs::LogGroup"},
		{"log-stream", "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}", ""},
		{"destination", "arn:${Partition}:logs:${Region}:${Account}:destination:${DestinationName}", ""},
		{"delivery-source", "arn:${Partition}:logs:${Region}:${Account}:delivery-source:${DeliverySourceName}", ""},
		{"delivery", "arn:${Partition}:logs:${Region}:${Account}:delivery:${DeliveryId}", ""},
		{"delivery-destination", "arn:${Partition}:logs:${Region}:${Account}:delivery-destination:${DeliveryDestinationName}", ""},
		{"anomaly-detector", "arn:${Partition}:logs:${Region}:${Account}:anomaly-detector:${DetectorId}", ""},
		{"integration", "arn:${Partition}:logs:${Region}:${Account}:integration:${IntegrationName}", ""},
	}},
	{"dynamodb", true, [][3]string{
		{"table", "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}", "AWS::DynamoDB::Table"},
		{"index", "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/index/${IndexName}", ""},
		{"stream", "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/stream/${StreamLabel}", ""},
		{"backup", "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/backup/${BackupName}", ""},
		{"export", "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/export/${ExportName}", ""},
		{"import", "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/import/${ImportName}", ""},
		{"global-table", "arn:${Partition}:dynamodb::${Account}:global-table/${GlobalTableName}", ""},
	}},
	{"sns", true, [][3]string{
		{"topic", "arn:${Partition}:sns:${Region}:${Account}:${TopicName}", "AWS::SNS::Topic"},
	}},
	{"sqs", true, [][3]string{
		{"queue", "arn:${Partition}:sqs:${Region}:${Account}:${QueueName}", "AWS::SQS::Queue"},
	}},
	{"bedrock", false, [][3]string{
		{"foundation-model", "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}", ""},
		{"inference-profile", "arn:${Partition}:bedrock:${Region}:${Account}:inference-profile/${ResourceId}", ""},
		{"application-inference-profile", "arn:${Partition}:bedrock:${Region}:${Account}:application-inference-profile/${ResourceId}", ""},
		{"provisioned-model", "arn:${Partition}:bedrock:${Region}:${Account}:provisioned-model/${ResourceId}", ""},
		{"custom-model", "arn:${Partition}:bedrock:${Region}:${Account}:custom-model/${ResourceId}", ""},
		{"agent", "arn:${Partition}:bedrock:${Region}:${Account}:agent/${AgentId}", ""},
		{"agent-alias", "arn:${Partition}:bedrock:${Region}:${Account}:agent-alias/${AgentId}/${AgentAliasId}", ""},
		{"knowledge-base", "arn:${Partition}:bedrock:${Region}:${Account}:knowledge-base/${KnowledgeBaseId}", ""},
		{"guardrail", "arn:${Partition}:bedrock:${Region}:${Account}:guardrail/${GuardrailId}", ""},
	}},
	{"cloudwatch", false, [][3]string{
		{"alarm", "arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${AlarmName}", "AWS::CloudWatch::Alarm"},
		{"dashboard", "arn:${Partition}:cloudwatch::${Account}:dashboard/${DashboardName}", ""},
		{"insight-rule", "arn:${Partition}:cloudwatch:${Region}:${Account}:insight-rule/${InsightRuleName}", ""},
		{"metric-stream", "arn:${Partition}:cloudwatch:${Region}:${Account}:metric-stream/${MetricStreamName}", ""},
	}},
}

var (
	services = map[string]*Service{}
	types    = map[string]*ResourceType{} // "service:name"
)

func init() {
	for _, row := range catalogueRows {
		s := &Service{Prefix: row.svc, Complete: row.complete}
		for _, t := range row.types {
			rt := &ResourceType{Service: row.svc, Name: t[0], Template: t[1], CFN: t[2]}
			a, ok := Parse(t[1])
			if !ok {
				panic("awsiam: bad template " + t[1])
			}
			rt.region, rt.account, rt.res = a.Region, a.Account, parseTemplate(a.Resource)
			if a.Service != row.svc {
				// The object-lambda access point is listed under s3 but
				// named by its own service part.
				rt.Service = a.Service
			}
			s.Types = append(s.Types, rt)
			types[row.svc+":"+t[0]] = rt
		}
		services[row.svc] = s
	}
}

func parseTemplate(s string) []tmplTok {
	var out []tmplTok
	for s != "" {
		i := strings.Index(s, "${")
		if i < 0 {
			out = append(out, tmplTok{lit: s})
			break
		}
		if i > 0 {
			out = append(out, tmplTok{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		name := s[i+2 : i+j]
		out = append(out, tmplTok{v: name, span: spanVars[name], colon: colonVars[name]})
		s = s[i+j+1:]
	}
	return out
}

// Services lists the prefixes of the services whose resource types are
// known, sorted.
func Services() []string {
	out := make([]string, 0, len(services))
	for p := range services {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ServiceOf returns what agentwatch knows of the service with ARN service
// part prefix, or nil.
func ServiceOf(prefix string) *Service { return services[prefix] }

// TypeNamed returns a resource type by "service:name" ("glue:table"), or
// nil.
func TypeNamed(key string) *ResourceType { return types[key] }

// Vars lists the type's own template variables, in order ("DatabaseName",
// "TableName").
func (t *ResourceType) Vars() []string {
	var out []string
	for _, k := range t.res {
		if k.v != "" {
			out = append(out, k.v)
		}
	}
	return out
}

// Build renders the type's ARN with vals for its own variables, in the
// order Vars lists them. It returns "" when a value is missing.
func (t *ResourceType) Build(partition, region, account string, vals ...string) string {
	b, ok := t.AppendARN(nil, partition, region, account, vals...)
	if !ok {
		return ""
	}
	return string(b)
}

// AppendARN is Build appending to dst, for callers that intern the result.
func (t *ResourceType) AppendARN(dst []byte, partition, region, account string, vals ...string) ([]byte, bool) {
	if partition == "" {
		partition = "aws"
	}
	if t.region == "" {
		region = ""
	}
	if t.account == "" {
		account = ""
	}
	dst = append(dst, "arn:"...)
	dst = append(dst, partition...)
	dst = append(dst, ':')
	dst = append(dst, t.Service...)
	dst = append(dst, ':')
	dst = append(dst, region...)
	dst = append(dst, ':')
	dst = append(dst, account...)
	dst = append(dst, ':')
	i := 0
	for _, k := range t.res {
		if k.v == "" {
			dst = append(dst, k.lit...)
			continue
		}
		if i >= len(vals) || vals[i] == "" {
			return dst, false
		}
		dst = append(dst, vals[i]...)
		i++
	}
	return dst, true
}

// Fits reports whether arn is an ARN of this type: same service, region
// and account present or absent as the template says, and a resource part
// of the template's shape (a variable is one or more characters, without
// "/" unless it is a path-like variable).
func (t *ResourceType) Fits(arn string) bool {
	a, ok := Parse(arn)
	if !ok || a.Service != t.Service {
		return false
	}
	// A template without a region or account never has one; one with
	// them may still lack them (a record that did not say).
	if (t.region == "" && a.Region != "") || (t.account == "" && a.Account != "") {
		return false
	}
	return fitTokens(t.res, a.Resource)
}

func fitTokens(toks []tmplTok, s string) bool {
	if len(toks) == 0 {
		return s == ""
	}
	k := toks[0]
	if k.v == "" {
		return strings.HasPrefix(s, k.lit) && fitTokens(toks[1:], s[len(k.lit):])
	}
	// A variable takes one or more characters, none it may not hold; it
	// ends where the next literal begins.
	limit := len(s)
	if i := strings.IndexAny(s, k.forbidden()); i >= 0 {
		limit = i
	}
	if len(toks) == 1 {
		return s != "" && limit == len(s)
	}
	next := toks[1].lit // templates never put two variables side by side
	for e := 1; e <= limit; e++ {
		i := strings.Index(s[e:], next)
		if i < 0 || e+i > limit {
			return false
		}
		e += i
		if fitTokens(toks[1:], s[e:]) {
			return true
		}
	}
	return false
}

// forbidden lists the characters a variable cannot hold.
func (k *tmplTok) forbidden() string {
	switch {
	case k.span && k.colon:
		return ""
	case k.span:
		return ":"
	case k.colon:
		return "/"
	}
	return "/:"
}

// TypeOf returns the known resource type of arn, or nil.
func TypeOf(arn string) *ResourceType {
	a, ok := Parse(arn)
	if !ok {
		return nil
	}
	s := services[a.Service]
	if s == nil {
		for _, svc := range services {
			for _, t := range svc.Types {
				if t.Service == a.Service && t.Fits(arn) {
					return t
				}
			}
		}
		return nil
	}
	for _, t := range s.Types {
		if t.Fits(arn) {
			return t
		}
	}
	return nil
}
