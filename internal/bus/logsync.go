package bus

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// logSync makes what the embedded broker wrote to its log directory
// durable, for many waiters at once (group commit). A waiter asks for a
// round that starts after it asked; one round fsyncs every segment and
// index file that grew since the previous round, and releases every
// waiter that asked before it began. A produce request's answer waits for
// such a round (see gatedConn), so at high rates one fsync covers the
// requests of every connection and partition that arrived meanwhile.
//
// Only segment files are synced, not their index files: each index entry
// carries its own checksum, and kfake reads a missing or damaged entry as
// "leader epoch 0, not transactional", which is what every batch written
// here is (one broker, no transactions of ours), so after a power loss
// the records are whole without their index.
//
// It relies on kfake's layout of a data directory: one directory per
// partition under partitions/, named url.PathEscape(topic)-partition,
// holding BASE.dat (record batches) and BASE.idx (their index), where the
// file with the highest BASE is the one appended to. kfake moves on to a
// new segment once the active one has reached log.segment.bytes, and
// deletes whole segments that retention passed. The tests in
// logsync_test.go fail if kfake changes this layout.
type logSync struct {
	dir      string // the broker's data directory
	segBytes int64  // log.segment.bytes: at or past it, a roll may follow
	// observe, if set, hears how long each round took and whether it failed.
	observe func(d time.Duration, err error)

	mu   sync.Mutex
	next *syncRound // the round that starts next; nil until someone waits
	// pending are partition directories written to (or about to be) that
	// no round has found on disk yet, with when they were first named.
	pending map[string]time.Time
	closed  bool

	kick chan struct{} // capacity 1: a round is wanted
	stop chan struct{}
	done chan struct{}

	// parts is owned by the loop goroutine.
	parts map[string]*partFiles
}

type syncRound struct {
	done chan struct{}
	err  error
}

// partFiles are one partition's open segment files: the active one, and
// its predecessors until synced after a roll.
type partFiles struct {
	dir   string
	files map[string]*syncedFile // by file name
	// active is the highest segment base seen.
	active int64
}

type syncedFile struct {
	f      *os.File
	base   int64
	synced int64 // size at the last successful fsync
}

// errSyncClosed answers waiters once the broker is closing.
var errSyncClosed = errors.New("bus: embedded log is closing")

// pendingGiveUp is how long a partition named by a produce request may
// stay without a directory on disk before rounds stop looking for it (a
// request that failed before writing anything never makes one).
const pendingGiveUp = time.Minute

func newLogSync(dir string, segBytes int64, observe func(time.Duration, error)) *logSync {
	s := &logSync{
		dir: dir, segBytes: segBytes, observe: observe,
		pending: map[string]time.Time{}, parts: map[string]*partFiles{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go s.loop()
	return s
}

// partitionDirName is kfake's directory name for a topic's partition.
func partitionDirName(topic string, partition int32) string {
	return url.PathEscape(topic) + "-" + strconv.Itoa(int(partition))
}

// written tells the syncer that a produce request is about to write to
// the partition, so rounds look for its directory until they find it.
// An empty topic (a request naming topics by id) makes rounds look at
// every partition directory.
func (s *logSync) written(topic string, partition int32) {
	name := "*"
	if topic != "" {
		name = partitionDirName(topic, partition)
	}
	s.mu.Lock()
	if _, known := s.pending[name]; !known {
		s.pending[name] = time.Now()
	}
	s.mu.Unlock()
}

// wait returns once a round that started after the call has synced the
// log, or with that round's error.
func (s *logSync) wait() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errSyncClosed
	}
	r := s.next
	if r == nil {
		r = &syncRound{done: make(chan struct{})}
		s.next = r
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	select {
	case <-r.done:
		return r.err
	case <-s.done:
		// The loop ends only after failing the rounds it did not run.
		<-r.done
		return r.err
	}
}

func (s *logSync) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
}

func (s *logSync) loop() {
	defer close(s.done)
	defer func() {
		for _, p := range s.parts {
			p.closeAll()
		}
	}()
	for {
		select {
		case <-s.stop:
			s.mu.Lock()
			r := s.next
			s.next = nil
			s.mu.Unlock()
			if r != nil {
				// A last round: what was written before the close is
				// made durable for whoever still waits on it.
				r.err = s.round()
				close(r.done)
			}
			return
		case <-s.kick:
		}
		s.mu.Lock()
		r := s.next
		s.next = nil
		s.mu.Unlock()
		if r == nil {
			continue
		}
		start := time.Now()
		r.err = s.round()
		if s.observe != nil {
			s.observe(time.Since(start), r.err)
		}
		close(r.done)
	}
}

// round fsyncs every segment file that grew since the last round, and the
// directories of files that appeared.
func (s *logSync) round() error {
	if err := s.discover(); err != nil {
		return err
	}
	var todo []*syncedFile
	var sizes []int64
	var dirs []string
	for _, p := range s.parts {
		changed, err := p.refresh(s.segBytes)
		if err != nil {
			return err
		}
		if changed {
			dirs = append(dirs, p.dir)
		}
		for _, f := range p.files {
			fi, err := f.f.Stat()
			if err != nil {
				return fmt.Errorf("bus: embedded log: stat %s: %w", f.f.Name(), err)
			}
			if fi.Size() != f.synced {
				todo = append(todo, f)
				sizes = append(sizes, fi.Size())
			}
		}
	}
	// fsyncs of several files run together, so the file system can
	// commit them in one journal transaction.
	errs := make([]error, len(todo)+len(dirs))
	var wg sync.WaitGroup
	for i, f := range todo {
		wg.Go(func() {
			if err := f.f.Sync(); err != nil {
				errs[i] = fmt.Errorf("bus: embedded log: fsync %s: %w", f.f.Name(), err)
			}
		})
	}
	wg.Wait()
	for i, d := range dirs {
		errs[len(todo)+i] = syncDir(d)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, f := range todo {
		f.synced = sizes[i]
	}
	for _, p := range s.parts {
		p.dropOld()
	}
	return nil
}

// discover opens the partitions produce requests named that no round has
// found yet.
func (s *logSync) discover() error {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return nil
	}
	names := make(map[string]time.Time, len(s.pending))
	for n, at := range s.pending {
		names[n] = at
	}
	s.mu.Unlock()

	root := filepath.Join(s.dir, "partitions")
	if _, all := names["*"]; all {
		entries, err := os.ReadDir(root)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("bus: embedded log: list %s: %w", root, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				names[e.Name()] = time.Now()
			}
		}
	}
	found := map[string]bool{}
	newDir := false
	for name, at := range names {
		if name == "*" {
			found[name] = true
			continue
		}
		if _, ok := s.parts[name]; ok {
			found[name] = true
			continue
		}
		dir := filepath.Join(root, name)
		if _, err := os.Stat(dir); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				if time.Since(at) > pendingGiveUp {
					found[name] = true // never written: stop looking
				}
				continue
			}
			return fmt.Errorf("bus: embedded log: %w", err)
		}
		s.parts[name] = &partFiles{dir: dir, files: map[string]*syncedFile{}, active: -1}
		found[name] = true
		newDir = true
	}
	if newDir {
		// The partition directories' own entries must be durable too.
		if err := errors.Join(syncDir(root), syncDir(s.dir)); err != nil {
			return err
		}
	}
	s.mu.Lock()
	for name := range found {
		delete(s.pending, name)
	}
	s.mu.Unlock()
	return nil
}

// refresh lists the partition's directory when its files may have
// changed (first sight, the active segment full or deleted) and opens the
// segments from the active one on. It reports whether files appeared.
func (p *partFiles) refresh(segBytes int64) (bool, error) {
	look := p.active < 0
	for _, f := range p.files {
		if f.base != p.active {
			continue
		}
		fi, err := f.f.Stat()
		if err != nil {
			return false, fmt.Errorf("bus: embedded log: stat %s: %w", f.f.Name(), err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if fi.Size() >= segBytes || (ok && st.Nlink == 0) {
			look = true
		}
	}
	if !look {
		return false, nil
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return false, fmt.Errorf("bus: embedded log: list %s: %w", p.dir, err)
	}
	active := p.active
	for _, e := range entries {
		if base, ok := segmentBase(e.Name()); ok && base > active {
			active = base
		}
	}
	appeared := false
	for _, e := range entries {
		name := e.Name()
		base, ok := segmentBase(name)
		if !ok || base < p.active || !strings.HasSuffix(name, ".dat") {
			continue
		}
		if _, open := p.files[name]; open {
			continue
		}
		f, err := os.Open(filepath.Join(p.dir, name))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted by retention meanwhile
			}
			return false, fmt.Errorf("bus: embedded log: %w", err)
		}
		p.files[name] = &syncedFile{f: f, base: base}
		appeared = true
	}
	p.active = active
	return appeared, nil
}

// dropOld closes the files of segments before the active one once synced:
// nothing is appended to them any more.
func (p *partFiles) dropOld() {
	for name, f := range p.files {
		if f.base >= p.active {
			continue
		}
		if fi, err := f.f.Stat(); err == nil && fi.Size() != f.synced {
			continue
		}
		f.f.Close()
		delete(p.files, name)
	}
}

// closeAll closes the files; what they were synced to stays readable.
func (p *partFiles) closeAll() {
	for _, f := range p.files {
		f.f.Close()
	}
}

// segmentBase parses BASE.dat.
func segmentBase(name string) (int64, bool) {
	stem, ok := strings.CutSuffix(name, ".dat")
	if !ok {
		return 0, false
	}
	base, err := strconv.ParseInt(stem, 10, 64)
	return base, err == nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("bus: embedded log: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("bus: embedded log: fsync directory %s: %w", dir, err)
	}
	return nil
}
