// Package eval measures detection quality: it expands labelled scenario
// files over the simulated fleet, runs each through a fresh detector with
// compressed time, and reports recall, precision, alerts per agent per
// simulated week on benign traffic, and time to detect, per detector and
// overall.
package eval

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/agentwatch/agentwatch/schemas"
	"github.com/agentwatch/agentwatch/sim"
)

// Scenario is one labelled scenario file.
type Scenario struct {
	Name        string      `yaml:"name"`
	Label       string      `yaml:"label"` // "attack" or "benign"
	Technique   string      `yaml:"technique"`
	Description string      `yaml:"description"`
	Background  Background  `yaml:"background"`
	Changes     []ChangeDef `yaml:"changes"`
	Expect      Expect      `yaml:"expect"`
	Inject      []Injection `yaml:"inject"`

	// File is the file the scenario came from.
	File string `yaml:"-"`
}

// Background is the slice of the simulated fleet the scenario runs over.
type Background struct {
	Kinds    []string `yaml:"kinds"`     // default: all kinds
	Agents   int      `yaml:"agents"`    // agents of each kind; default 1
	Days     int      `yaml:"days"`      // normal days before the scenario's day; default 14
	TailDays int      `yaml:"tail_days"` // days after them; default 1
	Seed     int64    `yaml:"seed"`      // default 1
	Start    string   `yaml:"start"`     // first day, YYYY-MM-DD; default the sim's
}

// ChangeDef is a benign drift (see sim.Change); offsets read "10d6h".
type ChangeDef struct {
	Type         string  `yaml:"type"`
	Agent        string  `yaml:"agent"`
	From         Offset  `yaml:"from"`
	Until        Offset  `yaml:"until"`
	Factor       float64 `yaml:"factor"`
	System       string  `yaml:"system"`
	Action       string  `yaml:"action"`
	Resource     string  `yaml:"resource"`
	ResourceType string  `yaml:"resource_type"`
	Rate         float64 `yaml:"rate"`
	Instance     string  `yaml:"instance"`
	Network      string  `yaml:"network"`
	UserAgent    string  `yaml:"user_agent"`
	KeyID        string  `yaml:"key_id"`
}

// Expect says which alert catches an attack.
type Expect struct {
	Agent string `yaml:"agent"`
	// Detectors: an alert on Agent from any of these (or a member of a
	// family such as "volume") catches the attack; empty means any.
	Detectors []string `yaml:"detectors"`
}

// Injection is a run of Count events by one agent starting At after the
// background's start, Every apart. Fields left empty keep the agent's own
// identity at that moment (instance, credential, address, user agent), so
// an injection differs from normal traffic only where it says.
//
// In Action, Resource and the Actions/Resources lists, "{i}" is replaced by
// the repeat index, "{i:05}" by the index zero-padded to 5 digits, and
// "{date}" by the event's day. Actions and Resources are cycled through.
type Injection struct {
	At           Offset   `yaml:"at"`
	Agent        string   `yaml:"agent"`
	Instance     string   `yaml:"instance"`
	Count        int      `yaml:"count"`
	Every        Offset   `yaml:"every"`
	Jitter       Offset   `yaml:"jitter"`
	System       string   `yaml:"system"`
	Action       string   `yaml:"action"`
	Actions      []string `yaml:"actions"`
	Resource     string   `yaml:"resource"`
	Resources    []string `yaml:"resources"`
	ResourceType string   `yaml:"resource_type"`
	Outcome      string   `yaml:"outcome"`
	ErrorCode    string   `yaml:"error_code"`
	SrcIP        string   `yaml:"src_ip"`
	UserAgent    string   `yaml:"user_agent"`
	OnBehalfOf   string   `yaml:"on_behalf_of"`
	Principal    string   `yaml:"principal"`
	Credential   struct {
		ID       string `yaml:"id"`
		Type     string `yaml:"type"`
		IssuedAt string `yaml:"issued_at"` // RFC 3339
	} `yaml:"credential"`
	Bytes   int64 `yaml:"bytes"`
	Records int64 `yaml:"records"`
}

// Offset is a duration written "14d10h30m", "90s" or "2d".
type Offset time.Duration

var offsetRE = regexp.MustCompile(`^(?:(\d+)d)?(.*)$`)

// UnmarshalYAML reads whole days plus a Go duration.
func (o *Offset) UnmarshalYAML(n *yaml.Node) error {
	d, err := ParseOffset(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*o = Offset(d)
	return nil
}

// ParseOffset reads "14d10h30m", "2d", "90s".
func ParseOffset(s string) (time.Duration, error) {
	m := offsetRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || (m[1] == "" && m[2] == "") {
		return 0, fmt.Errorf("offset %q: want days and a duration such as \"14d10h30m\"", s)
	}
	var d time.Duration
	if m[1] != "" {
		days, err := strconv.Atoi(m[1])
		if err != nil {
			return 0, fmt.Errorf("offset %q: %w", s, err)
		}
		d = time.Duration(days) * 24 * time.Hour
	}
	if m[2] != "" {
		rest, err := time.ParseDuration(m[2])
		if err != nil || rest < 0 {
			return 0, fmt.Errorf("offset %q: want days and a duration such as \"14d10h30m\"", s)
		}
		d += rest
	}
	return d, nil
}

// LoadScenarios reads every *.yaml / *.yml file in dir, sorted by file
// name. Unknown keys and invalid values are errors naming the file, the
// line where known, and the key.
func LoadScenarios(dir string) ([]Scenario, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read scenario dir: %w", err)
	}
	var out []Scenario
	names := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read scenario: %w", err)
		}
		sc, err := ParseScenario(path, data)
		if err != nil {
			return nil, err
		}
		if prev, dup := names[sc.Name]; dup {
			return nil, fmt.Errorf("%s: name %q already used by %s", path, sc.Name, prev)
		}
		names[sc.Name] = path
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read scenario dir %s: no *.yaml scenario files", dir)
	}
	return out, nil
}

// ParseScenario decodes and validates one scenario; file names it in errors.
func ParseScenario(file string, data []byte) (Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return sc, fmt.Errorf("%s: %w", file, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	sc.File = file
	if err := sc.validate(); err != nil {
		return sc, fmt.Errorf("%s%s: %w", file, lineOf(&root, err.key, err.index), err)
	}
	return sc, nil
}

type fieldErr struct {
	key   string // top-level key
	index int    // list index under key, or -1
	msg   string
}

func (e *fieldErr) Error() string { return e.msg }

var techniqueRE = regexp.MustCompile(`^T\d{4}(\.\d{3})?(/T\d{4}(\.\d{3})?)*$`)

func (sc *Scenario) validate() *fieldErr {
	bad := func(key string, idx int, format string, args ...any) *fieldErr {
		return &fieldErr{key: key, index: idx, msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case sc.Name == "":
		return bad("name", -1, "name: is required")
	case sc.Label != sim.LabelAttack && sc.Label != sim.LabelBenign:
		return bad("label", -1, "label: %q is not attack or benign", sc.Label)
	case sc.Label == sim.LabelAttack && !techniqueRE.MatchString(sc.Technique):
		return bad("technique", -1, "technique: %q is not a MITRE ATT&CK id such as T1078.004", sc.Technique)
	case sc.Label == sim.LabelAttack && len(sc.Inject) == 0:
		return bad("inject", -1, "inject: an attack scenario needs at least one injected event")
	case sc.Expect.Agent == "":
		return bad("expect", -1, "expect.agent: is required (the agent the scenario is about)")
	}
	for i, c := range sc.Changes {
		if _, err := c.change(); err != nil {
			return bad("changes", i, "changes[%d]: %v", i, err)
		}
	}
	cfg, err := sc.fleetConfig()
	if err != nil {
		return bad("background", -1, "%v", err)
	}
	fleet, err := sim.NewFleet(cfg)
	if err != nil {
		return bad("changes", -1, "%v", err)
	}
	known := strings.Join(fleet.Inventory().IDs(), ", ")
	if fleet.Inventory().Get(sc.Expect.Agent) == nil {
		return bad("expect", -1, "expect.agent: %q is not in the background fleet (%s)", sc.Expect.Agent, known)
	}
	for i, in := range sc.Inject {
		msg := ""
		switch {
		case in.Agent == "":
			msg = "agent: is required"
		case fleet.Inventory().Get(in.Agent) == nil:
			msg = fmt.Sprintf("agent: %q is not in the background fleet (%s)", in.Agent, known)
		case in.System == "":
			msg = "system: is required"
		case in.Action == "" && len(in.Actions) == 0:
			msg = "action or actions: is required"
		case in.Action != "" && len(in.Actions) > 0:
			msg = "action and actions: give one of them"
		case in.Resource != "" && len(in.Resources) > 0:
			msg = "resource and resources: give one of them"
		case in.Count < 0 || in.Count > 100_000:
			msg = fmt.Sprintf("count: %d is outside 0-100000", in.Count)
		case in.Every < 0 || in.Jitter < 0:
			msg = "every, jitter: must not be negative"
		case in.Outcome != "" && !slices.Contains(schemas.Outcomes, in.Outcome):
			msg = fmt.Sprintf("outcome: %q is not one of %s", in.Outcome, strings.Join(schemas.Outcomes, ", "))
		case in.Credential.Type != "" && !slices.Contains(schemas.CredentialTypes, in.Credential.Type):
			msg = fmt.Sprintf("credential.type: %q is not one of %s", in.Credential.Type, strings.Join(schemas.CredentialTypes, ", "))
		}
		if in.Credential.IssuedAt != "" {
			if _, err := time.Parse(time.RFC3339, in.Credential.IssuedAt); err != nil {
				msg = fmt.Sprintf("credential.issued_at: %q is not RFC 3339", in.Credential.IssuedAt)
			}
		}
		if msg != "" {
			return bad("inject", i, "inject[%d].%s", i, msg)
		}
	}
	return nil
}

// fleetConfig is the sim configuration of the scenario's background.
func (sc *Scenario) fleetConfig() (sim.Config, error) {
	b := sc.Background
	cfg := sim.Config{Kinds: b.Kinds, Agents: b.Agents, Days: b.Days, TailDays: b.TailDays, Seed: b.Seed, NoIncidents: true}
	if cfg.Days == 0 {
		cfg.Days = 14
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if b.Start != "" {
		t, err := time.Parse("2006-01-02", b.Start)
		if err != nil {
			return cfg, fmt.Errorf("background.start: %q is not YYYY-MM-DD", b.Start)
		}
		cfg.Start = t
	}
	for _, c := range sc.Changes {
		ch, err := c.change()
		if err != nil {
			return cfg, err
		}
		cfg.Changes = append(cfg.Changes, ch)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("background.%w", err)
	}
	return cfg, nil
}

func (c ChangeDef) change() (sim.Change, error) {
	ch := sim.Change{Type: c.Type, Agent: c.Agent, From: time.Duration(c.From), Until: time.Duration(c.Until), Factor: c.Factor,
		System: c.System, Action: c.Action, Resource: c.Resource, ResourceType: c.ResourceType, Rate: c.Rate,
		Instance: c.Instance, Network: c.Network, UserAgent: c.UserAgent, KeyID: c.KeyID}
	// Validate a copy through a one-change config, so the error text is
	// the sim's own.
	probe := sim.Config{Days: 1, NoIncidents: true, Changes: []sim.Change{ch}}
	if err := probe.Validate(); err != nil {
		_, msg, _ := strings.Cut(err.Error(), ": ")
		return ch, fmt.Errorf("%s", msg)
	}
	return ch, nil
}

// lineOf finds the line of key (and of its index-th item) in a YAML
// document, for error messages; "" when not found.
func lineOf(root *yaml.Node, key string, index int) string {
	if root == nil || len(root.Content) == 0 {
		return ""
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			continue
		}
		v := m.Content[i+1]
		if index >= 0 && v.Kind == yaml.SequenceNode && index < len(v.Content) {
			return fmt.Sprintf(":%d", v.Content[index].Line)
		}
		return fmt.Sprintf(":%d", m.Content[i].Line)
	}
	return ""
}
