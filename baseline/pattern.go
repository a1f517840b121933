package baseline

import "strings"

// Resource patterns generalise the identifiers inside a resource name, so
// that reading ticket 123 and ticket 456 is one habit, not two. Structure
// (path segments, ARN fields, prefixes such as "ticket-") is kept; the
// variable parts become placeholders:
//
//	{uuid}  8-4-4-4-12 hex
//	{date}  2024-01-05, 20240105 or an ISO timestamp
//	{hash}  16 or more hex digits (digests, object versions)
//	{n}     a run of decimal digits (ids, account numbers)
//	{email} an e-mail address
//	{id}    a longer mixed letter/digit token with at least three digits
//	        (i-0abc123def456, AKIA..., base32 ids)

// placeholders turns each placeholder into "*".
var placeholders = strings.NewReplacer("{uuid}", "*", "{date}", "*", "{hash}", "*", "{n}", "*", "{email}", "*", "{id}", "*")

// Glob writes a resource pattern (Generalize's result) as a glob, each
// placeholder a "*": what a suggested inventory line or a posture
// finding shows for a habit.
func Glob(pattern string) string { return placeholders.Replace(pattern) }

// tokenSep separates tokens (path segments, ARN fields, query parts).
func tokenSep(c byte) bool {
	switch c {
	case '/', ':', '?', '&', '=', ',', '@', '#', ' ', '\t', '|', ';', '(', ')', '[', ']', '{', '}', '"', '\'':
		return true
	}
	return false
}

// partSep separates the parts inside a token ("file-123.json").
func partSep(c byte) bool { return c == '-' || c == '_' || c == '.' || c == '+' || c == '~' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

//
// An S3 object's ARN keeps its bucket and folders and gives its name as
// "*", the way an IAM policy writes a prefix: reading
// arn:aws:s3:::lake/docs/a.pdf and .../docs/b.pdf is one habit,
// arn:aws:s3:::lake/docs/*.

// Generalize returns the resource pattern of resource. A resource without
// any digit or "@", and not an S3 object, is returned unchanged without
// allocating.
func Generalize(resource string) string {
	plain := s3ObjectName(resource) < 0
	for i := 0; plain && i < len(resource); i++ {
		if isDigit(resource[i]) || resource[i] == '@' {
			plain = false
		}
	}
	if plain {
		return resource
	}
	return string(AppendPattern(make([]byte, 0, len(resource)+8), resource))
}

// s3ObjectName returns where the object name (after the last "/") starts
// in an S3 object ARN ("arn:PARTITION:s3:::bucket/key"), or -1.
func s3ObjectName(r string) int {
	if len(r) < 14 || r[:4] != "arn:" {
		return -1
	}
	i := strings.Index(r[4:], ":s3:::")
	if i < 0 || strings.IndexByte(r[4:4+i], ':') >= 0 {
		return -1
	}
	rest := 4 + i + len(":s3:::")
	slash := strings.IndexByte(r[rest:], '/')
	if slash <= 0 {
		return -1
	}
	return strings.LastIndexByte(r, '/') + 1
}

// AppendPattern appends the pattern of resource to dst; callers on the hot
// path reuse dst to avoid allocating.
func AppendPattern(dst []byte, resource string) []byte {
	if n := s3ObjectName(resource); n >= 0 {
		dst = appendPattern(dst, resource[:n])
		return append(dst, '*')
	}
	return appendPattern(dst, resource)
}

func appendPattern(dst []byte, resource string) []byte {
	i := 0
	for i < len(resource) {
		if n := emailLen(resource[i:]); n > 0 && (i == 0 || tokenSep(resource[i-1])) {
			dst = append(dst, "{email}"...)
			i += n
			continue
		}
		if tokenSep(resource[i]) {
			dst = append(dst, resource[i])
			i++
			continue
		}
		j := i
		for j < len(resource) && !tokenSep(resource[j]) {
			j++
		}
		dst = appendToken(dst, resource[i:j])
		i = j
	}
	return dst
}

func appendToken(dst []byte, tok string) []byte {
	// A whole token may be a UUID or a date (which contain part separators).
	for k := 0; k < len(tok); {
		if n := uuidLen(tok[k:]); n > 0 {
			dst = append(dst, "{uuid}"...)
			k += n
			continue
		}
		if n := dateLen(tok[k:]); n > 0 && (k == 0 || partSep(tok[k-1])) {
			dst = append(dst, "{date}"...)
			k += n
			continue
		}
		if partSep(tok[k]) || !isAlnum(tok[k]) {
			dst = append(dst, tok[k])
			k++
			continue
		}
		e := k
		for e < len(tok) && isAlnum(tok[e]) {
			e++
		}
		dst = appendPart(dst, tok[k:e], k == 0 && e == len(tok))
		k = e
	}
	return dst
}

func appendPart(dst []byte, p string, whole bool) []byte {
	digits, hex := 0, true
	for i := 0; i < len(p); i++ {
		if isDigit(p[i]) {
			digits++
		}
		if !isHex(p[i]) {
			hex = false
		}
	}
	switch {
	case digits == 0:
		return append(dst, p...)
	case digits == len(p) && len(p) == 1 && !whole:
		// A lone digit inside a token is usually part of a name
		// (us-east-1, agent-7), and at most ten values hide behind it.
		return append(dst, p...)
	case digits == len(p):
		return append(dst, "{n}"...)
	case hex && len(p) >= 16:
		return append(dst, "{hash}"...)
	case len(p) <= 6:
		// Short mixed tokens are names, not identifiers: v1, s3, ec2,
		// k8s, sha256.
		return append(dst, p...)
	}
	// A word with a trailing digit run is a word plus an id: ticket123.
	e := len(p)
	for e > 0 && isDigit(p[e-1]) {
		e--
	}
	lettersOnly := true
	for i := 0; i < e; i++ {
		if isDigit(p[i]) {
			lettersOnly = false
		}
	}
	if lettersOnly && e < len(p) {
		dst = append(dst, p[:e]...)
		return append(dst, "{n}"...)
	}
	if digits >= 3 {
		return append(dst, "{id}"...)
	}
	return append(dst, p...)
}

// emailLen returns the length of an e-mail address at s's start, or 0.
// Addresses are people, not structure: mailing ana@x and ben@y is one habit.
func emailLen(s string) int {
	local := 0
	for local < len(s) && (isAlnum(s[local]) || s[local] == '.' || s[local] == '_' || s[local] == '%' || s[local] == '+' || s[local] == '-') {
		local++
	}
	if local == 0 || local >= len(s) || s[local] != '@' {
		return 0
	}
	e, dots := local+1, 0
	for e < len(s) && (isAlnum(s[e]) || s[e] == '.' || s[e] == '-') {
		if s[e] == '.' {
			dots++
		}
		e++
	}
	if dots == 0 || e == local+1 || s[e-1] == '.' {
		return 0
	}
	return e
}

// uuidLen returns 36 when s starts with a UUID.
func uuidLen(s string) int {
	if len(s) < 36 {
		return 0
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return 0
			}
		default:
			if !isHex(c) {
				return 0
			}
		}
	}
	if len(s) > 36 && isAlnum(s[36]) {
		return 0
	}
	return 36
}

// dateLen returns the length of a date (YYYY-MM-DD, YYYYMMDD, optionally
// followed by an ISO time "THH:MM:SS[.fff][Z]" without colons split out,
// which only occurs when the caller kept colons in a token) at s's start.
func dateLen(s string) int {
	plausible := func(y, m, d string) bool {
		return (y[0] == '1' || y[0] == '2') && m >= "01" && m <= "12" && d >= "01" && d <= "31"
	}
	allDigits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if !isDigit(s[i]) {
				return false
			}
		}
		return true
	}
	n := 0
	switch {
	case len(s) >= 10 && s[4] == '-' && s[7] == '-' && allDigits(s[:4]) && allDigits(s[5:7]) && allDigits(s[8:10]) && plausible(s[:4], s[5:7], s[8:10]):
		n = 10
	case len(s) >= 8 && allDigits(s[:8]) && plausible(s[:4], s[4:6], s[6:8]) && (len(s) == 8 || !isDigit(s[8])):
		n = 8
	default:
		return 0
	}
	// Swallow a time of day glued to the date ("T10", "T101500Z").
	if n < len(s) && (s[n] == 'T' || s[n] == 't') {
		e := n + 1
		for e < len(s) && isDigit(s[e]) {
			e++
		}
		if e > n+1 {
			if e < len(s) && (s[e] == 'Z' || s[e] == 'z') {
				e++
			}
			n = e
		}
	}
	if n < len(s) && isAlnum(s[n]) {
		return 0
	}
	return n
}

// GeneralizeUserAgent drops version numbers from a user agent, so that a
// library upgrade is not a new client: "boto3/1.34.2 Python/3.12" becomes
// "boto3/{v} Python/{v}".
func GeneralizeUserAgent(ua string) string {
	hasDigit := false
	for i := 0; i < len(ua); i++ {
		if isDigit(ua[i]) {
			hasDigit = true
			break
		}
	}
	if !hasDigit {
		return ua
	}
	out := make([]byte, 0, len(ua))
	for i := 0; i < len(ua); {
		if isDigit(ua[i]) && (i == 0 || !isAlnum(ua[i-1]) || ua[i-1] == 'v' || ua[i-1] == 'V') {
			if i > 0 && (ua[i-1] == 'v' || ua[i-1] == 'V') {
				out = out[:len(out)-1]
			}
			for i < len(ua) && (isAlnum(ua[i]) || ua[i] == '.' || ua[i] == '-' || ua[i] == '_' || ua[i] == '+') {
				i++
			}
			out = append(out, "{v}"...)
			continue
		}
		out = append(out, ua[i])
		i++
	}
	return string(out)
}
