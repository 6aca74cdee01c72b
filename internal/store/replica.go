package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// ReplicaOptions configure the read replica: a PostgreSQL hot standby
// that serves the reads a caller marked with AllowStale while its
// replication lag stays within MaxLag. Everything else, and those reads
// too when the replica lags, is down or fails, goes to the primary.
type ReplicaOptions struct {
	// URL is the replica's postgres:// URL; empty means no replica.
	URL string
	// MaxLag is the most a read from the replica may lag the primary.
	// Zero means DefaultReplicaMaxLag.
	MaxLag time.Duration
	// PoolSize bounds the replica's connections; zero means the
	// primary's Options.PoolSize.
	PoolSize int
	// CheckInterval is how often the lag is measured; zero means
	// DefaultReplicaCheckInterval. It also bounds each measurement.
	CheckInterval time.Duration
	// OnRead hears, for each read marked with AllowStale, where it went:
	// ReadReplica, ReadPrimary or ReadFallback.
	OnRead func(target string)
}

// Defaults of ReplicaOptions.
const (
	DefaultReplicaMaxLag        = 5 * time.Second
	DefaultReplicaCheckInterval = time.Second
)

// Where a read marked with AllowStale went, as ReplicaOptions.OnRead
// hears it.
const (
	// ReadReplica: the replica served it.
	ReadReplica = "replica"
	// ReadPrimary: the primary served it because no replica is configured
	// or an earlier read of the same request fell back (a request never
	// goes back to the replica, so its reads never go back in time).
	ReadPrimary = "primary"
	// ReadFallback: the replica lagged beyond MaxLag, was down or failed
	// this read, and the primary served it.
	ReadFallback = "fallback"
)

// ReplicaState is what the last lag measurement found.
type ReplicaState struct {
	// Configured is false when the store has no replica.
	Configured bool
	// Usable is whether marked reads go to the replica now.
	Usable bool
	// Up is whether the replica answered the last measurement as a
	// standby.
	Up bool
	// Lag is how far behind the primary the replica is now: the time since
	// the last moment up to which it is known to hold every commit of the
	// primary. It grows while measurements fail or replay stands still.
	// Zero when no measurement succeeded yet.
	Lag time.Duration
	// MaxLag is the bound Usable is judged by.
	MaxLag time.Duration
	// CheckedAt is when the last measurement finished.
	CheckedAt time.Time
	// Err says why the replica is not up; nil when it is.
	Err error
}

// walSample is the primary's WAL position at a moment: every transaction
// the primary committed before at is at or below lsn.
type walSample struct {
	at  time.Time
	lsn int64
}

// maxWALSamples bounds the primary positions kept.
const maxWALSamples = 1000

// replica is the read pool and what its lag measurements found.
type replica struct {
	db   *bun.DB
	opts ReplicaOptions
	now  func() time.Time

	mu sync.Mutex
	// samples are the primary's positions of the last MaxLag and a
	// little more, oldest first.
	samples []walSample
	// freshAsOf is the last moment up to which the replica is known to
	// hold every commit of the primary; zero when unknown.
	freshAsOf time.Time
	up        bool
	checkedAt time.Time
	err       error
}

// errNotStandby is the state of a read URL whose server is not in
// recovery: its lag cannot be measured, so nothing is read from it.
var errNotStandby = errors.New("the read database is not a standby (pg_is_in_recovery() is false)")

// errNotMeasured is the state before the first measurement.
var errNotMeasured = errors.New("replication lag not measured yet")

func openReplica(o Options) *replica {
	r := o.Replica
	if r.MaxLag <= 0 {
		r.MaxLag = DefaultReplicaMaxLag
	}
	if r.CheckInterval <= 0 {
		r.CheckInterval = DefaultReplicaCheckInterval
	}
	if r.PoolSize <= 0 {
		r.PoolSize = o.PoolSize
	}
	sqldb := sql.OpenDB(pgConnector(o, r.URL))
	sqldb.SetMaxOpenConns(r.PoolSize)
	sqldb.SetMaxIdleConns(r.PoolSize)
	sqldb.SetConnMaxLifetime(o.PoolRecycle)
	db := traced(bun.NewDB(sqldb, pgdialect.New()), "postgres-replica", o.TracerProvider)
	return &replica{db: db, opts: r, now: time.Now, err: errNotMeasured}
}

// floor returns the WAL position a replica must have replayed for a read
// from it to be within MaxLag now: the primary's position at the first
// measurement of the last MaxLag. ok is false when no replica is usable as
// measured, or no measurement falls within MaxLag.
func (r *replica) floor() (lsn int64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if !r.up || r.freshAsOf.IsZero() || now.Sub(r.freshAsOf) > r.opts.MaxLag {
		return 0, false
	}
	for _, s := range r.samples {
		if now.Sub(s.at) <= r.opts.MaxLag {
			return s.lsn, true
		}
	}
	return 0, false
}

// failed marks the replica down after a read failed on it, until the next
// measurement finds it up again.
func (r *replica) failed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.up, r.err = false, err
}

func (r *replica) state() ReplicaState {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	st := ReplicaState{Configured: true, Up: r.up, MaxLag: r.opts.MaxLag, CheckedAt: r.checkedAt, Err: r.err}
	if !r.freshAsOf.IsZero() {
		st.Lag = max(now.Sub(r.freshAsOf), 0)
	} else if len(r.samples) > 0 {
		// Behind every position kept: at least this far.
		st.Lag = now.Sub(r.samples[0].at)
	}
	st.Usable = r.up && !r.freshAsOf.IsZero() && st.Lag <= r.opts.MaxLag
	return st
}

// measure compares the primary's WAL position with the replica's replay
// position. The primary's position is read first, with the moment before
// the read, so that every commit before that moment is at or below it;
// once the replica has replayed up to a position, it is fresh as of the
// moment that position was read. An idle primary's position stands
// still, the replica replays up to it, and the lag stays at about one
// interval: it is measured against the primary's position, not against
// the time of the last transaction replayed, which an idle primary makes
// old.
func (r *replica) measure(ctx context.Context, primary bun.IDB) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.CheckInterval)
	defer cancel()
	at := r.now()
	var lsn int64
	err := primary.QueryRowContext(ctx, "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint").Scan(&lsn)
	if err != nil {
		// Without the primary's position nothing can be judged, and marked
		// reads go to a primary that does not answer either; keep the last
		// state, which ages.
		return
	}
	var (
		inRecovery bool
		replayed   sql.NullInt64
	)
	err = r.db.QueryRowContext(ctx, "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint").
		Scan(&inRecovery, &replayed)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkedAt = r.now()
	switch {
	case err != nil:
		r.up, r.err, r.freshAsOf, r.samples = false, wrap("measure replica lag", err), time.Time{}, nil
		return
	case !inRecovery || !replayed.Valid:
		r.up, r.err, r.freshAsOf, r.samples = false, errNotStandby, time.Time{}, nil
		return
	}
	r.up, r.err = true, nil
	r.samples = append(r.samples, walSample{at: at, lsn: lsn})
	// The newest sample the replica has replayed up to says how fresh it
	// is.
	for _, s := range r.samples {
		if s.lsn <= replayed.Int64 && s.at.After(r.freshAsOf) {
			r.freshAsOf = s.at
		}
	}
	// floor needs the samples of the last MaxLag, and lag reports the one
	// the replica is fresh as of; older ones say nothing more.
	keep := 0
	for keep < len(r.samples)-1 && (r.checkedAt.Sub(r.samples[keep].at) > r.opts.MaxLag+r.opts.CheckInterval &&
		r.samples[keep].at.Before(r.freshAsOf) || len(r.samples)-keep > maxWALSamples) {
		keep++
	}
	r.samples = append(r.samples[:0], r.samples[keep:]...)
}

// WatchReplica measures the replica's lag every CheckInterval until ctx
// ends, which decides where marked reads go. Without a replica it returns
// at once. Until its first measurement marked reads go to the primary.
func (s *Store) WatchReplica(ctx context.Context) {
	r := s.replica
	if r == nil {
		return
	}
	t := time.NewTicker(r.opts.CheckInterval)
	defer t.Stop()
	for {
		r.measure(ctx, s.db)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// MeasureReplica measures the replica's lag once, as WatchReplica does
// every interval, and returns the state it leaves.
func (s *Store) MeasureReplica(ctx context.Context) ReplicaState {
	if s.replica == nil {
		return ReplicaState{}
	}
	s.replica.measure(ctx, s.db)
	return s.replica.state()
}

// Replica returns what the last lag measurement found, for health checks
// and metrics; it does not query anything.
func (s *Store) Replica() ReplicaState {
	if s.replica == nil {
		return ReplicaState{}
	}
	return s.replica.state()
}
