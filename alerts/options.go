package alerts

import (
	"github.com/agentwatch/agentwatch/internal/retry"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Clock is the time source; tests inject one so group_wait, repeat
// intervals, backoff and silence expiry are checked without sleeping.
type Clock interface {
	Now() time.Time
	// After delivers once d has passed (as time.After).
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Option configures a Dispatcher (and OpenSilences).
type Option func(*options)

type options struct {
	reg     prometheus.Registerer
	log     *slog.Logger
	clock   Clock
	client  *http.Client
	console io.Writer
	jitter  func() float64
	// consoleURL is the console's external URL, for links in messages.
	consoleURL string
}

func defaultOptions() options {
	return options{log: slog.New(slog.DiscardHandler), clock: realClock{}, client: &http.Client{}, console: os.Stdout, jitter: rand.Float64}
}

// WithRegisterer registers the dispatcher's metrics on reg.
func WithRegisterer(reg prometheus.Registerer) Option { return func(o *options) { o.reg = reg } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClock sets the time source (default: the system clock).
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// WithHTTPClient sets the client used by every HTTP receiver; each
// attempt is still bounded by the receiver's timeout.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithConsole sets where log receivers in "line" format write (default
// stdout).
func WithConsole(w io.Writer) Option { return func(o *options) { o.console = w } }

// WithConsoleURL makes notifications link to the incident's page in the
// agentwatch console at base (console.external_url); "" adds no link.
func WithConsoleURL(base string) Option { return func(o *options) { o.consoleURL = base } }

// WithJitter sets the source of backoff jitter, a value in [0, 1).
func WithJitter(f func() float64) Option { return func(o *options) { o.jitter = f } }

// backoff returns the delay before attempt n+1 after n failed attempts:
// the project's backoff (retry.Delay), with a server's Retry-After as a
// floor.
func backoff(n int, initial, limit time.Duration, jitter float64, retryAfter time.Duration) time.Duration {
	return max(retry.Delay(n-1, initial, limit, jitter), retryAfter)
}
