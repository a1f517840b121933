package ingest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/agentwatch/agentwatch/schemas"
)

// Kubernetes user-info extras that name the credential and the pod a
// service-account token was bound to (Kubernetes 1.29+).
const (
	k8sExtraCredentialID = "authentication.kubernetes.io/credential-id"
	k8sExtraPodName      = "authentication.kubernetes.io/pod-name"
)

// parseK8s maps one audit.k8s.io Event (v1 or v1beta1).
func parseK8s(b []byte, p *parsed, obTags []string) error {
	var (
		auditID, stage, verb, uri, received, stageTS, ts, decision string
		user, imp, objRef, status, ips                             []byte
	)
	err := p.eachTop(b, func(k, v []byte) error {
		switch string(k) {
		case "auditID":
			auditID = str(v)
		case "stage":
			stage = str(v)
		case "verb":
			verb = str(v)
		case "requestURI":
			uri = str(v)
		case "requestReceivedTimestamp":
			received = str(v)
		case "stageTimestamp":
			stageTS = str(v)
		case "timestamp":
			ts = str(v)
		case "user":
			user = v
		case "impersonatedUser":
			imp = v
		case "objectRef":
			objRef = v
		case "responseStatus":
			status = v
		case "sourceIPs":
			ips = v
		case "userAgent":
			p.ev.UserAgent = str(v)
		case "annotations":
			if len(v) > 0 && v[0] == '{' {
				decision = str(objGet(v, "authorization.k8s.io/decision"))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The time of the access is when the API server received the request;
	// the stage time only says how far the request had got.
	field, when := "requestReceivedTimestamp", received
	if when == "" {
		field, when = "stageTimestamp", stageTS
	}
	if when == "" {
		field, when = "timestamp", ts
	}
	t, err := parseTime(field, when)
	if err != nil {
		return err
	}
	if verb == "" {
		return fmt.Errorf("verb: is missing")
	}
	p.ev.Time = t
	p.ev.System = "k8s"
	if auditID != "" {
		p.ev.EventID = "k8s:" + auditID + ":" + stage
	}
	if len(user) > 0 && user[0] == '{' {
		k8sUser(user, p, true)
	}
	if len(imp) > 0 && imp[0] == '{' {
		// The caller (user) acts as the impersonated user: the agent is
		// the caller, the impersonated identity is whom it acts for.
		p.ev.OnBehalfOf = str(objGet(imp, "username"))
	}
	p.onBehalfOf(obTags)
	if len(ips) > 0 && ips[0] == '[' {
		_ = arrayEach(ips, func(v []byte) error {
			p.setSrcIP(str(v))
			return errStop
		})
	}
	var what string
	if len(objRef) > 0 && objRef[0] == '{' {
		var ns, res, sub, name, group string
		_ = objectEach(objRef, func(k, v []byte) error {
			switch string(k) {
			case "namespace":
				ns = str(v)
			case "resource":
				res = str(v)
			case "subresource":
				sub = str(v)
			case "name":
				name = str(v)
			case "apiGroup":
				group = str(v)
			}
			return nil
		})
		what = res
		if sub != "" {
			what += "/" + sub
		}
		p.ev.ResourceType = res
		if group != "" {
			p.ev.ResourceType = res + "." + group
		}
		r := res
		if name != "" {
			r += "/" + name
		}
		if sub != "" {
			r += "/" + sub
		}
		if ns != "" {
			r = ns + "/" + r
		}
		p.ev.Resource = r
	}
	if what == "" {
		// Non-resource requests (/healthz, /metrics) are named by path.
		what = uri
		if i := strings.IndexByte(what, '?'); i >= 0 {
			what = what[:i]
		}
		p.ev.Resource = what
	}
	p.ev.Action = "k8s:" + verb
	if what != "" {
		p.ev.Action += " " + what
	}
	p.ev.Outcome = schemas.OutcomeUnknown
	if len(status) > 0 && status[0] == '{' {
		code, _ := num(objGet(status, "code"))
		switch {
		case code == 401 || code == 403:
			p.ev.Outcome = schemas.OutcomeDenied
		case code >= 400:
			p.ev.Outcome = schemas.OutcomeFailure
		case code > 0:
			p.ev.Outcome = schemas.OutcomeSuccess
		}
		if code >= 400 {
			p.ev.ErrorCode = strconv.FormatInt(code, 10)
			if reason := str(objGet(status, "reason")); reason != "" {
				p.ev.ErrorCode += " " + reason
			}
		}
	}
	if decision == "forbid" {
		p.ev.Outcome = schemas.OutcomeDenied
	}
	p.setAttr("k8s.stage", stage)
	return nil
}

// k8sUser reads a UserInfo: username, and the extras (as attribution tags)
// that name the credential and pod.
func k8sUser(u []byte, p *parsed, principal bool) {
	_ = objectEach(u, func(k, v []byte) error {
		switch string(k) {
		case "username":
			if principal {
				p.ev.Principal = str(v)
			}
		case "extra":
			if len(v) == 0 || v[0] != '{' {
				return nil
			}
			_ = objectEach(v, func(ek, ev []byte) error {
				if len(ev) > 0 && ev[0] == '[' {
					_ = arrayEach(ev, func(x []byte) error {
						p.setTag(string(ek), str(x))
						return errStop
					})
				}
				return nil
			})
		}
		return nil
	})
	cred := p.tags[k8sExtraCredentialID]
	switch {
	case strings.HasPrefix(cred, "JTI="):
		p.ev.CredentialID, p.ev.CredentialType = cred, schemas.CredJWT
	case strings.HasPrefix(cred, "X509SHA256="):
		p.ev.CredentialID, p.ev.CredentialType = cred, schemas.CredMTLS
	case cred != "":
		p.ev.CredentialID, p.ev.CredentialType = cred, schemas.CredUnknown
	case strings.HasPrefix(p.ev.Principal, "system:serviceaccount:"):
		p.ev.CredentialType = schemas.CredJWT
	case strings.HasPrefix(p.ev.Principal, "system:node:"):
		p.ev.CredentialType = schemas.CredMTLS
	}
	p.setAttr("k8s.pod", p.tags[k8sExtraPodName])
}
