package ingest

import (
	"compress/gzip"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/schemas"
)

// IngestResponse is the JSON body every ingest endpoint answers with.
type IngestResponse struct {
	Accepted     int        `json:"accepted"`      // canonical events published
	DeadLettered int        `json:"dead_lettered"` // records sent to agentwatch.dlq
	Rejected     []Rejected `json:"rejected,omitempty"`
	// RejectedNotListed counts rejections beyond the first maxListed,
	// which are dead-lettered like the rest but not listed here.
	RejectedNotListed int    `json:"rejected_not_listed,omitempty"`
	Error             string `json:"error,omitempty"`
}

// maxListed bounds the rejections listed in one response.
const maxListed = 1000

// Rejected names one record that became a dead letter.
type Rejected struct {
	Line   int    `json:"line"`
	Format string `json:"format"`
	Reason string `json:"reason"`
}

type httpCollector struct {
	cfg     HTTPConfig
	n       *Normalizer
	sink    Sink
	log     *slog.Logger
	tokens  []httpToken
	now     func() time.Time
	reqs    *prometheus.CounterVec
	maxBody int64
}

type httpToken struct {
	name  string
	token []byte
}

// NewHTTPCollector returns the HTTP collector's handler, routing
// POST /v1/events (canonical JSON or NDJSON), /v1/ingest (any format,
// detected per record), /v1/ingest/{format} and /v1/k8s/audit (the
// Kubernetes audit webhook backend). Sources whose token cannot be read
// are logged and left out, so they get 401.
func NewHTTPCollector(cfg HTTPConfig, n *Normalizer, sink Sink, reg prometheus.Registerer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &httpCollector{cfg: cfg, n: n, sink: sink, log: log, now: time.Now, maxBody: cfg.MaxBodyBytes}
	if c.maxBody <= 0 {
		c.maxBody = DefaultConfig().HTTP.MaxBodyBytes
	}
	for i, s := range cfg.Sources {
		tok, err := config.ResolveSecret(fmt.Sprintf("ingest.http.sources[%d].token", i), s.Token, s.TokenFile)
		if err != nil || !tok.IsSet() {
			log.Error("http ingest source disabled: no usable token", "source", s.Name, "err", err)
			continue
		}
		c.tokens = append(c.tokens, httpToken{name: s.Name, token: []byte(tok.Value())})
	}
	if len(c.tokens) == 0 && !cfg.AllowUnauthenticated {
		log.Warn("http ingest has no sources with tokens: every request will get 401")
	}
	c.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "agentwatch_ingest_http_requests_total", Help: "HTTP ingest requests by route and status code.",
	}, []string{"route", "code"})
	if reg != nil {
		if err := reg.Register(c.reqs); err != nil {
			log.Error("register http ingest metrics", "err", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/events", c.route("events", func(*http.Request) string { return FormatCanonical }))
	mux.Handle("POST /v1/ingest", c.route("ingest", func(*http.Request) string { return "" }))
	mux.Handle("POST /v1/ingest/{format}", c.route("ingest_format", func(r *http.Request) string { return r.PathValue("format") }))
	mux.Handle("POST /v1/k8s/audit", c.route("k8s_audit", func(*http.Request) string { return FormatK8s }))
	return mux
}

func (c *httpCollector) route(name string, format func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, resp := c.handle(w, r, format(r))
		c.reqs.WithLabelValues(name, strconv.Itoa(code)).Inc()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(resp)
	})
}

// authenticate returns the source name for the request's bearer token.
// Every token is compared, in constant time, so the response time says
// nothing about which token came close.
func (c *httpCollector) authenticate(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		got := []byte(strings.TrimSpace(h[len(prefix):]))
		name := ""
		for _, t := range c.tokens {
			if subtle.ConstantTimeCompare(got, t.token) == 1 && name == "" {
				name = t.name
			}
		}
		if name != "" {
			return name, true
		}
	}
	if c.cfg.AllowUnauthenticated {
		return "anonymous", true
	}
	return "", false
}

func (c *httpCollector) handle(w http.ResponseWriter, r *http.Request, format string) (int, IngestResponse) {
	source, ok := c.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="agentwatch-ingest"`)
		return http.StatusUnauthorized, IngestResponse{Error: "missing or invalid bearer token"}
	}
	if format != "" && !knownFormat(format) {
		return http.StatusNotFound, IngestResponse{Error: fmt.Sprintf("unknown format %q; known: %s", format, formatList())}
	}
	body, code, err := c.readBody(w, r)
	if err != nil {
		return code, IngestResponse{Error: err.Error()}
	}
	now := c.now().UTC()
	var evs []schemas.AgentEvent
	var dead []DeadLetter
	for _, ch := range splitStream(body) {
		e, d := c.n.Normalize(Record{Raw: ch.raw, Format: format, Source: "http:" + source, Line: ch.line, Time: now})
		evs = append(evs, e...)
		dead = append(dead, d...)
	}
	if len(evs) == 0 && len(dead) == 0 {
		return http.StatusBadRequest, IngestResponse{Error: "request body holds no records"}
	}
	if err := c.sink.Publish(r.Context(), evs, dead); err != nil {
		// Nothing was acknowledged: the sender keeps the records and
		// sends them again after Retry-After.
		secs := int((c.cfg.RetryAfter + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		if errors.Is(err, ErrBackpressure) {
			return http.StatusTooManyRequests, IngestResponse{Error: "the bus is backed up; retry later"}
		}
		c.log.Error("http ingest: publish failed", "source", source, "err", err)
		if errors.Is(err, ErrUnavailable) {
			return http.StatusServiceUnavailable, IngestResponse{Error: err.Error()}
		}
		return http.StatusServiceUnavailable, IngestResponse{Error: "could not publish; retry later"}
	}
	resp := IngestResponse{Accepted: len(evs), DeadLettered: len(dead)}
	for i, d := range dead {
		if i == maxListed {
			resp.RejectedNotListed = len(dead) - maxListed
			break
		}
		resp.Rejected = append(resp.Rejected, Rejected{Line: d.Line, Format: d.Format, Reason: d.Reason})
	}
	return http.StatusOK, resp
}

// readBody reads the body within MaxBodyBytes, undoing
// Content-Encoding: gzip (the decoded body may be up to eight times the
// limit: audit logs compress well, and a bomb still hits a bound).
func (c *httpCollector) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	var rd io.Reader = http.MaxBytesReader(w, r.Body, c.maxBody)
	limit := c.maxBody
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, bodyErrCode(err), fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		rd, limit = zr, c.maxBody*8
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q is not supported (use gzip or none)", enc)
	}
	body, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, bodyErrCode(err), fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body decodes to more than %d bytes", limit)
	}
	// Shippers that gzip without saying so are common; the magic bytes
	// tell. Cutting compressed bytes into lines would mangle them.
	if isGzip(body) {
		if body, err = gunzip(body, c.maxBody*8); err != nil {
			if strings.Contains(err.Error(), "more than") {
				return nil, http.StatusRequestEntityTooLarge, err
			}
			return nil, http.StatusBadRequest, err
		}
	}
	return body, 0, nil
}

func bodyErrCode(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}
