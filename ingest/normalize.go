package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Dead-letter reason classes: the first word of DeadLetter.Reason and the
// "reason" label of agentwatch_ingest_dead_letters_total (a closed set, so
// the label stays bounded).
const (
	ReasonMalformed   = "malformed"      // not JSON, or gzip that does not decode
	ReasonUnknown     = "unknown_format" // JSON, but no known format
	ReasonUnsupported = "unsupported"    // a known kind we deliberately do not map
	ReasonRecord      = "bad_record"     // the format's required fields are missing or wrong
	ReasonInvalid     = "invalid_event"  // the canonical event fails validation
	ReasonTooLarge    = "too_large"
	ReasonInternal    = "internal" // a parser bug, caught
)

// UnknownPrincipal is the agent id of an unattributed record whose source
// names no principal at all (a GCP call refused before authentication).
const UnknownPrincipal = "unknown"

// Normalizer turns raw records of any supported format into attributed,
// validated canonical events. It is safe for concurrent use.
type Normalizer struct {
	cfg      Config
	rules    []*compiledRule
	known    *principalSet // the inventory's principals list
	m        *normMetrics
	sessions *sessionCache
	athena   *athenaCache
	intern   *interner
	attrMaps *attrMaps
	// now stamps records that arrive without a receive time (Explain).
	now func() time.Time
	// slowCanonical turns the canonical fast path off; tests compare.
	slowCanonical bool
}

type normMetrics struct {
	records, events, unattributed *prometheus.CounterVec
	dead                          *prometheus.CounterVec
	// Per-format children, looked up once: WithLabelValues hashes and
	// locks on every call, which shows on the per-record path.
	byFormat map[string]formatCounters
}

type formatCounters struct{ records, events, unattributed prometheus.Counter }

func (m *normMetrics) format(f string) formatCounters {
	if c, ok := m.byFormat[f]; ok {
		return c
	}
	return formatCounters{m.records.WithLabelValues(f), m.events.WithLabelValues(f), m.unattributed.WithLabelValues(f)}
}

// Option adjusts a Normalizer.
type Option func(*Normalizer)

// WithPrincipals gives the normaliser the inventory's known non-agent
// principals (inventory.Inventory.Principals): a record no rule
// attributes whose principal one of them matches is marked with its kind
// (principal_kind) instead of being an unknown identity.
func WithPrincipals(ps []*inventory.Principal) Option {
	return func(n *Normalizer) { n.known = newPrincipalSet(ps) }
}

// NewNormalizer compiles the attribution rules and registers the
// normaliser's metrics with reg (nil: metrics are kept but not exported).
func NewNormalizer(cfg Config, reg prometheus.Registerer, opts ...Option) (*Normalizer, error) {
	if cfg.MaxRecordBytes <= 0 {
		return nil, fmt.Errorf("ingest.max_record_bytes: must be positive, got %d", cfg.MaxRecordBytes)
	}
	n := &Normalizer{cfg: cfg, sessions: newSessionCache(100000), athena: newAthenaCache(100000), intern: newInterner(), attrMaps: newAttrMaps(), now: time.Now}
	for _, o := range opts {
		o(n)
	}
	for i, r := range cfg.Attribution {
		c, err := compileRule(r)
		if err != nil {
			return nil, fmt.Errorf("ingest.attribution[%d]: %w", i, err)
		}
		n.rules = append(n.rules, c)
	}
	n.m = &normMetrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_ingest_records_total", Help: "Records normalised, by detected format.",
		}, []string{"format"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_ingest_events_total", Help: "Canonical events produced, by format.",
		}, []string{"format"}),
		unattributed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_ingest_unattributed_total", Help: "Events no attribution rule mapped to an agent, by format.",
		}, []string{"format"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentwatch_ingest_dead_letters_total", Help: "Records sent to the dead-letter topic, by format and reason class.",
		}, []string{"format", "reason"}),
	}
	all := append([]string{FormatUnknown}, Formats...)
	n.m.byFormat = make(map[string]formatCounters, len(all))
	for _, f := range all {
		n.m.byFormat[f] = formatCounters{n.m.records.WithLabelValues(f), n.m.events.WithLabelValues(f), n.m.unattributed.WithLabelValues(f)}
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{n.m.records, n.m.events, n.m.unattributed, n.m.dead} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register ingest metrics: %w", err)
			}
		}
	}
	return n, nil
}

// explained is one record's trace for Explain.
type explained struct {
	format string
	p      *parsed
	attr   attribution
	ev     *schemas.AgentEvent
	dead   *DeadLetter
}

// Normalize turns one raw record (which may be an envelope of many, e.g.
// {"Records":[...]}, an EventList, a Pub/Sub push, gzip) into canonical
// events (validated with schemas.AgentEvent.Validate, attributed) and dead
// letters; never panics. Events with equal attributes share one
// Attributes map: treat it as read-only.
func (n *Normalizer) Normalize(rec Record) (evs []schemas.AgentEvent, dead []DeadLetter) {
	defer func() {
		// The parsers are fuzzed not to panic; this is the last line of
		// defence so one bad record cannot stop a collector.
		if r := recover(); r != nil {
			evs = nil
			dead = []DeadLetter{n.deadLetter(rec, rec.Raw, formatOr(rec.Format), ReasonInternal, fmt.Sprintf("parser panic: %v", r))}
		}
	}()
	var st state
	n.normalize(rec, &st)
	return st.evs, st.dead
}

type state struct {
	evs   []schemas.AgentEvent
	dead  []DeadLetter
	trace *[]explained
}

func formatOr(f string) string {
	if f == "" {
		return FormatUnknown
	}
	return f
}

// maxEnvelopeFactor bounds a decompressed or enveloped record to this many
// times MaxRecordBytes: a CloudTrail delivery object holds many records.
const maxEnvelopeFactor = 64

func (n *Normalizer) normalize(rec Record, st *state) {
	raw := rec.Raw
	if rec.Format != "" && !knownFormat(rec.Format) {
		n.addDead(st, rec, raw, rec.Format, ReasonUnsupported, fmt.Sprintf("format %q is not one of %s", rec.Format, formatList()))
		return
	}
	if isGzip(raw) {
		dec, err := gunzip(raw, int64(n.cfg.MaxRecordBytes)*maxEnvelopeFactor)
		if err != nil {
			n.addDead(st, rec, raw, formatOr(rec.Format), ReasonMalformed, err.Error())
			return
		}
		raw = dec
	}
	if len(raw) > n.cfg.MaxRecordBytes*maxEnvelopeFactor {
		n.addDead(st, rec, raw, formatOr(rec.Format), ReasonTooLarge, fmt.Sprintf("record is %d bytes, more than %d", len(raw), n.cfg.MaxRecordBytes*maxEnvelopeFactor))
		return
	}
	// An object is checked by the member walk in value (which also checks
	// for trailing data); anything else is checked here.
	v := bytes.TrimRight(raw[skipWS(raw, 0):], " \t\r\n")
	if len(v) == 0 || v[0] != '{' {
		var err error
		if v, err = trimValue(raw); err != nil {
			n.addDead(st, rec, raw, formatOr(rec.Format), ReasonMalformed, err.Error())
			return
		}
	}
	n.value(rec, v, rec.Format, st, 0)
}

// value handles one JSON value: an array of records, an envelope, or a
// record.
func (n *Normalizer) value(rec Record, v []byte, format string, st *state, depth int) {
	if depth > 4 {
		n.addDead(st, rec, v, formatOr(format), ReasonUnsupported, "envelopes nested more than 4 deep")
		return
	}
	switch v[0] {
	case '[':
		var elems [][]byte
		if err := arrayEach(v, func(e []byte) error { elems = append(elems, e); return nil }); err != nil {
			n.addDead(st, rec, v, formatOr(format), ReasonMalformed, err.Error())
			return
		}
		for _, e := range elems {
			n.value(rec, e, format, st, depth+1)
		}
		return
	case '{':
	default:
		n.addDead(st, rec, v, formatOr(format), ReasonMalformed, "record is not a JSON object")
		return
	}
	// A record declared canonical (header or path) has no envelope to
	// look for: when it decodes, the shape scan is work for nothing. When
	// it does not, the full path below reports why, exactly as before.
	if format == FormatCanonical && !n.slowCanonical && n.one(rec, v, nil, format, st, true) {
		return
	}
	sh, err := scanShape(v)
	defer sh.release()
	if err == nil && sh.end != len(v) {
		err = fmt.Errorf("%w: trailing data at offset %d", errSyntax, sh.end)
	}
	if err != nil {
		n.addDead(st, rec, v, formatOr(format), ReasonMalformed, err.Error())
		return
	}
	// Envelopes first: they are recognised whether or not a format was
	// forced, as long as they agree with it.
	switch {
	case sh.has(kRecords) && (format == "" || format == FormatCloudTrail):
		n.envelope(rec, objGet(v, "Records"), FormatCloudTrail, "Records", st, depth)
		return
	case sh.has(kRecordsLower) && (format == "" || format == FormatAzure):
		n.envelope(rec, objGet(v, "records"), FormatAzure, "records", st, depth)
		return
	case sh.kind == "EventList" && (format == "" || format == FormatK8s):
		n.envelope(rec, objGet(v, "items"), FormatK8s, "items", st, depth)
		return
	case sh.has(kMessage) && sh.has(kSubscription) && (format == "" || format == FormatGCP):
		data, id, err := pubSubData(v)
		if err != nil {
			n.addDead(st, rec, v, FormatGCP, ReasonRecord, "pubsub push: "+err.Error())
			return
		}
		inner, err := trimValue(data)
		if err != nil {
			n.addDead(st, rec, data, FormatGCP, ReasonMalformed, fmt.Sprintf("pubsub message %s: data: %v", id, err))
			return
		}
		n.value(rec, inner, FormatGCP, st, depth+1)
		return
	}
	if format == "" {
		format = sh.detect()
		if format == "" {
			reason := fmt.Sprintf("cannot tell the format; top-level members: %s", sh.keyList())
			if sh.kind == "AdmissionReview" {
				n.addDead(st, rec, v, FormatK8s, ReasonUnsupported, "admission.k8s.io AdmissionReview is a webhook request, not an audit event: it carries no timestamp or outcome; send the API server's audit log instead")
				return
			}
			n.addDead(st, rec, v, FormatUnknown, ReasonUnknown, reason)
			return
		}
	}
	n.one(rec, v, sh.members, format, st, false)
}

func (n *Normalizer) envelope(rec Record, list []byte, format, member string, st *state, depth int) {
	if len(list) == 0 || list[0] != '[' {
		n.addDead(st, rec, rec.Raw, format, ReasonRecord, member+": is not an array")
		return
	}
	n.value(rec, list, format, st, depth+1)
}

// one maps a single record of a known format. With fast set (a canonical
// record that skipped the shape scan) it returns false, having done
// nothing, when the record does not decode; the caller then takes the full
// path. Otherwise it always handles the record and returns true.
func (n *Normalizer) one(rec Record, obj []byte, members []member, format string, st *state, fast bool) bool {
	fc := n.m.format(format)
	if len(obj) > n.cfg.MaxRecordBytes {
		if fast {
			return false
		}
		fc.records.Inc()
		n.addDead(st, rec, obj, format, ReasonTooLarge, fmt.Sprintf("record is %d bytes, more than ingest.max_record_bytes %d", len(obj), n.cfg.MaxRecordBytes))
		return true
	}
	// p stays on the stack (the parsers do not keep it): one allocation
	// less per record. Explain gets a copy.
	var pv parsed
	pv.members, pv.in = members, n.intern
	p := &pv
	var err error
	switch format {
	case FormatCloudTrail:
		err = parseCloudTrail(obj, p, n.cfg.OnBehalfOfTags, n.sessions, n.athena)
	case FormatK8s:
		if k := str(objGet(obj, "kind")); k == "AdmissionReview" {
			err = errors.New("admission.k8s.io AdmissionReview is a webhook request, not an audit event")
		} else {
			err = parseK8s(obj, p, n.cfg.OnBehalfOfTags)
		}
	case FormatGCP:
		err = parseGCP(obj, p)
	case FormatOkta:
		err = parseOkta(obj, p)
	case FormatMCP:
		err = parseMCP(obj, p, rec.Time)
	case FormatAzure:
		err = parseAzure(obj, p)
	case FormatVault:
		err = parseVault(obj, p, n.cfg.OnBehalfOfTags)
	case FormatCanonical:
		err = parseCanonical(obj, p)
	}
	p.members = nil // pooled: released when value returns
	if err != nil && fast {
		return false
	}
	fc.records.Inc()
	if err != nil {
		n.addDead(st, rec, obj, format, ReasonRecord, format+": "+err.Error())
		return true
	}
	ev := &p.ev
	if ev.Source == "" {
		ev.Source = format
	}
	if ev.EventID == "" {
		ev.EventID = rawID(format, obj)
	}
	var a attribution
	if format != FormatCanonical || ev.AgentID == "" {
		a = attribute(n.rules, format, p, st.trace != nil)
		n.known.classify(p, &a, st.trace != nil)
		if a.Kind != "" {
			ev.PrincipalKind = a.Kind
		}
		if a.Agent != "" {
			ev.AgentID, ev.AgentInstance = a.Agent, a.Instance
			if a.ViaRequest {
				issuedCredential(p)
			}
		} else {
			ev.AgentID = ev.Principal
			if ev.AgentID == "" {
				if format == FormatCanonical {
					// A canonical event names its actor; one with neither
					// agent_id nor principal is incomplete, not anonymous.
					n.addDead(st, rec, obj, format, ReasonInvalid, format+": invalid event: agent_id: is required (and there is no principal to attribute)")
					return true
				}
				ev.AgentID = UnknownPrincipal
			}
			ev.Unattributed = true
		}
	}
	if p.nattrs > 0 && ev.Attributes == nil {
		ev.Attributes = n.attrMaps.get(p.attrs[:p.nattrs])
	}
	if err := ev.Validate(); err != nil {
		d := n.addDead(st, rec, obj, format, ReasonInvalid, format+": "+err.Error())
		if st.trace != nil {
			pc := pv
			*st.trace = append(*st.trace, explained{format: format, p: &pc, attr: a, dead: d})
		}
		return true
	}
	fc.events.Inc()
	if ev.Unattributed {
		fc.unattributed.Inc()
	}
	st.evs = append(st.evs, *ev)
	if st.trace != nil {
		pc := pv
		*st.trace = append(*st.trace, explained{format: format, p: &pc, attr: a, ev: &st.evs[len(st.evs)-1]})
	}
	return true
}

// issuedCredential turns an event attributed through its request
// parameters (a record that made a credential for the agent, called by
// someone else) into an event about that credential: its credential
// fields name the credential created (none if the call failed), issued at
// the event's time, and the caller's own key moves to attribute
// caller.credential_id. Otherwise the caller's one key, used for many
// agents, would look like a credential the agents share.
func issuedCredential(p *parsed) {
	ev := &p.ev
	if ev.CredentialID != "" {
		p.setAttr("caller.credential_id", ev.CredentialID)
	}
	ev.CredentialID, ev.CredentialType, ev.CredentialIssuedAt, ev.CredentialExpiresAt = p.issuedKey, credTypeForAWSKey(p.issuedKey), nil, nil
	if p.issuedKey != "" {
		t := ev.Time
		ev.CredentialIssuedAt = &t
	}
}

func (n *Normalizer) addDead(st *state, rec Record, raw []byte, format, class, detail string) *DeadLetter {
	st.dead = append(st.dead, n.deadLetter(rec, raw, format, class, detail))
	d := &st.dead[len(st.dead)-1]
	if st.trace != nil && class != ReasonInvalid {
		*st.trace = append(*st.trace, explained{format: format, dead: d})
	}
	return d
}

func (n *Normalizer) deadLetter(rec Record, raw []byte, format, class, detail string) DeadLetter {
	n.m.dead.WithLabelValues(format, class).Inc()
	t := rec.Time
	if t.IsZero() {
		t = time.Now().UTC()
	}
	return DeadLetter{
		Source: rec.Source, Format: format, Reason: class + ": " + detail,
		Line: rec.Line, Raw: append([]byte(nil), raw...), Time: t,
	}
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

func gunzip(raw []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("gzip: decompresses to more than %d bytes", limit)
	}
	return out, nil
}

func gzipReader(r io.Reader) (*gzip.Reader, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return zr, nil
}
