// Package clickhouse is the production store: ClickHouse over the native
// protocol (clickhouse-go/v2), with DDL that runs on 18.16 and on current
// ClickHouse, batched idempotent writes that retry while the server is
// down, and queries that never count a redelivered row twice.
package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentwatch/agentwatch/internal/config"
	"github.com/agentwatch/agentwatch/internal/store"
	"github.com/agentwatch/agentwatch/schemas"
)

var _ store.Store = (*Store)(nil)

// Store is a ClickHouse-backed store.Store.
type Store struct {
	cfg  Config
	conn driver.Conn
	log  *slog.Logger
	m    *metrics

	events *batcher

	// ctx ends when Close is called; it bounds background retries.
	ctx       context.Context
	cancel    context.CancelFunc
	closeOnce sync.Once
	closeErr  error
}

// Option adjusts Open.
type Option func(*options)

type options struct {
	log     *slog.Logger
	reg     prometheus.Registerer
	migrate bool
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithRegisterer registers the store's metrics (default: not registered).
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.reg = r } }

// WithoutMigrate skips migrating at Open (for `agentwatch sql`, which must
// not change anything).
func WithoutMigrate() Option { return func(o *options) { o.migrate = false } }

// Open connects, creates the database if needed, applies pending
// migrations (unless WithoutMigrate) and starts the event batcher.
func Open(ctx context.Context, cfg Config, opts ...Option) (*Store, error) {
	o := options{log: slog.New(slog.NewTextHandler(io.Discard, nil)), migrate: true}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("clickhouse config: %w", err)
	}
	pw, err := config.ResolveSecret("password", cfg.Password, cfg.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("clickhouse config: %w", err)
	}
	m, err := newMetrics(o.reg)
	if err != nil {
		return nil, fmt.Errorf("clickhouse store: register metrics: %w", err)
	}
	if o.migrate {
		// The database must exist before a connection can select it.
		if err := createDatabase(ctx, cfg, pw); err != nil {
			return nil, err
		}
	}
	conn, err := ch.Open(options2(cfg, pw, cfg.Database))
	if err != nil {
		return nil, fmt.Errorf("clickhouse open %v: %w", cfg.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse ping %v database %s: %w", cfg.Addr, cfg.Database, err)
	}
	s := &Store{cfg: cfg, conn: conn, log: o.log, m: m}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if o.migrate {
		if err := s.Migrate(ctx); err != nil {
			conn.Close()
			s.cancel()
			return nil, err
		}
	}
	s.events = newBatcher(s, cfg.BatchSize, cfg.FlushInterval, cfg.QueueSize)
	return s, nil
}

func options2(cfg Config, pw config.Secret, database string) *ch.Options {
	var comp *ch.Compression
	if cfg.Compression == "lz4" {
		comp = &ch.Compression{Method: ch.CompressionLZ4}
	}
	return &ch.Options{
		Protocol:     ch.Native,
		Addr:         cfg.Addr,
		Auth:         ch.Auth{Database: database, Username: cfg.Username, Password: pw.Value()},
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		MaxOpenConns: cfg.MaxOpenConns,
		MaxIdleConns: min(cfg.MaxOpenConns, 4),
		Compression:  comp,
		ClientInfo:   ch.ClientInfo{Products: []struct{ Name, Version string }{{Name: "agentwatch", Version: "1"}}},
	}
}

func createDatabase(ctx context.Context, cfg Config, pw config.Secret) error {
	conn, err := ch.Open(options2(cfg, pw, "default"))
	if err != nil {
		return fmt.Errorf("clickhouse open %v: %w", cfg.Addr, err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database); err != nil {
		return fmt.Errorf("clickhouse create database %s: %w", cfg.Database, err)
	}
	return nil
}

// Backend implements store.Store.
func (s *Store) Backend() string { return "clickhouse" }

// Config returns the configuration the store was opened with.
func (s *Store) Config() Config { return s.cfg }

// Close stops accepting events, stores those already accepted (retrying
// for at most CloseTimeout, after which their callers get an error) and
// closes the connections. It is safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		giveUp := time.AfterFunc(s.cfg.CloseTimeout, s.cancel)
		s.events.close()
		giveUp.Stop()
		s.cancel()
		if err := s.conn.Close(); err != nil {
			s.closeErr = fmt.Errorf("close clickhouse store: %w", err)
		}
	})
	return s.closeErr
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime
) ENGINE = MergeTree() ORDER BY version`

// Migrate applies the pending migrations of schemas/sql/clickhouse and
// records each in schema_migrations. ClickHouse has no transactional DDL,
// so every statement is written to be re-runnable (IF NOT EXISTS): a
// migration interrupted half-way is completed by the next run. ClickHouse
// 18.16 has no ADD COLUMN IF NOT EXISTS, so an ADD COLUMN that finds its
// column already there counts as done (see columnExists).
func (s *Store) Migrate(ctx context.Context) error {
	migs, err := store.LoadMigrations(schemas.SQL, "sql/clickhouse")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := s.conn.Exec(ctx, migrationsTable); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	done := map[int]bool{}
	if err := s.each(ctx, "migrate: read schema_migrations", "SELECT DISTINCT version FROM schema_migrations", nil,
		func(rows driver.Rows) error {
			var v uint32
			if err := rows.Scan(&v); err != nil {
				return err
			}
			done[int(v)] = true
			return nil
		}); err != nil {
		return err
	}
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := s.conn.Exec(ctx, stmt); err != nil && !columnExists(stmt, err) {
				return fmt.Errorf("migrate %s: statement %d: %w", m.File, i+1, err)
			}
		}
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
		if err != nil {
			return fmt.Errorf("migrate %s: record: %w", m.File, err)
		}
		if err := b.Append(uint32(m.Version), m.Name, time.Now().UTC()); err != nil {
			b.Abort()
			return fmt.Errorf("migrate %s: record: %w", m.File, err)
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("migrate %s: record: %w", m.File, err)
		}
		s.log.Info("clickhouse migration applied", "version", m.Version, "name", m.Name)
	}
	return nil
}

// columnExists reports whether err is an ALTER TABLE ... ADD COLUMN
// statement failing because the column is already there (code 44 on
// 18.16 and 15 on current servers): the statement ran before, in a
// migration that was interrupted before it was recorded.
func columnExists(stmt string, err error) bool {
	var ex *ch.Exception
	if !errors.As(err, &ex) || !strings.Contains(strings.ToUpper(stmt), "ADD COLUMN") {
		return false
	}
	return (ex.Code == 44 || ex.Code == 15) && strings.Contains(ex.Message, "already exists")
}

// Query runs one statement with readonly=1, so the server refuses any
// write or setting change, and returns every row. Nullable values come
// back as the value or nil.
func (s *Store) Query(ctx context.Context, query string, args ...any) (*store.Result, error) {
	qctx := ch.Context(ctx, ch.WithSettings(ch.Settings{"readonly": 1}))
	rows, err := s.conn.Query(qctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	res := &store.Result{Columns: rows.Columns()}
	for rows.Next() {
		ptrs := make([]any, len(types))
		for i, ct := range types {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("query: scan: %w", err)
		}
		vals := make([]any, len(ptrs))
		for i, p := range ptrs {
			v := reflect.ValueOf(p).Elem()
			for v.Kind() == reflect.Pointer {
				if v.IsNil() {
					break
				}
				v = v.Elem()
			}
			switch {
			case v.Kind() == reflect.Pointer && v.IsNil():
				vals[i] = nil
			case v.Kind() == reflect.Slice && strings.HasPrefix(types[i].DatabaseTypeName(), "Array"):
				// An Array(UInt8) scans as []uint8, which would print as
				// bytes; a []any prints as the list it is.
				list := make([]any, v.Len())
				for j := range list {
					list[j] = v.Index(j).Interface()
				}
				vals[i] = list
			default:
				vals[i] = v.Interface()
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return res, nil
}

// DropPartitionsBefore drops the day partitions of events and
// agent_windows older than t's day (UTC) and returns the days dropped.
// It reads system.parts and uses ALTER TABLE ... DROP PARTITION, which
// every ClickHouse version has (unlike TTL).
func (s *Store) DropPartitionsBefore(ctx context.Context, t time.Time) ([]string, error) {
	cut, _ := strconv.Atoi(t.UTC().Format("20060102"))
	var parts []struct {
		Table     string `ch:"table"`
		Partition string `ch:"partition"`
	}
	if err := s.conn.Select(ctx, &parts, `SELECT DISTINCT table, partition FROM system.parts
		WHERE database = ? AND table IN ('events', 'agent_windows') AND active`, s.cfg.Database); err != nil {
		return nil, fmt.Errorf("drop partitions: list: %w", err)
	}
	days := map[string]bool{}
	for _, p := range parts {
		n, err := strconv.Atoi(p.Partition)
		if err != nil || n < 19700101 || n > 99991231 {
			return nil, fmt.Errorf("drop partitions: %s has partition %q, not a YYYYMMDD day", p.Table, p.Partition)
		}
		if n >= cut {
			continue
		}
		if err := s.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.%s DROP PARTITION %d", s.cfg.Database, p.Table, n)); err != nil {
			return nil, fmt.Errorf("drop partitions: %s %d: %w", p.Table, n, err)
		}
		d, _ := time.Parse("20060102", p.Partition)
		days[d.Format(store.DayLayout)] = true
	}
	out := make([]string, 0, len(days))
	for d := range days {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, nil
}

var errClosed = errors.New("clickhouse store is closed")
