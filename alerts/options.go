package alerts

import (
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

// WithJitter sets the source of backoff jitter, a value in [0, 1).
func WithJitter(f func() float64) Option { return func(o *options) { o.jitter = f } }

// backoff returns the delay before attempt n+1 after n failed attempts:
// exponential from initial, capped at max, with "equal jitter" (half
// fixed, half random) so many failing notifications do not retry in step
// yet each still waits at least half its share. A server's Retry-After
// is a floor.
func backoff(n int, initial, max time.Duration, jitter float64, retryAfter time.Duration) time.Duration {
	d := initial
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	d = d/2 + time.Duration(jitter*float64(d/2))
	if retryAfter > d {
		d = retryAfter
	}
	return d
}
