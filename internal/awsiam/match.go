package awsiam

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// How IAM matches a Resource value against a request's ARN (IAM User Guide,
// "IAM JSON policy elements: Resource"): the ARN's colon-separated parts
// are compared one by one; within a part "*" matches any run of
// characters, "/" included, and "?" exactly one character; "*" as the last
// character of the pattern's last part runs on across colons, so
// "arn:aws:logs:*" and "arn:aws:s3:::*" cover everything under them. The
// match is case sensitive. "${*}", "${?}" and "${$}" stand for a literal
// "*", "?" and "$"; other policy variables ("${aws:username}") depend on
// the request and cannot be evaluated here.

// ErrPolicyVariable is returned for a pattern using a policy variable.
var ErrPolicyVariable = errors.New("policy variables (${...}) depend on the request and are not supported")

const (
	wStar     = -1
	wQuestion = -2
)

// seg is one compiled part of a pattern.
type seg struct {
	lit   string  // the part without wildcards (exact) or before a lone trailing "*" (prefix)
	kind  uint8   // segExact, segPrefix, segGlob
	runes []int32 // segGlob: runes, wStar and wQuestion
}

const (
	segExact = iota
	segPrefix
	segGlob
)

// ResourcePattern is a compiled IAM Resource value ("*" or an ARN pattern).
type ResourcePattern struct {
	raw  string
	all  bool
	segs []seg
	// open: the pattern has fewer than six parts and its last part ends
	// in "*", which then matches the rest of the ARN, colons included.
	open bool
}

// String returns the pattern as written.
func (p *ResourcePattern) String() string { return p.raw }

// CompileResource compiles an IAM Resource value. It fails for a policy
// variable, and for a pattern that is not "*" and does not start with
// "arn:".
func CompileResource(pattern string) (*ResourcePattern, error) {
	p := &ResourcePattern{raw: pattern}
	if pattern == "*" {
		p.all = true
		return p, nil
	}
	if !strings.HasPrefix(pattern, "arn:") {
		return nil, fmt.Errorf("%q is not an ARN pattern (it does not start with \"arn:\")", pattern)
	}
	parts := strings.SplitN(pattern, ":", 6)
	for _, part := range parts {
		s, err := compileSeg(part)
		if err != nil {
			return nil, err
		}
		p.segs = append(p.segs, s)
	}
	if len(parts) < 6 {
		if !strings.HasSuffix(pattern, "*") {
			return nil, fmt.Errorf("%q has %d of an ARN's six colon-separated parts and does not end in \"*\", so it matches no ARN", pattern, len(parts))
		}
		p.open = true
	}
	return p, nil
}

func compileSeg(s string) (seg, error) {
	var rs []int32
	wild := false
	for i := 0; i < len(s); {
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return seg{}, fmt.Errorf("unterminated \"${\" in %q", s)
			}
			switch s[i : i+end+1] {
			case "${*}":
				rs = append(rs, '*')
			case "${?}":
				rs = append(rs, '?')
			case "${$}":
				rs = append(rs, '$')
			default:
				return seg{}, fmt.Errorf("%s: %w", s[i:i+end+1], ErrPolicyVariable)
			}
			i += end + 1
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '*':
			rs = append(rs, wStar)
			wild = true
		case '?':
			rs = append(rs, wQuestion)
			wild = true
		default:
			rs = append(rs, r)
		}
		i += n
	}
	out := seg{runes: rs, kind: segGlob}
	if !wild {
		out.kind, out.lit = segExact, string(runesOf(rs))
		return out, nil
	}
	if rs[len(rs)-1] == wStar {
		lone := true
		for _, r := range rs[:len(rs)-1] {
			if r < 0 {
				lone = false
				break
			}
		}
		if lone {
			out.kind, out.lit = segPrefix, string(runesOf(rs[:len(rs)-1]))
		}
	}
	return out, nil
}

func runesOf(rs []int32) []rune {
	out := make([]rune, len(rs))
	for i, r := range rs {
		out[i] = rune(r)
	}
	return out
}

func (s *seg) match(v string) bool {
	switch s.kind {
	case segExact:
		return v == s.lit
	case segPrefix:
		return strings.HasPrefix(v, s.lit)
	}
	return globRunes(s.runes, v)
}

// globRunes matches v against pattern runes where wStar matches any run
// and wQuestion one character, with the usual single backtrack point.
func globRunes(p []int32, v string) bool {
	pi, vi := 0, 0
	starP, starV := -1, 0
	for vi < len(v) {
		if pi < len(p) && p[pi] == wStar {
			starP, starV = pi, vi
			pi++
			continue
		}
		if pi < len(p) {
			r, n := utf8.DecodeRuneInString(v[vi:])
			if p[pi] == wQuestion || p[pi] == int32(r) {
				pi++
				vi += n
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(v[starV:])
		starV += n
		pi, vi = starP+1, starV
	}
	for pi < len(p) && p[pi] == wStar {
		pi++
	}
	return pi == len(p)
}

// Match reports whether the ARN arn falls under the pattern, as IAM would
// decide it.
func (p *ResourcePattern) Match(arn string) bool {
	if p.all {
		return true
	}
	// Walk arn's parts without allocating: part i ends at the i-th colon;
	// the sixth part is everything after the fifth.
	rest := arn
	last := len(p.segs) - 1
	for i := range p.segs {
		if i == last && (p.open || i == 5) {
			// An ARN has six parts: what remains holds the other 5-i
			// colons.
			if p.open && strings.Count(rest, ":") < 5-i {
				return false
			}
			return p.segs[i].match(rest)
		}
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return false
		}
		if !p.segs[i].match(rest[:j]) {
			return false
		}
		rest = rest[j+1:]
	}
	return false
}

// ActionPattern is a compiled IAM Action value ("s3:Get*"), matched
// without regard to case as IAM does.
type ActionPattern struct {
	raw   string
	runes []int32
	lit   string
	exact bool
}

// CompileAction compiles an action pattern.
func CompileAction(pattern string) *ActionPattern {
	low := strings.ToLower(pattern)
	p := &ActionPattern{raw: pattern, lit: low, exact: !strings.ContainsAny(low, "*?")}
	if !p.exact {
		for _, r := range low {
			switch r {
			case '*':
				p.runes = append(p.runes, wStar)
			case '?':
				p.runes = append(p.runes, wQuestion)
			default:
				p.runes = append(p.runes, r)
			}
		}
	}
	return p
}

// String returns the pattern as written.
func (p *ActionPattern) String() string { return p.raw }

// MatchLower reports whether an action already in lower case matches.
func (p *ActionPattern) MatchLower(action string) bool {
	if p.exact {
		return action == p.lit
	}
	return globRunes(p.runes, action)
}

// Match reports whether action matches, ignoring case.
func (p *ActionPattern) Match(action string) bool { return p.MatchLower(strings.ToLower(action)) }
