package detect

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/agentwatch/agentwatch/internal/inventory"
)

//go:embed data/sensitive.txt
var sensitiveData string

// catalogue is the list of sensitive action globs, kept as data so that
// security teams can read and extend it without reading Go.
type catalogue struct {
	entries []catEntry
	cache   map[string]string // action -> category ("" = not sensitive)
}

type catEntry struct{ category, glob string }

// parseCatalogue reads "category glob" lines; name is used in errors.
func parseCatalogue(name, data string) (*catalogue, error) {
	c := &catalogue{cache: map[string]string{}}
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// The glob is the rest of the line: Kubernetes actions contain a
		// space ("k8s:get secrets").
		cat, glob, _ := strings.Cut(line, " ")
		glob = strings.TrimSpace(glob)
		if cat == "" || glob == "" {
			return nil, fmt.Errorf("%s:%d: want \"category glob\", got %q", name, i+1, line)
		}
		if _, ok := categoryNames[cat]; !ok {
			return nil, fmt.Errorf("%s:%d: unknown category %q", name, i+1, cat)
		}
		c.entries = append(c.entries, catEntry{cat, strings.ToLower(glob)})
	}
	return c, nil
}

// category returns the sensitive category of an action, or "". Results
// are cached per action; the cache is bounded because actions are.
func (c *catalogue) category(action string) string {
	if v, ok := c.cache[action]; ok {
		return v
	}
	low := strings.ToLower(action)
	cat := ""
	for _, e := range c.entries {
		if inventory.Glob(e.glob, low) {
			cat = e.category
			break
		}
	}
	if len(c.cache) < 1<<16 {
		c.cache[action] = cat
	}
	return cat
}

// categoryNames explains a category in alert text.
var categoryNames = map[string]string{
	"iam": "an IAM change", "rbac": "an RBAC change", "secret": "a secret read",
	"key": "a key or token creation", "logging": "disabling or erasing logs", "export": "a bulk data export",
}
