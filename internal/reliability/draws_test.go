package reliability_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
)

// TestExactlyOnceDraws: three instances on one database answer many
// concurrent select-winners and redraws for many giveaways. Each giveaway
// is drawn once, every answer is identical, each redraw round is applied
// once, wins are counted once, and every record verifies against the full
// entrant list and the winners' proofs.
func TestExactlyOnceDraws(t *testing.T) {
	dsn := testenv.PostgresSchema(t)
	var (
		clients []*client.Client
		first   string
	)
	for i := range 3 {
		env := []string{"DATABASE_URL=" + dsn}
		if i > 0 {
			env = append(env, "MIGRATE_ON_START=false")
		}
		svc := start(t, env...)
		if i == 0 {
			first = svc.URL
		}
		c, _ := client.New(svc.URL, client.WithRetries(0, 0))
		clients = append(clients, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bt := newBot(t, first)
	const giveaways, entrants, winners = 12, 25, 3
	base := uniqueBase()
	gids := make([]int64, giveaways)
	var wg sync.WaitGroup
	for g := range giveaways {
		gids[g] = base + int64(g)
		wg.Go(func() {
			for u := range int64(entrants) {
				if bt.join(ctx, gids[g], base*10+int64(g)*1000+u) == 0 {
					t.Errorf("set-up registration failed")
				}
			}
		})
	}
	wg.Wait()

	// Many concurrent select-winners per giveaway, on random instances.
	answers := concurrently(t, giveaways, 8, func(g int) (client.Selection, error) {
		return clients[rand.IntN(3)].SelectWinners(ctx, gids[g], client.SelectRequest{WinnerCount: winners})
	})
	draws := 0
	for g, as := range answers {
		fresh := 0
		for _, a := range as {
			if !a.AlreadySelected {
				fresh++
			}
			if a.Draw.DrawSeed != as[0].Draw.DrawSeed || !slices.EqualFunc(a.Winners, as[0].Winners, sameWinner) {
				t.Fatalf("giveaway %d: answers differ", gids[g])
			}
		}
		if fresh != 1 {
			t.Fatalf("giveaway %d was drawn %d times", gids[g], fresh)
		}
		draws += fresh
	}

	// Concurrent identical redraws: one round each.
	rounds := concurrently(t, giveaways, 6, func(g int) (client.RedrawResult, error) {
		loser := answers[g][0].Winners[0].UserID
		return clients[rand.IntN(3)].Redraw(ctx, gids[g], []int64{loser}, "left the channel")
	})
	verified := 0
	for g, rs := range rounds {
		applied := 0
		for _, r := range rs {
			if !r.AlreadyApplied {
				applied++
			}
		}
		if applied != 1 {
			t.Fatalf("giveaway %d: the redraw was applied %d times", gids[g], applied)
		}
		rec, err := clients[g%3].Draw(ctx, gids[g])
		if err != nil || len(rec.Replacements) != 1 {
			t.Fatalf("giveaway %d: record %v, %v", gids[g], rec.Replacements, err)
		}
		ents, err := clients[(g+1)%3].Entrants(ctx, gids[g])
		if err != nil {
			t.Fatal(err)
		}
		proofs, err := clients[(g+2)%3].WinnerProofs(ctx, gids[g])
		if err != nil {
			t.Fatal(err)
		}
		if err := draw.Verify(rec, draw.VerifyOptions{Entrants: ents, Proofs: proofs}); err != nil {
			t.Fatalf("giveaway %d: %v", gids[g], err)
		}
		wins := 0
		for _, e := range ents {
			st, err := clients[0].CaptchaStatus(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			wins += int(st.TotalWins)
		}
		if wins != winners {
			t.Fatalf("giveaway %d: %d wins counted, %d winners", gids[g], wins, winners)
		}
		verified++
	}
	report(t, figures{"instances": 3, "giveaways": giveaways, "select_winners_calls": giveaways * 8, "draws": draws,
		"redraw_calls": giveaways * 6, "rounds_applied": giveaways, "records_verified": verified})
}

func sameWinner(a, b client.Winner) bool {
	return a.Position == b.Position && a.UserID == b.UserID && a.ParticipantID == b.ParticipantID
}

// concurrently calls call each times for every one of n giveaways, all at
// once, and returns the answers by giveaway; a failed call fails the test.
func concurrently[T any](t *testing.T, n, each int, call func(g int) (T, error)) [][]T {
	t.Helper()
	answers := make([][]T, n)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for g := range n {
		for range each {
			wg.Go(func() {
				v, err := call(g)
				if err != nil {
					t.Errorf("giveaway #%d: %v", g, err)
					return
				}
				mu.Lock()
				answers[g] = append(answers[g], v)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return answers
}
