package awsfleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/agentwatch/agentwatch/ingest"
	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Onboarding: what a user writes from the agents' IAM policies, their
// owners' answers and the platform's network description, with the
// inventory syntax agentwatch has. Nothing here is tuned to the detectors:
// every value comes from a source the user has before any traffic is seen
// (the policy documents, the VPC and NAT gateways, the SDK each team
// builds with, the schedule each owner gives).
//
// Two inventories are written: agents.yaml, the onboarding described
// below, and agents.copied.yaml, the first draft a new user wrote before
// the playground had statements (systems, actions and resources copied
// from the policy into one list each, daily hours), kept to compare with.

// kinds are the peer groups the owners chose.
var kinds = map[string]string{
	"support-assistant": "assistant", "code-review-bot": "assistant", "ci-deployer": "automation", "ops-remediator": "automation",
	"security-triage": "automation", "data-analyst": "analytics", "finops-reporter": "analytics", "doc-indexer": "pipeline",
	"invoice-processor": "pipeline",
}

// onboardedAt is when the agents entered the inventory: well before the
// generated weeks.
func (f *Fleet) onboardedAt() time.Time { return f.start.AddDate(0, -3, 0) }

// InventoryAgentsCopied is the first draft: systems, actions and
// resources copied from each policy's Allow statements into one list
// each, the owners' daily hours and credential policy.
func (f *Fleet) InventoryAgentsCopied() []inventory.Agent {
	created := f.onboardedAt()
	out := make([]inventory.Agent, 0, len(agents))
	for _, s := range agents {
		var systems, actions, resources []string
		seen := map[string]bool{}
		add := func(list *[]string, v string) {
			if !seen[v] {
				seen[v] = true
				*list = append(*list, v)
			}
		}
		for _, st := range s.Policy.Statement {
			if st.Effect != "Allow" {
				continue
			}
			for _, a := range st.Action {
				svc, _, _ := strings.Cut(a, ":")
				add(&systems, "aws:"+svc)
				add(&actions, a)
			}
			for _, r := range st.Resource {
				add(&resources, r)
			}
		}
		c := created
		out = append(out, inventory.Agent{
			ID: s.ID, DisplayName: s.DisplayName, Kind: kinds[s.ID], Owner: s.Owner, Purpose: s.Purpose, Status: inventory.StatusActive,
			Contact: inventory.Contact{Email: s.Email, SlackChannel: s.Slack, PagerDutyService: s.PagerDuty}, Created: &c, Instances: s.Instances,
			Playground: inventory.Playground{Systems: systems, Actions: actions, Resources: resources, Hours: s.Hours,
				CredentialPolicy: inventory.CredentialPolicy{AllowedTypes: []string{schemas.CredSTSSession}, MaxAge: inventory.Duration(s.MaxAge)}},
			Labels: map[string]string{"env": "prod", "runtime": s.Runtime, "iam_role": s.Role},
		})
	}
	return out
}

// InventoryAgents is the onboarding (agents.yaml). Each playground is the
// one `agentwatch inventory import-iam` makes from the agent's policy
// (statements: each action with its own resources, ARNs matched as IAM
// matches them); beside it the owners write what IAM cannot say:
//
//   - hours in the calendar form, with the monthly run's day
//     ("1st 04:00-05:00" for the month-end close);
//   - networks: the VPC the agent runs in (its CIDR block, from the VPC's
//     description) and the NAT gateways' elastic addresses, the public
//     addresses its calls to services without a VPC endpoint leave from;
//   - clients: the SDK family the team builds the agent with;
//   - delegators: none (no agent acts for a person), and the credential
//     policy (sessions only, their maximum age).
//
// The notes are import-iam's, per agent: what the policy says that a
// playground cannot.
func (f *Fleet) InventoryAgents() ([]inventory.Agent, map[string][]string, error) {
	out := f.InventoryAgentsCopied()
	notes := map[string][]string{}
	for i := range out {
		s := &agents[i]
		doc, err := json.Marshal(s.Policy)
		if err != nil {
			return nil, nil, fmt.Errorf("encode policy of %s: %w", s.ID, err)
		}
		res, err := inventory.ImportIAM(doc)
		if err != nil {
			return nil, nil, fmt.Errorf("import the policy of %s: %w", s.ID, err)
		}
		p := res.Playground
		p.Hours = s.Hours
		if len(s.CalendarHours) > 0 {
			p.Hours = s.CalendarHours
		}
		nw := networks[s.Region]
		p.Networks = append([]string{nw.vpc.String()}, nw.nat[:]...)
		p.Clients = []string{inventory.ClientFamily(s.Client(s.Versions[0]))}
		p.Delegators = inventory.DelegatorList{inventory.DelegatorsNone}
		p.CredentialPolicy = out[i].Playground.CredentialPolicy
		out[i].Playground = p
		notes[s.ID] = res.Notes
	}
	return out, notes, nil
}

// KnownPrincipals are the identities the platform team knows are not
// agents (agents.yaml's principals list): the nodes that assume the
// agents' roles, limited to what nodes do, the engineers who sign in
// through IAM Identity Center, and AWS services acting for themselves.
func KnownPrincipals() []inventory.Principal {
	return []inventory.Principal{
		{Match: inventory.StringList{"arn:aws:sts::" + Account + ":assumed-role/" + PlatformNodeRole + "/*"}, Kind: inventory.KindInfrastructure,
			Owner: "team-platform", Note: "agent platform nodes: assume each agent's role for its pods and pull their images",
			Actions: []string{"sts:AssumeRole", "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}},
		{Match: inventory.StringList{"arn:aws:sts::" + Account + ":assumed-role/AWSReservedSSO_*/*"}, Kind: inventory.KindHuman,
			Owner: "team-platform", Note: "engineers signed in through IAM Identity Center"},
		{Match: inventory.StringList{"*.amazonaws.com", "arn:aws:sts::" + Account + ":assumed-role/AWSServiceRoleFor*/*"}, Kind: inventory.KindInfrastructure,
			Owner: "team-platform", Note: "AWS services acting for themselves (instance credentials, Config, Access Analyzer, CloudTrail's KMS calls)"},
	}
}

// Inventory is InventoryAgents and KnownPrincipals loaded.
func (f *Fleet) Inventory() (*inventory.Inventory, error) {
	ags, _, err := f.InventoryAgents()
	return withPrincipals(ags, err)
}

// InventoryCopied is InventoryAgentsCopied and KnownPrincipals loaded.
func (f *Fleet) InventoryCopied() (*inventory.Inventory, error) {
	return withPrincipals(f.InventoryAgentsCopied(), nil)
}

func withPrincipals(ags []inventory.Agent, err error) (*inventory.Inventory, error) {
	var inv *inventory.Inventory
	if err == nil {
		inv, err = inventory.New(ags)
	}
	if err == nil {
		inv, err = inv.WithPrincipals(KnownPrincipals()...)
	}
	if err != nil {
		return nil, fmt.Errorf("aws fleet inventory: %w", err)
	}
	return inv, nil
}

// AttributionRules are the rules a user writes. First, each agent role's
// sessions are the agent, the session name (pod, task or function) its
// instance. Then, the records that make an agent's credentials: a platform
// node (or Lambda, or ECS) calling sts:AssumeRole with the agent's role
// belongs to that agent, the session name it asks for being the instance
// (attribution on request parameters). Those records are the agent's
// trail of credentials; made by a principal the inventory knows (the
// nodes, AWS services), they are not judged as the agent's own calls, and
// made by anyone else, they are.
func AttributionRules() []ingest.Rule {
	out := make([]ingest.Rule, 0, 2*len(agents))
	for _, s := range agents {
		out = append(out, ingest.Rule{Name: s.ID, Formats: []string{ingest.FormatCloudTrail},
			Principal:   "arn:aws:sts::" + Account + ":assumed-role/" + s.Role + "/*",
			SessionName: "^(?P<instance>.+)$", Agent: s.ID})
	}
	for _, s := range agents {
		out = append(out, ingest.Rule{Name: s.ID + "-credentials", Formats: []string{ingest.FormatCloudTrail},
			Actions: []string{"sts:AssumeRole"},
			RequestParameters: map[string]string{"roleArn": "^" + regexp.QuoteMeta("arn:aws:iam::"+Account+":role/"+s.Role) + "$",
				"roleSessionName": "^(?P<instance>.+)$"},
			Agent: s.ID})
	}
	return out
}

// The yaml* types write agents.yaml in today's syntax (durations as text).
type yamlAgent struct {
	ID          string            `yaml:"id"`
	DisplayName string            `yaml:"display_name,omitempty"`
	Kind        string            `yaml:"kind,omitempty"`
	Owner       string            `yaml:"owner"`
	Contact     inventory.Contact `yaml:"contact"`
	Purpose     string            `yaml:"purpose,omitempty"`
	Status      string            `yaml:"status"`
	Created     string            `yaml:"created,omitempty"`
	Instances   int               `yaml:"instances,omitempty"`
	Playground  yamlPlayground    `yaml:"playground"`
	Labels      map[string]string `yaml:"labels,omitempty"`
}

type yamlPlayground struct {
	Systems     []string        `yaml:"systems,omitempty"`
	Actions     []string        `yaml:"actions,omitempty"`
	Resources   []string        `yaml:"resources,omitempty"`
	Statements  []yamlStatement `yaml:"statements,omitempty"`
	Hours       []string        `yaml:"hours,omitempty"`
	Delegators  any             `yaml:"delegators,omitempty"`
	Networks    []string        `yaml:"networks,omitempty"`
	Clients     []string        `yaml:"clients,omitempty"`
	Credentials struct {
		AllowedTypes []string `yaml:"allowed_types,omitempty"`
		MaxAge       string   `yaml:"max_age,omitempty"`
	} `yaml:"credentials"`
}

type yamlStatement struct {
	Sid       string   `yaml:"sid,omitempty"`
	Actions   []string `yaml:"actions,flow"`
	Resources []string `yaml:"resources,flow"`
}

// InventoryYAML is agents.yaml: the onboarding, one comment per agent
// naming the IAM policy its playground was imported from and what
// import-iam could not express.
func (f *Fleet) InventoryYAML() ([]byte, error) {
	ags, notes, err := f.InventoryAgents()
	if err != nil {
		return nil, err
	}
	return inventoryYAML(ags, notes, `# Inventory of the generated AWS fleet: owners and contacts from the teams;
# playgrounds made from each agent's IAM policy by
#   agentwatch inventory import-iam iam/<role>.json
# (statements, ARNs matched as IAM matches them); beside them what IAM cannot
# say: the owners' hours (calendar form, with the month-end run's day), the
# VPC and NAT gateway addresses the agents call from, the SDK each team uses,
# "delegators: none", the credential policy; and the principals known not to
# be agents. agents.copied.yaml is the first draft, for comparison.
`, "Playground imported from")
}

// InventoryCopiedYAML is agents.copied.yaml: InventoryAgentsCopied.
func (f *Fleet) InventoryCopiedYAML() ([]byte, error) {
	return inventoryYAML(f.InventoryAgentsCopied(), nil, `# The first draft of the generated fleet's inventory, written before the
# playground had statements: systems, actions and resources copied from each
# agent's IAM policy (iam/<role>.json) into one list each, the owners' daily
# hours and credential policy, and the principals known not to be agents.
# Evaluate with: agentwatch eval --fleet-dir . --inventory agents.copied.yaml
`, "Systems, actions and resources copied from")
}

func inventoryYAML(ags []inventory.Agent, notes map[string][]string, head, from string) ([]byte, error) {
	var items []*yaml.Node
	for i, a := range ags {
		p := a.Playground
		y := yamlAgent{ID: a.ID, DisplayName: a.DisplayName, Kind: a.Kind, Owner: a.Owner, Contact: a.Contact, Purpose: a.Purpose,
			Status: a.Status, Created: a.Created.UTC().Format(time.RFC3339), Instances: a.Instances, Labels: a.Labels,
			Playground: yamlPlayground{Systems: p.Systems, Actions: p.Actions, Resources: p.Resources, Hours: p.Hours, Networks: p.Networks, Clients: p.Clients}}
		switch {
		case len(p.Delegators) == 1 && p.Delegators[0] == inventory.DelegatorsNone:
			y.Playground.Delegators = inventory.DelegatorsNone
		case len(p.Delegators) > 0:
			y.Playground.Delegators = []string(p.Delegators)
		}
		for _, st := range p.Statements {
			y.Playground.Statements = append(y.Playground.Statements, yamlStatement{Sid: st.Sid, Actions: st.Actions, Resources: st.Resources})
		}
		y.Playground.Credentials.AllowedTypes = p.CredentialPolicy.AllowedTypes
		y.Playground.Credentials.MaxAge = fmtDur(time.Duration(p.CredentialPolicy.MaxAge))
		var n yaml.Node
		if err := n.Encode(y); err != nil {
			return nil, fmt.Errorf("encode inventory: %w", err)
		}
		c := fmt.Sprintf("%s\n%s iam/%s.json (role %s).", agents[i].Note, from, agents[i].Role, agents[i].Role)
		for _, note := range notes[a.ID] {
			c += "\nimport-iam: " + note
		}
		n.HeadComment = c
		items = append(items, &n)
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Content: items}
	type yamlPrincipal struct {
		Match   []string `yaml:"match"`
		Kind    string   `yaml:"kind"`
		Owner   string   `yaml:"owner,omitempty"`
		Note    string   `yaml:"note,omitempty"`
		Actions []string `yaml:"actions,omitempty"`
	}
	var known []yamlPrincipal
	for _, p := range KnownPrincipals() {
		known = append(known, yamlPrincipal{Match: p.Match, Kind: p.Kind, Owner: p.Owner, Note: p.Note, Actions: p.Actions})
	}
	var ps yaml.Node
	if err := ps.Encode(known); err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "agents"}, seq,
		{Kind: yaml.ScalarNode, Value: "principals", HeadComment: "Identities that act in the account but are not agents: no identity.unattributed for them\n(the nodes only for what nodes do)."}, &ps}}
	var buf bytes.Buffer
	buf.WriteString(head)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode inventory: %w", err)
	}
	return buf.Bytes(), nil
}

// yamlRule writes one attribution rule with the configuration's keys.
type yamlRule struct {
	Name              string            `yaml:"name"`
	Formats           []string          `yaml:"formats,omitempty"`
	Principal         string            `yaml:"principal,omitempty"`
	Actions           []string          `yaml:"actions,omitempty,flow"`
	SessionName       string            `yaml:"session_name,omitempty"`
	RequestParameters map[string]string `yaml:"request_parameters,omitempty"`
	Agent             string            `yaml:"agent,omitempty"`
}

// RunConfigYAML is an agentwatch configuration that replays the written
// directory through `agentwatch run` (embedded mode) with the file
// collector, which walks AWSLogs/ and reads the objects in the time order
// of their names. Paths are relative to the directory: run it from there.
func RunConfigYAML() ([]byte, error) {
	var rules []yamlRule
	for _, r := range AttributionRules() {
		rules = append(rules, yamlRule{Name: r.Name, Formats: r.Formats, Principal: r.Principal, Actions: r.Actions, SessionName: r.SessionName,
			RequestParameters: r.RequestParameters, Agent: r.Agent})
	}
	cfg := map[string]any{
		"inventory": InventoryFile,
		"data_dir":  "agentwatch-data",
		"http":      map[string]any{"listen": "", "metrics_listen": ""},
		"store":     map[string]any{"retention_days": 0},
		"ingest": map[string]any{
			"attribution": rules,
			"files":       map[string]any{"paths": []string{"AWSLogs"}, "format": ingest.FormatCloudTrail, "poll_interval": "1s"},
		},
	}
	var buf bytes.Buffer
	buf.WriteString(`# Replays this fleet end to end through the real pipeline (embedded mode):
#   cd <this directory> && agentwatch run --config agentwatch.yaml
# then, once the log shows every object read and the stages idle, stop it and
#   agentwatch eval --fleet-dir . --stored-alerts
`)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("encode run config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode run config: %w", err)
	}
	return buf.Bytes(), nil
}
