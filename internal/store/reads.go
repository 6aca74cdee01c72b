package store

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"

	"github.com/telegive/participant-service/internal/participant"
)

// staleKey marks a context whose reads may be served by the replica.
type staleKey struct{}

// staleReads is a marked request's routing state.
type staleReads struct {
	// primary is set once a read of the request fell back to the primary;
	// the request's later reads stay there, so that it never sees the
	// database go back in time between two of its reads.
	primary atomic.Bool
	// replayed is the highest replay position a read of the request saw
	// on a replica; a later read goes to a replica only if it has replayed
	// as much, for the same reason (a read URL may reach several).
	replayed atomic.Int64
}

// saw raises the request's replay position to lsn.
func (m *staleReads) saw(lsn int64) {
	for {
		cur := m.replayed.Load()
		if lsn <= cur || m.replayed.CompareAndSwap(cur, lsn) {
			return
		}
	}
}

// AllowStale marks ctx: the reads in this list that run on the Store
// itself, outside any transaction, may then be served by the replica while
// its lag is within ReplicaOptions.MaxLag. Only a caller whose answer may
// be that stale, and that decides nothing from it, marks its context: the
// public read-only endpoints. Writes, transactions (InTx) and unmarked
// reads always go to the primary.
//
// The reads routed are Rules, RegistrationState, User, ListParticipants,
// ParticipantsAfter, Stats, Count, History, Draw, Winners, WinnerCount,
// EligibleEntrants, EntrantsFrom, EntrantTickets and EntrantTicketsFrom.
func AllowStale(ctx context.Context) context.Context {
	if _, ok := ctx.Value(staleKey{}).(*staleReads); ok {
		return ctx
	}
	return context.WithValue(ctx, staleKey{}, &staleReads{})
}

// StaleAllowed reports whether ctx was marked by AllowStale.
func StaleAllowed(ctx context.Context) bool {
	_, ok := ctx.Value(staleKey{}).(*staleReads)
	return ok
}

// routed runs read on the replica when ctx allows stale reads and the
// replica is fresh enough, else on the primary. The background
// measurements say whether a replica is, but a read URL may name several
// (CloudNativePG's -ro Service balances connections over every replica),
// so the connection the read runs on is checked first: its server must
// have replayed the primary's position of MaxLag ago, and as much as any
// replica an earlier read of the request ran on. A read that fails
// on the replica, other than with a domain error (a missing row) or
// because ctx ended, runs again on the primary: the replica being down is
// never the caller's error.
func routed[T any](s *Store, ctx context.Context, read func(context.Context, queries) (T, error)) (T, error) {
	mark, _ := ctx.Value(staleKey{}).(*staleReads)
	if mark == nil {
		return read(ctx, s.queries)
	}
	r := s.replica
	if r == nil || mark.primary.Load() {
		s.heard(ReadPrimary)
		return read(ctx, s.queries)
	}
	fallback := func() (T, error) {
		mark.primary.Store(true)
		s.heard(ReadFallback)
		return read(ctx, s.queries)
	}
	floor, ok := r.floor()
	if !ok {
		return fallback()
	}
	// A replica that stopped answering costs the read at most one
	// interval before it runs on the primary.
	cctx, cancel := context.WithTimeout(ctx, r.opts.CheckInterval)
	defer cancel()
	conn, err := r.db.Conn(cctx)
	if err != nil {
		if ctx.Err() != nil {
			var zero T
			return zero, wrap("acquire a replica connection", err)
		}
		r.failed(err)
		return fallback()
	}
	defer conn.Close()
	var replayed sql.NullInt64
	err = conn.QueryRowContext(cctx, "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint").Scan(&replayed)
	switch {
	case err != nil && ctx.Err() != nil:
		var zero T
		return zero, wrap("check the replica", err)
	case err != nil:
		r.failed(err)
		return fallback()
	case !replayed.Valid || replayed.Int64 < floor || replayed.Int64 < mark.replayed.Load():
		// Not a standby, too far behind, or behind what an earlier read
		// of the request saw.
		return fallback()
	}
	mark.saw(replayed.Int64)
	// The check passed, but the replica may still stop answering before
	// the read does: it gets half the time the caller has left, and the
	// primary the other half.
	rctx, rcancel := halfTheTimeLeft(ctx)
	defer rcancel()
	v, err := read(rctx, queries{db: conn, conn: &conn, postgres: true})
	if err == nil || ctx.Err() != nil || domainError(err) {
		s.heard(ReadReplica)
		return v, err
	}
	r.failed(err)
	return fallback()
}

// halfTheTimeLeft bounds a replica read to half of ctx's remaining time;
// a ctx without a deadline is left unbounded.
func halfTheTimeLeft(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(deadline)/2)
}

// heard tells OnRead where a marked read went.
func (s *Store) heard(target string) {
	if s.replica != nil && s.replica.opts.OnRead != nil {
		s.replica.opts.OnRead(target)
	}
}

// domainError reports whether err is an answer rather than a failure.
func domainError(err error) bool {
	var pe *participant.Error
	return errors.Is(err, participant.ErrNotFound) || errors.As(err, &pe)
}

// pair carries a read's two results through routed.
type pair[A, B any] struct {
	a A
	b B
}

// Rules reads the giveaway's rules; see AllowStale.
func (s *Store) Rules(ctx context.Context, giveawayID int64) (participant.StoredRules, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) (participant.StoredRules, error) { return q.Rules(ctx, giveawayID) })
}

// RegistrationState reads what a registration would find; see AllowStale.
func (s *Store) RegistrationState(ctx context.Context, giveawayID, userID int64) (participant.RegistrationState, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) (participant.RegistrationState, error) {
		return q.RegistrationState(ctx, giveawayID, userID)
	})
}

// User reads the user's record; see AllowStale.
func (s *Store) User(ctx context.Context, userID int64) (participant.User, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) (participant.User, error) { return q.User(ctx, userID) })
}

// ListParticipants reads a page of participants; see AllowStale.
func (s *Store) ListParticipants(ctx context.Context, giveawayID int64, offset, limit int) ([]participant.Participant, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) ([]participant.Participant, error) {
		return q.ListParticipants(ctx, giveawayID, offset, limit)
	})
}

// ParticipantsAfter reads the participants after an id; see AllowStale.
func (s *Store) ParticipantsAfter(ctx context.Context, giveawayID, afterID int64, limit int) ([]participant.Participant, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) ([]participant.Participant, error) {
		return q.ParticipantsAfter(ctx, giveawayID, afterID, limit)
	})
}

// Stats reads the giveaway's participation statistics; see AllowStale.
func (s *Store) Stats(ctx context.Context, giveawayID int64) (participant.Stats, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) (participant.Stats, error) { return q.Stats(ctx, giveawayID) })
}

// Count reads the giveaway's participant count; see AllowStale.
func (s *Store) Count(ctx context.Context, giveawayID int64) (int64, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) (int64, error) { return q.Count(ctx, giveawayID) })
}

// History reads the user's latest participations; see AllowStale.
func (s *Store) History(ctx context.Context, userID int64, limit int) ([]participant.HistoryEntry, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) ([]participant.HistoryEntry, error) {
		return q.History(ctx, userID, limit)
	})
}

// Draw reads the giveaway's draw; see AllowStale.
func (s *Store) Draw(ctx context.Context, giveawayID int64) (participant.Draw, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) (participant.Draw, error) { return q.Draw(ctx, giveawayID) })
}

// Winners reads the giveaway's winners; see AllowStale.
func (s *Store) Winners(ctx context.Context, giveawayID int64) ([]participant.Winner, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) ([]participant.Winner, error) { return q.Winners(ctx, giveawayID) })
}

// WinnerCount reads the giveaway's number of winners; see AllowStale.
func (s *Store) WinnerCount(ctx context.Context, giveawayID int64) (int64, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) (int64, error) { return q.WinnerCount(ctx, giveawayID) })
}

// EligibleEntrants reads the giveaway's entrants; see AllowStale.
func (s *Store) EligibleEntrants(ctx context.Context, giveawayID int64, requireSubscription bool) ([]int64, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) ([]int64, error) {
		return q.EligibleEntrants(ctx, giveawayID, requireSubscription)
	})
}

// EntrantsFrom reads entrants from a user id on; see AllowStale.
func (s *Store) EntrantsFrom(ctx context.Context, giveawayID int64, requireSubscription bool, from int64, limit int) ([]int64, error) {
	return routed(s, ctx, func(ctx context.Context, q queries) ([]int64, error) {
		return q.EntrantsFrom(ctx, giveawayID, requireSubscription, from, limit)
	})
}

// EntrantTickets reads the giveaway's entrants with their tickets; see
// AllowStale.
func (s *Store) EntrantTickets(ctx context.Context, giveawayID int64, requireSubscription bool) ([]int64, []uint64, error) {
	p, err := routed(s, ctx, func(ctx context.Context, q queries) (pair[[]int64, []uint64], error) {
		ids, tickets, err := q.EntrantTickets(ctx, giveawayID, requireSubscription)
		return pair[[]int64, []uint64]{ids, tickets}, err
	})
	return p.a, p.b, err
}

// EntrantTicketsFrom reads entrants with their tickets from a user id on;
// see AllowStale.
func (s *Store) EntrantTicketsFrom(ctx context.Context, giveawayID int64, requireSubscription bool, from int64, limit int) ([]int64, []uint64, error) {
	p, err := routed(s, ctx, func(ctx context.Context, q queries) (pair[[]int64, []uint64], error) {
		ids, tickets, err := q.EntrantTicketsFrom(ctx, giveawayID, requireSubscription, from, limit)
		return pair[[]int64, []uint64]{ids, tickets}, err
	})
	return p.a, p.b, err
}
