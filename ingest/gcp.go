package ingest

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/agentwatch/agentwatch/schemas"
)

// parseGCP maps one Cloud Audit Logs LogEntry whose protoPayload is an
// AuditLog.
func parseGCP(b []byte, p *parsed) error {
	var insertID, ts, logName string
	var payload, labels []byte
	err := p.eachTop(b, func(k, v []byte) error {
		switch string(k) {
		case "insertId":
			insertID = str(v)
		case "timestamp":
			ts = str(v)
		case "logName":
			logName = str(v)
		case "protoPayload":
			payload = v
		case "resource":
			if len(v) > 0 && v[0] == '{' {
				labels = objGet(v, "labels")
				p.setAttr("gcp.resource_type", str(objGet(v, "type")))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	t, err := parseTime("timestamp", ts)
	if err != nil {
		return err
	}
	if len(payload) == 0 || payload[0] != '{' {
		return fmt.Errorf("protoPayload: is missing")
	}
	var service, method, resourceName string
	var auth, meta, status, authz []byte
	err = objectEach(payload, func(k, v []byte) error {
		switch string(k) {
		case "serviceName":
			service = str(v)
		case "methodName":
			method = str(v)
		case "resourceName":
			resourceName = str(v)
		case "authenticationInfo":
			auth = v
		case "requestMetadata":
			meta = v
		case "status":
			status = v
		case "authorizationInfo":
			authz = v
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("protoPayload: %w", err)
	}
	if service == "" {
		return fmt.Errorf("protoPayload.serviceName: is missing")
	}
	if method == "" {
		return fmt.Errorf("protoPayload.methodName: is missing")
	}
	p.ev.Time = t
	p.ev.System = "gcp:" + strings.TrimSuffix(service, ".googleapis.com")
	p.ev.Action = method
	p.ev.Resource = resourceName
	if insertID != "" {
		p.ev.EventID = "gcp:" + insertID
	}
	if len(auth) > 0 && auth[0] == '{' {
		gcpAuth(auth, p)
	}
	if len(meta) > 0 && meta[0] == '{' {
		p.setSrcIP(str(objGet(meta, "callerIp")))
		p.ev.UserAgent = str(objGet(meta, "callerSuppliedUserAgent"))
	}
	p.ev.Outcome = schemas.OutcomeSuccess
	if len(status) > 0 && status[0] == '{' {
		code, _ := num(objGet(status, "code"))
		switch code {
		case 0:
		case 7, 16: // PERMISSION_DENIED, UNAUTHENTICATED
			p.ev.Outcome = schemas.OutcomeDenied
		default:
			p.ev.Outcome = schemas.OutcomeFailure
		}
		if code != 0 {
			p.ev.ErrorCode = str(objGet(status, "message"))
			if p.ev.ErrorCode == "" {
				p.ev.ErrorCode = fmt.Sprintf("code %d", code)
			}
		}
	}
	if len(authz) > 0 && authz[0] == '[' {
		_ = arrayEach(authz, func(a []byte) error {
			if string(objGet(a, "granted")) == "false" {
				p.ev.Outcome = schemas.OutcomeDenied
				return errStop
			}
			return nil
		})
	}
	if len(labels) > 0 && labels[0] == '{' {
		p.setAttr("gcp.project", str(objGet(labels, "project_id")))
	}
	if i := strings.LastIndex(logName, "cloudaudit.googleapis.com%2F"); i >= 0 {
		p.setAttr("gcp.log", logName[i+len("cloudaudit.googleapis.com%2F"):])
	}
	return nil
}

// gcpAuth reads authenticationInfo. When a caller impersonates a service
// account, principalEmail is the service account (the agent) and
// serviceAccountDelegationInfo lists who asked for it, outermost first.
func gcpAuth(a []byte, p *parsed) {
	var email, subject, keyName string
	var chain []string
	_ = objectEach(a, func(k, v []byte) error {
		switch string(k) {
		case "principalEmail":
			email = str(v)
		case "principalSubject":
			subject = str(v)
		case "serviceAccountKeyName":
			keyName = str(v)
		case "serviceAccountDelegationInfo":
			if len(v) > 0 && v[0] == '[' {
				_ = arrayEach(v, func(d []byte) error {
					if who := gcpDelegator(d); who != "" {
						chain = append(chain, who)
					}
					return nil
				})
			}
		}
		return nil
	})
	p.ev.Principal = email
	if p.ev.Principal == "" {
		p.ev.Principal = subject
	}
	switch {
	case keyName != "":
		p.ev.CredentialID, p.ev.CredentialType = keyName, schemas.CredStaticKey
	case len(chain) > 0:
		p.ev.CredentialType = schemas.CredSTSSession
	case strings.HasSuffix(email, ".gserviceaccount.com"):
		p.ev.CredentialType = schemas.CredOAuthToken
	case email != "":
		p.ev.CredentialType = schemas.CredOAuthToken
	}
	if len(chain) > 0 {
		p.ev.OnBehalfOf = chain[0]
		p.ev.DelegationChain = chain
	}
}

func gcpDelegator(d []byte) string {
	if s := str(objGet(d, "principalSubject")); s != "" {
		return s
	}
	if s := str(objPath(d, "firstPartyPrincipal", "principalEmail")); s != "" {
		return s
	}
	if tp := objPath(d, "thirdPartyPrincipal", "thirdPartyClaims"); len(tp) > 0 && tp[0] == '{' {
		if s := str(objGet(tp, "sub")); s != "" {
			return s
		}
	}
	return ""
}

// pubSubData extracts and decodes message.data of a Pub/Sub push request.
func pubSubData(b []byte) ([]byte, string, error) {
	msg := objGet(b, "message")
	if len(msg) == 0 || msg[0] != '{' {
		return nil, "", fmt.Errorf("message: is missing")
	}
	data, ok := strOK(objGet(msg, "data"))
	if !ok || data == "" {
		return nil, "", fmt.Errorf("message.data: is missing or not a string")
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		if raw, err = base64.URLEncoding.DecodeString(data); err != nil {
			return nil, "", fmt.Errorf("message.data: not base64: %w", err)
		}
	}
	id := str(objGet(msg, "messageId"))
	if id == "" {
		id = str(objGet(msg, "message_id"))
	}
	return raw, id, nil
}
