package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/agentwatch/agentwatch/internal/awsiam"
)

// ImportResult is a playground made from an IAM policy document, with what
// the policy says that a playground cannot.
type ImportResult struct {
	Playground Playground
	// Notes say, one sentence each, what was left out or widened.
	Notes []string
	// Statements counts the policy's statements; Imported those that
	// became playground statements.
	Statements, Imported int
}

// policyDoc is an IAM policy document (Version, Statement), or one of the
// AWS CLI's wrappers around one.
type policyDoc struct {
	Version        string          `json:"Version"`
	Statement      json.RawMessage `json:"Statement"`
	PolicyDocument json.RawMessage `json:"PolicyDocument"` // aws iam get-role-policy
	PolicyVersion  *struct {
		Document json.RawMessage `json:"Document"` // aws iam get-policy-version
	} `json:"PolicyVersion"`
}

type policyStatement struct {
	Sid          string                                `json:"Sid"`
	Effect       string                                `json:"Effect"`
	Action       stringList                            `json:"Action"`
	NotAction    stringList                            `json:"NotAction"`
	Resource     stringList                            `json:"Resource"`
	NotResource  stringList                            `json:"NotResource"`
	Principal    json.RawMessage                       `json:"Principal"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
}

// stringList is a policy element written as one string or a list.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*s = many
	return nil
}

// ImportIAM turns an IAM policy document into a playground: each Allow
// statement becomes a statement with its actions and resources;
// aws:SourceIp conditions become networks when every imported statement
// has one; everything a playground cannot say is left out and named in
// Notes. The result passes the inventory's checks.
func ImportIAM(data []byte) (*ImportResult, error) {
	var doc policyDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, jsonError(data, err)
	}
	raw := doc.Statement
	switch {
	case raw == nil && doc.PolicyDocument != nil:
		return importWrapped(doc.PolicyDocument)
	case raw == nil && doc.PolicyVersion != nil && doc.PolicyVersion.Document != nil:
		return importWrapped(doc.PolicyVersion.Document)
	case raw == nil:
		return nil, errors.New("no Statement: not an IAM policy document (want {\"Version\": ..., \"Statement\": [...]})")
	}
	var stmts []policyStatement
	if b := bytes.TrimSpace(raw); len(b) > 0 && b[0] == '{' {
		var one policyStatement
		if err := json.Unmarshal(b, &one); err != nil {
			return nil, fmt.Errorf("Statement: %w", err)
		}
		stmts = []policyStatement{one}
	} else if err := json.Unmarshal(raw, &stmts); err != nil {
		return nil, fmt.Errorf("Statement: %w", err)
	}
	r := &ImportResult{Statements: len(stmts)}
	var nets [][]string // per imported statement: its aws:SourceIp ranges
	for i, st := range stmts {
		name := st.Sid
		if name == "" {
			name = fmt.Sprintf("Statement[%d]", i)
		}
		note := func(format string, args ...any) {
			r.Notes = append(r.Notes, name+": "+fmt.Sprintf(format, args...))
		}
		switch {
		case !strings.EqualFold(st.Effect, "Allow"):
			note("not imported: a %s statement; a playground lists what the agent may do, and agentwatch alerts on the rest (a denied call is also recorded as outcome denied)", orWord(st.Effect, "statement without Effect"))
			continue
		case st.Principal != nil || st.NotPrincipal != nil:
			note("not imported: it names a Principal, so it belongs to a resource-based policy, not to the agent's own")
			continue
		case len(st.NotAction) > 0:
			note("not imported: NotAction (every action but %s) cannot be listed as actions", strings.Join(st.NotAction, ", "))
			continue
		case len(st.NotResource) > 0:
			note("not imported: NotResource (every resource but %s) cannot be listed as resources", strings.Join(st.NotResource, ", "))
			continue
		case len(st.Action) == 0:
			note("not imported: no Action")
			continue
		}
		out := Statement{Sid: st.Sid}
		for _, a := range st.Action {
			if err := awsiam.CheckAction(a); err != nil {
				note("action left out: %v", err)
				continue
			}
			out.Actions = append(out.Actions, a)
		}
		resources := st.Resource
		if len(resources) == 0 {
			resources = stringList{"*"}
		}
		for _, res := range resources {
			res, widened := expressible(res)
			if widened != "" {
				note("resource widened to %q: %s", res, widened)
			}
			if err := awsiam.CheckResource(res); err != nil {
				note("resource left out: %v", err)
				continue
			}
			out.Resources = append(out.Resources, res)
		}
		if len(out.Actions) == 0 || len(out.Resources) == 0 {
			note("not imported: none of its actions or resources can be matched")
			continue
		}
		ips := conditions(st.Condition, note)
		nets = append(nets, ips)
		r.Playground.Statements = append(r.Playground.Statements, out)
		r.Imported++
	}
	r.Playground.Networks = commonNetworks(nets, r)
	r.Playground.Systems = systemsOf(r.Playground.Statements)
	return r, nil
}

func importWrapped(doc json.RawMessage) (*ImportResult, error) {
	b := bytes.TrimSpace(doc)
	if len(b) > 0 && b[0] == '"' {
		// get-account-authorization-details returns documents as
		// strings (URL-encoded in the raw API; decoded by the CLI).
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		b = []byte(s)
	}
	return ImportIAM(b)
}

func orWord(s, instead string) string {
	if s == "" {
		return instead
	}
	return s
}

// expressible returns the resource as a playground can hold it, and why it
// was widened, if it was: a policy variable stands for the caller's own
// name or tag, which a playground (one agent's) cannot evaluate, so it
// becomes "*"; a secret's "-??????" (the random suffix of its ARN) becomes
// "*", since a call naming the secret by name gives no suffix.
func expressible(res string) (string, string) {
	why := ""
	for {
		i := strings.Index(res, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(res[i:], '}')
		if j < 0 {
			break
		}
		v := res[i : i+j+1]
		switch v {
		case "${*}", "${?}", "${$}":
			// Escapes for literal characters: keep, but skip past them.
			rest, w := expressible(res[i+j+1:])
			if w != "" {
				why = w
			}
			return res[:i+j+1] + rest, why
		}
		res = res[:i] + "*" + res[i+j+1:]
		why = "the policy variable " + v + " depends on the request"
	}
	if strings.HasPrefix(res, "arn:") && strings.Contains(res, ":secretsmanager:") && strings.HasSuffix(res, "-??????") {
		res = strings.TrimSuffix(res, "-??????") + "*"
		why = "a secret named by its name in a call has no random suffix in its ARN"
	}
	return res, why
}

// conditions reads the statement's Condition block: aws:SourceIp under
// IpAddress gives networks; aws:PrincipalTag restricts which principals
// the policy serves, which attribution already decides (the playground is
// one agent's); anything else cannot be said and is named.
func conditions(c map[string]map[string]json.RawMessage, note func(string, ...any)) []string {
	var ips []string
	ops := make([]string, 0, len(c))
	for op := range c {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		keys := make([]string, 0, len(c[op]))
		for k := range c[op] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var vals stringList
			_ = json.Unmarshal(c[op][k], &vals)
			low := strings.ToLower(k)
			switch {
			case low == "aws:sourceip" && op == "IpAddress":
				for _, v := range vals {
					if _, err := parseNetwork(v); err != nil {
						note("condition %s %s %q is not an address range; left out", op, k, v)
						continue
					}
					ips = append(ips, v)
				}
			case strings.HasPrefix(low, "aws:principaltag/"):
				note("condition %s %s %s kept as attribution: the playground applies to this agent only", op, k, strings.Join(vals, ","))
			default:
				note("condition %s %s %s cannot be expressed; the statement is imported without it (wider than the policy)", op, k, strings.Join(vals, ","))
			}
		}
	}
	return ips
}

// commonNetworks: networks constrain the whole playground, so they are
// declared only when every imported statement had an aws:SourceIp
// condition; otherwise, narrowing the others, they are left out.
func commonNetworks(per [][]string, r *ImportResult) []string {
	if len(per) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, ips := range per {
		if len(ips) == 0 {
			for _, other := range per {
				if len(other) > 0 {
					r.Notes = append(r.Notes, "networks left out: aws:SourceIp conditions cover some statements only, and a playground's networks apply to all of them")
					return nil
				}
			}
			return nil
		}
		for _, ip := range ips {
			p, _ := parseNetwork(ip)
			if k := p.String(); !seen[k] {
				seen[k] = true
				out = append(out, normNet(p))
			}
		}
	}
	return out
}

func normNet(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// systemsOf lists the systems (aws:<prefix>) the statements' actions
// belong to; none when an action's service is a wildcard.
func systemsOf(stmts []Statement) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range stmts {
		for _, a := range s.Actions {
			prefix, _, _ := strings.Cut(a, ":")
			if a == "*" || strings.ContainsAny(prefix, "*?") {
				return nil
			}
			sys := "aws:" + strings.ToLower(prefix)
			if !seen[sys] {
				seen[sys] = true
				out = append(out, sys)
			}
		}
	}
	sort.Strings(out)
	return out
}

// YAML renders the result ready to paste into agents.yaml: an agents entry
// when agentID is set, else the playground block alone. What could not be
// expressed heads it as comments.
func (r *ImportResult) YAML(agentID, source string) ([]byte, error) {
	var head strings.Builder
	fmt.Fprintf(&head, "Made by agentwatch inventory import-iam from %s: %d of %d statements imported.", source, r.Imported, r.Statements)
	if len(r.Notes) > 0 {
		head.WriteString("\nNot expressed, or widened:")
		for _, n := range r.Notes {
			head.WriteString("\n- " + n)
		}
	}
	pg := r.Playground
	body := &yaml.Node{Kind: yaml.MappingNode}
	add := func(m *yaml.Node, key string, v *yaml.Node) {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	flow := func(vals []string) *yaml.Node {
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, v := range vals {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: v, Style: yaml.DoubleQuotedStyle})
		}
		return n
	}
	if len(pg.Systems) > 0 {
		add(body, "systems", flow(pg.Systems))
	}
	stmts := &yaml.Node{Kind: yaml.SequenceNode}
	for _, s := range pg.Statements {
		m := &yaml.Node{Kind: yaml.MappingNode}
		if s.Sid != "" {
			add(m, "sid", &yaml.Node{Kind: yaml.ScalarNode, Value: s.Sid})
		}
		add(m, "actions", flow(s.Actions))
		add(m, "resources", flow(s.Resources))
		stmts.Content = append(stmts.Content, m)
	}
	if len(stmts.Content) > 0 {
		add(body, "statements", stmts)
	}
	if len(pg.Networks) > 0 {
		add(body, "networks", flow(pg.Networks))
	}
	var root *yaml.Node
	if agentID != "" {
		entry := &yaml.Node{Kind: yaml.MappingNode}
		add(entry, "id", &yaml.Node{Kind: yaml.ScalarNode, Value: agentID})
		add(entry, "playground", body)
		root = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{entry}}
	} else {
		root = &yaml.Node{Kind: yaml.MappingNode}
		add(root, "playground", body)
	}
	root.HeadComment = commentSafe(head.String())
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// commentSafe escapes what YAML does not allow in a comment (control
// characters a policy's strings may carry), keeping line breaks.
func commentSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || r == '\uFEFF' || r == '\uFFFE' || r == '\uFFFF') {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// jsonError says where in the document JSON decoding failed.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return err
	}
	line, col := 1, 1
	for i := int64(0); i < off && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}
