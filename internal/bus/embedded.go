package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Embedded is the in-process Kafka-protocol broker of embedded mode
// (github.com/twmb/franz-go/pkg/kfake). It speaks the Kafka protocol on
// 127.0.0.1, so the same kafka-go code and any Kafka shipper work against
// it.
//
// With a directory (EmbeddedConfig.Dir) it keeps a durable log there,
// with kfake's own persistence: record batches in segment files, consumer
// offsets in a log of their own, topics in metadata files; a restart
// loads them and every consumer group resumes from its committed offset.
// kfake appends without fsync; Embedded adds the fsync as a group commit
// (logSync) and holds every produce answer until it is done (gatedConn),
// so an acknowledged record survives a crash of the process or the
// machine. Torn writes at the end of a segment are cut off at start (by
// kfake, which logs how many bytes), and at the end of the offsets log
// (by repairStateLogs).
//
// Retention removes only what every consumer group reading a topic has
// committed (SetFlow names them); producers are held instead when the
// slowest group falls more than MaxBacklog records behind.
type Embedded struct {
	c    *kfake.Cluster
	cfg  EmbeddedConfig
	log  *slog.Logger
	m    *embeddedMetrics
	sync *logSync // nil without a directory
	lock *os.File // the directory's lock, held while running

	flow atomic.Pointer[flowState]
	// lags is the last measured backlog per group; backlog their max.
	lagMu   sync.Mutex
	lags    map[string]int64
	backlog atomic.Int64
	polled  chan struct{} // closed after the first poll with a flow

	// holding: the produce control is installed (see holdProducers).
	holding atomic.Bool

	// recovered: the log was not closed cleanly last time.
	recovered bool

	// retained counts retention passes (for tests).
	retained atomic.Int64

	// writeErr is the last failure to write or fsync the log.
	writeErr atomic.Pointer[writeFailure]

	once sync.Once
	// stop ends the monitor loop; done closes when it has.
	stop, done chan struct{}
}

type writeFailure struct {
	err error
	at  time.Time
}

// Flow tells the broker who reads what, for retention and backpressure.
type Flow struct {
	// Readers maps a topic to the consumer groups that must all have
	// committed past a record before retention deletes it. Their lag is
	// the backlog.
	Readers map[string][]string
	// Held are topics whose producers wait while the backlog is past
	// MaxBacklog (the topic outside shippers produce to).
	Held []string
	// Kept are topics no stage reads (the dead-letter topic): retention
	// keeps them by size and, if set, age (RetentionBytes, Retention).
	Kept []string
}

type flowState struct {
	Flow
	held map[string]bool
	// heldIDs are the held topics' ids, for requests naming topics by id.
	heldIDs map[[16]byte]bool
}

// Package variables the tests shorten.
var (
	// retentionEvery is how often the broker deletes what every reader
	// committed.
	retentionEvery = 5 * time.Second
	// pollEvery is how often the backlog is measured.
	pollEvery = 100 * time.Millisecond
	// embeddedSegmentBytes is the size at which a partition moves on to
	// a new segment file. Retention deletes whole segments, so the disk
	// holds at most about one segment per partition beyond the backlog.
	embeddedSegmentBytes int64 = 16 << 20
)

// lockName is the lock file in the log directory; cleanName marks a log
// closed by Close (removed at start, written at the end of Close).
const (
	lockName  = "agentwatch.lock"
	cleanName = "closed-cleanly"
)

// StartEmbedded starts a one-broker cluster on 127.0.0.1:cfg.Port (0 picks
// a free port), loading the log in cfg.Dir when it has one. ctx bounds
// only the start; reg may be nil.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig, reg prometheus.Registerer, log *slog.Logger) (_ *Embedded, err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bus: start embedded broker: %w", err)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("bus: start embedded broker: bus.embedded.port must be 0..65535, got %d", cfg.Port)
	}
	def := DefaultConfig().Embedded
	if cfg.Partitions < 1 {
		cfg.Partitions = def.Partitions
	}
	if cfg.RetentionBytes <= 0 {
		cfg.RetentionBytes = def.RetentionBytes
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = def.MaxBacklog
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "embedded-broker")
	e := &Embedded{cfg: cfg, log: log, m: newEmbeddedMetrics(reg), lags: map[string]int64{},
		polled: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	e.m.bound.Set(float64(cfg.MaxBacklog))
	defer func() {
		if err != nil {
			e.release()
		}
	}()

	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(cfg.Port),
		kfake.ClusterID("agentwatch-embedded"),
		kfake.DefaultNumPartitions(cfg.Partitions),
		// Let tests and single-process runs use short session timeouts
		// so a dead member's partitions move quickly.
		kfake.GroupMinSessionTimeout(500 * time.Millisecond),
		kfake.WithLogger(kfakeLogger{e}),
		// No broker-wide retention: topics the stages read are trimmed
		// by what their readers committed (see retain), and only topics
		// created with retention settings (the dead-letter topic) are
		// trimmed by size or age. kfake's own default is seven days.
		kfake.BrokerConfigs(map[string]string{
			"log.retention.ms":    "-1",
			"log.retention.bytes": "-1",
			"log.segment.bytes":   strconv.FormatInt(embeddedSegmentBytes, 10),
		}),
	}
	where := "memory only"
	if cfg.Dir != "" {
		where = cfg.Dir
		if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
			return nil, fmt.Errorf("bus: embedded log: %w", err)
		}
		if e.lock, err = lockDir(cfg.Dir); err != nil {
			return nil, err
		}
		if err := repairStateLogs(cfg.Dir, log); err != nil {
			return nil, err
		}
		// A log that exists but was not closed by Close was left by a
		// crash, a kill -9 or a power loss.
		if _, err := os.Stat(filepath.Join(cfg.Dir, "meta.json")); err == nil {
			if err := os.Remove(filepath.Join(cfg.Dir, cleanName)); errors.Is(err, os.ErrNotExist) {
				e.recovered = true
			} else if err != nil {
				return nil, fmt.Errorf("bus: embedded log: %w", err)
			}
		}
		e.sync = newLogSync(cfg.Dir, func(d time.Duration, err error) {
			e.m.syncSeconds.Observe(d.Seconds())
			if err != nil {
				e.failed(err)
			}
		})
		opts = append(opts,
			kfake.DataDir(cfg.Dir),
			kfake.ListenFn(func(network, addr string) (net.Listener, error) {
				ln, err := net.Listen(network, addr)
				if err != nil {
					return nil, err
				}
				return &gatedListener{Listener: ln, sync: e.sync, failed: e.failed}, nil
			}),
		)
	}
	start := time.Now()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: start embedded broker on 127.0.0.1:%d with its log in %s: %w", cfg.Port, where, err)
	}
	e.c = c
	go e.monitor()
	if cfg.Dir == "" {
		log.Warn("embedded Kafka broker started without a log directory: it keeps data in memory only; everything not yet processed is lost when the process stops",
			"addr", c.ListenAddrs())
	} else {
		log.Info("embedded Kafka broker started; acknowledged records are fsynced to its log before the answer, and a restart resumes from it",
			"addr", c.ListenAddrs(), "log_dir", cfg.Dir, "loaded_in", time.Since(start).Round(time.Millisecond), "max_backlog", cfg.MaxBacklog)
	}
	return e, nil
}

// Addrs returns the broker's listen addresses (host:port) for Config.Brokers.
func (e *Embedded) Addrs() []string { return e.c.ListenAddrs() }

// Dir is the log directory ("" when in memory only).
func (e *Embedded) Dir() string { return e.cfg.Dir }

// MaxBacklog is the configured bound, in records.
func (e *Embedded) MaxBacklog() int64 { return e.cfg.MaxBacklog }

// Prepare creates the flow's topics that do not exist yet, with
// partitions partitions (the kept ones with their size and age limits,
// which an existing kept topic is given too), and installs the flow.
func (e *Embedded) Prepare(ctx context.Context, f Flow, partitions int) error {
	keep := map[string]string{"retention.bytes": strconv.FormatInt(e.cfg.RetentionBytes, 10), "retention.ms": "-1"}
	if e.cfg.Retention > 0 {
		keep["retention.ms"] = strconv.FormatInt(e.cfg.Retention.Milliseconds(), 10)
	}
	create := func(topic string, configs map[string]string) error {
		if e.c.TopicInfo(topic) != nil {
			return nil
		}
		if err := e.c.CreateTopic(topic, int32(partitions), configs); err != nil {
			return fmt.Errorf("bus: embedded broker: create topic %s: %w", topic, err)
		}
		return nil
	}
	for topic := range f.Readers {
		if err := create(topic, nil); err != nil {
			return err
		}
	}
	for _, topic := range f.Held {
		if err := create(topic, nil); err != nil {
			return err
		}
	}
	for _, topic := range f.Kept {
		if err := create(topic, keep); err != nil {
			return err
		}
		if err := e.setTopicConfigs(ctx, topic, keep); err != nil {
			return err
		}
	}
	st := &flowState{Flow: f, held: map[string]bool{}, heldIDs: map[[16]byte]bool{}}
	for _, topic := range f.Held {
		st.held[topic] = true
		if ti := e.c.TopicInfo(topic); ti != nil {
			st.heldIDs[ti.TopicID] = true
		}
	}
	e.flow.Store(st)
	return nil
}

// Backlog is the most records any of groups (every reader of the flow
// when none are named) has yet to commit on the topics it reads, as last
// measured (every pollEvery).
func (e *Embedded) Backlog(groups ...string) int64 {
	if len(groups) == 0 {
		return e.backlog.Load()
	}
	e.lagMu.Lock()
	defer e.lagMu.Unlock()
	var most int64
	for _, g := range groups {
		most = max(most, e.lags[g])
	}
	return most
}

// Recovered reports whether the log was left by a process that did not
// close it (a crash, kill -9, a power loss) rather than by Close.
func (e *Embedded) Recovered() bool { return e.recovered }

// Lags returns the last measured backlog of every reading group.
func (e *Embedded) Lags() map[string]int64 {
	e.lagMu.Lock()
	defer e.lagMu.Unlock()
	out := make(map[string]int64, len(e.lags))
	for g, n := range e.lags {
		out[g] = n
	}
	return out
}

// WaitMeasured returns once the backlog has been measured with the flow
// installed, or when ctx ends.
func (e *Embedded) WaitMeasured(ctx context.Context) error {
	select {
	case <-e.polled:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WriteError returns the last failure to write or fsync the log if it
// happened at or after since, nil otherwise. Produce requests fail while
// the log cannot be written (a full disk); this names why.
func (e *Embedded) WriteError(since time.Time) error {
	f := e.writeErr.Load()
	if f == nil || f.at.Before(since) {
		return nil
	}
	return fmt.Errorf("the embedded log in %s cannot be written (%w); nothing is acknowledged until it can", e.cfg.Dir, f.err)
}

func (e *Embedded) failed(err error) {
	e.writeErr.Store(&writeFailure{err: err, at: time.Now()})
	e.m.writeErrors.Inc()
	e.log.Error("embedded log write failed; produce requests are not acknowledged until it succeeds", "err", err)
}

// Close stops the broker, writing its state for a fast next start; safe
// to call twice.
func (e *Embedded) Close() {
	e.once.Do(func() {
		close(e.stop)
		<-e.done
		e.c.Close()
		e.release()
		if e.cfg.Dir != "" {
			// kfake has written its state (snapshots of every partition)
			// for a fast next start; say so.
			if err := os.WriteFile(filepath.Join(e.cfg.Dir, cleanName), nil, 0o600); err != nil {
				e.log.Warn("embedded log: cannot mark the log closed; the next start will say it recovers from a crash", "err", err)
			}
		}
		e.log.Info("embedded Kafka broker stopped")
	})
}

// release closes the syncer and unlocks the directory.
func (e *Embedded) release() {
	if e.sync != nil {
		e.sync.close()
	}
	if e.lock != nil {
		e.lock.Close() // closing the file releases the lock
		e.lock = nil
	}
}

// holdProducers installs the produce control while the backlog is past
// the bound. It is not installed otherwise: kfake runs every control
// function on a goroutine of its own, a hand-off per request that costs
// latency on a busy machine.
func (e *Embedded) holdProducers() {
	if e.backlog.Load() <= e.cfg.MaxBacklog || !e.holding.CompareAndSwap(false, true) {
		return
	}
	e.c.ControlKey(int16(kmsg.Produce), e.controlProduce)
}

// controlProduce runs on produce requests while installed: it holds a
// request to a held topic while the backlog is past the bound, and drops
// itself once the backlog is back within it.
func (e *Embedded) controlProduce(req kmsg.Request) (kmsg.Response, error, bool) {
	if e.backlog.Load() <= e.cfg.MaxBacklog {
		e.c.DropControl()
		e.holding.Store(false)
		return nil, nil, false
	}
	pr, ok := req.(*kmsg.ProduceRequest)
	st := e.flow.Load()
	if !ok || st == nil {
		return nil, nil, false
	}
	held := false
	for i := range pr.Topics {
		t := &pr.Topics[i]
		if st.held[t.Topic] || (t.Topic == "" && st.heldIDs[t.TopicID]) {
			held = true
		}
	}
	if !held {
		return nil, nil, false
	}
	e.m.produceHeld.Inc()
	// Wait for the stages, within the request's own timeout, while the
	// broker goes on serving everyone else.
	wait := time.Duration(pr.TimeoutMillis) * time.Millisecond / 2
	wait = min(max(wait, 500*time.Millisecond), 10*time.Second)
	e.c.SleepControl(func() {
		deadline := time.NewTimer(wait)
		defer deadline.Stop()
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for e.backlog.Load() > e.cfg.MaxBacklog {
			select {
			case <-deadline.C:
				return
			case <-e.stop:
				return
			case <-tick.C:
			}
		}
	})
	if e.backlog.Load() <= e.cfg.MaxBacklog || pr.Acks == 0 {
		return nil, nil, false
	}
	// Still behind: a retriable error, nothing written. The client backs
	// off and sends again.
	e.m.produceRefused.Inc()
	e.c.KeepControl()
	return refuseProduce(pr), nil, true
}

// monitor measures the backlog and applies retention until Close.
func (e *Embedded) monitor() {
	defer close(e.done)
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	retain := time.NewTicker(retentionEvery)
	defer retain.Stop()
	first := true
	for {
		select {
		case <-e.stop:
			return
		case <-poll.C:
			if st := e.flow.Load(); st != nil {
				e.measure(st)
				e.holdProducers()
				if first {
					first = false
					close(e.polled)
				}
			}
		case <-retain.C:
			if st := e.flow.Load(); st != nil {
				e.retain(st)
			}
		}
	}
}

// committedOffsets returns each group's committed offsets.
func (e *Embedded) committedOffsets(st *flowState) map[string]map[string]map[int32]int64 {
	out := map[string]map[string]map[int32]int64{}
	for _, groups := range st.Readers {
		for _, g := range groups {
			if _, done := out[g]; done {
				continue
			}
			offs := map[string]map[int32]int64{}
			if gi := e.c.GroupInfo(g); gi != nil {
				for topic, parts := range gi.Commits {
					offs[topic] = map[int32]int64{}
					for p, c := range parts {
						offs[topic][p] = c.Offset
					}
				}
			}
			out[g] = offs
		}
	}
	return out
}

// measure computes every reader's backlog: records between its committed
// offset (or the start of the log) and the end, over the partitions of
// the topics it reads.
func (e *Embedded) measure(st *flowState) {
	commits := e.committedOffsets(st)
	lags := map[string]int64{}
	for topic, groups := range st.Readers {
		parts := e.c.PartitionInfos(topic)
		var bytes int64
		for _, p := range parts {
			bytes += p.NumBytes
			for _, g := range groups {
				from := p.LogStartOffset
				if c, ok := commits[g][topic][p.Partition]; ok && c > from {
					from = c
				}
				lags[g] += max(p.HighWatermark-from, 0)
			}
		}
		e.m.logBytes.WithLabelValues(topic).Set(float64(bytes))
	}
	for _, topic := range st.Kept {
		var bytes int64
		for _, p := range e.c.PartitionInfos(topic) {
			bytes += p.NumBytes
		}
		e.m.logBytes.WithLabelValues(topic).Set(float64(bytes))
	}
	var most int64
	for g, n := range lags {
		e.m.backlog.WithLabelValues(g).Set(float64(n))
		most = max(most, n)
	}
	e.lagMu.Lock()
	e.lags = lags
	e.lagMu.Unlock()
	e.backlog.Store(most)
}

// retain deletes, per partition, the records every reader of the topic
// has committed, and applies the kept topics' size and age limits. A
// partition some reader has never committed on keeps everything.
func (e *Embedded) retain(st *flowState) {
	commits := e.committedOffsets(st)
	type cut struct {
		topic     string
		partition int32
		to, from  int64
	}
	var cuts []cut
	for topic, groups := range st.Readers {
		for _, p := range e.c.PartitionInfos(topic) {
			to := int64(-1)
			for _, g := range groups {
				c, ok := commits[g][topic][p.Partition]
				if !ok {
					to = -1
					break
				}
				if to < 0 || c < to {
					to = c
				}
			}
			// The last record stays: kfake does not write the start of
			// the log down as it moves, so after a crash it rebuilds the
			// partition's offsets from the segments left on disk. With
			// none left, it would start again from offset 0, below every
			// committed offset, and the readers would skip what comes next.
			to = min(to, p.HighWatermark-1)
			if to > p.LogStartOffset {
				cuts = append(cuts, cut{topic, p.Partition, to, p.LogStartOffset})
			}
		}
	}
	if len(cuts) > 0 && e.cfg.Dir != "" {
		// The offsets these deletions rely on must survive a power
		// loss, or a restart could resume before what is gone.
		if err := syncFile(filepath.Join(e.cfg.Dir, "groups.log")); err != nil {
			e.log.Warn("retention skipped: cannot fsync the consumer offsets", "err", err)
			return
		}
	}
	for _, c := range cuts {
		if err := e.c.DeleteRecords(c.topic, c.partition, c.to); err != nil {
			e.log.Warn("retention: delete committed records", "topic", c.topic, "partition", c.partition, "to", c.to, "err", err)
			continue
		}
		e.m.deleted.WithLabelValues(c.topic).Add(float64(c.to - c.from))
	}
	if len(st.Kept) > 0 {
		e.c.ApplyRetention() // only kept topics have limits
	}
	e.retained.Add(1)
}

// setTopicConfigs gives an existing topic the configs (kfake applies
// retention by itself only to topics that have retention settings).
func (e *Embedded) setTopicConfigs(ctx context.Context, topic string, configs map[string]string) error {
	ti := e.c.TopicInfo(topic)
	if ti == nil {
		return fmt.Errorf("bus: embedded broker: topic %s does not exist", topic)
	}
	same := true
	for k, v := range configs {
		if cur, ok := ti.Configs[k]; !ok || cur == nil || *cur != v {
			same = false
		}
	}
	if same {
		return nil
	}
	res := kafka.IncrementalAlterConfigsRequestResource{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic}
	for k, v := range configs {
		res.Configs = append(res.Configs, kafka.IncrementalAlterConfigsRequestConfig{Name: k, Value: v, ConfigOperation: kafka.ConfigOperationSet})
	}
	client := newClient(e.Addrs(), DefaultConfig())
	defer closeClient(client)
	resp, err := client.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{res}})
	if err == nil {
		for _, r := range resp.Resources {
			err = errors.Join(err, r.Error)
		}
	}
	if err != nil {
		return fmt.Errorf("bus: embedded broker: set retention of topic %s: %w", topic, err)
	}
	return nil
}

// kfakeLogger forwards kfake's own warnings and errors to slog; its info
// level logs every request and is left out. Failures to write the log
// are recorded, so a failed produce can say why.
type kfakeLogger struct{ e *Embedded }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	switch level {
	case kfake.LogLevelError:
		l.e.log.Error(msg)
	case kfake.LogLevelWarn:
		if strings.HasPrefix(format, "persist") {
			l.e.failed(errors.New(msg))
			return
		}
		l.e.log.Warn(msg)
	}
}
