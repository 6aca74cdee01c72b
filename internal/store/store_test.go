package store_test

import (
	"context"
	"errors"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/draw"
)

// eachBackend runs fn against a freshly migrated store on SQLite and on
// Postgres.
func eachBackend(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			fn(t, testenv.OpenStore(t, backend))
		})
	}
}

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 123456000, time.UTC)

func TestMigrateIsIdempotentAndSchemaCurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate = %v, %v; want nothing applied", applied, err)
		}
		st, err := s.Schema(ctx)
		if err != nil || !st.Current || len(st.Pending) != 0 {
			t.Fatalf("schema = %+v, %v; want current", st, err)
		}
	})
}

func TestConcurrentMigrationsOnPostgres(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresSchema(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(ctx, store.Options{PostgresURL: url, PoolSize: 2})
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			_, err = s.Migrate(ctx)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
}

func TestParticipantRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		np := participant.NewParticipant{GiveawayID: 7, UserID: 42, Username: "alice_1", FirstName: "Alice", At: t0}
		var id int64
		err := s.InTx(ctx, func(q participant.Queries) error {
			var created bool
			var err error
			id, created, err = q.InsertParticipant(ctx, np)
			if !created {
				t.Errorf("first insert not created")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		id2, created, err := s.InsertParticipant(ctx, np)
		if err != nil || created || id2 != id {
			t.Fatalf("second insert = %d, %v, %v; want %d, false, nil", id2, created, err, id)
		}
		p, err := s.Participant(ctx, 7, 42)
		if err != nil {
			t.Fatal(err)
		}
		want := participant.Participant{ID: id, GiveawayID: 7, UserID: 42, Username: "alice_1", FirstName: "Alice",
			ParticipatedAt: t0, CaptchaCompleted: true, Tickets: 1}
		if p != want {
			t.Fatalf("participant = %+v\nwant %+v", p, want)
		}
		if _, err := s.Participant(ctx, 7, 43); !errors.Is(err, participant.ErrNotFound) {
			t.Fatalf("missing participant err = %v", err)
		}
	})
}

func TestEligibleEntrantsSortedAndFiltered(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		users := []int64{900, 5, 1 << 62, 77, 3}
		for i, u := range users {
			_, _, err := s.InsertParticipant(ctx, participant.NewParticipant{GiveawayID: 1, UserID: u, At: t0, SubscriptionVerified: i%2 == 0})
			if err != nil {
				t.Fatal(err)
			}
		}
		_, _, _ = s.InsertParticipant(ctx, participant.NewParticipant{GiveawayID: 2, UserID: 1, At: t0})
		got, err := s.EligibleEntrants(ctx, 1, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{3, 5, 77, 900, 1 << 62}; !slices.Equal(got, want) {
			t.Fatalf("entrants = %v, want %v", got, want)
		}
		err = s.InTx(ctx, func(q participant.Queries) error {
			got, err = q.EligibleEntrants(ctx, 1, true)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{3, 900, 1 << 62}; !slices.Equal(got, want) {
			t.Fatalf("subscribed entrants = %v, want %v", got, want)
		}
		none, err := s.EligibleEntrants(ctx, 99, false)
		if err != nil || len(none) != 0 || none == nil {
			t.Fatalf("empty giveaway entrants = %#v, %v", none, err)
		}
	})
}

// TestEligibleEntrantsAllocatedOnce: on Postgres the ids of a large
// giveaway are read into one slice of the right size, not grown while COPY
// streams (which allocated five times the ids' size and held twice it).
func TestEligibleEntrantsAllocatedOnce(t *testing.T) {
	const n = 200_000
	s := testenv.OpenStore(t, "postgres")
	ctx := context.Background()
	_, err := s.DB().ExecContext(ctx, `INSERT INTO participants (giveaway_id, user_id, participated_at)
		SELECT 1, g::bigint * 7919 + 13, now() FROM generate_series(1, ?) g`, n)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ids, err := s.EligibleEntrants(ctx, 1, false)
	runtime.ReadMemStats(&after)
	if err != nil || len(ids) != n {
		t.Fatalf("read %d entrants, %v; want %d", len(ids), err, n)
	}
	if cap(ids) != n {
		t.Errorf("the slice has room for %d ids, want exactly %d", cap(ids), n)
	}
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(n*8*3/2); got > limit {
		t.Errorf("reading %d ids (%d bytes) allocated %d bytes, want at most %d", n, n*8, got, limit)
	}
}

func TestDrawRowLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seed := make([]byte, 32)
		seed[0] = 9
		fresh := participant.Draw{GiveawayID: 5, Status: participant.DrawCommitted, ServerSeed: seed,
			Commitment: draw.Commitment(seed), CommittedAt: t0}
		var d participant.Draw
		err := s.InTx(ctx, func(q participant.Queries) error {
			var err error
			d, err = q.EnsureDraw(ctx, 5, fresh, participant.LockExclusive)
			if err != nil {
				return err
			}
			other := fresh
			other.ServerSeed = make([]byte, 32)
			again, err := q.EnsureDraw(ctx, 5, other, participant.LockShared)
			if err == nil && !slices.Equal(again.ServerSeed, seed) {
				t.Errorf("second EnsureDraw replaced the seed")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != participant.DrawCommitted || d.Commitment != draw.Commitment(seed) || !d.CommittedAt.Equal(t0) {
			t.Fatalf("draw = %+v", d)
		}
		rec, err := draw.Draw(draw.Input{GiveawayID: 5, ServerSeed: seed, CommittedAt: t0, DrawnAt: t0.Add(time.Hour),
			Entrants: []int64{1, 2, 3}, WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		d.Status, d.Record = participant.DrawDrawn, rec
		if err := s.SaveDraw(ctx, d); err != nil {
			t.Fatal(err)
		}
		got, err := s.Draw(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != participant.DrawDrawn || got.Record.DrawSeed != rec.DrawSeed || len(got.Record.Winners) != 2 ||
			!got.Record.DrawnAt.Equal(rec.DrawnAt) {
			t.Fatalf("saved draw = %+v", got)
		}
		if err := draw.Verify(got.Record, draw.VerifyOptions{Entrants: []int64{1, 2, 3}}); err != nil {
			t.Fatalf("stored record does not verify: %v", err)
		}
	})
}

func TestUpdateDeliveryOneStatement(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var ids []int64
		for u := int64(1); u <= 3; u++ {
			id, _, err := s.InsertParticipant(ctx, participant.NewParticipant{GiveawayID: 1, UserID: u, At: t0})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		updated, err := s.UpdateDelivery(ctx, []int64{ids[0], ids[2], 999999}, true, t0)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(updated)
		if !slices.Equal(updated, []int64{ids[0], ids[2]}) {
			t.Fatalf("updated = %v", updated)
		}
		if _, err := s.UpdateDelivery(ctx, []int64{ids[0]}, false, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		p, _ := s.Participant(ctx, 1, 1)
		if !p.MessageDelivered || p.DeliveryAttempts != 2 || p.DeliveryTimestamp == nil || !p.DeliveryTimestamp.Equal(t0) {
			t.Fatalf("after a failed retry = %+v; want still delivered at t0 with 2 attempts", p)
		}
		st, err := s.Stats(ctx, 1)
		if err != nil || st != (participant.Stats{Total: 3, CaptchaCompleted: 3, MessagesDelivered: 2, Tickets: 3}) {
			t.Fatalf("stats = %+v, %v", st, err)
		}
	})
}

func TestRememberSignature(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var fresh atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				ok, err := s.RememberSignature(ctx, "sig-a", time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					fresh.Add(1)
				}
			})
		}
		wg.Wait()
		if fresh.Load() != 1 {
			t.Fatalf("one signature was new %d times among 20 concurrent requests, want once", fresh.Load())
		}
		// An expired signature is taken over; a live one is not.
		if ok, err := s.RememberSignature(ctx, "sig-old", -time.Second); !ok || err != nil {
			t.Fatalf("first sight of sig-old: %v, %v", ok, err)
		}
		if ok, err := s.RememberSignature(ctx, "sig-old", time.Minute); !ok || err != nil {
			t.Fatalf("an expired signature was not taken over: %v, %v", ok, err)
		}
		if ok, err := s.RememberSignature(ctx, "sig-old", time.Minute); ok || err != nil {
			t.Fatalf("a live signature was accepted again: %v, %v", ok, err)
		}
		if _, err := s.RememberSignature(ctx, "sig-gone", -time.Second); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteExpiredSignatures(ctx, 100)
		if err != nil || n != 1 {
			t.Fatalf("deleted %d expired signatures, %v; want 1", n, err)
		}
		if ok, _ := s.RememberSignature(ctx, "sig-a", time.Minute); ok {
			t.Fatal("cleaning up deleted a live signature")
		}
	})
}

// TestTransactionObeysDeadline: when Postgres stops answering in the middle
// of a transaction (a partition), InTx gives up at the caller's deadline,
// whether it was about to COMMIT or to ROLLBACK after an error of its own,
// instead of waiting for the database's read timeout; the store works
// again afterwards.
func TestTransactionObeysDeadline(t *testing.T) {
	direct := testenv.OpenStore(t, "postgres").Options() // creates and migrates the schema
	u, err := url.Parse(direct.PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	opts := direct
	opts.PostgresURL = u.String()
	s, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	refused := errors.New("refused by the domain")
	for _, c := range []struct {
		name   string
		result error // what fn returns once the network is silent
		want   error
	}{{"commit", nil, participant.ErrUnavailable}, {"rollback", refused, refused}} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			heal := time.AfterFunc(5*time.Second, proxy.Resume)
			defer heal.Stop()
			start := time.Now()
			err := s.InTx(ctx, func(q participant.Queries) error {
				if _, err := q.EligibleEntrants(ctx, 1, false); err != nil {
					return err
				}
				proxy.Pause()
				return c.result
			})
			took := time.Since(start)
			proxy.Resume()
			if !errors.Is(err, c.want) {
				t.Fatalf("InTx = %v, want %v", err, c.want)
			}
			if took > 2*time.Second {
				t.Fatalf("InTx waited %v with a 500 ms deadline", took)
			}
			if _, err := s.EligibleEntrants(context.Background(), 1, false); err != nil {
				t.Fatalf("the store did not recover: %v", err)
			}
		})
	}
}
