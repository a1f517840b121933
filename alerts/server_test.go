package alerts

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

type httpServer = httptest.Server

type bytesBuffer = bytes.Buffer

func newHTTPServer(h http.Handler) *httpServer { return httptest.NewServer(h) }

// recorder counts requests answered 200.
type recorder struct {
	*httpServer
	mu sync.Mutex
	n  int
}

func newRecorder() *recorder {
	r := &recorder{}
	r.httpServer = newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		r.n++
		r.mu.Unlock()
	}))
	return r
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
