// Package fakes runs local HTTP servers that check requests the way the
// real PagerDuty Events API v2 and Slack APIs do (required fields, enums,
// size limits) and answer with their status codes, so the integrations
// are tested against the rules rather than against themselves.
package fakes

import (
	"net/http"
	"strconv"
	"sync"
)

// injected is a queue of canned failures served before normal handling.
type injected struct {
	mu    sync.Mutex
	queue []failure
}

type failure struct {
	status     int
	retryAfter int
	body       string
}

// FailNext makes the next n requests answer status (with Retry-After
// seconds when retryAfter > 0) and body.
func (f *injected) FailNext(n, status, retryAfter int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.queue = append(f.queue, failure{status, retryAfter, body})
	}
}

// serveInjected answers with the next canned failure, if any.
func (f *injected) serveInjected(w http.ResponseWriter) bool {
	f.mu.Lock()
	if len(f.queue) == 0 {
		f.mu.Unlock()
		return false
	}
	x := f.queue[0]
	f.queue = f.queue[1:]
	f.mu.Unlock()
	if x.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(x.retryAfter))
	}
	w.WriteHeader(x.status)
	_, _ = w.Write([]byte(x.body))
	return true
}

// ClearFailures drops the queued failures.
func (f *injected) ClearFailures() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = nil
}
