package bus

import (
	"encoding/binary"
	"net"
	"sync"
)

// produceKey is the Kafka protocol's API key of Produce requests.
const produceKey = 0

// gatedListener wraps the embedded broker's listener so that no answer to
// a produce request leaves before what the request wrote is on disk: each
// accepted connection holds a produce response until a group-commit round
// of the log syncer that started after the response was ready has
// finished. The broker writes a request's records before it builds the
// answer, so that round covers them. Every producer gets this, agentwatch's
// own and any Kafka client, without knowing about it.
type gatedListener struct {
	net.Listener
	sync *logSync
	// failed hears a round's error, before the connection is closed
	// instead of acknowledging.
	failed func(error)
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: c, sync: l.sync, failed: l.failed}, nil
}

// gatedConn follows the Kafka framing in both directions: requests read
// by the broker ([size][api key][version][correlation id]...) name the
// correlation ids of produce requests; responses written by the broker
// ([size][correlation id]...) are held when they answer one of them.
// Responses come back in request order on a connection, and an acks=0
// produce request has none, so the ids wait in a queue.
type gatedConn struct {
	net.Conn
	sync   *logSync
	failed func(error)

	mu      sync.Mutex
	produce []int32 // correlation ids of produce requests not yet answered

	in  frameScanner // owned by Read
	out frameScanner // owned by Write
}

// frameScanner finds the headers of size-prefixed frames in a byte stream
// that arrives in arbitrary pieces.
type frameScanner struct {
	head   [12]byte // size + up to the first 8 bytes of a frame's body
	have   int      // bytes of head filled
	remain int64    // body bytes of the current frame still to pass
}

// next consumes b and calls fn with the first want bytes after the size
// of every frame whose header completes in b.
func (s *frameScanner) next(b []byte, want int, fn func(hdr []byte)) {
	for i := 0; i < len(b); {
		if s.remain > 0 {
			n := min(int64(len(b)-i), s.remain)
			s.remain -= n
			i += int(n)
			continue
		}
		c := copy(s.head[s.have:4+want], b[i:])
		s.have += c
		i += c
		if s.have < 4+want {
			continue
		}
		size := int64(binary.BigEndian.Uint32(s.head[:4]))
		fn(s.head[4 : 4+want])
		s.remain = size - int64(want)
		s.have = 0
	}
}

func (c *gatedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		// Request header: api key (2), version (2), correlation id (4).
		c.in.next(b[:n], 8, func(h []byte) {
			if int16(binary.BigEndian.Uint16(h[0:2])) == produceKey {
				corr := int32(binary.BigEndian.Uint32(h[4:8]))
				c.mu.Lock()
				c.produce = append(c.produce, corr)
				c.mu.Unlock()
			}
		})
	}
	return n, err
}

// answersProduce reports whether a response with this correlation id
// answers a queued produce request, dropping the ids of earlier produce
// requests that got no answer (acks=0).
func (c *gatedConn) answersProduce(corr int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, id := range c.produce {
		if id == corr {
			c.produce = c.produce[i+1:]
			return true
		}
	}
	return false
}

func (c *gatedConn) Write(b []byte) (int, error) {
	hold := false
	// The response header is the correlation id (4 bytes).
	c.out.next(b, 4, func(h []byte) {
		if c.answersProduce(int32(binary.BigEndian.Uint32(h))) {
			hold = true
		}
	})
	if c.out.have > 0 {
		// A header cut between two writes: wait, to be safe.
		hold = true
	}
	if hold {
		if err := c.sync.wait(); err != nil {
			if c.failed != nil {
				c.failed(err)
			}
			// Not acknowledged: the client sees the connection drop and
			// retries, as after a broker crash.
			c.Conn.Close()
			return 0, err
		}
	}
	return c.Conn.Write(b)
}
