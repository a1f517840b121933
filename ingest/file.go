package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Stats counts what a load did.
type Stats struct {
	Records     int   // chunks read (lines or documents)
	Events      int   // canonical events published
	DeadLetters int   // dead letters published
	Bytes       int64 // bytes read (after gzip decoding)
}

func (s *Stats) add(o Stats) {
	s.Records += o.Records
	s.Events += o.Events
	s.DeadLetters += o.DeadLetters
	s.Bytes += o.Bytes
}

// publishBatch is how many events a file load publishes at a time.
const publishBatch = 1000

// LoadFile is a one-off load of a file (plain or .gz), of every file under
// a directory (recursively, oldest first by the time in their names, as the
// tailer reads them; CloudTrail digest files skipped), or of stdin when path
// is "-". Small inputs are read whole, so a pretty-printed document (a
// CloudTrail delivery object) works; inputs larger than 64 × max_record_bytes
// are read line by line (NDJSON).
func LoadFile(ctx context.Context, path string, n *Normalizer, sink Sink) (Stats, error) {
	return LoadFileAs(ctx, path, "", n, sink)
}

// LoadFileAs is LoadFile with the format forced ("" = detect per record),
// for `agentwatch ingest --file PATH --format F`. PATH may also be a glob
// with "**" (quote it from the shell). A directory or glob that names no
// file is an error naming it.
func LoadFileAs(ctx context.Context, path, format string, n *Normalizer, sink Sink) (Stats, error) {
	if format != "" && !knownFormat(format) {
		return Stats{}, fmt.Errorf("load %s: format %q is not one of %s", path, format, formatList())
	}
	if path == "-" {
		return loadReader(ctx, os.Stdin, "stdin", format, n, sink)
	}
	if !isGlob(path) {
		fi, err := os.Stat(path)
		if err != nil {
			return Stats{}, fmt.Errorf("load %s: %w", path, err)
		}
		if !fi.IsDir() {
			return loadPath(ctx, path, format, n, sink)
		}
	}
	res, warns := newWalker(nil, DefaultExclude).list([]string{path})
	if len(warns) > 0 {
		return Stats{}, fmt.Errorf("load %s: %w", path, errors.Join(warns...))
	}
	if len(res[0].Files) == 0 {
		return Stats{}, fmt.Errorf("load %s: %s", path, res[0].Why)
	}
	var total Stats
	for _, name := range res[0].Files {
		st, err := loadPath(ctx, name, format, n, sink)
		total.add(st)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func loadPath(ctx context.Context, path, format string, n *Normalizer, sink Sink) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	return loadReader(ctx, f, "file:"+path, format, n, sink)
}

func loadReader(ctx context.Context, r io.Reader, source, format string, n *Normalizer, sink Sink) (Stats, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); isGzip(magic) {
		zr, err := gzipReader(br)
		if err != nil {
			return Stats{}, fmt.Errorf("load %s: %w", source, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	limit := int64(n.cfg.MaxRecordBytes) * maxEnvelopeFactor
	head, err := io.ReadAll(io.LimitReader(br, limit+1))
	if err != nil {
		return Stats{}, fmt.Errorf("load %s: read: %w", source, err)
	}
	b := &batcher{ctx: ctx, n: n, sink: sink, source: source, format: format}
	if int64(len(head)) <= limit {
		b.stats.Bytes = int64(len(head))
		for _, c := range splitStream(head) {
			if err := b.add(c.raw, c.line); err != nil {
				return b.stats, err
			}
		}
		return b.stats, b.flush()
	}
	// Too big to hold: NDJSON, line by line.
	lr := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(head), br), 64<<10)
	line := 0
	for {
		raw, err := readLine(lr, n.cfg.MaxRecordBytes)
		if len(raw) > 0 || err == nil {
			line++
			b.stats.Bytes += int64(len(raw)) + 1
			if len(raw) > n.cfg.MaxRecordBytes {
				b.addTooLong(raw[:n.cfg.MaxRecordBytes], line)
			} else if t := bytes.TrimSpace(raw); len(t) > 0 {
				if aerr := b.add(t, line); aerr != nil {
					return b.stats, aerr
				}
			}
		}
		if err == io.EOF {
			return b.stats, b.flush()
		}
		if err != nil {
			return b.stats, fmt.Errorf("load %s: line %d: %w", source, line, err)
		}
	}
}

// readLine reads one line; a line longer than max is returned cut to max
// bytes (the rest skipped), so it becomes one too-large dead letter.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(out) <= max {
			out = append(out, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		out = bytes.TrimSuffix(out, []byte{'\n'})
		if len(out) > max+1 {
			out = out[:max+1]
		}
		return out, err
	}
}

// batcher normalises records and publishes them in batches, waiting out
// backpressure.
type batcher struct {
	ctx    context.Context
	n      *Normalizer
	sink   Sink
	source string
	format string
	evs    []schemas.AgentEvent
	dead   []DeadLetter
	stats  Stats
}

func (b *batcher) add(raw []byte, line int) error {
	evs, dead := b.n.Normalize(Record{Raw: raw, Format: b.format, Source: b.source, Line: line, Time: time.Now().UTC()})
	b.evs = append(b.evs, evs...)
	b.dead = append(b.dead, dead...)
	b.stats.Records++
	if len(b.evs)+len(b.dead) >= publishBatch {
		return b.flush()
	}
	return nil
}

// addTooLong dead-letters a line cut at max_record_bytes.
func (b *batcher) addTooLong(head []byte, line int) {
	b.stats.Records++
	b.dead = append(b.dead, b.n.deadLetter(Record{Source: b.source, Line: line, Time: time.Now().UTC()}, head, formatOr(b.format), ReasonTooLarge,
		fmt.Sprintf("line is longer than ingest.max_record_bytes %d (raw cut to its start)", b.n.cfg.MaxRecordBytes)))
}

func (b *batcher) flush() error {
	if len(b.evs) == 0 && len(b.dead) == 0 {
		return nil
	}
	if err := publishRetry(b.ctx, b.sink, b.evs, b.dead); err != nil {
		return &publishError{fmt.Errorf("load %s: %w", b.source, err)}
	}
	b.stats.Events += len(b.evs)
	b.stats.DeadLetters += len(b.dead)
	b.evs, b.dead = b.evs[:0], b.dead[:0]
	return nil
}

// publishError is a failure to hand records to the sink, as opposed to a
// problem with the input: it stops a collector instead of skipping a file.
type publishError struct{ err error }

func (e *publishError) Error() string { return e.err.Error() }
func (e *publishError) Unwrap() error { return e.err }

// publishRetry publishes, waiting with exponential backoff while the sink
// reports backpressure or that records cannot be kept for now (a full
// disk under the embedded log): the reader pauses, its offsets unmoved.
// Other errors are returned at once.
func publishRetry(ctx context.Context, sink Sink, evs []schemas.AgentEvent, dead []DeadLetter) error {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := sink.Publish(ctx, evs, dead)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrBackpressure) && !errors.Is(err, ErrUnavailable) {
			return fmt.Errorf("publish (attempt %d): %w", attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish (attempt %d): %w", attempt, errors.Join(err, ctx.Err()))
		case <-time.After(wait + rand.N(wait/2+1)):
		}
		if wait < 5*time.Second {
			wait *= 2
		}
	}
}
