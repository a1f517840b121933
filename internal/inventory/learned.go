package inventory

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/agentwatch/agentwatch/internal/awsiam"
)

// The learned playground keeps habits, not events: a resource pattern in
// which the baseline generalised the variable parts ("{n}", "{uuid}",
// "{date}", "{hash}", "{email}", "{id}", and the "*" that names any
// object of an S3 folder), a source network (a /24 or /48) and a user agent
// with its versions dropped. The helpers here judge such habits against
// the declared playground with the matchers detection judges events with,
// for views that lay the two side by side.

// Rule is one statement as the matchers see it: a statement of
// playground.statements, or the top-level actions and resources when they
// count as one more (named "playground.actions"). An empty list means any.
type Rule struct {
	Name      string // the statement's sid, "statements[i]", or "playground.actions"
	Actions   []string
	Resources []string
	// TopLevel marks the rule made of the top-level actions and resources.
	TopLevel bool
	// Statement is the rule's index in Statements; -1 for the top-level
	// lists.
	Statement int
}

// Rules lists the playground's rules in the order ActionRules numbers
// them (bit i of a mask is Rules()[i]).
func (p *Playground) Rules() []Rule {
	var out []Rule
	// The top-level actions and resources are one more statement: with
	// no statements, as they always were; beside statements, when they
	// name actions.
	if (len(p.Statements) == 0 && (len(p.Actions) > 0 || len(p.Resources) > 0)) || len(p.Actions) > 0 {
		out = append(out, Rule{Name: "playground.actions", Actions: p.Actions, Resources: p.Resources, TopLevel: true, Statement: -1})
	}
	for i, s := range p.Statements {
		if len(out) == maxRules {
			break
		}
		name := s.Sid
		if name == "" {
			name = "statements[" + strconv.Itoa(i) + "]"
		}
		out = append(out, Rule{Name: name, Actions: s.Actions, Resources: s.Resources, Statement: i})
	}
	return out
}

// PatternAllowed reports whether one of the rules in mask (from
// ActionRules) allows some resource a learned resource pattern stands for:
// whether detection would have let at least some of the habit's events
// through. A habit without a resource is judged on its action only, as
// its events were.
func (p *Playground) PatternAllowed(mask uint64, pattern string) bool {
	if pattern == "" || mask == AnyRule {
		return true
	}
	c := p.compiled()
	for i := range c.rules {
		if mask&(1<<uint(i)) == 0 {
			continue
		}
		if len(c.rules[i].written) == 0 {
			return true
		}
		for _, r := range c.rules[i].written {
			if PatternOverlaps(r, pattern) {
				return true
			}
		}
	}
	return false
}

// PatternOverlaps reports whether a declared resource pattern (an ARN
// pattern matched as IAM does, "*", or a glob) matches some resource that
// a learned resource pattern stands for. The learned pattern's
// placeholders stand for what the baseline generalises them from ("{n}" a
// run of digits, "{uuid}" a UUID, ...; "*" an S3 object name), never for a
// "/" or a ":".
func PatternOverlaps(declared, learned string) bool {
	d := declaredPattern(declared)
	switch {
	case d.all:
		return true
	case d.bad:
		return false
	}
	l := learnedTokens(learned)
	if d.segs != nil {
		return arnOverlaps(d, l)
	}
	return overlaps(d.glob, l)
}

// declPattern is a declared resource pattern as overlaps reads it.
type declPattern struct {
	all, bad bool
	// segs are an ARN pattern's parts; open: fewer than six, the last
	// ending in "*", which runs on across colons.
	segs [][]dtok
	open bool
	glob []dtok
}

// declPatterns caches declPattern by pattern: an inventory's patterns are
// few, and each is judged against every learned habit.
var declPatterns sync.Map

func declaredPattern(s string) *declPattern {
	if v, ok := declPatterns.Load(s); ok {
		return v.(*declPattern)
	}
	d := &declPattern{}
	switch {
	case s == "*" || s == "**":
		d.all = true
	case strings.HasPrefix(s, "arn:"):
		// A pattern awsiam does not compile (a policy variable, an open
		// pattern without its closing "*") matches nothing; the
		// inventory refuses it.
		_, err := awsiam.CompileResource(s)
		d.bad = err != nil
		parts := strings.SplitN(s, ":", 6)
		d.open = len(parts) < 6
		for _, part := range parts {
			d.segs = append(d.segs, arnTokens(part))
		}
	case strings.Contains(s, "**"):
		// Glob's "**" form: every "*" runs across "/".
		for _, r := range strings.ReplaceAll(s, "**", "*") {
			if r == '*' {
				d.glob = append(d.glob, dtok{kind: dStar})
			} else {
				d.glob = append(d.glob, dtok{r: r})
			}
		}
	default:
		var ok bool
		d.glob, ok = globTokens(s)
		d.bad = !ok
	}
	v, _ := declPatterns.LoadOrStore(s, d)
	return v.(*declPattern)
}

// Declared tokens: a literal rune, "*" (a run, within one "/"-separated
// segment when slash is false) or "?" (one character).
const (
	dLit = iota
	dStar
	dOne
)

type dtok struct {
	kind    uint8
	r       rune
	noSlash bool   // the wildcard does not match "/" (a glob's, not IAM's)
	class   string // dOne: a glob's character class ("[a-c]"), or ""
}

// accepts reports whether a one-character token takes r.
func (t *dtok) accepts(r rune) bool {
	if t.class != "" {
		ok, _ := path.Match(t.class, string(r))
		return ok
	}
	return !(t.noSlash && r == '/')
}

// ltok is a learned token: a literal rune, or a placeholder (class != nil)
// standing for one or more characters of its class.
type ltok struct {
	r     rune
	class func(rune) bool
}

func isDigitRune(r rune) bool { return r >= '0' && r <= '9' }
func isHexRune(r rune) bool {
	return isDigitRune(r) || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}
func isAlnumRune(r rune) bool {
	return isDigitRune(r) || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

// placeholders are the baseline's (baseline/pattern.go), with the
// characters each stands for.
var placeholders = []struct {
	name  string
	class func(rune) bool
}{
	{"{n}", isDigitRune},
	{"{hash}", isHexRune},
	{"{uuid}", func(r rune) bool { return isHexRune(r) || r == '-' }},
	{"{date}", func(r rune) bool { return isDigitRune(r) || r == '-' || r == 'T' || r == 't' || r == 'Z' || r == 'z' }},
	{"{email}", func(r rune) bool { return isAlnumRune(r) || strings.ContainsRune("._%+-@", r) }},
	{"{id}", isAlnumRune},
}

// anyName is the S3 object name "*": anything but "/" (and, kept simple,
// ":").
func anyName(r rune) bool { return r != '/' && r != ':' }

func learnedTokens(s string) []ltok {
	out := make([]ltok, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] == '{' {
			found := false
			for _, ph := range placeholders {
				if strings.HasPrefix(s[i:], ph.name) {
					out = append(out, ltok{class: ph.class})
					i += len(ph.name)
					found = true
					break
				}
			}
			if found {
				continue
			}
		}
		if s[i] == '*' {
			out = append(out, ltok{class: anyName})
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		out = append(out, ltok{r: r})
		i += n
	}
	return out
}

// globTokens reads a glob matched by path.Match: "*" and "?" within a
// segment, a character class, "\\" escaping. ok is false for a malformed
// glob, which matches nothing.
func globTokens(s string) ([]dtok, bool) {
	var out []dtok
	for i := 0; i < len(s); {
		switch s[i] {
		case '*':
			out = append(out, dtok{kind: dStar, noSlash: true})
			i++
		case '?':
			out = append(out, dtok{kind: dOne, noSlash: true})
			i++
		case '[':
			// The class ends at the first unescaped "]" after its first
			// character; path.Match then says whether it is well formed.
			j := i + 1
			if j < len(s) && s[j] == '^' {
				j++
			}
			for j++; j < len(s) && s[j] != ']'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, false
			}
			class := s[i : j+1]
			if _, err := path.Match(class, "a"); err != nil {
				return nil, false
			}
			out = append(out, dtok{kind: dOne, noSlash: true, class: class})
			i = j + 1
		case '\\':
			if i+1 >= len(s) {
				return nil, false
			}
			r, n := utf8.DecodeRuneInString(s[i+1:])
			out = append(out, dtok{r: r})
			i += 1 + n
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			out = append(out, dtok{r: r})
			i += n
		}
	}
	return out, true
}

// arnTokens reads one colon-separated part of an IAM Resource value: "*"
// any run ("/" included), "?" one character, "${*}", "${?}" and "${$}"
// the literal characters.
func arnTokens(s string) []dtok {
	var out []dtok
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "${") && len(s) >= i+4 && s[i+3] == '}' {
			out = append(out, dtok{r: rune(s[i+2])})
			i += 4
			continue
		}
		switch s[i] {
		case '*':
			out = append(out, dtok{kind: dStar})
			i++
			continue
		case '?':
			out = append(out, dtok{kind: dOne})
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		out = append(out, dtok{r: r})
		i += n
	}
	return out
}

// arnOverlaps follows awsiam.ResourcePattern.Match part by part: the
// learned pattern's colons are literal (no placeholder stands for one), so
// its parts are known.
func arnOverlaps(d *declPattern, l []ltok) bool {
	last := len(d.segs) - 1
	for i, seg := range d.segs {
		if i == last {
			if d.open {
				colons := 0
				for _, t := range l {
					if t.class == nil && t.r == ':' {
						colons++
					}
				}
				if colons < 5-i {
					return false
				}
			}
			return overlaps(seg, l)
		}
		j := 0
		for j < len(l) && !(l[j].class == nil && l[j].r == ':') {
			j++
		}
		if j == len(l) || !overlaps(seg, l[:j]) {
			return false
		}
		l = l[j+1:]
	}
	return false
}

// overlaps reports whether some string matches both the declared tokens
// and the learned ones. It walks the product of the two automata: a state
// is (declared position, learned position, whether the current
// placeholder has taken a character yet).
func overlaps(d []dtok, l []ltok) bool {
	// Where both start, and where both end, with literal characters, any
	// string of both has those characters: most habits outside a pattern
	// differ there (another bucket, another folder).
	for k := 0; k < len(d) && k < len(l) && d[k].kind == dLit && l[k].class == nil; k++ {
		if d[k].r != l[k].r {
			return false
		}
	}
	for k := 1; k <= len(d) && k <= len(l) && d[len(d)-k].kind == dLit && l[len(l)-k].class == nil; k++ {
		if d[len(d)-k].r != l[len(l)-k].r {
			return false
		}
	}
	nd, nl := len(d)+1, len(l)+1
	var seenBuf [2048]bool
	seen := seenBuf[:0]
	if n := nd * nl * 2; n <= len(seenBuf) {
		seen = seenBuf[:n]
	} else {
		seen = make([]bool, n)
	}
	type state struct{ i, j, h int }
	var stackBuf [64]state
	stack := append(stackBuf[:0], state{0, 0, 0})
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		k := (s.i*nl+s.j)*2 + s.h
		if seen[k] {
			continue
		}
		seen[k] = true
		if s.i == len(d) && s.j == len(l) && s.h == 0 {
			return true
		}
		// Without taking a character: skip a star, or end a placeholder
		// that took one.
		if s.i < len(d) && d[s.i].kind == dStar {
			stack = append(stack, state{s.i + 1, s.j, s.h})
		}
		if s.h == 1 {
			stack = append(stack, state{s.i, s.j + 1, 0})
		}
		if s.i == len(d) || s.j == len(l) {
			continue
		}
		// Taking one character both accept.
		dt, lt := d[s.i], l[s.j]
		ok := false
		switch {
		case lt.class == nil:
			ok = dt.kind == dLit && dt.r == lt.r || dt.kind != dLit && dt.accepts(lt.r)
		case dt.kind == dLit:
			ok = lt.class(dt.r)
		default:
			// A wildcard against a placeholder: every placeholder holds
			// characters other than "/"; a character class is taken as
			// meeting it (wider than exact, so a habit is never called
			// outside wrongly).
			ok = true
		}
		if !ok {
			continue
		}
		ni := s.i + 1
		if dt.kind == dStar {
			ni = s.i
		}
		if lt.class == nil {
			stack = append(stack, state{ni, s.j + 1, 0})
		} else {
			stack = append(stack, state{ni, s.j, 1})
		}
	}
	return false
}

// neverDenied are the AWS actions IAM does not authorise: any identity
// may call them and no policy can deny them (sts:GetCallerIdentity, which
// SDKs and CLIs call to learn who they are). A playground that says what
// IAM says leaves them out, since no policy names them, yet they are
// inside it; detection (detect/declared.go) and the views that judge
// habits ask AlwaysAllows. The learned detectors still judge them: a
// first GetCallerIdentity from a new network or client is news.
var neverDenied = map[string]bool{"sts:GetCallerIdentity": true}

// AlwaysAllows reports whether action is inside the playground whatever
// its lists say: an action IAM never denies, in a playground about AWS
// (one declaring an AWS system, or, declaring no systems, an AWS action).
func (p *Playground) AlwaysAllows(action string) bool {
	if !neverDenied[action] {
		return false
	}
	for _, s := range p.Systems {
		if strings.HasPrefix(s, "aws:") {
			return true
		}
	}
	if len(p.Systems) > 0 {
		return false
	}
	for _, r := range p.Rules() {
		for _, a := range r.Actions {
			if svc, _, ok := strings.Cut(a, ":"); ok && awsiam.KnownPrefix(svc) {
				return true
			}
		}
	}
	return false
}

// Coverage says how much of a learned habit the declared playground holds.
type Coverage uint8

const (
	// CoverNone: none of it is declared.
	CoverNone Coverage = iota
	// CoverPart: some of it is.
	CoverPart
	// CoverAll: all of it is (or the playground declares nothing of the
	// kind).
	CoverAll
)

// NetworkCoverage says how much of a learned source network (a CIDR, as
// the learned playground keeps them: the /24 or /48 of the addresses
// seen) lies in the declared networks. With none declared, or a network
// that does not parse (not judged), all of it.
func (p *Playground) NetworkCoverage(network string) Coverage {
	if len(p.Networks) == 0 {
		return CoverAll
	}
	n, err := parseNetwork(network)
	if err != nil {
		return CoverAll
	}
	out := CoverNone
	for _, d := range p.compiled().networks {
		switch {
		case d.Bits() <= n.Bits() && d.Contains(n.Addr()):
			return CoverAll
		case d.Overlaps(n):
			out = CoverPart
		}
	}
	return out
}

// NetworksOverlap reports whether two networks (CIDRs or addresses)
// share an address; false when either does not parse.
func NetworksOverlap(a, b string) bool {
	pa, err1 := parseNetwork(a)
	pb, err2 := parseNetwork(b)
	return err1 == nil && err2 == nil && pa.Overlaps(pb)
}

// versionMark is what the learned playground keeps of a version in a user
// agent (baseline.GeneralizeUserAgent): a run starting with a digit, or
// with "v" and a digit, and going on over letters, digits and "._+-".
const versionMark = "{v}"

var versionRE = regexp.MustCompile(`[vV][0-9]+`)

// versionless writes a client marker as the learned playground keeps it:
// "aws-sdk-go-v2/" is "aws-sdk-go-{v}/".
func versionless(marker string) string {
	return versionRE.ReplaceAllLiteralString(marker, versionMark)
}

// LearnedClientFamily is ClientFamily of a user agent as the learned
// playground keeps it, its versions "{v}": the family of the user agents
// it stands for ("aws-sdk-go-{v}/{v} ..." is aws-sdk-go-v2). A family
// whose own name held a version keeps the mark ("myagent-v2/1.0" is kept
// as "myagent-{v}/{v}", family "myagent-{v}"); ClientFamilyMatches
// compares it with a declared one.
func LearnedClientFamily(ua string) string { return clientFamily(ua, true) }

// ClientFamilyMatches reports whether a declared client family is one
// that a learned family (LearnedClientFamily) stands for.
func ClientFamilyMatches(declared, learned string) bool {
	if !strings.Contains(learned, versionMark) {
		return declared == learned
	}
	parts := strings.Split(learned, versionMark)
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	re, err := regexp.Compile("^" + strings.Join(parts, `[vV]?[0-9][0-9a-zA-Z._+\-]*`) + "$")
	return err == nil && re.MatchString(declared)
}

// AllowsLearnedClient reports whether the declared clients include a
// family a learned family (LearnedClientFamily) stands for; with none
// declared, every family is allowed.
func (p *Playground) AllowsLearnedClient(family string) bool {
	if len(p.Clients) == 0 {
		return true
	}
	for _, d := range p.Clients {
		if ClientFamilyMatches(d, family) {
			return true
		}
	}
	return false
}
