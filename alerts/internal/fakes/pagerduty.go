package fakes

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"unicode/utf8"
)

// PagerDuty is a fake Events API v2 endpoint. It accepts POSTs on any
// path, validates them as PagerDuty documents, answers 202 on success,
// 400 with PagerDuty's error shape on an invalid event, and whatever
// FailNext queued before that.
type PagerDuty struct {
	*httptest.Server
	injected
	// RoutingKey, when set, is the only routing key accepted.
	RoutingKey string

	mu        sync.Mutex
	events    []PDEvent
	rejected  []string
	holdAfter int
	hold      chan struct{}
	held      int
	abandoned int
}

// Abandoned is how many held requests ended because the client went away.
func (p *PagerDuty) Abandoned() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.abandoned
}

// HoldAfter makes requests after the first n accepted events hang until
// the returned release is called or the client goes away (a client that
// vanishes mid-request has its event dropped, as a real server would
// never have answered it).
func (p *PagerDuty) HoldAfter(n int) (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holdAfter, p.hold = n, make(chan struct{})
	var once sync.Once
	return func() { once.Do(func() { close(p.hold) }) }
}

// Held is how many requests are hanging or have hung.
func (p *PagerDuty) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// PDEvent is an accepted event, decoded loosely.
type PDEvent struct {
	RoutingKey  string         `json:"routing_key"`
	EventAction string         `json:"event_action"`
	DedupKey    string         `json:"dedup_key"`
	Payload     map[string]any `json:"payload"`
	Bytes       int            `json:"-"`
}

// NewPagerDuty starts a fake; Close it when done.
func NewPagerDuty() *PagerDuty {
	p := &PagerDuty{}
	p.Server = httptest.NewServer(http.HandlerFunc(p.handle))
	return p
}

// Events returns the accepted events in arrival order.
func (p *PagerDuty) Events() []PDEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PDEvent(nil), p.events...)
}

// Rejected returns the reasons of the events answered 400.
func (p *PagerDuty) Rejected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rejected...)
}

// Triggers counts accepted trigger events by dedup key.
func (p *PagerDuty) Triggers() map[string]int {
	out := map[string]int{}
	for _, e := range p.Events() {
		if e.EventAction == "trigger" {
			out[e.DedupKey]++
		}
	}
	return out
}

var pdSeverities = map[string]bool{"critical": true, "error": true, "warning": true, "info": true}

func (p *PagerDuty) handle(w http.ResponseWriter, r *http.Request) {
	if p.serveInjected(w) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	hold := p.hold != nil && len(p.events) >= p.holdAfter
	ch := p.hold
	if hold {
		p.held++
	}
	p.mu.Unlock()
	if hold {
		// The body is read first: only then does net/http notice a client
		// that went away and cancel the request context.
		select {
		case <-ch:
		case <-r.Context().Done():
		}
		if r.Context().Err() != nil {
			p.mu.Lock()
			p.abandoned++
			p.mu.Unlock()
			return
		}
	}
	if reason := p.validate(r, body); reason != "" {
		p.mu.Lock()
		p.rejected = append(p.rejected, reason)
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []string{reason}})
		return
	}
	var ev PDEvent
	_ = json.Unmarshal(body, &ev)
	ev.Bytes = len(body)
	p.mu.Lock()
	p.events = append(p.events, ev)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

func (p *PagerDuty) validate(r *http.Request, body []byte) string {
	if r.Method != http.MethodPost {
		return "method must be POST"
	}
	if len(body) > 512<<10 {
		return fmt.Sprintf("event is %d bytes, over 512 KB", len(body))
	}
	var ev struct {
		RoutingKey  *string `json:"routing_key"`
		EventAction *string `json:"event_action"`
		DedupKey    *string `json:"dedup_key"`
		Payload     *struct {
			Summary  *string `json:"summary"`
			Source   *string `json:"source"`
			Severity *string `json:"severity"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return "body is not a JSON event: " + err.Error()
	}
	switch {
	case ev.RoutingKey == nil || *ev.RoutingKey == "":
		return "'routing_key' is missing or blank"
	case p.RoutingKey != "" && *ev.RoutingKey != p.RoutingKey:
		return "'routing_key' is not a valid integration key"
	case ev.EventAction == nil:
		return "'event_action' is missing or blank"
	}
	switch *ev.EventAction {
	case "trigger", "acknowledge", "resolve":
	default:
		return "'event_action' is invalid"
	}
	if ev.DedupKey != nil && utf8.RuneCountInString(*ev.DedupKey) > 255 {
		return "'dedup_key' is longer than 255 characters"
	}
	if *ev.EventAction != "trigger" {
		if ev.DedupKey == nil || *ev.DedupKey == "" {
			return "'dedup_key' is required for " + *ev.EventAction
		}
		return ""
	}
	pl := ev.Payload
	switch {
	case pl == nil:
		return "'payload' is missing"
	case pl.Summary == nil || *pl.Summary == "":
		return "'payload.summary' is missing or blank"
	case utf8.RuneCountInString(*pl.Summary) > 1024:
		return "'payload.summary' is longer than 1024 characters"
	case pl.Source == nil || *pl.Source == "":
		return "'payload.source' is missing or blank"
	case pl.Severity == nil || !pdSeverities[*pl.Severity]:
		return "'payload.severity' is invalid (expected critical, error, warning or info)"
	}
	return ""
}
