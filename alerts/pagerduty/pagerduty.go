package pagerduty

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/agentwatch/agentwatch/alerts/notify"
	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/schemas"
)

// Limits of the Events API v2.
const (
	MaxSummary    = 1024
	MaxDedupKey   = 255
	MaxEventBytes = 512 << 10
)

// Notifier sends Events API v2 events for one receiver.
type Notifier struct {
	name   string
	url    string
	key    config.Secret
	client *http.Client
}

var _ notify.Notifier = (*Notifier)(nil)

// New builds a notifier; key is the configuration path used in errors.
func New(key, name string, c Config, client *http.Client) (*Notifier, error) {
	rk, err := config.ResolveSecret(key+".routing_key", c.RoutingKey, c.RoutingKeyFile)
	if err != nil {
		return nil, err
	}
	u := c.URL
	if u == "" {
		u = DefaultURL
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Notifier{name: name, url: u, key: rk, client: client}, nil
}

// Event is an Events API v2 request body.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key,omitempty"`
	Client      string   `json:"client,omitempty"`
	Payload     *Payload `json:"payload,omitempty"`
	Links       []Link   `json:"links,omitempty"`
}

// Link is a link shown on the PagerDuty incident.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Payload is the trigger's payload object.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Severity maps our five severities onto PagerDuty's four.
func Severity(s schemas.Severity) string {
	switch s {
	case schemas.SeverityCritical:
		return "critical"
	case schemas.SeverityHigh:
		return "error"
	case schemas.SeverityMedium:
		return "warning"
	default:
		return "info"
	}
}

// DedupKey fits key into PagerDuty's 255-character limit. A longer key
// keeps a readable prefix and a hash of the whole, so two long keys that
// share the prefix still open two incidents.
func DedupKey(key string) string {
	if len(key) <= MaxDedupKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	cut := 180
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return key[:cut] + "#" + hex.EncodeToString(sum[:16])
}

// Build returns the event for d: a resolve when the alert resolved,
// otherwise a trigger (PagerDuty folds repeated triggers of one dedup key
// into the open incident and refreshes its details).
func Build(d notify.Delivery, routingKey string) Event {
	a := d.Alert
	ev := Event{RoutingKey: routingKey, DedupKey: DedupKey(d.Key), Client: "agentwatch"}
	if a.Status == schemas.StatusResolved {
		ev.EventAction = "resolve"
		return ev
	}
	ev.EventAction = "trigger"
	source := a.Identity.AgentID
	if a.Identity.AgentInstance != "" {
		source += "/" + a.Identity.AgentInstance
	}
	ev.Payload = &Payload{
		Summary:       notify.Truncate(notify.Title(a), MaxSummary),
		Source:        notify.Truncate(source, 255),
		Severity:      Severity(a.Severity),
		Timestamp:     a.LastSeen.UTC().Format(time.RFC3339Nano),
		Component:     a.Identity.AgentID,
		Group:         a.Identity.Owner,
		Class:         a.Detector,
		CustomDetails: details(d, a),
	}
	if d.ConsoleURL != "" {
		ev.Links = []Link{{Href: d.ConsoleURL, Text: "agentwatch console: incident " + a.ID}}
		ev.Payload.CustomDetails["console"] = d.ConsoleURL
	}
	fitSize(&ev)
	return ev
}

func details(d notify.Delivery, a schemas.Alert) map[string]any {
	identity := map[string]string{}
	for _, f := range notify.IdentityFields(a, d.Now) {
		identity[f.Name] = f.Value
	}
	cd := map[string]any{
		"identity":      identity,
		"what_happened": a.Summary,
		"why":           a.Reason,
		"evidence":      a.Evidence,
		"first_seen":    a.FirstSeen.UTC().Format(time.RFC3339),
		"last_seen":     a.LastSeen.UTC().Format(time.RFC3339),
		"count":         a.Count,
		"score":         a.Score,
		"boundary":      a.Boundary,
		"detector":      a.Detector,
		"severity":      a.Severity,
		"alert_id":      a.ID,
		"dedup_key":     a.DedupKey,
		"investigate":   notify.InvestigateQuery(a.Identity.AgentID),
	}
	// The incident's scope: a trigger with the same dedup_key refreshes
	// these on the open PagerDuty alert as the incident grows.
	if lines := notify.ScopeLines(a); len(lines) > 0 {
		cd["incident"] = lines
	}
	for k, v := range map[string]int{"distinct_resources": a.DistinctResources, "distinct_actions": a.DistinctActions, "distinct_subjects": a.DistinctSubjects} {
		if v > 0 {
			cd[k] = v
		}
	}
	for k, v := range map[string][]string{"resource_examples": a.ResourceExamples, "action_examples": a.ActionExamples, "subject_examples": a.SubjectExamples} {
		if len(v) > 0 {
			cd[k] = v
		}
	}
	if len(a.Labels) > 0 {
		cd["labels"] = a.Labels
	}
	if d.Test {
		cd["test"] = true
	}
	return cd
}

// fitSize keeps the event under MaxEventBytes by shortening the
// incident's examples and evidence, the parts of an alert without a bound
// of their own; the summary, identity and query always survive.
func fitSize(ev *Event) {
	size := func() int { b, _ := json.Marshal(ev); return len(b) }
	if size() <= MaxEventBytes {
		return
	}
	cd := ev.Payload.CustomDetails
	for _, k := range []string{"resource_examples", "action_examples", "subject_examples", "incident"} {
		if xs, ok := cd[k].([]string); ok {
			short := make([]string, len(xs))
			for i, x := range xs {
				short[i] = notify.Truncate(x, 512)
			}
			cd[k] = short
		}
	}
	if evs, ok := cd["evidence"].([]schemas.Evidence); ok {
		short := make([]schemas.Evidence, 0, min(len(evs), 20))
		for i, e := range evs {
			if i == 20 {
				break
			}
			short = append(short, schemas.Evidence{Feature: notify.Truncate(e.Feature, 256),
				Observed: notify.Truncate(e.Observed, 1024), Baseline: notify.Truncate(e.Baseline, 1024)})
		}
		cd["evidence"] = short
		cd["evidence_truncated"] = fmt.Sprintf("%d evidence items shortened to fit PagerDuty's 512 KB limit", len(evs))
	}
	delete(cd, "labels")
	if size() > MaxEventBytes {
		delete(cd, "evidence")
		cd["why"] = notify.Truncate(fmt.Sprint(cd["why"]), 4096)
	}
}

// Notify sends one event. (The dispatcher never asks for a resolve of a
// key that never triggered: there is no incident to close.)
func (n *Notifier) Notify(ctx context.Context, d notify.Delivery) (notify.State, bool, error) {
	ev := Build(d, n.key.Value())
	body, err := json.Marshal(ev)
	if err != nil {
		return notify.State{}, false, fmt.Errorf("%s: encode event: %w", n.name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return notify.State{}, false, fmt.Errorf("%s: build request: %w", n.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		retry, err := notify.TransportError(n.name, err)
		return notify.State{}, retry, err
	}
	defer resp.Body.Close()
	if retry, err := notify.CheckResponse(n.name, resp); err != nil {
		return notify.State{}, retry, err
	}
	return notify.StateOf(d.Alert), false, nil
}

// Secrets lists the values to scrub from error text.
func (n *Notifier) Secrets() []string { return []string{n.key.Value()} }
