package ingest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Vault audit entries: what the file and socket audit devices of HashiCorp
// Vault (and OpenBao) write, one JSON object per line, a "request" entry
// before Vault acts and a "response" entry after, both holding the request
// and the caller's token. Vault HMACs most strings (tokens, accessors unless
// hmac_accessor=false, request and response data) with the device's salt;
// agentwatch keeps them as written: an HMAC'd accessor is still a stable id
// for one token, and nothing here needs the plain text.

// Tag keys a Vault record offers to attribution rules, besides every key of
// the token's auth metadata (role_name, service_account_name, username...).
const (
	vaultTagEntity   = "vault.entity_id"
	vaultTagRole     = "vault.role"
	vaultTagAccessor = "vault.accessor"
	vaultTagPolicy   = "vault.policy"
	vaultTagPolicies = "vault.policies"
	vaultTagDisplay  = "vault.display_name"
)

// vaultAuth is the token block of an entry (or of a login response).
type vaultAuth struct {
	display, entity, accessor, tokenType, issued string
	ttl                                          int64
	hasTTL                                       bool
	policies                                     []string
	metadata                                     [][2]string
}

func (a *vaultAuth) empty() bool {
	return a.display == "" && a.entity == "" && a.accessor == "" && len(a.policies) == 0
}

// parseVaultAuth reads an auth object: display_name, entity_id, accessor,
// token_policies (else policies), metadata, token_type, token_issue_time
// and token_ttl.
func parseVaultAuth(b []byte) vaultAuth {
	var a vaultAuth
	if len(b) == 0 || b[0] != '{' {
		return a
	}
	var policies, tokenPolicies []byte
	_ = objectEach(b, func(k, v []byte) error {
		switch string(k) {
		case "display_name":
			a.display = str(v)
		case "entity_id":
			a.entity = str(v)
		case "accessor":
			a.accessor = str(v)
		case "token_type":
			a.tokenType = str(v)
		case "token_issue_time":
			a.issued = str(v)
		case "token_ttl":
			a.ttl, a.hasTTL = num(v)
		case "policies":
			policies = v
		case "token_policies":
			tokenPolicies = v
		case "metadata":
			if len(v) > 0 && v[0] == '{' {
				_ = objectEach(v, func(mk, mv []byte) error {
					if s := scalar(mv); s != "" && len(a.metadata) < 16 {
						a.metadata = append(a.metadata, [2]string{string(mk), s})
					}
					return nil
				})
			}
		}
		return nil
	})
	list := tokenPolicies
	if len(list) == 0 || list[0] != '[' {
		list = policies
	}
	if len(list) > 0 && list[0] == '[' {
		_ = arrayEach(list, func(v []byte) error {
			if s := str(v); s != "" && len(a.policies) < 32 {
				a.policies = append(a.policies, s)
			}
			return nil
		})
	}
	return a
}

func (a *vaultAuth) meta(keys ...string) string {
	for _, k := range keys {
		for _, kv := range a.metadata {
			if kv[0] == k {
				return kv[1]
			}
		}
	}
	return ""
}

// vaultReq is the request block of an entry.
type vaultReq struct {
	id, op, path, mountType, mountPoint, remote, namespace, userAgent string
	headers                                                           [][2]string
}

func parseVaultReq(b []byte) vaultReq {
	var r vaultReq
	_ = objectEach(b, func(k, v []byte) error {
		switch string(k) {
		case "id":
			r.id = str(v)
		case "operation":
			r.op = str(v)
		case "path":
			r.path = str(v)
		case "mount_type":
			r.mountType = str(v)
		case "mount_point":
			r.mountPoint = str(v)
		case "remote_address":
			r.remote = str(v)
		case "namespace":
			if len(v) > 0 && v[0] == '{' {
				r.namespace = str(objGet(v, "path"))
			}
		case "headers":
			// Audited request headers (sys/config/auditing/request-headers):
			// lower-case names, each a list of values.
			if len(v) > 0 && v[0] == '{' {
				_ = objectEach(v, func(hk, hv []byte) error {
					var first string
					if len(hv) > 0 && hv[0] == '[' {
						_ = arrayEach(hv, func(x []byte) error {
							if first == "" {
								first = str(x)
							}
							return nil
						})
					} else {
						first = str(hv)
					}
					name := strings.ToLower(string(hk))
					if name == "user-agent" {
						r.userAgent = first
					} else if first != "" && len(r.headers) < 8 {
						r.headers = append(r.headers, [2]string{name, first})
					}
					return nil
				})
			}
		}
		return nil
	})
	return r
}

// parseVault maps one Vault audit entry. onBehalfOfTags are the auth
// metadata keys (or audited request headers) naming whom the caller acts
// for.
func parseVault(b []byte, p *parsed, onBehalfOfTags []string) error {
	var ts, typ, errText string
	var auth, req, resp []byte
	err := p.eachTop(b, func(k, v []byte) error {
		switch string(k) {
		case "time":
			ts = str(v)
		case "type":
			typ = str(v)
		case "error":
			errText = str(v)
		case "auth":
			auth = v
		case "request":
			req = v
		case "response":
			resp = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	if typ != "request" && typ != "response" {
		return fmt.Errorf("type: %q is not request or response", typ)
	}
	if len(req) == 0 || req[0] != '{' {
		return fmt.Errorf("request: is missing or not an object")
	}
	t, err := parseTime("time", ts)
	if err != nil {
		return err
	}
	r := parseVaultReq(req)
	if r.op == "" {
		return fmt.Errorf("request.operation: is missing")
	}
	a := parseVaultAuth(auth)
	var leaseID string
	var respAuth vaultAuth
	if len(resp) > 0 && resp[0] == '{' {
		respAuth = parseVaultAuth(objGet(resp, "auth"))
		leaseID = str(objPath(resp, "secret", "lease_id"))
	}
	// A login carries no token yet: the response's auth block is the
	// identity that logged in and the token it received.
	if a.empty() && !respAuth.empty() {
		a = respAuth
	}

	p.ev.Time = t
	if r.id != "" {
		p.ev.EventID = "vault:" + r.id + ":" + typ
	}
	p.ev.Principal = a.display
	if p.ev.Principal == "" {
		p.ev.Principal = a.entity
	}
	p.ev.CredentialID = a.accessor
	if !a.empty() {
		// A token with a TTL is a leased, expiring credential; one without
		// (root, or created with no expiry) lives until revoked.
		switch {
		case a.hasTTL && a.ttl > 0:
			p.ev.CredentialType = schemas.CredSTSSession
		case a.hasTTL || a.display == "root":
			p.ev.CredentialType = schemas.CredStaticKey
		default:
			p.ev.CredentialType = schemas.CredUnknown
		}
	}
	if a.issued != "" {
		if it, err := parseTime("auth.token_issue_time", a.issued); err == nil {
			p.ev.CredentialIssuedAt = &it
			if a.ttl > 0 {
				exp := it.Add(time.Duration(a.ttl) * time.Second)
				p.ev.CredentialExpiresAt = &exp
			}
		}
	}

	mount := r.mountType
	if mount == "" {
		// Vault before 1.15 does not write mount_type: the first path
		// segment (the mount path, e.g. "secret") stands in for it.
		var rest string
		mount, rest, _ = strings.Cut(r.path, "/")
		if mount == "auth" {
			mount, _, _ = strings.Cut(rest, "/")
		}
	}
	if mount == "" {
		mount = "unknown"
	}
	p.ev.System = p.in.join("vault", ":", mount)
	p.ev.Action = p.in.join("vault", ":", r.op)
	p.ev.Resource = r.namespace + r.path
	p.ev.ResourceType = mount
	p.ev.UserAgent = r.userAgent
	host, _, _ := strings.Cut(r.remote, "%")
	p.setSrcIP(host)

	switch {
	case errText != "":
		p.ev.ErrorCode = vaultErrorText(errText)
		if vaultDenied(p.ev.ErrorCode) {
			p.ev.Outcome = schemas.OutcomeDenied
		} else {
			p.ev.Outcome = schemas.OutcomeFailure
		}
	case typ == "response":
		p.ev.Outcome = schemas.OutcomeSuccess
	default:
		// A request entry is written before Vault acts.
		p.ev.Outcome = schemas.OutcomeUnknown
	}

	role := a.meta("role_name", "role")
	// Tags for agent_tag / instance_tag rules: the auth metadata as
	// written, plus the token's identity under vault.* names.
	for _, kv := range a.metadata {
		p.setTag(kv[0], kv[1])
	}
	for _, h := range r.headers {
		p.setTag(h[0], h[1])
	}
	policy := ""
	for _, pol := range a.policies {
		if pol != "default" {
			policy = pol
			break
		}
	}
	sorted := append([]string(nil), a.policies...)
	sort.Strings(sorted)
	policies := strings.Join(sorted, ",")
	p.setTag(vaultTagEntity, a.entity)
	p.setTag(vaultTagRole, role)
	p.setTag(vaultTagAccessor, a.accessor)
	p.setTag(vaultTagPolicy, policy)
	p.setTag(vaultTagPolicies, policies)
	p.setTag(vaultTagDisplay, a.display)
	p.onBehalfOf(onBehalfOfTags)
	p.sessionName = vaultSessionName(role, a.entity, a.accessor, policies)

	p.setAttr("vault.type", typ)
	p.setAttr("vault.mount_point", r.mountPoint)
	p.setAttr("vault.auth", vaultAuthMethod(&a, &r))
	p.setAttr("vault.entity_id", a.entity)
	p.setAttr("vault.policies", policies)
	p.setAttr("vault.token_type", a.tokenType)
	if a.hasTTL {
		p.setAttr("vault.token_ttl", strconv.FormatInt(a.ttl, 10))
	}
	// A response that hands out a lease is a dynamic secret (database,
	// aws, gcp... engines): short-lived, revoked when the lease ends.
	p.setAttr("vault.lease_id", leaseID)
	return nil
}

// vaultSessionName is what session_name rules match for a Vault record:
// the token's identity as space-separated key=value pairs (only those
// present, in this order), so that one regular expression can key on the
// role, the entity, the accessor or the policies.
func vaultSessionName(role, entity, accessor, policies string) string {
	var b strings.Builder
	add := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(v, " ", "_"))
	}
	add("role", role)
	add("entity", entity)
	add("accessor", accessor)
	add("policies", policies)
	return b.String()
}

// vaultAuthMethod names how the token was obtained: on a login, the auth
// mount's type; otherwise the auth mount name Vault puts before the first
// "-" of the token's display name ("approle", "kubernetes-agents-bot",
// "userpass-alice"; "token" and "root" for tokens made directly).
func vaultAuthMethod(a *vaultAuth, r *vaultReq) string {
	if strings.HasPrefix(r.path, "auth/") && strings.HasSuffix(r.path, "/login") || strings.Contains(r.path, "/login/") {
		if r.mountType != "" {
			return r.mountType
		}
	}
	if a.display == "" {
		return ""
	}
	m, _, _ := strings.Cut(a.display, "-")
	return m
}

// vaultErrorText turns Vault's multierror text ("1 error occurred:\n\t*
// permission denied\n\n") into its message.
func vaultErrorText(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "error occurred:") || strings.Contains(s, "errors occurred:") {
		var parts []string
		for _, line := range strings.Split(s, "\n") {
			line = strings.TrimSpace(line)
			if rest, ok := strings.CutPrefix(line, "* "); ok {
				parts = append(parts, rest)
			}
		}
		if len(parts) > 0 {
			s = strings.Join(parts, "; ")
		}
	}
	if len(s) > 512 {
		s = s[:512]
	}
	return s
}

// vaultDenied reports an authorisation or authentication refusal.
func vaultDenied(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"permission denied", "invalid token", "missing client token", "invalid role", "invalid secret id", "token not found", "unauthorized"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}
