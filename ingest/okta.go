package ingest

import (
	"fmt"
	"strings"

	"github.com/agentwatch/agentwatch/schemas"
)

// parseOkta maps one Okta System Log LogEvent.
func parseOkta(b []byte, p *parsed) error {
	var uuid, published, eventType, actorType, result, reason, credType, sessionID string
	var targets, client []byte
	err := p.eachTop(b, func(k, v []byte) error {
		switch string(k) {
		case "uuid":
			uuid = str(v)
		case "published":
			published = str(v)
		case "eventType":
			eventType = str(v)
		case "actor":
			if len(v) > 0 && v[0] == '{' {
				actorType = str(objGet(v, "type"))
				p.ev.Principal = str(objGet(v, "alternateId"))
				if p.ev.Principal == "" || p.ev.Principal == "unknown" {
					p.ev.Principal = str(objGet(v, "id"))
				}
			}
		case "client":
			client = v
		case "outcome":
			if len(v) > 0 && v[0] == '{' {
				result = str(objGet(v, "result"))
				reason = str(objGet(v, "reason"))
			}
		case "target":
			targets = v
		case "authenticationContext":
			if len(v) > 0 && v[0] == '{' {
				credType = str(objGet(v, "credentialType"))
				sessionID = str(objGet(v, "externalSessionId"))
			}
		case "transaction":
			if len(v) > 0 && v[0] == '{' {
				p.setAttr("okta.transaction", str(objGet(v, "id")))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	t, err := parseTime("published", published)
	if err != nil {
		return err
	}
	if eventType == "" {
		return fmt.Errorf("eventType: is missing")
	}
	p.ev.Time = t
	p.ev.System = "okta"
	p.ev.Action = eventType
	if uuid != "" {
		p.ev.EventID = "okta:" + uuid
	}
	var clientID string
	if len(client) > 0 && client[0] == '{' {
		p.setSrcIP(str(objGet(client, "ipAddress")))
		p.ev.UserAgent = str(objPath(client, "userAgent", "rawUserAgent"))
		clientID = str(objGet(client, "id"))
	}
	p.setAttr("okta.actor_type", actorType)
	p.setAttr("okta.client_id", clientID)
	p.ev.CredentialType = oktaCredType(credType, actorType)
	switch {
	case sessionID != "" && sessionID != "unknown":
		p.ev.CredentialID = sessionID
	case clientID != "" && p.ev.CredentialType == schemas.CredOAuthToken:
		p.ev.CredentialID = clientID
	}
	// The first target is what was acted on; a User among the targets of
	// an action by an app or service is whom that app acted for.
	var firstTarget, firstType string
	if len(targets) > 0 && targets[0] == '[' {
		_ = arrayEach(targets, func(tg []byte) error {
			typ := str(objGet(tg, "type"))
			id := str(objGet(tg, "alternateId"))
			if id == "" || id == "unknown" {
				id = str(objGet(tg, "id"))
			}
			if firstTarget == "" {
				firstTarget, firstType = id, typ
			}
			if typ == "User" && actorType != "User" && p.ev.OnBehalfOf == "" {
				p.ev.OnBehalfOf = id
			}
			return nil
		})
	}
	p.ev.Resource, p.ev.ResourceType = firstTarget, firstType
	if p.ev.OnBehalfOf != "" {
		p.ev.DelegationChain = []string{p.ev.OnBehalfOf}
	}
	switch strings.ToUpper(result) {
	case "SUCCESS", "ALLOW":
		p.ev.Outcome = schemas.OutcomeSuccess
	case "FAILURE":
		p.ev.Outcome = schemas.OutcomeFailure
		p.ev.ErrorCode = reason
	case "DENY":
		p.ev.Outcome = schemas.OutcomeDenied
		p.ev.ErrorCode = reason
	default:
		p.ev.Outcome = schemas.OutcomeUnknown
	}
	return nil
}

func oktaCredType(credType, actorType string) string {
	switch strings.ToUpper(credType) {
	case "PASSWORD":
		return schemas.CredPassword
	case "OAUTH2":
		return schemas.CredOAuthToken
	case "JWT":
		return schemas.CredJWT
	case "CERTIFICATE":
		return schemas.CredMTLS
	case "PRE_SHARED_SYMMETRIC_KEY", "API_TOKEN":
		return schemas.CredStaticKey
	case "":
		if actorType == "PublicClientApp" || actorType == "AppInstance" {
			return schemas.CredOAuthToken
		}
		return ""
	}
	return schemas.CredUnknown
}
