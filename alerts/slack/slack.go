package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/schemas"
)

// Notifier sends one receiver's alerts to Slack.
type Notifier struct {
	name    string
	webhook config.Secret
	token   config.Secret
	channel string
	api     string
	client  *http.Client
}

var (
	_ notify.Notifier = (*Notifier)(nil)
	_ notify.Updater  = (*Notifier)(nil)
)

// New builds a notifier; key is the configuration path used in errors.
func New(key, name string, c Config, client *http.Client) (*Notifier, error) {
	n := &Notifier{name: name, channel: c.Channel, api: strings.TrimRight(c.APIURL, "/"), client: client}
	var err error
	if n.webhook, err = config.ResolveSecret(key+".webhook_url", c.WebhookURL, c.WebhookURLFile); err != nil {
		return nil, err
	}
	if n.webhook.IsSet() {
		if err := notify.CheckURL(key+".webhook_url", n.webhook.Value()); err != nil {
			return nil, err
		}
	}
	if n.token, err = config.ResolveSecret(key+".token", c.Token, c.TokenFile); err != nil {
		return nil, err
	}
	if n.api == "" {
		n.api = DefaultAPIURL
	}
	if n.client == nil {
		n.client = http.DefaultClient
	}
	return n, nil
}

// UpdatesInPlace is true for the Web API: repeats edit the first message.
func (n *Notifier) UpdatesInPlace() bool { return n.token.IsSet() }

// Notify posts (or, with the Web API, updates) the alert's message.
func (n *Notifier) Notify(ctx context.Context, d notify.Delivery) (notify.State, bool, error) {
	change := notify.Change(d.Prev, d.Alert)
	msg := Message{Text: notify.Title(d.Alert), Blocks: Blocks(d, change)}
	if !n.token.IsSet() {
		retry, err := n.postWebhook(ctx, msg)
		if err != nil {
			return notify.State{}, retry, err
		}
		return notify.StateOf(d.Alert), false, nil
	}

	msg.Channel = n.channel
	if d.Target != "" {
		msg.Channel = d.Target
	}
	st := notify.StateOf(d.Alert)
	if d.Prev.SlackTS != "" && d.Prev.SlackChannel != "" {
		// chat.update needs the channel id that chat.postMessage returned,
		// not the "#name" we may have posted to.
		upd := msg
		upd.Channel, upd.TS = d.Prev.SlackChannel, d.Prev.SlackTS
		_, retry, err := n.call(ctx, "chat.update", upd)
		switch {
		case err == nil:
			st.SlackChannel, st.SlackTS = d.Prev.SlackChannel, d.Prev.SlackTS
			// An incident growing (more events, more resources) only edits
			// its message; a severity rise or the resolution is news, told
			// in the thread too so that followers hear of it.
			if change == "" || !notify.Escalated(d.Prev, d.Alert) {
				return st, false, nil
			}
			reply := Message{Channel: upd.Channel, ThreadTS: upd.TS, Text: notify.Truncate(replyText(d.Alert, change), MaxSectionText)}
			if _, retry, err := n.call(ctx, "chat.postMessage", reply); err != nil {
				return notify.State{}, retry, err
			}
			return st, false, nil
		case !isAPIError(err, "message_not_found"):
			return notify.State{}, retry, err
		}
		// The original message was deleted: post a fresh one below.
	}
	resp, retry, err := n.call(ctx, "chat.postMessage", msg)
	if err != nil {
		return notify.State{}, retry, err
	}
	st.SlackChannel, st.SlackTS = resp.Channel, resp.TS
	return st, false, nil
}

func replyText(a schemas.Alert, change string) string {
	last := " Last seen " + a.LastSeen.UTC().Format("2006-01-02 15:04:05Z") + "."
	if a.Status == schemas.StatusResolved {
		if rest := strings.TrimPrefix(strings.TrimPrefix(change, "resolved"), "; "); rest != "" {
			return "✅ Resolved (" + rest + ")." + last
		}
		return "✅ Resolved: behaviour is back inside the baseline." + last
	}
	return "Updated: " + change + "." + last
}

func (n *Notifier) postWebhook(ctx context.Context, msg Message) (bool, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return false, fmt.Errorf("%s: encode message: %w", n.name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.webhook.Value(), bytes.NewReader(body))
	if err != nil {
		// The error would quote the URL, which is the secret.
		return false, fmt.Errorf("%s: build webhook request: invalid webhook_url", n.name)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.TransportError(n.name, err)
	}
	defer resp.Body.Close()
	return notify.CheckResponse(n.name, resp)
}

type apiResponse struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// apiError is a Web API answer with ok=false.
type apiError struct {
	receiver, method, code string
}

func (e *apiError) Error() string { return e.receiver + ": " + e.method + ": " + e.code }

func isAPIError(err error, code string) bool {
	ae, ok := err.(*apiError)
	return ok && ae.code == code
}

// retryableCodes are Web API errors that say "try again later"; every
// other code (invalid_auth, channel_not_found, invalid_blocks, ...) means
// the request itself is wrong.
var retryableCodes = map[string]bool{
	"ratelimited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true,
}

// PostMessage posts msg with the Web API (chat.postMessage), into the
// receiver's channel when msg names none, and returns the channel id and
// ts Slack gave it (a thread's replies name them). retry says whether a
// failure is worth trying again. The posture digest posts through it.
func (n *Notifier) PostMessage(ctx context.Context, msg Message) (channel, ts string, retry bool, err error) {
	if msg.Channel == "" {
		msg.Channel = n.channel
	}
	resp, retry, err := n.call(ctx, "chat.postMessage", msg)
	return resp.Channel, resp.TS, retry, err
}

func (n *Notifier) call(ctx context.Context, method string, msg Message) (apiResponse, bool, error) {
	var out apiResponse
	body, err := json.Marshal(msg)
	if err != nil {
		return out, false, fmt.Errorf("%s: encode %s: %w", n.name, method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.api+"/"+method, bytes.NewReader(body))
	if err != nil {
		return out, false, fmt.Errorf("%s: build %s request: %w", n.name, method, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+n.token.Value())
	resp, err := n.client.Do(req)
	if err != nil {
		retry, err := notify.TransportError(n.name, err)
		return out, retry, err
	}
	defer resp.Body.Close()
	if retry, err := notify.CheckResponse(n.name, resp); err != nil {
		return out, retry, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return out, true, &notify.Error{Receiver: n.name, Reason: "read " + method + " response", Err: err}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, false, &notify.Error{Receiver: n.name, StatusCode: resp.StatusCode, Reason: method + ": response is not JSON"}
	}
	if !out.OK {
		return out, retryableCodes[out.Error], &apiError{receiver: n.name, method: method, code: out.Error}
	}
	return out, false, nil
}

// Secrets lists the values to scrub from error text.
func (n *Notifier) Secrets() []string {
	return append(notify.URLSecrets(n.webhook.Value()), n.token.Value())
}
