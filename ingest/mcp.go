package ingest

import (
	"fmt"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// parseMCP maps one line of an MCP tool-call log. Three shapes are read
// (docs/formats.md has examples):
//
//   - a bare JSON-RPC 2.0 message, as an MCP client logs it: a tools/call
//     request, or a result or error response;
//   - a gateway line: metadata (time, server, session_id, client, principal,
//     user, auth, remote_addr) around the JSON-RPC message in "message";
//   - a gateway line that holds both "request" and "response", one per call.
//
// recv is when the collector received the record: bare JSON-RPC carries no
// time of its own.
func parseMCP(b []byte, p *parsed, recv time.Time) error {
	var (
		ts, server, session, user, principal, decision, tool, remote, ua, id string
		msg, req, resp, client, auth                                         []byte
	)
	if len(objGet(b, "jsonrpc")) > 0 {
		msg = b
	} else {
		err := p.eachTop(b, func(k, v []byte) error {
			switch string(k) {
			case "time", "timestamp", "ts":
				ts = str(v)
			case "server":
				server = str(v)
			case "session_id":
				session = str(v)
			case "user", "on_behalf_of":
				user = str(v)
			case "principal":
				principal = str(v)
			case "decision":
				decision = strings.ToLower(str(v))
			case "tool":
				tool = str(v)
			case "remote_addr":
				remote = str(v)
			case "user_agent":
				ua = str(v)
			case "id", "event_id":
				id = scalar(v)
			case "message":
				msg = v
			case "request":
				req = v
			case "response":
				resp = v
			case "client":
				client = v
			case "auth":
				auth = v
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if msg != nil {
		if len(objGet(msg, "method")) > 0 {
			req = msg
		} else {
			resp = msg
		}
	}
	if req == nil && resp == nil {
		return fmt.Errorf("message: no JSON-RPC request or response")
	}
	if ts != "" {
		t, err := parseTime("time", ts)
		if err != nil {
			return err
		}
		p.ev.Time = t
	} else if !recv.IsZero() {
		p.ev.Time = recv.UTC()
	} else {
		return fmt.Errorf("time: is missing (a bare JSON-RPC line needs a receive time)")
	}
	if server == "" {
		server = "unknown"
	}
	p.ev.System = "mcp:" + server
	p.sessionName = session
	p.setAttr("mcp.session", session)

	var method, rpcID string
	if len(req) > 0 && req[0] == '{' {
		method = str(objGet(req, "method"))
		rpcID = scalar(objGet(req, "id"))
		params := objGet(req, "params")
		if len(params) > 0 && params[0] == '{' {
			if n := str(objGet(params, "name")); n != "" {
				tool = n
			}
			if uri := str(objGet(params, "uri")); uri != "" {
				p.ev.Resource = uri
			}
			if args := objGet(params, "arguments"); len(args) > 0 && args[0] == '{' && p.ev.Resource == "" {
				p.ev.Resource = mcpArgResource(args)
			}
		}
	}
	p.ev.Outcome = schemas.OutcomeUnknown
	if len(resp) > 0 && resp[0] == '{' {
		if rpcID == "" {
			rpcID = scalar(objGet(resp, "id"))
		}
		if method == "" {
			method = "tools/call"
			p.setAttr("mcp.kind", "result")
		}
		mcpOutcome(resp, p)
	}
	switch decision {
	case "deny", "denied", "block", "blocked":
		p.ev.Outcome = schemas.OutcomeDenied
	}
	p.ev.Action = method
	if tool != "" {
		p.ev.Action += ":" + tool
	}
	if len(client) > 0 && client[0] == '{' {
		name, ver := str(objGet(client, "name")), str(objGet(client, "version"))
		p.setTag("mcp.client", name)
		if ua == "" && name != "" {
			ua = name
			if ver != "" {
				ua += "/" + ver
			}
		}
		p.ev.Principal = name
	}
	// An explicit principal beats the token subject, which beats the
	// client's self-declared name.
	if len(auth) > 0 && auth[0] == '{' {
		mcpAuth(auth, p)
	}
	if principal != "" {
		p.ev.Principal = principal
	}
	p.ev.OnBehalfOf = user
	if user != "" {
		p.ev.DelegationChain = []string{user}
	}
	p.ev.UserAgent = ua
	p.setSrcIP(hostOnly(remote))
	switch {
	case id != "":
		p.ev.EventID = "mcp:" + id
	case session != "" && rpcID != "":
		p.ev.EventID = "mcp:" + session + ":" + rpcID
		if p.attr("mcp.kind") == "result" {
			p.ev.EventID += ":result"
		}
	}
	return nil
}

// mcpOutcome reads a JSON-RPC response: an error member, or a tool result
// with isError. Refusals are told apart from failures by the error code a
// gateway uses for them (403, or -32003 by convention) or their message.
func mcpOutcome(resp []byte, p *parsed) {
	if e := objGet(resp, "error"); len(e) > 0 && e[0] == '{' {
		code, _ := num(objGet(e, "code"))
		m := str(objGet(e, "message"))
		p.ev.ErrorCode = fmt.Sprintf("%d", code)
		lm := strings.ToLower(m)
		if code == 403 || code == 401 || code == -32003 || strings.Contains(lm, "denied") || strings.Contains(lm, "forbidden") || strings.Contains(lm, "unauthorized") {
			p.ev.Outcome = schemas.OutcomeDenied
		} else {
			p.ev.Outcome = schemas.OutcomeFailure
		}
		return
	}
	if r := objGet(resp, "result"); len(r) > 0 && r[0] == '{' {
		if string(objGet(r, "isError")) == "true" {
			p.ev.Outcome = schemas.OutcomeFailure
			p.ev.ErrorCode = "tool_error"
			return
		}
		p.ev.Outcome = schemas.OutcomeSuccess
	}
}

// mcpArgResource names what a tool call acts on from the arguments tools
// commonly take; tools differ, so this is a best effort.
func mcpArgResource(args []byte) string {
	best, bestRank := "", len(mcpResourceArgs)
	_ = objectEach(args, func(k, v []byte) error {
		for i, name := range mcpResourceArgs[:bestRank] {
			if string(k) == name {
				if s := str(v); s != "" {
					best, bestRank = s, i
				}
				break
			}
		}
		return nil
	})
	return best
}

var mcpResourceArgs = []string{"uri", "url", "path", "file", "repo", "repository", "bucket", "table", "database", "channel", "owner"}

func mcpAuth(a []byte, p *parsed) {
	_ = objectEach(a, func(k, v []byte) error {
		switch string(k) {
		case "token_id", "credential_id":
			p.ev.CredentialID = str(v)
		case "type", "credential_type":
			p.ev.CredentialType = str(v)
		case "issued_at":
			if t, err := parseTime("auth.issued_at", str(v)); err == nil {
				p.ev.CredentialIssuedAt = &t
			}
		case "expires_at":
			if t, err := parseTime("auth.expires_at", str(v)); err == nil {
				p.ev.CredentialExpiresAt = &t
			}
		case "subject":
			if s := str(v); s != "" {
				p.ev.Principal = s
			}
		}
		return nil
	})
	if p.ev.CredentialType != "" && !oneOfStr(p.ev.CredentialType, schemas.CredentialTypes) {
		p.setAttr("mcp.credential_type", p.ev.CredentialType)
		p.ev.CredentialType = schemas.CredUnknown
	}
}

func oneOfStr(v string, set []string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// hostOnly strips a port from "host:port" and brackets from "[v6]:port".
func hostOnly(addr string) string {
	if addr == "" || looksLikeIP(addr) {
		return addr
	}
	if strings.HasPrefix(addr, "[") {
		if i := strings.Index(addr, "]"); i > 0 {
			return addr[1:i]
		}
	}
	if i := strings.LastIndexByte(addr, ':'); i > 0 {
		return addr[:i]
	}
	return addr
}
