package participant_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/draw"
)

// referralService is a service on a fresh store of the backend, with a
// captcha for first-time users.
func referralService(t *testing.T, backend string) (*participant.Service, participant.Store) {
	t.Helper()
	st := testenv.OpenStore(t, backend)
	return participant.NewService(st, nil, nil, participant.Options{
		Captcha: participant.CaptchaRules{MinNumber: 1, MaxNumber: 10, MaxAttempts: 3, Timeout: 10 * time.Minute, PerHour: 50},
	}), st
}

// setReferralRules sets the giveaway's max_tickets and referral_bonus.
func setReferralRules(t *testing.T, svc *participant.Service, gid int64, maxTickets, bonus int64) {
	t.Helper()
	if _, err := svc.SetRules(context.Background(), gid, participant.RulesInput{
		MaxTickets: ptr(maxTickets), ReferralBonus: ptr(bonus), RecheckAtDraw: ptr(false),
	}); err != nil {
		t.Fatal(err)
	}
}

// join registers a user who passed the captcha, with the referrer (0 for
// none).
func join(t *testing.T, svc *participant.Service, st participant.Store, gid, user, referrer int64) (participant.RegisterResult, error) {
	t.Helper()
	ctx := context.Background()
	if err := st.CompleteCaptcha(ctx, user, time.Now()); err != nil {
		t.Fatal(err)
	}
	return svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: user, ReferrerUserID: referrer})
}

// mustJoin is join failing the test on an error.
func mustJoin(t *testing.T, svc *participant.Service, st participant.Store, gid, user, referrer int64) participant.RegisterResult {
	t.Helper()
	res, err := join(t, svc, st, gid, user, referrer)
	if err != nil || res.ParticipantID == 0 {
		t.Fatalf("register user %d (referrer %d) = %+v, %v", user, referrer, res, err)
	}
	return res
}

// entrants returns the giveaway's participants by user id, from the
// listing that callers see.
func entrants(t *testing.T, svc *participant.Service, gid int64) (map[int64]participant.Participant, participant.Stats) {
	t.Helper()
	l, err := svc.List(context.Background(), gid, 1, 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[int64]participant.Participant, len(l.Participants))
	for _, p := range l.Participants {
		out[p.UserID] = p
	}
	return out, l.Stats
}

func wantReferral(t *testing.T, res participant.RegisterResult, want participant.Referral) {
	t.Helper()
	if res.Referral == nil || *res.Referral != want {
		t.Fatalf("referral = %+v, want %+v", res.Referral, want)
	}
}

// TestReferralBonus: each invited friend who enters after the referrer
// adds referral_bonus to the referrer's tickets, never past max_tickets;
// the listing and its stats show the tickets and the referrer.
func TestReferralBonus(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		svc, st := referralService(t, backend)
		const gid, referrer = 101, 7001
		setReferralRules(t, svc, gid, 6, 2)
		if res := mustJoin(t, svc, st, gid, referrer, 0); res.Referral != nil {
			t.Fatalf("a registration without a referrer reports a referral: %+v", res.Referral)
		}
		wantReferral(t, mustJoin(t, svc, st, gid, 7002, referrer), participant.Referral{ReferrerUserID: referrer, Counted: true, BonusTickets: 2, ReferrerTickets: 3})
		wantReferral(t, mustJoin(t, svc, st, gid, 7003, referrer), participant.Referral{ReferrerUserID: referrer, Counted: true, BonusTickets: 2, ReferrerTickets: 5})
		// One ticket short of the cap: the bonus is paid up to it.
		wantReferral(t, mustJoin(t, svc, st, gid, 7004, referrer), participant.Referral{ReferrerUserID: referrer, Counted: true, BonusTickets: 1, ReferrerTickets: 6})
		// At the cap: counted, nothing more.
		wantReferral(t, mustJoin(t, svc, st, gid, 7005, referrer), participant.Referral{ReferrerUserID: referrer, Counted: true, BonusTickets: 0, ReferrerTickets: 6})

		ps, stats := entrants(t, svc, gid)
		if p := ps[referrer]; p.Tickets != 6 || p.ReferrerUserID != 0 {
			t.Fatalf("referrer = %+v, want 6 tickets and no referrer", p)
		}
		for user, bonus := range map[int64]int{7002: 2, 7003: 2, 7004: 1, 7005: 0} {
			if p := ps[user]; p.Tickets != 1 || p.ReferrerUserID != referrer || p.ReferralTickets != bonus {
				t.Fatalf("invited user %d = %+v, want 1 ticket, referrer %d, %d bonus tickets given", user, p, referrer, bonus)
			}
		}
		if stats.Tickets != 10 {
			t.Fatalf("stats.Tickets = %d, want 6 + 4", stats.Tickets)
		}
	})
}

// TestReferralWithoutBonus: rules without a bonus (and a giveaway without
// rules) record the referrer and give no tickets.
func TestReferralWithoutBonus(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		svc, st := referralService(t, backend)
		const gid, referrer = 102, 7101
		mustJoin(t, svc, st, gid, referrer, 0)
		wantReferral(t, mustJoin(t, svc, st, gid, 7102, referrer), participant.Referral{ReferrerUserID: referrer, Counted: true, ReferrerTickets: 1})
		ps, _ := entrants(t, svc, gid)
		if ps[referrer].Tickets != 1 || ps[7102].ReferrerUserID != referrer {
			t.Fatalf("entrants = %+v", ps)
		}
	})
}

// TestReferralAbuse: a user cannot refer themselves; a repeated
// registration, with the same referrer or another, counts nothing again;
// a referrer who had not entered earns nothing, then or later; and a
// cycle gives one bonus, to the referrer who entered first.
func TestReferralAbuse(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		svc, st := referralService(t, backend)
		ctx := context.Background()
		const gid = 103
		setReferralRules(t, svc, gid, 10, 3)

		t.Run("self", func(t *testing.T) {
			_, err := join(t, svc, st, gid, 7201, 7201)
			var e *participant.Error
			if !errors.As(err, &e) || e.Code != participant.CodeInvalidReferrerUserID || len(e.Fields) != 1 || e.Fields[0].Field != "referrer_user_id" {
				t.Fatalf("self referral: %+v, want INVALID_REFERRER_USER_ID naming referrer_user_id", err)
			}
			if _, err := st.Participant(ctx, gid, 7201); err == nil {
				t.Fatal("a refused self referral stored the participation")
			}
		})

		t.Run("repeat", func(t *testing.T) {
			const referrer, other, invited = 7211, 7212, 7213
			mustJoin(t, svc, st, gid, referrer, 0)
			mustJoin(t, svc, st, gid, other, 0)
			mustJoin(t, svc, st, gid, invited, referrer)
			for _, ref := range []int64{referrer, other, referrer} {
				if _, err := join(t, svc, st, gid, invited, ref); participant.ErrorCode(err) != participant.CodeDuplicate {
					t.Fatalf("registering again with referrer %d: %v, want DUPLICATE_PARTICIPATION", ref, err)
				}
			}
			ps, _ := entrants(t, svc, gid)
			if ps[referrer].Tickets != 4 || ps[other].Tickets != 1 || ps[invited].ReferrerUserID != referrer {
				t.Fatalf("after repeats: referrer %d tickets, other %d, invited's referrer %d; want 4, 1, %d",
					ps[referrer].Tickets, ps[other].Tickets, ps[invited].ReferrerUserID, referrer)
			}
		})

		t.Run("referrer not an entrant", func(t *testing.T) {
			const late, invited = 7221, 7222
			wantReferral(t, mustJoin(t, svc, st, gid, invited, late), participant.Referral{ReferrerUserID: late})
			mustJoin(t, svc, st, gid, late, 0)
			ps, _ := entrants(t, svc, gid)
			if ps[late].Tickets != 1 || ps[invited].ReferrerUserID != late || ps[invited].ReferralTickets != 0 {
				t.Fatalf("late referrer %+v, invited %+v; want 1 ticket, the referral kept without a bonus", ps[late], ps[invited])
			}
		})

		t.Run("cycle", func(t *testing.T) {
			const a, b = 7231, 7232
			wantReferral(t, mustJoin(t, svc, st, gid, a, b), participant.Referral{ReferrerUserID: b})
			wantReferral(t, mustJoin(t, svc, st, gid, b, a), participant.Referral{ReferrerUserID: a, Counted: true, BonusTickets: 3, ReferrerTickets: 4})
			ps, _ := entrants(t, svc, gid)
			if ps[a].Tickets != 4 || ps[b].Tickets != 1 {
				t.Fatalf("cycle: a holds %d, b %d; want 4 and 1", ps[a].Tickets, ps[b].Tickets)
			}
		})

		t.Run("the database refuses a second referral", func(t *testing.T) {
			const referrer, invited = 7241, 7242
			mustJoin(t, svc, st, gid, referrer, 0)
			mustJoin(t, svc, st, gid, invited, referrer)
			// Settling the same participation's referral again, as a bug
			// or a replayed transaction would, changes nothing.
			var again participant.Referral
			if err := st.InTx(ctx, func(q participant.Queries) error {
				var err error
				again, err = q.Refer(ctx, participant.ReferralCredit{GiveawayID: gid, InvitedUserID: invited, ReferrerUserID: referrer, Bonus: 3, MaxTickets: 10})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			p, err := st.Participant(ctx, gid, referrer)
			if err != nil || again.Counted || p.Tickets != 4 {
				t.Fatalf("second referral = %+v; referrer %+v, %v; want not counted and 4 tickets", again, p, err)
			}
		})
	})
}

// TestReferralConcurrency: the same invited user registering many times
// at once counts once, and many invited friends of one referrer
// registering at once give exactly min(1 + n*bonus, max_tickets).
func TestReferralConcurrency(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		svc, st := referralService(t, backend)
		ctx := context.Background()

		t.Run("same invited user", func(t *testing.T) {
			const gid, referrer, invited = 104, 7301, 7302
			setReferralRules(t, svc, gid, 50, 5)
			mustJoin(t, svc, st, gid, referrer, 0)
			if err := st.CompleteCaptcha(ctx, invited, time.Now()); err != nil {
				t.Fatal(err)
			}
			const n = 16
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				created int
				bonus   int
			)
			for range n {
				wg.Go(func() {
					res, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: invited, ReferrerUserID: referrer})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						created++
						if res.Referral != nil {
							bonus += res.Referral.BonusTickets
						}
					case participant.ErrorCode(err) != participant.CodeDuplicate:
						t.Errorf("register: %v", err)
					}
				})
			}
			wg.Wait()
			p, err := st.Participant(ctx, gid, referrer)
			if err != nil || created != 1 || bonus != 5 || p.Tickets != 6 {
				t.Fatalf("%d registrations created, %d bonus tickets reported, referrer holds %d (%v); want 1, 5, 6", created, bonus, p.Tickets, err)
			}
		})

		for _, c := range []struct {
			name                   string
			gid, maxTickets, bonus int64
			friends                int
		}{
			{"below the cap", 105, 100, 3, 24},
			{"past the cap", 106, 40, 3, 24},
		} {
			t.Run("many friends "+c.name, func(t *testing.T) {
				const referrer = 7400
				setReferralRules(t, svc, c.gid, c.maxTickets, c.bonus)
				mustJoin(t, svc, st, c.gid, referrer, 0)
				friends := make([]int64, c.friends)
				for i := range friends {
					friends[i] = 7401 + int64(i)
					if err := st.CompleteCaptcha(ctx, friends[i], time.Now()); err != nil {
						t.Fatal(err)
					}
				}
				var (
					wg       sync.WaitGroup
					mu       sync.Mutex
					reported int64
				)
				for _, f := range friends {
					wg.Go(func() {
						res, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: c.gid, UserID: f, ReferrerUserID: referrer})
						if err != nil || res.Referral == nil || !res.Referral.Counted {
							t.Errorf("friend %d: %+v, %v", f, res, err)
							return
						}
						mu.Lock()
						reported += int64(res.Referral.BonusTickets)
						mu.Unlock()
					})
				}
				wg.Wait()
				want := min(1+int64(c.friends)*c.bonus, c.maxTickets)
				ps, stats := entrants(t, svc, c.gid)
				var given int64
				for _, f := range friends {
					given += int64(ps[f].ReferralTickets)
				}
				if got := ps[referrer].Tickets; got != want || reported != want-1 || given != want-1 {
					t.Fatalf("referrer holds %d tickets, answers reported %d bonus tickets, rows record %d; want %d, %d, %d",
						got, reported, given, want, want-1, want-1)
				}
				if stats.Tickets != want+int64(c.friends) {
					t.Fatalf("stats.Tickets = %d, want %d", stats.Tickets, want+int64(c.friends))
				}
			})
		}
	})
}

// TestReferralThroughTheCaptcha: a first-time user's referrer is kept by
// the captcha, and counts when the answer completes the registration; a
// register call with a referrer while a challenge without one is live
// gives it the referrer, and one for another giveaway does not carry it.
func TestReferralThroughTheCaptcha(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		svc, st := referralService(t, backend)
		ctx := context.Background()
		const gid, referrer = 107, 7501
		setReferralRules(t, svc, gid, 5, 2)
		mustJoin(t, svc, st, gid, referrer, 0)

		solve := func(user int64, ch *participant.Challenge, giveaway int64) participant.ValidateResult {
			t.Helper()
			if ch == nil {
				t.Fatalf("user %d was not asked the captcha", user)
			}
			res, err := svc.ValidateCaptcha(ctx, participant.ValidateRequest{GiveawayID: giveaway, UserID: user, Answer: ch.Answer, SessionID: ch.SessionID})
			if err != nil || !res.Completed || res.ParticipantID == 0 {
				t.Fatalf("validate-captcha of user %d = %+v, %v", user, res, err)
			}
			return res
		}

		// Straight through: register with the referrer, solve.
		res, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: 7502, ReferrerUserID: referrer})
		if err != nil || res.Referral != nil {
			t.Fatalf("first register = %+v, %v; want a captcha and no referral yet", res, err)
		}
		if p, _ := st.Participant(ctx, gid, referrer); p.Tickets != 1 {
			t.Fatalf("a pending captcha paid the bonus: referrer holds %d", p.Tickets)
		}
		v := solve(7502, res.Challenge, gid)
		if v.Referral == nil || *v.Referral != (participant.Referral{ReferrerUserID: referrer, Counted: true, BonusTickets: 2, ReferrerTickets: 3}) {
			t.Fatalf("validate-captcha referral = %+v", v.Referral)
		}
		// Answering again is the same success and pays nothing more.
		if _, err := svc.ValidateCaptcha(ctx, participant.ValidateRequest{GiveawayID: gid, UserID: 7502, Answer: res.Challenge.Answer}); err != nil {
			t.Fatal(err)
		}

		// A live challenge issued without a referrer takes the one given
		// next, keeping its question.
		first, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: 7503})
		if err != nil || first.Challenge == nil {
			t.Fatalf("register = %+v, %v", first, err)
		}
		second, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: 7503, ReferrerUserID: referrer})
		if err != nil || second.Challenge == nil || second.Challenge.SessionID != first.Challenge.SessionID ||
			second.Challenge.ReferrerUserID != referrer {
			t.Fatalf("second register = %+v, %v; want the same challenge with the referrer", second.Challenge, err)
		}
		// A third call without a referrer does not drop it.
		if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: 7503}); err != nil {
			t.Fatal(err)
		}
		solve(7503, first.Challenge, gid)

		// The referrer was given for another giveaway: answering for this
		// one stores no referral.
		other, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid + 1000, UserID: 7504, ReferrerUserID: referrer})
		if err != nil || other.Challenge == nil {
			t.Fatalf("register = %+v, %v", other, err)
		}
		if v := solve(7504, other.Challenge, gid); v.Referral != nil {
			t.Fatalf("a referral given for giveaway %d counted in %d: %+v", gid+1000, gid, v.Referral)
		}

		ps, _ := entrants(t, svc, gid)
		if ps[referrer].Tickets != 5 || ps[7502].ReferrerUserID != referrer || ps[7503].ReferrerUserID != referrer ||
			ps[7503].ReferralTickets != 2 || ps[7504].ReferrerUserID != 0 {
			t.Fatalf("entrants: referrer %+v, 7502 %+v, 7503 %+v, 7504 %+v", ps[referrer], ps[7502], ps[7503], ps[7504])
		}
	})
}

// TestReferralV2Draw: the bonus tickets are the entrants' weights in a v2
// draw: the frozen tree carries them, the proofs show them and the total,
// and pkg/draw verifies the record with the ticket list; a registration
// after the freeze is refused and pays no bonus.
func TestReferralV2Draw(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 0)
		svc := e.service(nil, e.beacons(drandtest.Honest), nil)
		ctx := context.Background()
		const gid, referrer = 108, 50
		setReferralRules(t, svc, gid, 8, 3)
		e.enter(svc, gid, referrer, 10, 90)
		for _, f := range []int64{20, 30, 40} {
			if err := e.store.CompleteCaptcha(ctx, f, time.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: f, ReferrerUserID: referrer}); err != nil {
				t.Fatal(err)
			}
		}
		// The referrer holds min(1 + 3*3, 8) = 8 of 13 tickets.
		entrants := []int64{10, 20, 30, 40, referrer, 90}
		slices.Sort(entrants)
		tickets := make([]uint64, len(entrants))
		for i, u := range entrants {
			tickets[i] = 1
			if u == referrer {
				tickets[i] = 8
			}
		}

		type result struct {
			sel participant.Selection
			err error
		}
		done := make(chan result, 1)
		go func() {
			sel, err := svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
			done <- result{sel, err}
		}()
		for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
			d, err := svc.DrawRecord(ctx, gid)
			if err == nil && d.Status != participant.DrawCommitted {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatal("the draw did not freeze")
			}
		}
		// Entries are closed: a late friend is refused and pays nothing.
		if err := e.store.CompleteCaptcha(ctx, 60, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: 60, ReferrerUserID: 10}); participant.ErrorCode(err) != participant.CodeGiveawayNotActive {
			t.Fatalf("registration after the freeze: %v, want GIVEAWAY_NOT_ACTIVE", err)
		}
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		rec := res.sel.Record
		if rec.TotalTickets != 13 || rec.EntrantsCount != 6 || rec.MaxTickets != 8 {
			t.Fatalf("record: total_tickets %d, entrants %d, max_tickets %d; want 13, 6, 8", rec.TotalTickets, rec.EntrantsCount, rec.MaxTickets)
		}
		p, err := svc.Proof(ctx, gid, referrer)
		if err != nil || p.Tickets != 8 || p.TotalTickets != 13 {
			t.Fatalf("referrer's proof = %+v, %v; want 8 of 13 tickets", p, err)
		}
		friend, err := svc.Proof(ctx, gid, 20)
		if err != nil || friend.Tickets != 1 || friend.TotalTickets != 13 {
			t.Fatalf("friend's proof = %+v, %v; want 1 of 13 tickets", friend, err)
		}
		if _, err := svc.Proof(ctx, gid, 60); err == nil {
			t.Fatal("the user refused after the freeze has a proof")
		}
		opts := e.verifyOptions(gid, entrants)
		opts.Tickets = tickets
		opts.Proofs = []draw.Proof{p, friend}
		rep, err := draw.VerifyReport(rec, opts)
		if err != nil {
			t.Fatalf("the v2 record with bonus tickets does not verify: %v", err)
		}
		for _, c := range []string{"entrants", "winners", "proof"} {
			if !passed(rep, c) {
				t.Errorf("check %s was not made: %+v", c, rep)
			}
		}
		// The verifier notices a ticket list without the bonus.
		opts.Tickets = nil
		opts.Proofs = nil
		if _, err := draw.VerifyReport(rec, opts); err == nil {
			t.Fatal("the record verified against one ticket each")
		}
		ps, _ := e.store.Participant(ctx, gid, 10)
		if ps.Tickets != 1 {
			t.Fatalf("a refused registration paid its referrer: %d tickets", ps.Tickets)
		}
	})
}

// TestReferralSurvivesARenewal: a challenge that expired is renewed by the
// next register call for the same giveaway with its referrer, even when
// that call names none.
func TestReferralSurvivesARenewal(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		st := testenv.OpenStore(t, backend)
		var mu sync.Mutex
		now := time.Now()
		svc := participant.NewService(st, nil, nil, participant.Options{
			Captcha: participant.CaptchaRules{MinNumber: 1, MaxNumber: 10, MaxAttempts: 3, Timeout: 10 * time.Minute, PerHour: 50},
			Now: func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return now
			},
		})
		ctx := context.Background()
		const gid, referrer, user = 109, 7601, 7602
		setReferralRules(t, svc, gid, 3, 1)
		mustJoin(t, svc, st, gid, referrer, 0)
		first, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: user, ReferrerUserID: referrer})
		if err != nil || first.Challenge == nil {
			t.Fatalf("register = %+v, %v", first, err)
		}
		mu.Lock()
		now = now.Add(11 * time.Minute)
		mu.Unlock()
		renewed, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: user})
		if err != nil || renewed.Challenge == nil || renewed.Challenge.SessionID == first.Challenge.SessionID ||
			renewed.Challenge.ReferrerUserID != referrer {
			t.Fatalf("renewed challenge = %+v, %v; want a new one with referrer %d", renewed.Challenge, err, referrer)
		}
		v, err := svc.ValidateCaptcha(ctx, participant.ValidateRequest{GiveawayID: gid, UserID: user, Answer: renewed.Challenge.Answer})
		if err != nil || v.Referral == nil || !v.Referral.Counted || v.Referral.ReferrerTickets != 2 {
			t.Fatalf("validate-captcha = %+v (referral %+v), %v", v, v.Referral, err)
		}
	})
}
