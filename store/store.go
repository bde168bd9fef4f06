// Package store is the record of truth in Postgres (pgx v5): batches,
// records, attempts and the account-wide pause. It implements the pipeline's
// RecordStore, FeedStore and AccountState, and checks (Open) or applies
// (Migrate, for ops migrate) the schema in migrations/; roles.go makes the
// least-privilege roles.
//
// The queries are grouped by the table they serve, one file each: batch.go
// and budget.go (batches), record.go, feed.go, claim.go and finish.go
// (records and their claims), recovery.go and requeue.go (lost tasks and
// operator requeues), attempt.go, account.go and accountwatch.go (the
// account pause), audit.go, reconcile.go (reconcile runs and their
// schedule), inputs.go and intake.go (manifest intake), dedup.go, rekey.go,
// and the read-only report, status, counts and metrics queries. group.go
// commits the per-task writes together (internal/groupcommit), each kind of
// write a type of its own. states.go alone spells attempt states and record
// statuses in SQL. storetest opens a store for tests.
package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pii"
)

// Store is a pgx pool with the pipeline's queries. Personal data (names, id
// numbers, the OCR's name, number and address) is sealed and opened with its
// keyring; without one, storing or reading personal data fails.
type Store struct {
	pool *pgxpool.Pool
	keys *pii.Keyring
	// callGrace is how long after an attempt went in flight its call may
	// still be on the wire (see WithCallTimeout).
	callGrace time.Duration
	maxConns  int32 // WithDefaultMaxConns
	// commit groups the per-task writes (claim, dedup, reserve, send,
	// finish) into shared transactions; see group.go.
	commit committers
}

// callGraceMargin is added to the IVS timeout to make the call grace.
const callGraceMargin = 10 * time.Second

// DefaultCallGrace is IVS's default timeout and a margin: an attempt in
// flight for longer has had its call end, answered or timed out (a resend
// after a token refresh is a new attempt).
const DefaultCallGrace = ivs.DefaultTimeout + callGraceMargin

// Option configures Open.
type Option func(*Store)

// WithKeyring sets the keyring for personal data (internal/config reads it
// from the environment; default none: personal data cannot be stored).
func WithKeyring(k *pii.Keyring) Option { return func(s *Store) { s.keys = k } }

// WithCallTimeout gives the IVS client's timeout (IVS_TIMEOUT), from which
// comes how long after an attempt went in flight a claim or lost-task
// recovery still treats its call as possibly on the wire and leaves the
// record alone: the timeout and a margin (default DefaultCallGrace).
func WithCallTimeout(d time.Duration) Option {
	return func(s *Store) { s.callGrace = d + callGraceMargin }
}

// WithDefaultMaxConns sizes the connection pool when url does not
// (pool_max_conns): pgx's own default, max(4, cores), keeps a worker's
// handlers waiting for connections.
func WithDefaultMaxConns(n int32) Option { return func(s *Store) { s.maxConns = n } }

// Open connects to url and checks that the database holds every migration
// this build has: when one is missing it fails with a *SchemaError (run
// `ops migrate`); when the database is newer it logs a warning. It never
// migrates (see Migrate).
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	s := &Store{callGrace: DefaultCallGrace}
	for _, o := range opts {
		o(s)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse database url: %w", err)
	}
	if s.maxConns > 0 && !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = s.maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	s.pool = pool
	if err := checkSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	s.commit = s.startCommitters()
	return s, nil
}

// Pool returns the underlying pool (for tests and reports).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close finishes the group commits under way and closes the pool.
func (s *Store) Close() {
	s.commit.close()
	s.pool.Close()
}

// Keyring returns the store's keyring (nil when none is configured).
func (s *Store) Keyring() *pii.Keyring { return s.keys }

// Database names the database the store writes to ("dbname on host:port"),
// without user or password.
func (s *Store) Database() string {
	c := s.pool.Config().ConnConfig
	return fmt.Sprintf("%s on %s:%d", c.Database, c.Host, c.Port)
}
