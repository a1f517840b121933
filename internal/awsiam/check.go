package awsiam

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2,}(-[a-z]+)+-[0-9]+$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
)

// CheckResource reports why an IAM Resource pattern can never match any
// ARN, or nil when it can: a policy variable, fewer than six parts without
// a closing "*", an unknown partition, a wildcard or unknown service, a
// malformed region or account, or a resource part that fits none of the
// service's resource types (for services whose types are all listed).
func CheckResource(pattern string) error {
	if pattern == "*" {
		return nil
	}
	if _, err := CompileResource(pattern); err != nil {
		return err
	}
	parts := strings.SplitN(pattern, ":", 6)
	wild := func(s string) bool { return strings.ContainsAny(s, "*?") }
	onlyStars := func(s string) bool { return strings.Trim(s, "*") == "" }
	if len(parts) > 1 && !wild(parts[1]) && !slices.Contains(Partitions, parts[1]) {
		return fmt.Errorf("%q: partition %q is not one of %s", pattern, parts[1], strings.Join(Partitions, ", "))
	}
	if len(parts) < 3 {
		return nil
	}
	svc := parts[2]
	if wild(svc) {
		return fmt.Errorf("%q: IAM does not match wildcards in an ARN's service part; name the service", pattern)
	}
	if !KnownPrefix(svc) {
		return fmt.Errorf("%q: %q is not an AWS service prefix", pattern, svc)
	}
	if len(parts) > 3 && parts[3] != "" && !wild(parts[3]) && !regionRE.MatchString(parts[3]) {
		return fmt.Errorf("%q: %q is not an AWS region (such as us-east-1)", pattern, parts[3])
	}
	if len(parts) > 4 && parts[4] != "" && !wild(parts[4]) && !accountRE.MatchString(parts[4]) && parts[4] != "aws" {
		return fmt.Errorf("%q: account %q is not a 12-digit account id", pattern, parts[4])
	}
	s := ServiceOf(svc)
	if s == nil || !s.Complete || len(parts) < 6 {
		return nil
	}
	region, account, res := parts[3], parts[4], parts[5]
	var kinds []string
	for _, t := range s.Types {
		if t.Service != svc {
			continue
		}
		kinds = append(kinds, t.Name+" "+t.Template)
		if t.region == "" && !onlyStars(region) || t.region != "" && region == "" {
			continue
		}
		if t.account == "" && !onlyStars(account) || t.account != "" && account == "" {
			continue
		}
		if fitsPattern(t.res, res) {
			return nil
		}
	}
	hint := ""
	if svc == "s3" && (res == "" || strings.HasPrefix(res, "/")) {
		hint = "; an S3 ARN names its bucket first: arn:aws:s3:::BUCKET or arn:aws:s3:::BUCKET/KEY"
	} else if svc == "s3" && (region != "" || account != "") {
		hint = "; bucket and object ARNs have no region or account: arn:aws:s3:::BUCKET/KEY"
	}
	return fmt.Errorf("%q can never match: it fits none of %s's resource types (%s)%s", pattern, svc, strings.Join(kinds, "; "), hint)
}

// fitsPattern reports whether some string matching the resource pattern
// res could be of the template's shape. A pattern without wildcards must
// fit exactly; one with wildcards must start in a way the template allows
// (the part before its first wildcard), and a wholly literal template must
// match the pattern.
func fitsPattern(toks []tmplTok, res string) bool {
	i := strings.IndexAny(res, "*?")
	if i < 0 {
		lit := strings.NewReplacer("${*}", "*", "${?}", "?", "${$}", "$").Replace(res)
		return fitTokens(toks, lit)
	}
	allLit := true
	for _, k := range toks {
		if k.v != "" {
			allLit = false
		}
	}
	if allLit {
		s, err := compileSeg(res)
		if err != nil {
			return false
		}
		lit := ""
		for _, k := range toks {
			lit += k.lit
		}
		return s.match(lit)
	}
	return canStartWith(toks, res[:i])
}

// canStartWith reports whether a string of the template's shape can begin
// with p.
func canStartWith(toks []tmplTok, p string) bool {
	if p == "" {
		return true
	}
	if len(toks) == 0 {
		return false
	}
	k := toks[0]
	if k.v == "" {
		if len(p) <= len(k.lit) {
			return strings.HasPrefix(k.lit, p)
		}
		return strings.HasPrefix(p, k.lit) && canStartWith(toks[1:], p[len(k.lit):])
	}
	for e := 1; e <= len(p); e++ {
		c := p[e-1]
		if (c == '/' && !k.span) || (c == ':' && !k.colon) {
			return false
		}
		if e == len(p) || canStartWith(toks[1:], p[e:]) {
			return true
		}
	}
	return false
}

// CheckAction reports why an IAM action pattern ("s3:GetObject",
// "ec2:Describe*") can never match, or nil: it must be "*" or
// "prefix:name" with a known service prefix and a name of letters and
// wildcards.
func CheckAction(pattern string) error {
	if pattern == "*" {
		return nil
	}
	prefix, name, ok := strings.Cut(pattern, ":")
	if !ok || name == "" {
		return fmt.Errorf("%q: an AWS action is written service:Action (s3:GetObject)", pattern)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '*' || c == '?' || c == '-' || c == '_') {
			return fmt.Errorf("%q: an AWS action name has only letters, digits and wildcards", pattern)
		}
	}
	if strings.ContainsAny(prefix, "*?") {
		return nil
	}
	if !KnownPrefix(prefix) {
		return fmt.Errorf("%q: %q is not an AWS service prefix", pattern, prefix)
	}
	return nil
}

// LooksLikeAction reports whether s is shaped like an IAM action: a
// service prefix, a colon and a name of letters, digits and wildcards that
// starts with a capital or a wildcard ("s3:GetObject", "ec2:Describe*"),
// or any such name after a known AWS prefix, since IAM ignores case
// ("S3:getobject"). The actions of other systems ("k8s:get pods",
// "tools/call:search", "crm:read") are not.
func LooksLikeAction(s string) bool {
	prefix, name, ok := strings.Cut(s, ":")
	if !ok || prefix == "" || name == "" {
		return false
	}
	for _, c := range prefix {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '*' || c == '?') {
			return false
		}
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '*' || c == '?') {
			return false
		}
	}
	if c := name[0]; c >= 'A' && c <= 'Z' || c == '*' || c == '?' {
		return true
	}
	return KnownPrefix(prefix)
}
