package participant_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
)

// BenchmarkRegisterReferred measures registrations on Postgres that all
// name one referrer, the worst case of the referral path (each is its own
// transaction, queued on the referrer's row), against the same
// registrations without a referrer (batched):
//
//	go test ./internal/participant -run '^$' -bench RegisterReferred -benchtime 2000x
func BenchmarkRegisterReferred(b *testing.B) {
	for _, c := range []struct {
		name     string
		referrer int64
	}{{"no referrer", 0}, {"one referrer", 1}} {
		b.Run(c.name, func(b *testing.B) {
			st := testenv.OpenStore(b, "postgres")
			svc := participant.NewService(st, nil, nil, participant.Options{})
			ctx := context.Background()
			const gid = 1
			if _, err := svc.SetRules(ctx, gid, participant.RulesInput{MaxTickets: ptr[int64](100), ReferralBonus: ptr[int64](1), RecheckAtDraw: ptr(false)}); err != nil {
				b.Fatal(err)
			}
			for u := int64(1); u <= int64(b.N)+1; u++ {
				if err := st.CompleteCaptcha(ctx, u, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: 1}); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			next.Store(1)
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					u := next.Add(1)
					if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: u, ReferrerUserID: c.referrer}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			p, err := st.Participant(ctx, gid, 1)
			if err != nil {
				b.Fatal(err)
			}
			// A bonus of one ticket per referral, up to 100.
			if want := min(1+int64(b.N), 100); c.referrer != 0 && p.Tickets != want {
				b.Fatalf("referrer holds %d tickets after %d referrals, want %d", p.Tickets, b.N, want)
			}
		})
	}
}
