package participant_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/upstream/telegramtest"
	"github.com/telegive/participant-service/pkg/draw"
)

// enterPremium enters the users, members of both chats who say they have
// Premium, in a giveaway whose rules require both chats, with premium
// only as given.
func (e *recheckEnv) enterPremium(gid int64, premiumOnly bool, users ...int64) {
	e.t.Helper()
	ctx := context.Background()
	in := bothChats
	in.PremiumOnly = &premiumOnly
	if _, err := e.svc.SetRules(ctx, gid, in); err != nil {
		e.t.Fatal(err)
	}
	yes := true
	for _, u := range users {
		e.set(u, telegramtest.Joined, telegramtest.Joined)
		if err := e.store.CompleteCaptcha(ctx, u, time.Now()); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: u, IsPremium: &yes}); err != nil {
			e.t.Fatalf("register user %d: %v", u, err)
		}
	}
}

// TestRecheckPremium: with premium_only rules, a winner whose every
// getChatMember answer says is_premium false fails the re-check with
// premium_required and is replaced; one whose answers say true, or carry
// no is_premium (as Telegram's do for users without Premium), keeps the
// registration's check and passes. Rules that are not premium only pay
// is_premium no heed.
func TestRecheckPremium(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRecheckEnv(t, backend)
		ctx := context.Background()

		const plain = 541
		plainUsers := []int64{400_000_001, 400_000_002, 400_000_003}
		e.enterPremium(plain, false, plainUsers...)
		for _, u := range plainUsers {
			e.tg.SetPremium(u, false)
		}
		sel, err := e.svc.SelectWinners(ctx, plain, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		if rc := sel.Recheck; rc.Status != draw.RecheckComplete || len(rc.Disqualified) != 0 || len(rc.Final) != 2 {
			t.Fatalf("rules not premium only, winners without Premium: %+v", rc)
		}

		// Telegram is down at the draw, so that the winners are known
		// before their answers are set.
		const gid = 542
		users := []int64{inBoth, onlyA, adminA, creatorB, restrictedIn}
		e.enterPremium(gid, true, users...)
		e.tg.Fail(telegramtest.Server50x(502))
		sel, err = e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 3})
		if err != nil {
			t.Fatal(err)
		}
		winners := winnerIDs(sel.Winners)
		if rc := sel.Recheck; rc.Status != draw.RecheckPending || len(rc.Unchecked) != 3 {
			t.Fatalf("while Telegram fails: %+v", rc)
		}
		e.tg.Heal()
		lapsed, premium, silent := winners[0], winners[1], winners[2]
		e.tg.SetPremium(lapsed, false).SetPremium(premium, true)
		sel, err = e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 3})
		if err != nil {
			t.Fatal(err)
		}
		rc := sel.Recheck
		if rc.Status != draw.RecheckComplete || len(rc.Disqualified) != 1 || rc.Pending != nil {
			t.Fatalf("with Telegram back: %+v", rc)
		}
		dq := rc.Disqualified[0]
		if dq.UserID != lapsed || dq.Reason != draw.ReasonPremiumRequired || dq.Round != 1 || dq.ReplacedBy == 0 {
			t.Fatalf("disqualified %+v, want user %d for premium_required in round 1, replaced", dq, lapsed)
		}
		if got, want := sorted(rc.Final), sorted([]int64{premium, silent, dq.ReplacedBy}); !slices.Equal(got, want) {
			t.Fatalf("final winners %v, want %v", got, want)
		}
		rec := e.verify(gid, users)
		if len(rec.Replacements) != 1 || rec.Replacements[0].Disqualified[0] != (draw.Disqualification{UserID: lapsed, Reason: draw.ReasonPremiumRequired}) {
			t.Fatalf("the record's round: %+v", rec.Replacements)
		}
	})
}
