package detect

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/agentwatch/agentwatch/internal/inventory"
)

// Suppression silences findings of a detector for matching agents and
// subjects until a time. Agent, Detector and Match are globs; an empty
// Match matches every subject.
type Suppression struct {
	Agent    string    `yaml:"agent"`
	Detector string    `yaml:"detector"`
	Match    string    `yaml:"match"`
	Until    time.Time `yaml:"until"`
	Reason   string    `yaml:"reason"`
	Line     int       `yaml:"-"`
}

type suppressionFile struct {
	Suppressions []yaml.Node `yaml:"suppressions"`
}

// ParseSuppressions reads a suppressions file; errors name file and line.
func ParseSuppressions(name string, data []byte) ([]Suppression, error) {
	var f suppressionFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := make([]Suppression, 0, len(f.Suppressions))
	for _, n := range f.Suppressions {
		var s Suppression
		if err := n.Decode(&s); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n.Line, err)
		}
		s.Line = n.Line
		keys := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys[n.Content[i].Value] = true
			switch k := n.Content[i].Value; k {
			case "agent", "detector", "match", "until", "reason":
			default:
				return nil, fmt.Errorf("%s:%d: unknown key %q (want agent, detector, match, until, reason)", name, n.Content[i].Line, k)
			}
		}
		switch {
		case s.Agent == "":
			return nil, fmt.Errorf("%s:%d: key agent: is required (use \"*\" for every agent)", name, n.Line)
		case s.Detector == "":
			return nil, fmt.Errorf("%s:%d: key detector: is required (use \"*\" for every detector)", name, n.Line)
		case strings.TrimSpace(s.Reason) == "":
			return nil, fmt.Errorf("%s:%d: key reason: is required, so the silence is auditable", name, n.Line)
		case !keys["until"]:
			return nil, fmt.Errorf("%s:%d: key until: is required, so the silence expires", name, n.Line)
		}
		out = append(out, s)
	}
	return out, nil
}

// suppressions is the hot-reloaded set; reload checks size and mtime. The
// engine reloads and matches it on its own goroutine (reloads happen as
// event time passes), so it needs no lock.
type suppressions struct {
	path  string
	mod   time.Time
	size  int64
	items []Suppression
}

func (s *suppressions) len() int {
	return len(s.items)
}

// reload re-reads the file when it changed; a missing file configured
// after start clears the set.
func (s *suppressions) reload() (bool, error) {
	if s.path == "" {
		return false, nil
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return false, fmt.Errorf("stat suppressions file: %w", err)
	}
	if fi.ModTime().Equal(s.mod) && fi.Size() == s.size {
		return false, nil
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return false, fmt.Errorf("read suppressions file: %w", err)
	}
	items, err := ParseSuppressions(s.path, data)
	if err != nil {
		return false, err
	}
	s.items, s.mod, s.size = items, fi.ModTime(), fi.Size()
	return true, nil
}

// match reports whether a finding at time t is silenced. Expired entries
// stop applying by themselves.
func (s *suppressions) match(agent, detector, subject string, t time.Time) bool {
	for i := range s.items {
		x := &s.items[i]
		if !t.Before(x.Until) {
			continue
		}
		if inventory.Glob(x.Agent, agent) && inventory.Glob(x.Detector, detector) && (x.Match == "" || inventory.Glob(x.Match, subject)) {
			return true
		}
	}
	return false
}
