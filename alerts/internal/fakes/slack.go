package fakes

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"unicode/utf8"
)

// Slack is a fake of Slack's incoming webhooks (POST /webhook/...) and of
// the Web API methods chat.postMessage and chat.update (POST /api/...).
// It enforces Block Kit limits (50 blocks, header text 150, section text
// 3,000, 10 fields of 2,000) and answers as Slack does: webhooks "ok" or
// a plain-text error code, the Web API {"ok":...} with HTTP 200.
type Slack struct {
	*httptest.Server
	injected
	// Token, when set, is the only bot token the Web API accepts.
	Token string

	mu       sync.Mutex
	seq      int
	webhook  []SlackMessage           // incoming-webhook posts
	messages map[string]*SlackMessage // by channel + "/" + ts
	order    []string
	replies  []SlackMessage
	rejected []string
	calls    []string
}

// SlackMessage is a message as the fake stores it.
type SlackMessage struct {
	Channel  string           `json:"channel"`
	TS       string           `json:"ts,omitempty"`
	ThreadTS string           `json:"thread_ts,omitempty"`
	Text     string           `json:"text"`
	Blocks   []map[string]any `json:"blocks,omitempty"`
	Updates  int              `json:"-"`
}

// NewSlack starts a fake; Close it when done.
func NewSlack() *Slack {
	s := &Slack{messages: map[string]*SlackMessage{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// WebhookPosts returns what incoming webhooks received.
func (s *Slack) WebhookPosts() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SlackMessage(nil), s.webhook...)
}

// Messages returns the top-level Web API messages in posting order, each
// as last updated.
func (s *Slack) Messages() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SlackMessage, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.messages[k])
	}
	return out
}

// Replies returns thread replies in posting order.
func (s *Slack) Replies() []SlackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SlackMessage(nil), s.replies...)
}

// Rejected returns the error codes of refused requests.
func (s *Slack) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

// Calls returns the API methods called, in order ("chat.postMessage", ...).
func (s *Slack) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *Slack) handle(w http.ResponseWriter, r *http.Request) {
	if s.serveInjected(w) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	var m SlackMessage
	decodeErr := json.Unmarshal(body, &m)
	switch {
	case strings.HasPrefix(r.URL.Path, "/webhook/"):
		if decodeErr != nil {
			s.reject(w, http.StatusBadRequest, "invalid_payload")
			return
		}
		if code := checkBlocks(m); code != "" {
			s.reject(w, http.StatusBadRequest, code)
			return
		}
		s.mu.Lock()
		s.webhook = append(s.webhook, m)
		s.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	case strings.HasPrefix(r.URL.Path, "/api/"):
		method := strings.TrimPrefix(r.URL.Path, "/api/")
		s.mu.Lock()
		s.calls = append(s.calls, method)
		s.mu.Unlock()
		if got := r.Header.Get("Authorization"); got == "" || (s.Token != "" && got != "Bearer "+s.Token) {
			s.apiError(w, "invalid_auth")
			return
		}
		if decodeErr != nil {
			s.apiError(w, "invalid_json")
			return
		}
		s.api(w, method, m)
	default:
		http.NotFound(w, r)
	}
}

func (s *Slack) api(w http.ResponseWriter, method string, m SlackMessage) {
	if m.Channel == "" {
		s.apiError(w, "channel_not_found")
		return
	}
	if code := checkBlocks(m); code != "" {
		s.apiError(w, code)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case "chat.postMessage":
		// Like Slack, accept "#name" and answer with the channel id.
		m.Channel = channelID(m.Channel)
		s.seq++
		m.TS = fmt.Sprintf("1700000000.%06d", s.seq)
		if m.ThreadTS != "" {
			if s.messages[m.Channel+"/"+m.ThreadTS] == nil {
				s.apiErrorLocked(w, "thread_not_found")
				return
			}
			s.replies = append(s.replies, m)
		} else {
			s.messages[m.Channel+"/"+m.TS] = &m
			s.order = append(s.order, m.Channel+"/"+m.TS)
		}
		writeJSON(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
	case "chat.update":
		// chat.update takes only a channel id.
		if strings.HasPrefix(m.Channel, "#") {
			s.apiErrorLocked(w, "channel_not_found")
			return
		}
		old := s.messages[m.Channel+"/"+m.TS]
		if m.TS == "" || old == nil {
			s.apiErrorLocked(w, "message_not_found")
			return
		}
		old.Text, old.Blocks = m.Text, m.Blocks
		old.Updates++
		writeJSON(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS})
	default:
		s.apiErrorLocked(w, "unknown_method")
	}
}

// checkBlocks returns Slack's error code for a message breaking Block Kit
// limits, or "".
func checkBlocks(m SlackMessage) string {
	if m.Text == "" && len(m.Blocks) == 0 {
		return "no_text"
	}
	if len(m.Blocks) > 50 {
		return "invalid_blocks"
	}
	for _, b := range m.Blocks {
		switch b["type"] {
		case "header":
			t, _ := b["text"].(map[string]any)
			if t["type"] != "plain_text" || !textOK(t, 150) {
				return "invalid_blocks"
			}
		case "section":
			t, hasText := b["text"].(map[string]any)
			fields, _ := b["fields"].([]any)
			if !hasText && len(fields) == 0 {
				return "invalid_blocks"
			}
			if hasText && !textOK(t, 3000) {
				return "invalid_blocks"
			}
			if len(fields) > 10 {
				return "invalid_blocks"
			}
			for _, f := range fields {
				fm, _ := f.(map[string]any)
				if !textOK(fm, 2000) {
					return "invalid_blocks"
				}
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				return "invalid_blocks"
			}
		case "divider":
		default:
			return "invalid_blocks"
		}
	}
	return ""
}

func textOK(t map[string]any, max int) bool {
	s, _ := t["text"].(string)
	return s != "" && utf8.RuneCountInString(s) <= max && (t["type"] == "plain_text" || t["type"] == "mrkdwn")
}

func (s *Slack) reject(w http.ResponseWriter, status int, code string) {
	s.mu.Lock()
	s.rejected = append(s.rejected, code)
	s.mu.Unlock()
	w.WriteHeader(status)
	_, _ = w.Write([]byte(code))
}

func (s *Slack) apiError(w http.ResponseWriter, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiErrorLocked(w, code)
}

func (s *Slack) apiErrorLocked(w http.ResponseWriter, code string) {
	s.rejected = append(s.rejected, code)
	writeJSON(w, map[string]any{"ok": false, "error": code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// channelID maps "#name" to a stable fake id, as Slack resolves names.
func channelID(ch string) string {
	if !strings.HasPrefix(ch, "#") {
		return ch
	}
	h := fnv.New32a()
	h.Write([]byte(ch))
	return fmt.Sprintf("C%08X", h.Sum32())
}

// ChannelID is the id the fake gives channel "#name".
func ChannelID(name string) string { return channelID(name) }
