package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
)

// TestConcurrentEnrollsExactlyOnce: hundreds of registrations at once, as
// into a hot giveaway, each user twice into one giveaway and once into
// another, with users who never passed the captcha, a frozen giveaway and
// one without a draw row among them. Every answer must be the one a lone
// statement gives: one participation per user and giveaway, created once
// and reported to the repeat under the same id, each user's count once per
// giveaway, nothing stored where the draw or the captcha refuses. On
// Postgres the registrations must have shared statements.
func TestConcurrentEnrollsExactlyOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const users = 150
		const hot, other, frozen, undrawn, stranger = 1, 4, 2, 3, 9999
		for _, g := range []int64{hot, other, frozen} {
			commitDraw(t, s, g)
		}
		if _, err := s.DB().ExecContext(ctx, "UPDATE draws SET status = 'frozen' WHERE giveaway_id = ?", frozen); err != nil {
			t.Fatal(err)
		}
		for u := int64(1); u <= users; u++ {
			if err := s.CompleteCaptcha(ctx, u, t0); err != nil {
				t.Fatal(err)
			}
		}
		type call struct{ g, u int64 }
		var calls []call
		for u := int64(1); u <= users; u++ {
			calls = append(calls, call{hot, u}, call{hot, u}, call{other, u})
			if u%10 == 0 {
				calls = append(calls, call{frozen, u}, call{undrawn, u}, call{hot, stranger + u})
			}
		}
		got := make([]participant.Enrollment, len(calls))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, c := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				e, err := s.Enroll(ctx, participant.NewParticipant{GiveawayID: c.g, UserID: c.u, Username: "user_1", At: t0})
				if err != nil {
					t.Errorf("enroll %d into %d: %v", c.u, c.g, err)
				}
				got[i] = e
			}()
		}
		close(start)
		wg.Wait()

		created := map[call]int64{}
		seen := map[call][]participant.Enrollment{}
		for i, c := range calls {
			e := got[i]
			seen[c] = append(seen[c], e)
			if e.Created {
				if created[c] != 0 {
					t.Errorf("%v created twice", c)
				}
				created[c] = e.ParticipantID
			}
		}
		for c, es := range seen {
			switch {
			case c.g == frozen:
				if !es[0].Frozen || es[0].ParticipantID != 0 {
					t.Errorf("frozen giveaway: %+v", es[0])
				}
			case c.g == undrawn:
				if es[0].DrawFound || es[0].ParticipantID != 0 {
					t.Errorf("giveaway without a draw: %+v", es[0])
				}
			case c.u > stranger:
				if es[0].CaptchaCompleted || es[0].ParticipantID != 0 {
					t.Errorf("user without the captcha: %+v", es[0])
				}
			default:
				if created[c] == 0 {
					t.Errorf("%v never created: %+v", c, es)
				}
				for _, e := range es {
					if e.ParticipantID != created[c] || !e.DrawFound || !e.CaptchaCompleted {
						t.Errorf("%v answered %+v, want participant %d", c, e, created[c])
					}
				}
			}
		}
		for _, g := range []int64{hot, other, frozen, undrawn} {
			n, err := s.Count(ctx, g)
			want := int64(users)
			if g == frozen || g == undrawn {
				want = 0
			}
			if err != nil || n != want {
				t.Errorf("giveaway %d has %d participants (%v), want %d", g, n, err, want)
			}
		}
		for u := int64(1); u <= users; u++ {
			usr, err := s.User(ctx, u)
			if err != nil || usr.TotalParticipations != 2 {
				t.Errorf("user %d: %+v, %v; want 2 participations", u, usr, err)
			}
		}
		if s.Dialect() == "postgres" {
			stmts, regs, failed := s.EnrollBatches()
			t.Logf("%d registrations shared %d statements", regs, stmts)
			if stmts == 0 || failed != 0 {
				t.Errorf("%d statements shared by registrations, %d of them failed; want some, none failed", stmts, failed)
			}
		}
	})
}
