package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Tailer follows files and directories: it reads appended lines, follows
// rotation (a renamed file is recognised by its inode and read on from
// where it was; a truncated file is read from the start), loads .gz files
// and CloudTrail delivery objects once, and remembers offsets in
// cfg.StateFile across restarts. Tailed files are NDJSON: one record per
// line. Directories are walked recursively (the S3 layout of CloudTrail,
// the GCS export of Cloud Audit Logs) and every pass reads its files in
// the time order their names say (see walker.sort).
type Tailer struct {
	cfg   FileConfig
	n     *Normalizer
	sink  Sink
	log   *slog.Logger
	walk  *walker
	state map[string]*fileState // key: device:inode
	saved string                // the state last written, to skip identical writes
	// lastSave throttles state writes within a pass: a tree of thousands
	// of delivered files would otherwise rewrite the whole state file once
	// per file. Progress not yet saved is read again after a crash, and
	// the store ignores the repeated event ids.
	lastSave time.Time
	// matched is how many files each configured path named at the last
	// pass, so that "matches no file" is logged when it becomes true, not
	// every poll.
	matched map[string]int
	warned  map[string]bool // listing problems already logged
	// dirty: the offsets changed since the last save. An idle pass over a
	// tree of thousands of files neither encodes nor writes the state.
	dirty bool
}

type fileState struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Line   int    `json:"line"`
	Done   bool   `json:"done,omitempty"` // read whole (.gz, a delivery object)
	// Failed says why reading the file whole failed when it was Offset
	// bytes long (a truncated gzip, a copy in progress); it is tried again
	// once its size changes.
	Failed string `json:"failed,omitempty"`
}

// saveEvery is the least time between state writes within a pass.
const saveEvery = time.Second

// NewTailer checks the configuration and loads the saved offsets.
func NewTailer(cfg FileConfig, n *Normalizer, sink Sink, log *slog.Logger) (*Tailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(cfg.Paths) == 0 {
		return nil, errors.New("ingest.files.paths: nothing to tail")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tailer{cfg: cfg, n: n, sink: sink, log: log, state: map[string]*fileState{},
		walk:    newWalker(cfg.Include, cfg.Exclude, cfg.StateFile, cfg.StateFile+".tmp"),
		matched: map[string]int{}, warned: map[string]bool{}}
	data, err := os.ReadFile(cfg.StateFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("ingest.files.state_file: %w", err)
	default:
		if err := json.Unmarshal(data, &t.state); err != nil {
			return nil, fmt.Errorf("ingest.files.state_file: %s: %w", cfg.StateFile, err)
		}
	}
	return t, nil
}

// Run polls until ctx is done. It returns nil on cancellation, or the
// error that stopped it (the sink failing with something other than
// backpressure, the state file not being writable).
func (t *Tailer) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.PollInterval)
	defer tick.Stop()
	for {
		if err := t.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Poll does one pass over the configured paths: it reads what is new in
// every file, oldest file first, logs how many files and records the pass
// read, and saves the offsets.
func (t *Tailer) Poll(ctx context.Context) (err error) {
	files := t.files()
	seen := map[string]bool{}
	var pass Stats
	read := 0
	defer func() {
		if err != nil {
			_ = t.save() // keep what was published; the error is the one to report
		}
	}()
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		key := fileKey(fi)
		if seen[key] {
			continue // the same file named twice (two paths, or a link)
		}
		seen[key] = true
		st := t.state[key]
		if st != nil && (st.Done || st.Failed != "") && (st.Path != p || st.Offset != fi.Size()) {
			st = nil // another file now has the inode, or the file changed
		}
		if st == nil {
			st = &fileState{}
			t.state[key] = st
		}
		before := *st
		st.Path = p
		s, err := t.readFile(ctx, p, fi, st)
		if *st != before {
			t.dirty = true
		}
		pass.add(s)
		if s.Bytes > 0 || s.Records > 0 {
			read++
		}
		if err != nil {
			return err
		}
		if err := t.maybeSave(); err != nil {
			return err
		}
	}
	for k := range t.state {
		if !seen[k] {
			delete(t.state, k) // deleted, or rotated out of the watched paths
			t.dirty = true
		}
	}
	if read > 0 {
		// Records are audit records (each became an event or a dead
		// letter), not lines or documents: a CloudTrail file is one
		// document of many records.
		t.log.Info("tail: pass read", "files", read, "records", pass.Events+pass.DeadLetters, "events", pass.Events,
			"dead_letters", pass.DeadLetters, "bytes", pass.Bytes, "files_watched", len(seen))
	} else {
		t.log.Debug("tail: pass read nothing new", "files_watched", len(seen))
	}
	return t.save()
}

// files lists the files of every configured path, all in time order, and
// logs a path that matches no file (when that becomes true) and listing
// problems (once each).
func (t *Tailer) files() []string {
	res, warns := t.walk.list(t.cfg.Paths)
	now := map[string]bool{}
	for _, w := range warns {
		msg := w.Error()
		now[msg] = true
		if !t.warned[msg] {
			t.log.Warn("tail: cannot list a directory; its files are skipped", "err", w)
		}
	}
	t.warned = now
	var out []string
	for _, r := range res {
		was, known := t.matched[r.Path]
		switch n := len(r.Files); {
		case n == 0 && (!known || was > 0):
			t.log.Warn("tail: path matches no file", "path", r.Path, "why", r.Why)
		case n > 0 && (!known || was == 0):
			t.log.Info("tail: watching", "path", r.Path, "files", n)
		}
		t.matched[r.Path] = len(r.Files)
		out = append(out, r.Files...)
	}
	if len(res) > 1 {
		t.walk.sort(out) // interleave the paths' files in time
	}
	return out
}

func (t *Tailer) readFile(ctx context.Context, path string, fi os.FileInfo, st *fileState) (Stats, error) {
	if strings.HasSuffix(path, ".gz") || deliveredWhole(path) {
		return t.readWhole(ctx, path, fi, st)
	}
	var total Stats
	if fi.Size() < st.Offset {
		t.log.Info("tail: file shrank, reading from the start", "path", path)
		st.Offset, st.Line = 0, 0
	}
	if fi.Size() == st.Offset {
		return total, nil
	}
	f, err := os.Open(path)
	if err != nil {
		t.log.Warn("tail: cannot open", "path", path, "err", err)
		return total, nil
	}
	defer f.Close()
	max := t.n.cfg.MaxRecordBytes
	buf := make([]byte, 256<<10)
	for {
		if _, err := f.Seek(st.Offset, io.SeekStart); err != nil {
			return total, fmt.Errorf("tail %s: seek: %w", path, err)
		}
		nr, err := io.ReadFull(f, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return total, fmt.Errorf("tail %s: read: %w", path, err)
		}
		data := buf[:nr]
		last := bytes.LastIndexByte(data, '\n')
		if last < 0 {
			if nr < len(buf) {
				return total, nil // a partial last line: wait for the rest
			}
			// A line longer than the buffer: dead-letter its start and skip it.
			if err := t.skipLongLine(ctx, f, path, st, max); err != nil {
				return total, err
			}
			total.Records++
			total.DeadLetters++
			continue
		}
		b := &batcher{ctx: ctx, n: t.n, sink: t.sink, source: "file:" + path, format: t.cfg.Format}
		for _, line := range bytes.Split(data[:last], []byte{'\n'}) {
			st.Line++
			if l := bytes.TrimSpace(line); len(l) > 0 {
				if err := b.add(l, st.Line); err != nil {
					total.add(b.stats)
					return total, err
				}
			}
		}
		err = b.flush()
		b.stats.Bytes = int64(last + 1)
		total.add(b.stats)
		if err != nil {
			return total, err
		}
		st.Offset += int64(last + 1)
		t.dirty = true
		if err := t.maybeSave(); err != nil {
			return total, err
		}
		if nr < len(buf) {
			return total, nil
		}
	}
}

// readWhole loads a file that is complete when it appears (.gz, a
// CloudTrail delivery object) once. A file that does not decode (a gzip
// cut short, a copy still in progress) is logged and tried again when its
// size changes, rather than stopping the collector; a failure to publish
// does stop it, as for any file.
func (t *Tailer) readWhole(ctx context.Context, path string, fi os.FileInfo, st *fileState) (Stats, error) {
	if st.Done || st.Failed != "" {
		return Stats{}, nil // Poll reset the state if the file changed
	}
	s, err := loadPath(ctx, path, t.cfg.Format, t.n, t.sink)
	if err != nil {
		var pe *publishError
		if errors.As(err, &pe) || ctx.Err() != nil {
			return s, err
		}
		t.log.Warn("tail: cannot read file; it is read again when it changes", "path", path, "err", err)
		st.Failed, st.Offset = err.Error(), fi.Size()
		return s, nil
	}
	st.Done, st.Offset = true, fi.Size()
	return s, nil
}

func (t *Tailer) skipLongLine(ctx context.Context, f *os.File, path string, st *fileState, max int) error {
	if _, err := f.Seek(st.Offset, io.SeekStart); err != nil {
		return fmt.Errorf("tail %s: seek: %w", path, err)
	}
	head := make([]byte, min(max+1, 1<<20))
	nh, _ := io.ReadFull(f, head)
	skip := int64(0)
	chunk := make([]byte, 64<<10)
	if _, err := f.Seek(st.Offset, io.SeekStart); err != nil {
		return fmt.Errorf("tail %s: seek: %w", path, err)
	}
	for {
		nr, err := f.Read(chunk)
		if i := bytes.IndexByte(chunk[:nr], '\n'); i >= 0 {
			skip += int64(i + 1)
			break
		}
		skip += int64(nr)
		if err != nil {
			return nil // the line is not finished yet
		}
	}
	st.Line++
	d := t.n.deadLetter(Record{Source: "file:" + path, Line: st.Line, Format: t.cfg.Format}, head[:nh], formatOr(t.cfg.Format), ReasonTooLarge,
		fmt.Sprintf("line is %d bytes, more than ingest.max_record_bytes %d (raw cut to its start)", skip-1, max))
	if err := publishRetry(ctx, t.sink, nil, []DeadLetter{d}); err != nil {
		return fmt.Errorf("tail %s: %w", path, err)
	}
	st.Offset += skip
	t.dirty = true
	return t.maybeSave()
}

// maybeSave saves the offsets unless they were saved less than saveEvery
// ago; Poll always saves at the end of a pass.
func (t *Tailer) maybeSave() error {
	if time.Since(t.lastSave) < saveEvery {
		return nil
	}
	return t.save()
}

// save writes the offsets atomically (temp file, then rename), so a crash
// leaves either the old or the new state, never half of one.
func (t *Tailer) save() error {
	if !t.dirty {
		t.lastSave = time.Now()
		return nil
	}
	data, err := json.MarshalIndent(t.state, "", "  ")
	if err != nil {
		return fmt.Errorf("tail: encode state: %w", err)
	}
	if string(data) == t.saved {
		t.lastSave, t.dirty = time.Now(), false
		return nil // nothing new to write
	}
	tmp := t.cfg.StateFile + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("tail: write state: %w", err)
	}
	if err := os.Rename(tmp, t.cfg.StateFile); err != nil {
		return fmt.Errorf("tail: write state: %w", err)
	}
	t.saved = string(data)
	t.lastSave = time.Now()
	t.dirty = false
	return nil
}
