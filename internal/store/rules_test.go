package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/pkg/draw"
)

func freshDraw(giveawayID int64) participant.Draw {
	seed := make([]byte, 32)
	seed[0], seed[1] = byte(giveawayID), byte(giveawayID>>8)
	return participant.Draw{GiveawayID: giveawayID, Status: participant.DrawCommitted, ServerSeed: seed,
		Commitment: draw.Commitment(seed), CommittedAt: t0}
}

func commitDraw(t *testing.T, s *store.Store, giveawayID int64) {
	t.Helper()
	err := s.InTx(context.Background(), func(q participant.Queries) error {
		_, err := q.EnsureDraw(context.Background(), giveawayID, freshDraw(giveawayID), participant.LockShared)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRulesRoundTrip: rules are stored byte for byte and replaced freely
// until the giveaway's draw is committed, then kept as they were.
func TestRulesRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.Rules(ctx, 7); !errors.Is(err, participant.ErrNotFound) {
			t.Fatalf("rules of a new giveaway: %v, want ErrNotFound", err)
		}
		first, second := []byte(`{"max_tickets":1}`), []byte(`{"max_tickets":5}`)
		for _, doc := range [][]byte{first, second} {
			if saved, err := s.SaveRules(ctx, 7, doc, t0); err != nil || !saved {
				t.Fatalf("save %s: %v, %v", doc, saved, err)
			}
		}
		st, err := s.Rules(ctx, 7)
		if err != nil || string(st.JSON) != string(second) || st.UpdatedAt == nil || !st.UpdatedAt.Equal(t0) || st.LockedAt != nil {
			t.Fatalf("rules = %+v, %v", st, err)
		}

		commitDraw(t, s, 7)
		if saved, err := s.SaveRules(ctx, 7, first, t0.Add(time.Hour)); err != nil || saved {
			t.Fatalf("save after the commit: %v, %v; want refused", saved, err)
		}
		st, err = s.Rules(ctx, 7)
		if err != nil || string(st.JSON) != string(second) || st.LockedAt == nil || !st.LockedAt.Equal(t0.Truncate(time.Second)) && !st.LockedAt.Equal(t0) {
			t.Fatalf("rules after the commit = %+v, %v", st, err)
		}
		if !st.UpdatedAt.Equal(t0) {
			t.Fatalf("a refused save changed updated_at to %v", st.UpdatedAt)
		}
	})
}

// TestRulesLockedWithoutRules: a giveaway committed without rules has
// its defaults locked: a later save is refused.
func TestRulesLockedWithoutRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		commitDraw(t, s, 8)
		st, err := s.Rules(ctx, 8)
		if err != nil || st.JSON != nil || st.LockedAt == nil || st.UpdatedAt != nil {
			t.Fatalf("rules = %+v, %v; want none, locked", st, err)
		}
		if saved, err := s.SaveRules(ctx, 8, []byte(`{}`), t0); err != nil || saved {
			t.Fatalf("save = %v, %v; want refused", saved, err)
		}
		// A second EnsureDraw (every registration makes one) changes nothing.
		commitDraw(t, s, 8)
		if again, err := s.Rules(ctx, 8); err != nil || !again.LockedAt.Equal(*st.LockedAt) || again.JSON != nil {
			t.Fatalf("rules = %+v, %v", again, err)
		}
	})
}

// TestRulesRaceTheCommit: a save racing the draw's commit either comes
// first, and is what the commit sees and locks, or comes second and is
// refused; never saved after the commit read the rules. Each transaction
// in turn holds its write open while the other runs.
func TestRulesRaceTheCommit(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const giveaways = 16
		type outcome struct {
			saved      bool
			seenByDraw []byte
		}
		results := make([]outcome, giveaways+1)
		var wg sync.WaitGroup
		errs := make(chan error, 2*giveaways)
		for g := int64(1); g <= giveaways; g++ {
			doc := []byte(fmt.Sprintf(`{"max_tickets":%d}`, g))
			holdSave, holdDraw := g%2 == 0, g%2 == 1
			wg.Add(2)
			go func() {
				defer wg.Done()
				errs <- s.InTx(ctx, func(q participant.Queries) error {
					saved, err := q.SaveRules(ctx, g, doc, t0)
					if holdSave {
						time.Sleep(30 * time.Millisecond)
					}
					results[g].saved = saved
					return err
				})
			}()
			go func() {
				defer wg.Done()
				if holdSave {
					time.Sleep(5 * time.Millisecond) // let the save go first
				}
				errs <- s.InTx(ctx, func(q participant.Queries) error {
					if _, err := q.EnsureDraw(ctx, g, freshDraw(g), participant.LockShared); err != nil {
						return err
					}
					// What the commit entry would be built from.
					st, err := q.Rules(ctx, g)
					results[g].seenByDraw = st.JSON
					if holdDraw {
						time.Sleep(30 * time.Millisecond)
					}
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		savedCount := 0
		for g := int64(1); g <= giveaways; g++ {
			st, err := s.Rules(ctx, g)
			if err != nil || st.LockedAt == nil {
				t.Fatalf("giveaway %d: %+v, %v; want locked", g, st, err)
			}
			r := results[g]
			if string(st.JSON) != string(r.seenByDraw) {
				t.Fatalf("giveaway %d: the commit saw rules %q, the stored ones are %q", g, r.seenByDraw, st.JSON)
			}
			if r.saved != (st.JSON != nil) {
				t.Fatalf("giveaway %d: save reported %v, stored %q", g, r.saved, st.JSON)
			}
			if r.saved {
				savedCount++
			}
		}
		if savedCount == 0 || savedCount == giveaways {
			t.Logf("all saves landed on the same side of the commit (%d of %d saved)", savedCount, giveaways)
		}
	})
}
