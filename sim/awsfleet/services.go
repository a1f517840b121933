package awsfleet

import (
	"fmt"
	"time"
)

// The helpers below write the records of one API call each, shaped as the
// service logs it: parameters, response, resources, data or management
// event. They return the record (already queued) so that a caller can
// count or inspect it; options that change the outcome go in before emit.

// s3 client strings appear in brackets in S3's records.
func s3UA(c *caller) string {
	if c.id.InvokedBy != "" || c.console {
		return c.ua
	}
	return "[" + c.ua + "]"
}

func s3Params(c *caller, bucket string) map[string]any {
	region := c.region
	return map[string]any{"bucketName": bucket, "Host": bucket + ".s3." + region + ".amazonaws.com"}
}

func s3Extra(c *caller, in, out int64) map[string]any {
	return map[string]any{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": in,
		"AuthenticationMethod": "AuthHeader", "x-amz-id-2": amzID2(c.r), "bytesTransferredOut": out}
}

// s3Object is a data event on one object: GetObject, PutObject,
// HeadObject, DeleteObject. errCode "" is success; "AccessDenied" or
// "NoSuchKey" fail it.
func (g *gen) s3Object(c *caller, t time.Time, name, bucket, key string, size int64, errCode string) *Record {
	r := g.rec(c, t, "s3", name)
	r.UserAgent = s3UA(c)
	r.RequestID = s3RequestID(c.r)
	r.ManagementEvent, r.EventCategory = false, "Data"
	p := s3Params(c, bucket)
	p["key"] = key
	r.RequestParameters = p
	in, out := int64(0), int64(0)
	switch name {
	case "GetObject":
		out = size
	case "PutObject":
		in = size
		// SSE-S3, the buckets' default encryption: no KMS permission
		// is needed to write or read.
		r.ResponseElements = map[string]any{"x-amz-server-side-encryption": "AES256"}
	}
	if r.TLSDetails != nil {
		r.TLSDetails.ClientProvidedHostHeader = bucket + ".s3." + c.region + ".amazonaws.com"
	}
	r.Resources = []Resource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::" + bucket + "/" + key},
		{AccountID: Account, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + bucket}}
	switch errCode {
	case "":
		r.AdditionalEventData = s3Extra(c, in, out)
	case "AccessDenied":
		r.ErrorCode, r.ErrorMessage, r.ResponseElements = "AccessDenied", "Access Denied", nil
		r.AdditionalEventData = s3Extra(c, 0, 243)
	case "NoSuchKey":
		r.ErrorCode, r.ErrorMessage, r.ResponseElements = "NoSuchKey", "The specified key does not exist.", nil
		r.AdditionalEventData = s3Extra(c, 0, 358)
	}
	g.emit(c, r)
	return r
}

// s3List is ListObjectsV2 (logged as ListObjects with list-type 2).
func (g *gen) s3List(c *caller, t time.Time, bucket, prefix string, keys int, errCode string) *Record {
	r := g.rec(c, t, "s3", "ListObjects")
	r.UserAgent = s3UA(c)
	r.RequestID = s3RequestID(c.r)
	r.ManagementEvent, r.EventCategory = false, "Data"
	p := s3Params(c, bucket)
	p["list-type"], p["encoding-type"], p["prefix"], p["max-keys"] = "2", "url", prefix, "1000"
	r.RequestParameters = p
	if r.TLSDetails != nil {
		r.TLSDetails.ClientProvidedHostHeader = bucket + ".s3." + c.region + ".amazonaws.com"
	}
	r.Resources = []Resource{{Type: "AWS::S3::Object", ARNPrefix: "arn:aws:s3:::" + bucket + "/" + prefix},
		{AccountID: Account, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + bucket}}
	if errCode == "AccessDenied" {
		r.ErrorCode, r.ErrorMessage = "AccessDenied", "Access Denied"
		r.AdditionalEventData = s3Extra(c, 0, 243)
	} else {
		r.AdditionalEventData = s3Extra(c, 0, int64(400+keys*310))
	}
	g.emit(c, r)
	return r
}

// s3Bucket is a management call on a bucket (GetBucketPolicy,
// PutBucketPolicy, GetBucketAcl, GetBucketLocation ...); ListBuckets has
// no bucket.
func (g *gen) s3Bucket(c *caller, t time.Time, name, bucket string, extra map[string]any) *Record {
	r := g.rec(c, t, "s3", name)
	r.UserAgent = s3UA(c)
	r.RequestID = s3RequestID(c.r)
	if bucket == "" {
		r.RequestParameters = map[string]any{"Host": "s3." + c.region + ".amazonaws.com"}
	} else {
		p := s3Params(c, bucket)
		for k, v := range extra {
			p[k] = v
		}
		r.RequestParameters = p
		r.Resources = []Resource{{AccountID: Account, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + bucket}}
		if r.TLSDetails != nil {
			r.TLSDetails.ClientProvidedHostHeader = bucket + ".s3." + c.region + ".amazonaws.com"
		}
	}
	r.AdditionalEventData = s3Extra(c, 0, 512)
	g.emit(c, r)
	return r
}

// secretValue is GetSecretValue and, when it succeeds, the KMS Decrypt
// Secrets Manager makes with the caller's identity.
func (g *gen) secretValue(c *caller, t time.Time, secret string, allowed bool) *Record {
	r := g.rec(c, t, "secretsmanager", "GetSecretValue")
	r.RequestParameters = map[string]any{"secretId": secret}
	arn := secretARN(c.region, secret)
	if !allowed {
		deny(r, arn)
		g.emit(c, r)
		return r
	}
	g.emit(c, r)
	d := g.rec(c.via("secretsmanager.amazonaws.com"), t, "kms", "Decrypt")
	d.RequestParameters = map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
		"encryptionContext": map[string]any{"SecretARN": arn, "SecretVersionId": stableUUID("secret-version", secret)}}
	d.Resources = []Resource{{AccountID: Account, Type: "AWS::KMS::Key", ARN: kmsKey(c.region, "secrets")}}
	g.emit(c.via("secretsmanager.amazonaws.com"), d)
	return r
}

// secretARN is a secret's ARN: its name plus the six random characters
// Secrets Manager appends.
func secretARN(region, name string) string {
	return "arn:aws:secretsmanager:" + region + ":" + Account + ":secret:" + name + "-" + stableString(lowerAlnum+"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 6, "secret", name)
}

// parameter is SSM GetParameter (or GetParameters), with the KMS Decrypt
// SSM makes for a SecureString.
func (g *gen) parameter(c *caller, t time.Time, names []string, decrypt, allowed bool) *Record {
	name := "GetParameter"
	var p map[string]any
	if len(names) == 1 {
		p = map[string]any{"name": names[0], "withDecryption": decrypt}
	} else {
		name = "GetParameters"
		p = map[string]any{"names": names, "withDecryption": decrypt}
	}
	r := g.rec(c, t, "ssm", name)
	r.RequestParameters = p
	if !allowed {
		deny(r, "arn:aws:ssm:"+c.region+":"+Account+":parameter"+names[0])
		g.emit(c, r)
		return r
	}
	g.emit(c, r)
	if decrypt {
		d := g.rec(c.via("ssm.amazonaws.com"), t, "kms", "Decrypt")
		d.RequestParameters = map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
			"encryptionContext": map[string]any{"PARAMETER_ARN": "arn:aws:ssm:" + c.region + ":" + Account + ":parameter" + names[0]}}
		d.Resources = []Resource{{AccountID: Account, Type: "AWS::KMS::Key", ARN: kmsKey(c.region, "ssm")}}
		g.emit(c.via("ssm.amazonaws.com"), d)
	}
	return r
}

// model is one Bedrock runtime call (InvokeModel, Converse, ...).
func (g *gen) model(c *caller, t time.Time, name, modelID string, throttled bool) *Record {
	r := g.rec(c, t, "bedrock", name)
	r.RequestParameters = map[string]any{"modelId": modelID}
	r.AdditionalEventData = map[string]any{"inferenceRegion": c.region}
	if throttled {
		fail(r, "ThrottlingException", "Too many requests, please wait before trying again.")
	}
	g.emit(c, r)
	return r
}

// athenaQuery runs one Athena query the way the SDK does (start, poll,
// fetch) with what Athena does for the caller in between: Glue metadata
// lookups and S3 reads of the data files, and the result written to the
// output location, all with the caller's identity and invokedBy Athena.
// files are the data objects (bucket, key) the query reads.
func (g *gen) athenaQuery(c *caller, t time.Time, workgroup, db, table, sql string, files [][2]string, resultsBucket, resultsPrefix string) time.Time {
	qid := newUUID(c.r)
	r := g.rec(c, t, "athena", "StartQueryExecution")
	r.RequestParameters = map[string]any{"queryString": sql, "queryExecutionContext": map[string]any{"database": db},
		"resultConfiguration": map[string]any{"outputLocation": "s3://" + resultsBucket + "/" + resultsPrefix}, "workGroup": workgroup,
		"clientRequestToken": newUUID(c.r)}
	r.ResponseElements = map[string]any{"queryExecutionId": qid}
	g.emit(c, r)
	athena := c.via("athena.amazonaws.com")
	at := t.Add(300 * time.Millisecond)
	gt := g.rec(athena, at, "glue", "GetTable")
	gt.RequestParameters = map[string]any{"catalogId": Account, "databaseName": db, "name": table}
	g.emit(athena, gt)
	if len(files) > 0 {
		gp := g.rec(athena, at.Add(150*time.Millisecond), "glue", "GetPartitions")
		gp.RequestParameters = map[string]any{"catalogId": Account, "databaseName": db, "tableName": table,
			"expression": "dt >= '" + t.AddDate(0, 0, -7).Format(time.DateOnly) + "'"}
		g.emit(athena, gp)
	}
	for i, f := range files {
		g.s3Object(athena, at.Add(time.Duration(600+40*i)*time.Millisecond), "GetObject", f[0], f[1], int64(2_000_000+c.r.IntN(60_000_000)), "")
	}
	run := time.Duration(1500+c.r.IntN(2500)+len(files)*120) * time.Millisecond
	polls := 1 + int(run/(1200*time.Millisecond))
	for i := range polls {
		p := g.rec(c, t.Add(time.Duration(i+1)*1200*time.Millisecond), "athena", "GetQueryExecution")
		p.RequestParameters = map[string]any{"queryExecutionId": qid}
		g.emit(c, p)
	}
	done := t.Add(run)
	g.s3Object(athena, done, "PutObject", resultsBucket, resultsPrefix+qid+".csv", int64(5_000+c.r.IntN(900_000)), "")
	res := g.rec(c, done.Add(400*time.Millisecond), "athena", "GetQueryResults")
	res.RequestParameters = map[string]any{"queryExecutionId": qid, "maxResults": 1000}
	g.emit(c, res)
	return done.Add(time.Second)
}

// glue is a direct Glue catalogue call (schema discovery).
func (g *gen) glue(c *caller, t time.Time, name, db, table string) *Record {
	r := g.rec(c, t, "glue", name)
	switch name {
	case "GetTable":
		r.RequestParameters = map[string]any{"catalogId": Account, "databaseName": db, "name": table}
	case "GetTables":
		r.RequestParameters = map[string]any{"catalogId": Account, "databaseName": db}
	case "GetDatabase":
		r.RequestParameters = map[string]any{"catalogId": Account, "name": db}
	case "GetDatabases":
		r.RequestParameters = map[string]any{"catalogId": Account}
	}
	g.emit(c, r)
	return r
}

func ecrRepo(region, repo string) string {
	return "arn:aws:ecr:" + region + ":" + Account + ":repository/" + repo
}

func digest(c *caller) string { return "sha256:" + randString(c.r, lowerHex, 64) }

// ecrCall is one ECR call on a repository ("" for GetAuthorizationToken).
func (g *gen) ecrCall(c *caller, t time.Time, name, repo string) *Record {
	r := g.rec(c, t, "ecr", name)
	if repo != "" {
		r.Resources = []Resource{{AccountID: Account, ARN: ecrRepo(c.region, repo)}}
	}
	switch name {
	case "GetAuthorizationToken":
		r.RequestParameters = nil
	case "BatchCheckLayerAvailability":
		r.RequestParameters = map[string]any{"repositoryName": repo, "registryId": Account, "layerDigests": []string{digest(c), digest(c)}}
	case "InitiateLayerUpload":
		r.RequestParameters = map[string]any{"repositoryName": repo, "registryId": Account}
		r.ResponseElements = map[string]any{"uploadId": newUUID(c.r), "partSize": 20971520}
	case "UploadLayerPart":
		r.RequestParameters = map[string]any{"repositoryName": repo, "registryId": Account, "uploadId": newUUID(c.r),
			"partFirstByte": 0, "partLastByte": 20971519}
	case "CompleteLayerUpload":
		r.RequestParameters = map[string]any{"repositoryName": repo, "registryId": Account, "uploadId": newUUID(c.r), "layerDigests": []string{digest(c)}}
	case "PutImage":
		r.RequestParameters = map[string]any{"repositoryName": repo, "registryId": Account, "imageTag": "sha-" + randString(c.r, lowerHex, 7),
			"imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json"}
	case "BatchGetImage":
		r.RequestParameters = map[string]any{"repositoryName": repo, "registryId": Account, "imageIds": []map[string]any{{"imageTag": "prod"}},
			"acceptedMediaTypes": []string{"application/vnd.oci.image.manifest.v1+json"}}
	case "GetDownloadUrlForLayer":
		r.RequestParameters = map[string]any{"repositoryName": repo, "registryId": Account, "layerDigest": digest(c)}
	case "DescribeImages":
		r.RequestParameters = map[string]any{"repositoryName": repo, "registryId": Account}
	}
	g.emit(c, r)
	return r
}

// Lambda's event names carry the API version they were called with.
var lambdaNames = map[string]string{
	"UpdateFunctionCode":          "UpdateFunctionCode20150331v2",
	"UpdateFunctionConfiguration": "UpdateFunctionConfiguration20150331v2",
	"GetFunction":                 "GetFunction20150331v2",
	"GetFunctionConfiguration":    "GetFunctionConfiguration20150331v2",
	"PublishVersion":              "PublishVersion20150331",
	"UpdateAlias":                 "UpdateAlias20150331",
	"ListFunctions":               "ListFunctions20150331",
	"ListVersionsByFunction":      "ListVersionsByFunction20150331",
}

func lambdaARN(region, fn string) string {
	return "arn:aws:lambda:" + region + ":" + Account + ":function:" + fn
}

// lambda is one Lambda control-plane call on function fn.
func (g *gen) lambda(c *caller, t time.Time, op, fn string) *Record {
	r := g.rec(c, t, "lambda", lambdaNames[op])
	switch op {
	case "ListFunctions":
		r.RequestParameters = nil
	case "UpdateFunctionCode":
		r.RequestParameters = map[string]any{"functionName": fn, "s3Bucket": "acme-build-artifacts",
			"s3Key": "lambda/" + fn + "/" + randString(c.r, lowerHex, 40) + ".zip", "publish": false, "dryRun": false}
		r.ResponseElements = map[string]any{"functionName": fn, "functionArn": lambdaARN(c.region, fn), "runtime": "python3.12",
			"codeSize": 4_000_000 + c.r.IntN(20_000_000), "version": "$LATEST", "lastUpdateStatus": "InProgress", "revisionId": newUUID(c.r)}
	case "PublishVersion":
		r.RequestParameters = map[string]any{"functionName": fn}
		r.ResponseElements = map[string]any{"functionName": fn, "functionArn": lambdaARN(c.region, fn) + ":" + fmt.Sprint(10+c.r.IntN(300))}
	case "UpdateAlias":
		r.RequestParameters = map[string]any{"functionName": fn, "name": "live", "functionVersion": fmt.Sprint(10 + c.r.IntN(300))}
		r.ResponseElements = map[string]any{"aliasArn": lambdaARN(c.region, fn) + ":live", "name": "live"}
	default:
		r.RequestParameters = map[string]any{"functionName": fn}
	}
	g.emit(c, r)
	return r
}

// api is any other management call: svc:name with the given parameters
// (nil writes null) and no response body, as Describe/List/Get calls log.
func (g *gen) api(c *caller, t time.Time, svc, name string, params map[string]any) *Record {
	r := g.rec(c, t, svc, name)
	r.RequestParameters = params
	g.emit(c, r)
	return r
}

// apiDenied is api refused by IAM.
func (g *gen) apiDenied(c *caller, t time.Time, svc, name string, params map[string]any, resource string) *Record {
	r := g.rec(c, t, svc, name)
	r.RequestParameters = params
	deny(r, resource)
	g.emit(c, r)
	return r
}

// callerIdentity is sts:GetCallerIdentity, which needs no permission:
// SDKs and CLIs call it to check their credentials.
func (g *gen) callerIdentity(c *caller, t time.Time) *Record {
	return g.api(c, t, "sts", "GetCallerIdentity", nil)
}

// assumeRole is sts:AssumeRole by c for session s (which says the role,
// the session name and the key the response returns), with session tags.
func (g *gen) assumeRole(c *caller, t time.Time, s *session, tags [][2]string) *Record {
	r := g.rec(c, t, "sts", "AssumeRole")
	p := map[string]any{"roleArn": s.roleARN(), "roleSessionName": s.name, "durationSeconds": int(s.duration / time.Second)}
	if len(tags) > 0 {
		ts := make([]map[string]any, len(tags))
		for i, kv := range tags {
			ts[i] = map[string]any{"key": kv[0], "value": kv[1]}
		}
		p["tags"] = ts
	}
	r.RequestParameters = p
	r.ResponseElements = map[string]any{
		"credentials":     map[string]any{"accessKeyId": s.key, "sessionToken": sessionToken(c.r), "expiration": expirationStamp(s.created.Add(s.duration))},
		"assumedRoleUser": map[string]any{"assumedRoleId": s.roleID + ":" + s.name, "arn": s.principalARN()},
	}
	if len(tags) > 0 {
		r.ResponseElements["packedPolicySize"] = 6
	}
	r.Resources = []Resource{{AccountID: Account, Type: "AWS::IAM::Role", ARN: s.roleARN()}}
	if c.id.Type == "AWSService" {
		r.SharedEventID = newUUID(c.r)
	}
	g.emit(c, r)
	return r
}

// iam is an IAM call on a named role, user or policy.
func (g *gen) iam(c *caller, t time.Time, name string, params map[string]any) *Record {
	r := g.rec(c, t, "iam", name)
	r.RequestParameters = params
	g.emit(c, r)
	return r
}

// ec2Describe is an EC2 Describe call with an (often empty) filter set.
func (g *gen) ec2Describe(c *caller, t time.Time, name string, denied bool) *Record {
	r := g.rec(c, t, "ec2", name)
	switch name {
	case "DescribeInstances":
		r.RequestParameters = map[string]any{"instancesSet": map[string]any{}, "filterSet": map[string]any{}}
	case "DescribeSnapshots":
		r.RequestParameters = map[string]any{"snapshotSet": map[string]any{}, "ownersSet": map[string]any{"items": []map[string]any{{"owner": "self"}}},
			"sharedUsersSet": map[string]any{}, "filterSet": map[string]any{}}
	case "DescribeImages":
		r.RequestParameters = map[string]any{"executableBySet": map[string]any{}, "imagesSet": map[string]any{},
			"ownersSet": map[string]any{"items": []map[string]any{{"owner": "self"}}}, "filterSet": map[string]any{}}
	default:
		r.RequestParameters = map[string]any{"filterSet": map[string]any{}}
	}
	if denied {
		deny(r, "*")
	}
	g.emit(c, r)
	return r
}

// logGroup names a CloudWatch Logs group of the platform.
func logGroup(app string) string { return "/aws/containerinsights/agent-platform/application/" + app }
