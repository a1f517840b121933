// Package inventory loads the agent inventory (agents.yaml): who each agent
// is, who owns it, and the playground and policies its owner declared.
package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/agentwatch/agentwatch/schemas"
)

// Agent statuses.
const (
	StatusActive         = "active"
	StatusSuspended      = "suspended"
	StatusDecommissioned = "decommissioned"
)

// Agent is one inventory entry.
type Agent struct {
	ID          string     `yaml:"id" json:"id"`
	DisplayName string     `yaml:"display_name" json:"display_name,omitempty"`
	Kind        string     `yaml:"kind" json:"kind,omitempty"` // peer group, e.g. "support-bot"
	Owner       string     `yaml:"owner" json:"owner,omitempty"`
	Contact     Contact    `yaml:"contact" json:"contact"`
	Purpose     string     `yaml:"purpose" json:"purpose,omitempty"`
	Status      string     `yaml:"status" json:"status"`
	Created     *time.Time `yaml:"created" json:"created,omitempty"`
	Expires     *time.Time `yaml:"expires" json:"expires,omitempty"`
	// SuspendedAt, ResumedAt and DecommissionedAt date the status changes
	// (lifecycle.go): events are judged by the status at their time.
	SuspendedAt      *time.Time        `yaml:"suspended_at" json:"suspended_at,omitempty"`
	ResumedAt        *time.Time        `yaml:"resumed_at" json:"resumed_at,omitempty"`
	DecommissionedAt *time.Time        `yaml:"decommissioned_at" json:"decommissioned_at,omitempty"`
	Playground       Playground        `yaml:"playground" json:"playground"`
	Labels           map[string]string `yaml:"labels" json:"labels,omitempty"`
	// Instances is how many instances the agent normally runs (0 = unknown);
	// more distinct instances on one credential is credential sharing.
	Instances int `yaml:"instances" json:"instances,omitempty"`

	// Line is the line of the entry in the file it came from.
	Line int `yaml:"-" json:"-"`
}

// Contact is where the owner is reached.
type Contact struct {
	Email            string `yaml:"email" json:"email,omitempty"`
	SlackChannel     string `yaml:"slack_channel" json:"slack_channel,omitempty"`
	PagerDutyService string `yaml:"pagerduty_service" json:"pagerduty_service,omitempty"`
}

// Playground is what the owner declares the agent may do. An empty list
// means "not declared": it constrains nothing. The syntax is documented in
// docs/inventory.md.
type Playground struct {
	Systems []string `yaml:"systems" json:"systems,omitempty"`
	// Actions are action patterns ("s3:Get*" matches as IAM does,
	// "tickets.read" as a glob); with Resources they form one statement.
	Actions []string `yaml:"actions" json:"actions,omitempty"`
	// Resources are ARN patterns (matched as IAM matches Resource values:
	// "*" crosses "/") or globs ("*" does not cross "/", "**" does).
	Resources []string `yaml:"resources" json:"resources,omitempty"`
	// Statements pair actions with the resources they apply to, as IAM
	// policy statements do.
	Statements []Statement `yaml:"statements" json:"statements,omitempty"`
	// Hours are UTC calendar ranges: "Mon-Fri 08:00-18:00",
	// "* 00:00-24:00", "1st 04:00-05:00" (see calendar.go).
	Hours []string `yaml:"hours" json:"hours,omitempty"`
	// Delegators are globs of principals the agent may act on behalf of,
	// or "none": it acts for nobody.
	Delegators DelegatorList `yaml:"delegators" json:"delegators,omitempty"`
	// Networks are the CIDRs (or addresses) the agent calls from.
	Networks []string `yaml:"networks" json:"networks,omitempty"`
	// Clients are the client families it calls with (boto3, aws-cli,
	// aws-sdk-go, terraform, ...; see ClientFamily).
	Clients          []string         `yaml:"clients" json:"clients,omitempty"`
	CredentialPolicy CredentialPolicy `yaml:"credentials" json:"credentials"`

	hours []calRange
	c     *compiledPlayground
	// limited caches c.resources beside c: the detector asks per event,
	// and one cache line is cheaper than two.
	limited bool
}

// CredentialPolicy restricts the credentials the agent may use.
type CredentialPolicy struct {
	AllowedTypes []string `yaml:"allowed_types" json:"allowed_types,omitempty"`
	MaxAge       Duration `yaml:"max_age" json:"max_age,omitempty"`
	// RotateEvery is how often long-lived keys must be rotated: a key in
	// use for longer (since issued, or since agentwatch first saw it) is
	// overdue: credential.not_rotated when it acts, and a posture finding.
	RotateEvery Duration `yaml:"rotate_every" json:"rotate_every,omitempty"`
}

// Duration is a time.Duration that reads "90d", "12h", "30m" in YAML.
type Duration time.Duration

// UnmarshalYAML accepts Go durations plus a "d" (days) suffix.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// FormatDuration writes d as agents.yaml reads it (ParseDuration): whole
// days as "90d", else the Go form without zero units ("12h", "1h30m").
func FormatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ParseDuration is time.ParseDuration plus whole days ("30d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err != nil || days < 0 || fmt.Sprintf("%dd", days) != s {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return v, nil
}

// Inventory is the loaded set of agents, by id, and the known non-agent
// principals (principals.go).
type Inventory struct {
	agents     map[string]*Agent
	ids        []string
	principals []*Principal
}

// New builds an inventory from agents, validating each. Lifecycle dates
// are not checked against the wall clock here (see checkLifecycle): code
// that builds inventories, such as the simulator, keeps its own time.
func New(agents []Agent) (*Inventory, error) {
	inv := &Inventory{agents: map[string]*Agent{}}
	for i := range agents {
		a := agents[i]
		if err := a.validate(time.Time{}); err != nil {
			return nil, fmt.Errorf("agent %q: %w", a.ID, err)
		}
		if _, dup := inv.agents[a.ID]; dup {
			return nil, fmt.Errorf("agent %q: declared twice", a.ID)
		}
		inv.agents[a.ID] = &a
		inv.ids = append(inv.ids, a.ID)
	}
	sort.Strings(inv.ids)
	return inv, nil
}

// Empty is an inventory with no agents.
func Empty() *Inventory { return &Inventory{agents: map[string]*Agent{}} }

// Get returns the agent with id, or nil.
func (inv *Inventory) Get(id string) *Agent {
	if inv == nil {
		return nil
	}
	return inv.agents[id]
}

// IDs returns the agent ids, sorted.
func (inv *Inventory) IDs() []string {
	if inv == nil {
		return nil
	}
	return append([]string(nil), inv.ids...)
}

// Agents returns the agents sorted by id.
func (inv *Inventory) Agents() []*Agent {
	out := make([]*Agent, 0, len(inv.ids))
	for _, id := range inv.ids {
		out = append(out, inv.agents[id])
	}
	return out
}

// Len is the number of agents.
func (inv *Inventory) Len() int {
	if inv == nil {
		return 0
	}
	return len(inv.ids)
}

type file struct {
	Agents     []yaml.Node `yaml:"agents"`
	Principals []yaml.Node `yaml:"principals"`
}

// Load reads an agents.yaml file. Every error names the file, the line and
// the key, and unknown keys are errors (a misspelt "playgroud" must not
// silently leave an agent unconstrained).
func Load(filename string) (*Inventory, error) {
	data, err := os.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("read agent inventory: %w", err)
	}
	return Parse(filename, data)
}

// Parse reads inventory YAML; name is used in error messages.
func Parse(name string, data []byte) (*Inventory, error) {
	return ParseAt(name, data, time.Now())
}

// ParseAt is Parse with the clock that lifecycle dates must not be ahead
// of (tests inject it).
func ParseAt(name string, data []byte, now time.Time) (*Inventory, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var agents []Agent
	for _, n := range f.Agents {
		var a Agent
		if err := decodeStrict(&n, &a); err != nil {
			line := n.Line
			var le *lineError
			if errors.As(err, &le) {
				line = le.line
			}
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		a.Line = n.Line
		if err := a.validate(now); err != nil {
			line := n.Line
			var ke *keyError
			if errors.As(err, &ke) {
				// lineOf also follows list indexes
				// ("playground.statements[1].resources[0]").
				line = lineOf(&n, ke.key)
			}
			return nil, fmt.Errorf("%s:%d: agent %q: %w", name, line, a.ID, err)
		}
		agents = append(agents, a)
	}
	principals, err := parsePrincipals(name, f.Principals)
	if err != nil {
		return nil, err
	}
	inv := &Inventory{agents: map[string]*Agent{}, principals: principals}
	for i := range agents {
		a := agents[i]
		if prev, dup := inv.agents[a.ID]; dup {
			return nil, fmt.Errorf("%s:%d: agent %q: id already declared at line %d", name, a.Line, a.ID, prev.Line)
		}
		inv.agents[a.ID] = &a
		inv.ids = append(inv.ids, a.ID)
	}
	sort.Strings(inv.ids)
	return inv, nil
}

// decodeStrict decodes one node rejecting unknown keys, by re-encoding it
// through a decoder with KnownFields set (yaml.Node.Decode has no such
// switch). Line numbers in errors are relative to the node, so they are
// rewritten to the file's.
func decodeStrict(n *yaml.Node, out any) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(n); err != nil {
		return err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		return fixLines(err, n.Line-1)
	}
	return nil
}

// lineError is a decode problem at a line of the original file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

// fixLines rewrites yaml.v3's "line N: field x not found in type T" into
// "unknown key x" at the file's line, the form the rest of agentwatch uses.
func fixLines(err error, offset int) error {
	te, ok := err.(*yaml.TypeError)
	if !ok || len(te.Errors) == 0 {
		return err
	}
	m := te.Errors[0]
	var line int
	if _, e := fmt.Sscanf(m, "line %d:", &line); e != nil {
		return err
	}
	msg := strings.TrimSpace(m[strings.Index(m, ":")+1:])
	if strings.HasPrefix(msg, "field ") && strings.Contains(msg, " not found in type") {
		msg = "unknown key " + strings.TrimPrefix(msg[:strings.Index(msg, " not found")], "field ")
	}
	return &lineError{line: line + offset, msg: msg}
}

func (a *Agent) validate(now time.Time) error {
	if a.ID == "" {
		return fmt.Errorf("key id: is required")
	}
	switch a.Status {
	case "":
		a.Status = StatusActive
	case StatusActive, StatusSuspended, StatusDecommissioned:
	default:
		return fmt.Errorf("key status: %q is not one of active, suspended, decommissioned", a.Status)
	}
	for _, t := range a.Playground.CredentialPolicy.AllowedTypes {
		ok := false
		for _, v := range schemas.CredentialTypes {
			ok = ok || v == t
		}
		if !ok {
			return fmt.Errorf("key playground.credentials.allowed_types: %q is not one of %s", t, strings.Join(schemas.CredentialTypes, ", "))
		}
	}
	if err := a.Playground.check(); err != nil {
		return err
	}
	a.Playground.hours = nil
	for _, h := range a.Playground.Hours {
		r, _ := parseHourRange(h) // check parsed them
		a.Playground.hours = append(a.Playground.hours, r)
	}
	a.Playground.c = a.Playground.compile()
	a.Playground.limited = a.Playground.c.resources
	if a.Created != nil && a.Expires != nil && a.Expires.Before(*a.Created) {
		return fmt.Errorf("key expires: is before created")
	}
	return a.checkLifecycle(now)
}

// Row converts the agent to its agents-table row.
func (a *Agent) Row(now time.Time) schemas.AgentRow {
	declared, _ := json.Marshal(a.Playground)
	return schemas.AgentRow{
		AgentID: a.ID, DisplayName: a.DisplayName, Kind: a.Kind, Owner: a.Owner,
		Contact: a.Contact.Email, SlackChannel: a.Contact.SlackChannel, PagerDutyService: a.Contact.PagerDutyService,
		Purpose: a.Purpose, Status: a.Status, CreatedAt: a.Created, ExpiresAt: a.Expires,
		SuspendedAt: a.SuspendedAt, ResumedAt: a.ResumedAt, DecommissionedAt: a.DecommissionedAt,
		Declared: string(declared), UpdatedAt: now,
	}
}

// Identity fills the owner half of an alert's identity block.
func (a *Agent) Identity() schemas.Identity {
	return schemas.Identity{
		AgentID: a.ID, DisplayName: a.DisplayName, Kind: a.Kind, Owner: a.Owner,
		SlackChannel: a.Contact.SlackChannel, PagerDutyService: a.Contact.PagerDutyService, Status: a.Status,
	}
}

// Expired reports whether the agent's expiry is before t.
func (a *Agent) Expired(t time.Time) bool { return a.Expires != nil && t.After(*a.Expires) }
