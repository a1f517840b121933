package notify

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error is a failed delivery with what the receiver answered. Its text
// never contains the request URL (a Slack webhook URL is a secret).
type Error struct {
	Receiver   string
	StatusCode int    // 0 when no response arrived
	Reason     string // the receiver's own words, trimmed
	// RetryAfter is the server's Retry-After, honoured as the next delay.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Receiver)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// RetryAfterOf returns the Retry-After carried by err, or 0.
func RetryAfterOf(err error) time.Duration {
	var ne *Error
	if errors.As(err, &ne) {
		return ne.RetryAfter
	}
	return 0
}

// Retryable is the one project-wide rule for HTTP status codes: 429 and
// every 5xx may succeed later; any other 4xx will not, because the request
// itself is wrong (bad payload, bad key, unknown channel).
func Retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// CheckResponse classifies resp. It reads at most 4 KiB of the body for
// the reason, so a misbehaving server cannot make us buffer megabytes.
// A 2xx returns (false, nil).
func CheckResponse(receiver string, resp *http.Response) (retryable bool, err error) {
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return Retryable(resp.StatusCode), &Error{
		Receiver:   receiver,
		StatusCode: resp.StatusCode,
		Reason:     strings.TrimSpace(string(body)),
		RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// ParseRetryAfter reads a Retry-After header in either of its forms
// (delay seconds or an HTTP date); it returns 0 when absent or invalid.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// TransportError wraps a failure to get any response. Such failures
// (timeouts, refused connections, resets) are retryable; the URL is cut
// out of the error because it may be a secret.
func TransportError(receiver string, err error) (bool, error) {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true, &Error{Receiver: receiver, Reason: "timeout", Err: err}
	}
	return true, &Error{Receiver: receiver, Err: err}
}

func itoa(n int) string { return strconv.Itoa(n) }

func join(parts []string, sep string) string { return strings.Join(parts, sep) }

// SecretHolder is implemented by notifiers that carry secrets, so the
// dispatcher can scrub them from any error text a receiver echoes back
// (some servers quote the request URL or headers in their error pages).
type SecretHolder interface {
	Secrets() []string
}

// Scrub replaces every occurrence of each secret in s, longest first;
// fragments shorter than 6 characters ("/", "api") are left alone, since
// hiding them would hide the error without protecting anything.
func Scrub(s string, secrets []string) string {
	secrets = append([]string(nil), secrets...)
	sortByLenDesc(secrets)
	for _, v := range secrets {
		if len(v) >= 6 {
			s = strings.ReplaceAll(s, v, "<secret>")
		}
	}
	return s
}

// URLSecrets returns the parts of a secret URL that a server might echo
// on their own: the whole URL, its request URI, path, query, query values,
// password and last path segment (Slack puts the webhook's token there).
func URLSecrets(raw string) []string {
	if raw == "" {
		return nil
	}
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	out = append(out, u.RequestURI(), u.EscapedPath(), u.Path, u.RawQuery)
	if p, ok := u.User.Password(); ok {
		out = append(out, p)
	}
	for _, vs := range u.Query() {
		out = append(out, vs...)
	}
	if i := strings.LastIndex(strings.TrimRight(u.Path, "/"), "/"); i >= 0 {
		out = append(out, strings.TrimRight(u.Path, "/")[i+1:])
	}
	// Longest first, so a whole URL is replaced before its parts.
	sortByLenDesc(out)
	return out
}

func sortByLenDesc(ss []string) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && len(ss[j]) > len(ss[j-1]); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}

// CheckURL reports whether a (possibly secret) URL is absolute http(s);
// the error names key, never the value.
func CheckURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: is not an http(s) URL", key)
	}
	return nil
}
