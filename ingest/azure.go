package ingest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Azure claim names (long URIs in Activity Log identity.claims).
const (
	azClaimUPN   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"
	azClaimEmail = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	azClaimName  = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	azClaimOID   = "http://schemas.microsoft.com/identity/claims/objectidentifier"
)

// parseAzure maps one Azure Monitor Activity Log record (from the
// {"records":[...]} envelope diagnostic settings write). It is not one of
// the formats the issue lists, but real logs include it and a parsed event
// is more useful than a dead letter.
func parseAzure(b []byte, p *parsed) error {
	var ts, op, resultType, resultSig, caller, category string
	var identity []byte
	err := p.eachTop(b, func(k, v []byte) error {
		switch string(k) {
		case "time":
			ts = str(v)
		case "operationName":
			op = str(v)
		case "resultType":
			resultType = str(v)
		case "resultSignature":
			resultSig = str(v)
		case "callerIpAddress":
			p.setSrcIP(str(v))
		case "resourceId":
			p.ev.Resource = strings.ToLower(str(v))
		case "identity":
			identity = v
		case "caller":
			caller = str(v)
		case "category":
			category = str(v)
		case "correlationId":
			p.setAttr("azure.correlation_id", str(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	t, err := parseTime("time", ts)
	if err != nil {
		return err
	}
	if op == "" {
		return fmt.Errorf("operationName: is missing")
	}
	op = strings.ToLower(op)
	provider := op
	if i := strings.IndexByte(op, '/'); i > 0 {
		provider = op[:i]
	}
	p.ev.Time = t
	p.ev.System = "azure:" + provider
	p.ev.Action = op
	p.setAttr("azure.category", category)
	p.ev.Principal = caller
	if len(identity) > 0 && identity[0] == '{' {
		if claims := objGet(identity, "claims"); len(claims) > 0 && claims[0] == '{' {
			azureClaims(claims, p)
		}
	}
	switch strings.ToLower(resultType) {
	case "success", "succeeded":
		p.ev.Outcome = schemas.OutcomeSuccess
	case "failure", "failed":
		p.ev.Outcome = schemas.OutcomeFailure
		if strings.Contains(resultSig, "Forbidden") || strings.Contains(resultSig, "Unauthorized") {
			p.ev.Outcome = schemas.OutcomeDenied
		}
		p.ev.ErrorCode = resultSig
	default: // Start, Accept: the operation has not finished yet
		p.ev.Outcome = schemas.OutcomeUnknown
	}
	p.setAttr("azure.result_type", resultType)
	return nil
}

func azureClaims(c []byte, p *parsed) {
	var upn, email, name, oid, appid, uti, iat, exp string
	_ = objectEach(c, func(k, v []byte) error {
		switch string(k) {
		case azClaimUPN:
			upn = str(v)
		case azClaimEmail:
			email = str(v)
		case azClaimName:
			name = str(v)
		case azClaimOID:
			oid = str(v)
		case "appid":
			appid = str(v)
		case "uti":
			uti = str(v)
		case "iat":
			iat = scalar(v)
		case "exp":
			exp = scalar(v)
		}
		return nil
	})
	for _, s := range []string{upn, email, name, oid, appid} {
		if s != "" {
			p.ev.Principal = s
			break
		}
	}
	p.setTag("appid", appid)
	p.ev.CredentialType = schemas.CredOAuthToken
	p.ev.CredentialID = uti
	if t, ok := unixTime(iat); ok {
		p.ev.CredentialIssuedAt = &t
	}
	if t, ok := unixTime(exp); ok {
		p.ev.CredentialExpiresAt = &t
	}
}

func unixTime(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}
