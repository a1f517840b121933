package inventory

import (
	"path"
	"strings"
)

// Glob reports whether name matches pattern. "*" matches within one path
// segment ("/" and ":" are not crossed in resources), "**" matches anything.
// Patterns without "/" behave like path.Match with "*" matching any run.
func Glob(pattern, name string) bool {
	if pattern == "*" || pattern == "**" {
		return true
	}
	if strings.Contains(pattern, "**") {
		return globAny(pattern, name)
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// globAny matches pattern where "**" and "*" both match any run of bytes.
func globAny(pattern, name string) bool {
	parts := strings.Split(strings.ReplaceAll(pattern, "**", "*"), "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for i := 1; i < len(parts)-1; i++ {
		idx := strings.Index(name, parts[i])
		if idx < 0 {
			return false
		}
		name = name[idx+len(parts[i]):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}

// AnyGlob reports whether name matches any of patterns.
func AnyGlob(patterns []string, name string) bool {
	for _, p := range patterns {
		if Glob(p, name) {
			return true
		}
	}
	return false
}

// AllowsSystem reports whether the declared playground allows system; an
// empty list allows everything.
func (p *Playground) AllowsSystem(s string) bool {
	return len(p.Systems) == 0 || AnyGlob(p.Systems, s)
}
