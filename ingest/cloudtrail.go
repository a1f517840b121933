package ingest

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/agentwatch/agentwatch/internal/awsiam"
	"github.com/agentwatch/agentwatch/schemas"
)

// parseCloudTrail maps one CloudTrail record (as AWS delivers it, or as
// Logstash exports it with @timestamp instead of eventTime). The field
// mapping is documented in docs/formats.md. It reads the record in one
// pass, descending only into userIdentity, requestParameters (for the
// resource), resources and additionalEventData. The resource is named as
// the ARN IAM evaluates for the call (arn.go).
func parseCloudTrail(b []byte, p *parsed, obTags []string, sessions *sessionCache, athena *athenaCache) error {
	var (
		eventSource, eventName, errCode, eventID string
		eventTimeRaw, stampRaw                   []byte
		region, account, consoleLogin            string
		ui, reqParams, resources, extra, respEl  []byte
	)
	err := p.eachTop(b, func(k, v []byte) error {
		switch string(k) {
		case "eventTime":
			eventTimeRaw = v
		case "@timestamp":
			stampRaw = v
		case "eventSource":
			eventSource = p.in.str(v)
		case "eventName":
			eventName = p.in.str(v)
		case "errorCode":
			errCode = p.in.str(v)
		case "eventID":
			// One allocation for the prefixed id, not two.
			if len(v) >= 2 && v[0] == '"' && bytes.IndexByte(v, '\\') < 0 {
				eventID = "cloudtrail:" + string(v[1:len(v)-1])
			} else if s := str(v); s != "" {
				eventID = "cloudtrail:" + s
			}
		case "sourceIPAddress":
			p.setSrcIP(p.in.str(v))
		case "userAgent":
			p.ev.UserAgent = p.in.str(v)
		case "awsRegion":
			region = p.in.str(v)
		case "recipientAccountId":
			account = p.in.str(v)
		case "userIdentity":
			ui = v
		case "requestParameters":
			reqParams = v
		case "resources":
			resources = v
		case "additionalEventData":
			extra = v
		case "responseElements":
			if len(v) > 0 && v[0] == '{' {
				respEl = v
				consoleLogin = str(objGet(v, "ConsoleLogin"))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if eventTimeRaw == nil {
		eventTimeRaw = stampRaw
	}
	t, err := timeBytes("eventTime", eventTimeRaw)
	if err != nil {
		return err
	}
	if eventSource == "" {
		return fmt.Errorf("eventSource: is missing")
	}
	if eventName == "" {
		return fmt.Errorf("eventName: is missing")
	}
	// The IAM prefix, where CloudTrail's event source is spelt otherwise
	// (monitoring → cloudwatch), so that system and action read as a
	// policy would write them.
	svc := awsiam.PrefixOfSource(eventSource)
	p.ev.Time = t
	p.ev.System = p.in.join("aws", ":", svc)
	p.ev.Action = p.in.join(svc, ":", eventName)
	p.ev.ErrorCode = errCode
	p.ev.Outcome = cloudTrailOutcome(errCode, consoleLogin)
	p.ev.EventID = eventID
	var callerAccount string
	if len(ui) > 0 && ui[0] == '{' {
		var err error
		if callerAccount, err = cloudTrailIdentity(ui, p); err != nil {
			return fmt.Errorf("userIdentity: %w", err)
		}
	}
	// The first few entries are enough: the one a rule wants comes first
	// when there is one (S3 names the object before its bucket).
	var resBuf [4]ctResource
	res := resBuf[:0]
	if len(resources) > 0 && resources[0] == '[' {
		_ = arrayEach(resources, func(r []byte) error {
			var e ctResource
			_ = objectEach(r, func(k, v []byte) error {
				switch string(k) {
				case "ARN":
					e.arn = view(v)
				case "type":
					e.typ = view(v)
				case "accountId":
					e.account = view(v)
				}
				return nil
			})
			if e.arn != "" {
				res = append(res, e)
			}
			if len(res) == len(resBuf) {
				return errStop
			}
			return nil
		})
	}
	if len(reqParams) > 0 && reqParams[0] != '{' {
		reqParams = nil
	}
	rule := ruleFor(svc, eventName, p.ev.Action)
	if rule != nil {
		c := arnCtx{eventName: eventName, region: region, params: reqParams, resp: respEl,
			principal: p.ev.Principal, athena: athena, ok: p.ev.Outcome == schemas.OutcomeSuccess, in: p.in}
		c.partition = partitionOf(p.ev.Principal, region)
		// The account that owns the resource: as the record's resources
		// list says, else the account the event was delivered to, else
		// the caller's. A record that says none leaves it empty.
		for _, r := range res {
			if r.account != "" {
				c.account = r.account
				break
			}
		}
		if c.account == "" {
			c.account = account
		}
		if c.account == "" {
			c.account = callerAccount
		}
		if len(rule.account) > 0 && reqParams != nil {
			if a := c.value(rule.account); a != "" {
				c.account = a
			}
		}
		p.ev.Resource, p.ev.ResourceType = nameResource(rule, c, res)
	} else if len(res) > 0 {
		p.ev.Resource, p.ev.ResourceType = res[0].own(p.in)
	}
	var newSession sessionInfo
	if reqParams != nil {
		p.request = reqParams // for attribution rules on request_parameters
		if svc == "sts" || rule == nil {
			newSession = cloudTrailParams(reqParams, p, svc, rule == nil)
		}
	}
	if svc == "sts" && respEl != nil && p.ev.Outcome == schemas.OutcomeSuccess {
		// The tags describe the session being created, not the caller:
		// remember them for the calls that session will make.
		p.issuedKey = str(objPath(respEl, "credentials", "accessKeyId"))
		if !newSession.empty() {
			sessions.put(p.issuedKey, newSession)
		}
	}
	if info, ok := sessions.get(p.ev.CredentialID); ok {
		for k, v := range info.tags {
			p.setTag(k, v)
		}
		if p.ev.OnBehalfOf == "" {
			p.ev.OnBehalfOf = info.sourceIdentity
		}
	}
	if len(extra) > 0 && extra[0] == '{' {
		_ = objectEach(extra, func(k, v []byte) error {
			if string(k) == "bytesTransferredIn" || string(k) == "bytesTransferredOut" {
				if n, ok := num(v); ok && n > 0 {
					p.ev.Bytes += n
				}
			}
			return nil
		})
	}
	p.onBehalfOf(obTags)
	p.setAttr("aws.region", region)
	p.setAttr("aws.account", account)
	return nil
}

// cloudTrailIdentity reads userIdentity: principal, credential, session
// name, source identity. It returns the caller's account.
func cloudTrailIdentity(ui []byte, p *parsed) (string, error) {
	var typ, arn, principalID, keyID, invokedBy, issuer, userName, accountID string
	var createdRaw []byte
	err := objectEach(ui, func(k, v []byte) error {
		switch string(k) {
		case "type":
			typ = p.in.str(v)
		case "arn":
			arn = p.in.str(v)
		case "principalId":
			principalID = p.in.str(v)
		case "accessKeyId":
			keyID = p.in.str(v)
		case "invokedBy":
			invokedBy = p.in.str(v)
		case "userName":
			userName = p.in.str(v)
		case "accountId":
			accountID = view(v) // only ever copied into a built ARN
		case "sessionContext":
			if len(v) == 0 || v[0] != '{' {
				return nil
			}
			return objectEach(v, func(k, v []byte) error {
				switch string(k) {
				case "sourceIdentity":
					p.ev.OnBehalfOf = str(v)
				case "attributes":
					createdRaw = objGet(v, "creationDate")
				case "sessionIssuer":
					if len(v) > 0 && v[0] == '{' {
						issuer = p.in.str(objGet(v, "arn"))
					}
				}
				return nil
			})
		case "onBehalfOf":
			// IAM Identity Center: the workforce user behind the session.
			if len(v) > 0 && v[0] == '{' && p.ev.OnBehalfOf == "" {
				p.ev.OnBehalfOf = str(objGet(v, "userId"))
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	switch {
	case arn != "":
		p.ev.Principal = arn
	case invokedBy != "":
		p.ev.Principal = invokedBy
	case principalID != "":
		p.ev.Principal = principalID
	case userName != "":
		p.ev.Principal = userName
	}
	if typ == "AssumedRole" || typ == "FederatedUser" {
		if i := strings.LastIndexByte(arn, '/'); i >= 0 {
			p.sessionName = arn[i+1:]
		}
	}
	p.setAttr("aws.identity_type", typ)
	p.setAttr("aws.session_issuer", issuer)
	p.ev.CredentialID = keyID
	p.ev.CredentialType = credTypeForAWSKey(keyID)
	if p.ev.CredentialType == schemas.CredSTSSession && createdRaw != nil {
		if t, err := timeBytes("creationDate", createdRaw); err == nil {
			p.ev.CredentialIssuedAt = &t
		}
	}
	return accountID, nil
}

// partitionOf reads the partition from the caller's ARN, else from the
// region.
func partitionOf(principal, region string) string {
	if strings.HasPrefix(principal, "arn:") {
		if i := strings.IndexByte(principal[4:], ':'); i > 0 {
			return principal[4 : 4+i]
		}
	}
	return awsiam.PartitionOf(region)
}

// cloudTrailParams reads session tags from STS calls and, for services
// arnTable does not cover (legacy set), picks the resource out of
// requestParameters when the record has no resources list.
func cloudTrailParams(b []byte, p *parsed, svc string, legacy bool) sessionInfo {
	var first string
	var created sessionInfo
	firstRank := len(resourceParams)
	_ = objectEach(b, func(k, v []byte) error {
		switch string(k) {
		case "tags", "principalTags":
			// Only STS calls carry session tags; elsewhere "tags" are
			// resource tags being written, which say nothing about the
			// caller.
			if svc == "sts" {
				created.tags = cloudTrailTags(v, created.tags)
			}
		case "sourceIdentity":
			created.sourceIdentity = str(v)
		case "instancesSet":
			if firstRank > 0 && p.ev.Resource == "" {
				if id := firstInstanceID(v); id != "" {
					first, firstRank = id, 0
				}
			}
		default:
			if !legacy || p.ev.Resource != "" {
				return nil
			}
			for i, name := range resourceParams[:firstRank] {
				if string(k) == name {
					if s := str(v); s != "" {
						first, firstRank = s, i
					}
					break
				}
			}
		}
		return nil
	})
	if legacy && p.ev.Resource == "" {
		p.ev.Resource = first
	}
	return created
}

// resourceParams are requestParameters members that name the resource a
// call acts on, best first.
var resourceParams = []string{
	"roleArn", "policyArn", "secretId", "keyId", "functionName", "tableName",
	"topicArn", "queueUrl", "logGroupName", "trailName", "instanceId",
	"roleName", "userName", "groupName", "bucketName", "name", "resourceArn",
}

func firstInstanceID(v []byte) string {
	items := objGet(v, "items")
	var id string
	if len(items) > 0 && items[0] == '[' {
		_ = arrayEach(items, func(it []byte) error {
			id = str(objGet(it, "instanceId"))
			return errStop
		})
	}
	return id
}

// cloudTrailTags reads STS session tags, written either as a list of
// {"key","value"} pairs (AssumeRole requestParameters.tags) or as a map
// (principalTags).
func cloudTrailTags(v []byte, tags map[string]string) map[string]string {
	if len(v) == 0 {
		return tags
	}
	set := func(k, val string) {
		if k == "" || val == "" {
			return
		}
		if tags == nil {
			tags = map[string]string{}
		}
		tags[k] = val
	}
	switch v[0] {
	case '[':
		_ = arrayEach(v, func(t []byte) error {
			var k, val string
			_ = objectEach(t, func(kk, vv []byte) error {
				switch strings.ToLower(string(kk)) {
				case "key":
					k = str(vv)
				case "value":
					val = str(vv)
				}
				return nil
			})
			set(k, val)
			return nil
		})
	case '{':
		_ = objectEach(v, func(k, val []byte) error {
			set(string(k), str(val))
			return nil
		})
	}
	return tags
}

// cloudTrailOutcome: an authorisation refusal is "denied", any other error
// "failure". CloudTrail spells refusals in several ways across services.
func cloudTrailOutcome(errCode, consoleLogin string) string {
	if consoleLogin == "Failure" {
		return schemas.OutcomeFailure
	}
	if errCode == "" {
		return schemas.OutcomeSuccess
	}
	if isDeniedCode(errCode) {
		return schemas.OutcomeDenied
	}
	return schemas.OutcomeFailure
}

func isDeniedCode(code string) bool {
	for _, s := range []string{"AccessDenied", "Unauthorized", "Forbidden", "AuthorizationError", "NotAuthorized", "AuthFailure"} {
		if strings.Contains(code, s) {
			return true
		}
	}
	return false
}
