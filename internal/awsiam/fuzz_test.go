package awsiam

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// refMatch is IAM's Resource matching written the obvious way, as one
// regular expression: the compiled matcher must agree with it.
func refMatch(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	if _, ok := Parse(arn); !ok {
		return false
	}
	parts := strings.SplitN(pattern, ":", 6)
	var re strings.Builder
	re.WriteString("(?s)^") // IAM's wildcards match any character, a newline too
	for i, part := range parts {
		if i > 0 {
			re.WriteString(":")
		}
		spans := i == len(parts)-1 // the last part runs on across colons
		for _, r := range part {
			switch {
			case r == '*' && spans:
				re.WriteString(".*")
			case r == '*':
				re.WriteString("[^:]*")
			case r == '?' && spans:
				re.WriteString(".")
			case r == '?':
				re.WriteString("[^:]")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(arn)
}

// FuzzResourceMatch: compiling never panics, and matching agrees with
// the reference.
func FuzzResourceMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"arn:aws:s3:::bucket/docs/*", "arn:aws:s3:::bucket/docs/a/b"},
		{"arn:aws:logs:*", "arn:aws:logs:us-east-1:1:log-group:x:log-stream:"},
		{"arn:aws:lambda:*:*:function:fn*", "arn:aws:lambda:eu-west-1:1:function:fn:prod"},
		{"arn:aws:s3:::report-?.csv", "arn:aws:s3:::report-7.csv"},
		{"arn:*:iam::*", "arn:aws:iam::1:role/x"},
		{"*", "x"},
		{"arn:*", "arn:aws:us-east-1:1:a\nb:log-stream"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, arn string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(arn) || strings.Contains(pattern, "${") {
			t.Skip()
		}
		p, err := CompileResource(pattern)
		_ = CheckResource(pattern)
		if err != nil {
			return
		}
		if got, want := p.Match(arn), refMatch(pattern, arn); got != want {
			t.Fatalf("%q matches %q: %v, reference %v", pattern, arn, got, want)
		}
	})
}
