package participant_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/upstream"
	"github.com/telegive/participant-service/internal/upstream/telegramtest"
	"github.com/telegive/participant-service/pkg/draw"
)

// recheckEnv is a v2 deployment whose giveaways require chats A and B,
// with the stand-in Bot API answering getChatMember for both.
type recheckEnv struct {
	*v2env
	svc *participant.Service
	tg  *telegramtest.Server
}

func newRecheckEnv(t *testing.T, backend string, edits ...func(*participant.Options)) *recheckEnv {
	t.Helper()
	e := newV2Env(t, backend, 2)
	tg := telegramtest.New(t, rulesBotToken)
	tg.AddChat(chatA, "@chan_a").AddChat(chatB, "@chan_b")
	accounts := telegramtest.NewAccounts(t, "svc-token")
	accounts.SetAccount(rulesAccount, telegramtest.Channel{TelegramID: chatA, Username: "chan_a", Title: "A"}, rulesBotToken)
	subs := upstream.NewSubscriptions(upstream.Options{
		ChannelURL: accounts.URL, AuthURL: accounts.URL, TelegramAPIBase: tg.URL, ServiceToken: "svc-token",
		Timeout: 500 * time.Millisecond, BreakerFailures: 1000, Cache: cache.NewMemory(100_000, nil), CacheTTL: time.Minute,
	})
	var opts participant.Options
	e.service(nil, e.beacons(drandtest.Honest), func(o *participant.Options) {
		for _, edit := range edits {
			edit(o)
		}
		opts = *o
	})
	svc := participant.NewService(e.store, &statusGiveaways{closed: map[int64]bool{}}, subs, opts)
	return &recheckEnv{v2env: e, svc: svc, tg: tg}
}

// enterMembers makes the users members of both chats and enters them in
// a giveaway whose rules require both (recheck_at_draw left to its
// default).
func (e *recheckEnv) enterMembers(gid int64, users ...int64) {
	e.t.Helper()
	if _, err := e.svc.SetRules(context.Background(), gid, bothChats); err != nil {
		e.t.Fatal(err)
	}
	for _, u := range users {
		e.set(u, telegramtest.Joined, telegramtest.Joined)
	}
	e.enter(e.svc, gid, users...)
}

func (e *recheckEnv) set(user int64, a, b telegramtest.Member) {
	e.tg.SetMember("-1001001", user, a).SetMember("-1001002", user, b)
}

// verify checks the drawn record with pkg/draw's v2 verifier, with the
// entrant list and every current winner's proof, and the giveaway's log
// against the log's rules.
func (e *recheckEnv) verify(gid int64, entrants []int64) draw.Record {
	e.t.Helper()
	d, err := e.svc.DrawRecord(context.Background(), gid)
	if err != nil {
		e.t.Fatal(err)
	}
	opts := e.verifyOptions(gid, slices.Sorted(slices.Values(entrants)))
	if opts.Proofs, err = e.svc.WinnerProofs(context.Background(), gid); err != nil {
		e.t.Fatal(err)
	}
	if _, err := draw.VerifyReport(d.PublicRecord(), opts); err != nil {
		e.t.Fatalf("the re-checked record does not verify: %v", err)
	}
	e.checkHistory(gid)
	return d.PublicRecord()
}

func winnerIDs(ws []participant.Winner) []int64 {
	out := make([]int64, len(ws))
	for i, w := range ws {
		out[i] = w.UserID
	}
	return out
}

func sorted(ids []int64) []int64 { return slices.Sorted(slices.Values(ids)) }

// TestRecheckAllPass: rules set by PUT re-check by default; every winner
// still a member passes, Telegram being asked afresh (a registration's
// cached answer is not trusted), and the draw needs no round.
func TestRecheckAllPass(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRecheckEnv(t, backend)
		const gid = 501
		users := []int64{inBoth, onlyA, adminA, creatorB}
		e.enterMembers(gid, users...)
		sel, err := e.svc.SelectWinners(context.Background(), gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		rc := sel.Recheck
		if rc == nil || rc.Status != draw.RecheckComplete || !slices.Equal(rc.Final, winnerIDs(sel.Winners)) ||
			len(rc.Unchecked) != 0 || len(rc.Disqualified) != 0 || rc.Pending != nil {
			t.Fatalf("recheck = %+v, winners %v", rc, winnerIDs(sel.Winners))
		}
		rec := sel.Record
		if rec.Recheck == nil || rec.Recheck.Status != draw.RecheckComplete || len(rec.Recheck.Checked) != 2 || len(rec.Replacements) != 0 {
			t.Fatalf("record recheck %+v, %d rounds", rec.Recheck, len(rec.Replacements))
		}
		for _, r := range rec.Recheck.Checked {
			if !r.Passed || r.Round != 0 || r.Reason != "" || r.CheckedAt.IsZero() {
				t.Fatalf("check %+v", r)
			}
		}
		for _, u := range users {
			want := 1
			if slices.Contains(rc.Final, u) {
				want = 2
			}
			if n := e.tg.Requests("-1001001", u); n != want {
				t.Errorf("user %d: chat A asked %d times, want %d", u, n, want)
			}
		}
		again, err := e.svc.SelectWinners(context.Background(), gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil || !again.AlreadySelected || again.Recheck.Status != draw.RecheckComplete {
			t.Fatalf("again: %+v, %v", again.Recheck, err)
		}
		if n := e.tg.Total(); n != len(users)*2+4 {
			t.Fatalf("Telegram was asked %d times; a complete re-check must cost no call", n)
		}
		e.verify(gid, users)
	})
}

// TestRecheckReplaces: winners who left a chat (not_subscribed) or became
// an administrator of one (admin) are disqualified together in one round,
// whose replacements are checked the same way, until every position holds
// a winner who passed or the entrants run out; the record verifies.
func TestRecheckReplaces(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRecheckEnv(t, backend)
		const gid = 502
		good := []int64{inBoth, restrictedIn}
		bad := map[int64]draw.Reason{onlyA: draw.ReasonNotSubscribed, kickedA: draw.ReasonNotSubscribed, adminA: draw.ReasonAdmin}
		users := append(slices.Clone(good), onlyA, kickedA, adminA)
		e.enterMembers(gid, users...)
		e.set(onlyA, telegramtest.Joined, telegramtest.Left)
		e.set(kickedA, telegramtest.Kicked, telegramtest.Joined)
		e.set(adminA, telegramtest.Administrator, telegramtest.Joined)
		e.set(restrictedIn, telegramtest.Restricted(true), telegramtest.Joined)

		// Three positions and two entrants who pass: at least one initial
		// winner fails, every bad entrant is drawn in the end, and one
		// position stays empty.
		sel, err := e.svc.SelectWinners(context.Background(), gid, participant.SelectRequest{WinnerCount: 3})
		if err != nil {
			t.Fatal(err)
		}
		rc, rec := sel.Recheck, sel.Record
		if rc == nil || rc.Status != draw.RecheckComplete || rc.Pending != nil || len(rc.Unchecked) != 0 {
			t.Fatalf("recheck = %+v", rc)
		}
		if !slices.Equal(sorted(rc.Final), sorted(good)) || !slices.Equal(sorted(winnerIDs(sel.Winners)), sorted(good)) {
			t.Fatalf("final %v, winners %v; want %v", rc.Final, winnerIDs(sel.Winners), good)
		}
		if len(rec.Replacements) == 0 {
			t.Fatal("no redraw round")
		}
		// The first round disqualifies every initial winner who failed,
		// together.
		var failedFirst []int64
		for _, w := range rec.Winners {
			if _, ok := bad[w.UserID]; ok {
				failedFirst = append(failedFirst, w.UserID)
			}
		}
		if got := disqualifiedIDsOf(rec.Replacements[0]); !slices.Equal(got, sorted(failedFirst)) {
			t.Fatalf("round 1 disqualifies %v, want the failed initial winners %v", got, failedFirst)
		}
		if len(rc.Disqualified) != len(bad) {
			t.Fatalf("disqualified %+v, want all of %v", rc.Disqualified, bad)
		}
		empty := 0
		for _, dq := range rc.Disqualified {
			if bad[dq.UserID] != dq.Reason || dq.Round < 1 || dq.Position < 1 {
				t.Fatalf("disqualified %+v, want reason %s", dq, bad[dq.UserID])
			}
			rd := rec.Replacements[dq.Round-1]
			if !slices.Contains(disqualifiedIDsOf(rd), dq.UserID) {
				t.Fatalf("%+v: round %d does not disqualify them", dq, dq.Round)
			}
			if dq.ReplacedBy == 0 {
				empty++
			}
		}
		if empty != 1 {
			t.Fatalf("%d positions left empty, want 1: %+v", empty, rc.Disqualified)
		}
		// Every entrant ever chosen was checked once, at the round that
		// chose them.
		if len(rec.Recheck.Checked) != len(users) {
			t.Fatalf("%d checks for %d entrants: %+v", len(rec.Recheck.Checked), len(users), rec.Recheck.Checked)
		}
		for _, r := range rec.Recheck.Checked {
			if r.Passed == (bad[r.UserID] != "") || r.Reason != bad[r.UserID] {
				t.Fatalf("check %+v", r)
			}
		}
		e.verify(gid, users)
	})
}

func disqualifiedIDsOf(rd draw.Redraw) []int64 {
	var ids []int64
	for _, d := range rd.Disqualified {
		ids = append(ids, d.UserID)
	}
	return sorted(ids)
}

// TestRecheckEveryoneWins: with as many positions as entrants, the
// failed winners are disqualified in one round whose positions stay
// empty.
func TestRecheckEveryoneWins(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRecheckEnv(t, backend)
		const gid = 503
		users := []int64{inBoth, onlyA, adminA, creatorB}
		e.enterMembers(gid, users...)
		e.set(onlyA, telegramtest.Joined, telegramtest.Left)
		e.set(creatorB, telegramtest.Joined, telegramtest.Creator)
		sel, err := e.svc.SelectWinners(context.Background(), gid, participant.SelectRequest{WinnerCount: 4})
		if err != nil {
			t.Fatal(err)
		}
		rc, rec := sel.Recheck, sel.Record
		if rc.Status != draw.RecheckComplete || !slices.Equal(sorted(rc.Final), []int64{inBoth, adminA}) || len(rec.Replacements) != 1 {
			t.Fatalf("recheck %+v, %d rounds", rc, len(rec.Replacements))
		}
		rd := rec.Replacements[0]
		if !slices.Equal(disqualifiedIDsOf(rd), []int64{onlyA, creatorB}) {
			t.Fatalf("round 1: %+v", rd)
		}
		for _, p := range rd.Replacements {
			if !p.Empty() {
				t.Fatalf("a replacement with no entrant left: %+v", p)
			}
		}
		for _, dq := range rc.Disqualified {
			want := map[int64]draw.Reason{onlyA: draw.ReasonNotSubscribed, creatorB: draw.ReasonAdmin}[dq.UserID]
			if dq.Reason != want || dq.Round != 1 || dq.ReplacedBy != 0 {
				t.Fatalf("disqualified %+v", dq)
			}
		}
		e.verify(gid, users)
	})
}

// TestRecheckUncheckedThenFinished: while Telegram fails, the winners are
// unchecked (in the answer and the record), never passed or failed; once
// it recovers, the next call checks them; a round that the call's
// deadline leaves pending is finished by the background, and the answer
// after it lists the replacement.
func TestRecheckUncheckedThenFinished(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRecheckEnv(t, backend)
		ctx := context.Background()
		const gid = 504
		users := []int64{inBoth, onlyA, adminA, creatorB, restrictedIn}
		e.enterMembers(gid, users...)
		e.tg.Fail(telegramtest.Server50x(502))
		sel, err := e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		winners := winnerIDs(sel.Winners)
		rc := sel.Recheck
		if rc.Status != draw.RecheckPending || !slices.Equal(rc.Unchecked, sorted(winners)) || len(rc.Final) != 0 || len(rc.Disqualified) != 0 {
			t.Fatalf("while Telegram fails: %+v", rc)
		}
		if r := sel.Record.Recheck; r.Status != draw.RecheckPending || !slices.Equal(r.Unchecked, sorted(winners)) || len(r.Checked) != 0 {
			t.Fatalf("record while Telegram fails: %+v", r)
		}

		// Telegram is back, and the first winner has left chat B; the
		// call's deadline is too short for the round's beacon.
		e.tg.Heal()
		left := winners[0]
		e.set(left, telegramtest.Joined, telegramtest.Left)
		short, cancel := context.WithTimeout(ctx, 3*time.Second)
		sel, err = e.svc.SelectWinners(short, gid, participant.SelectRequest{WinnerCount: 2})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		rc = sel.Recheck
		if !sel.AlreadySelected || rc.Status != draw.RecheckPending || rc.Pending == nil || rc.Pending.Round != 1 ||
			len(rc.Pending.Disqualified) != 1 || rc.Pending.Disqualified[0] != (draw.Disqualification{UserID: left, Reason: draw.ReasonNotSubscribed}) {
			t.Fatalf("after the short call: %+v", rc)
		}
		if !slices.Equal(rc.Final, winners[1:]) || len(rc.Unchecked) != 0 || len(rc.Disqualified) != 1 ||
			rc.Disqualified[0].Round != 1 || rc.Disqualified[0].ReplacedBy != 0 {
			t.Fatalf("after the short call: %+v", rc)
		}

		// The background finishes the round once its beacon is out, and
		// checks the replacement.
		time.Sleep(time.Until(rc.Pending.BeaconAt) + 200*time.Millisecond)
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := e.svc.FinishPendingDraws(ctx); err != nil {
				t.Fatal(err)
			}
			d, err := e.svc.DrawRecord(ctx, gid)
			if err != nil {
				t.Fatal(err)
			}
			if d.Record.Recheck.Status == draw.RecheckComplete {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the background did not finish the re-check: %+v, pending %+v", d.Record.Recheck, d.PendingRedraw)
			}
			time.Sleep(100 * time.Millisecond)
		}
		sel, err = e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		rc = sel.Recheck
		if rc.Status != draw.RecheckComplete || rc.Pending != nil || len(rc.Disqualified) != 1 || rc.Disqualified[0].ReplacedBy == 0 {
			t.Fatalf("after the background: %+v", rc)
		}
		repl := rc.Disqualified[0].ReplacedBy
		if !slices.Contains(winnerIDs(sel.Winners), repl) || !slices.Contains(rc.Final, repl) || slices.Contains(winnerIDs(sel.Winners), left) {
			t.Fatalf("winners %v, final %v, replacement %d", winnerIDs(sel.Winners), rc.Final, repl)
		}
		e.verify(gid, users)
	})
}

// TestRecheckRace: calls racing on a re-check that finds two winners
// failed make one round between them.
func TestRecheckRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRecheckEnv(t, backend)
		ctx := context.Background()
		const gid = 505
		users := []int64{inBoth, onlyA, adminA, creatorB, restrictedIn}
		e.enterMembers(gid, users...)
		e.tg.Fail(telegramtest.Server50x(503))
		sel, err := e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil || sel.Recheck.Status != draw.RecheckPending {
			t.Fatalf("%+v, %v", sel.Recheck, err)
		}
		winners := winnerIDs(sel.Winners)
		e.tg.Heal()
		e.set(winners[0], telegramtest.Left, telegramtest.Joined)
		e.set(winners[1], telegramtest.Joined, telegramtest.Administrator)

		const calls = 3
		var wg sync.WaitGroup
		results := make([]participant.Selection, calls)
		errs := make([]error, calls)
		for i := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
			}()
		}
		wg.Wait()
		for i := range calls {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
		}
		d, err := e.svc.DrawRecord(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		rec := d.Record
		if len(rec.Replacements) != 1 || !slices.Equal(disqualifiedIDsOf(rec.Replacements[0]), sorted(winners)) {
			t.Fatalf("%d rounds: %+v", len(rec.Replacements), rec.Replacements)
		}
		if rec.Recheck.Status != draw.RecheckComplete || len(rec.Recheck.Checked) != 4 {
			t.Fatalf("record recheck %+v", rec.Recheck)
		}
		for i, r := range results {
			if r.Recheck.Status != draw.RecheckComplete || len(r.Recheck.Disqualified) != 2 || len(r.Recheck.Final) != 2 {
				t.Fatalf("call %d: %+v", i, r.Recheck)
			}
		}
		e.verify(gid, users)
	})
}

// TestRecheckOffAndV1: rules set with recheck_at_draw false, or no rules
// at all, make no re-check (no recheck in the answer or the record); a v1
// draw whose rules ask for one says it was not applied.
func TestRecheckOffAndV1(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRecheckEnv(t, backend)
		ctx := context.Background()
		const off, none = 506, 507
		in := bothChats
		in.RecheckAtDraw = ptr(false)
		if _, err := e.svc.SetRules(ctx, off, in); err != nil {
			t.Fatal(err)
		}
		e.set(inBoth, telegramtest.Joined, telegramtest.Joined)
		e.enter(e.svc, off, inBoth)
		e.enter(e.svc, none, inBoth)
		for _, gid := range []int64{off, none} {
			sel, err := e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 1})
			if err != nil || sel.Recheck != nil || sel.Record.Recheck != nil {
				t.Fatalf("giveaway %d: %+v, %+v, %v", gid, sel.Recheck, sel.Record.Recheck, err)
			}
		}
		if n := e.tg.Requests("-1001001", inBoth); n != 1 {
			t.Fatalf("chat A asked %d times, want once (registration)", n)
		}

		var opts participant.Options
		e.service(nil, e.beacons(drandtest.Honest), func(o *participant.Options) { o.DrawVersion = draw.Version; opts = *o })
		v1 := participant.NewService(e.store, &statusGiveaways{closed: map[int64]bool{}}, nil, opts)
		const gid = 508
		if _, err := v1.SetRules(ctx, gid, participant.RulesInput{}); err != nil {
			t.Fatal(err)
		}
		e.enter(v1, gid, inBoth)
		sel, err := v1.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 1})
		if err != nil || sel.Recheck == nil || sel.Recheck.Status != participant.RecheckNotApplied || sel.Record.Recheck != nil {
			t.Fatalf("v1: %+v, %v", sel.Recheck, err)
		}
	})
}

// TestRecheckForgetsAWinnerReplacedByHand: a winner left unchecked while
// Telegram failed and then disqualified by a redraw of the operator's is
// no longer listed as unchecked (the list holds current winners only);
// their replacement is, until Telegram answers.
func TestRecheckForgetsAWinnerReplacedByHand(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRecheckEnv(t, backend)
		ctx := context.Background()
		const gid = 507
		users := []int64{inBoth, onlyA, adminA, creatorB, restrictedIn}
		for _, u := range users {
			e.set(u, telegramtest.Joined, telegramtest.Joined)
		}
		if _, err := e.svc.SetRules(ctx, gid, bothChats); err != nil {
			t.Fatal(err)
		}
		e.enter(e.svc, gid, users...)
		e.tg.Fail(telegramtest.Server50x(502))
		sel, err := e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		winners := winnerIDs(sel.Winners)
		if !slices.Equal(sel.Record.Recheck.Unchecked, sorted(winners)) {
			t.Fatalf("while Telegram fails: %+v", sel.Record.Recheck)
		}
		out, err := e.svc.Redraw(ctx, gid, participant.RedrawRequest{
			Disqualified: []draw.Disqualification{{UserID: winners[0], Reason: draw.ReasonFraud}}})
		if err != nil {
			t.Fatal(err)
		}
		rc := out.Record.Recheck
		if rc == nil || slices.Contains(rc.Unchecked, winners[0]) || !slices.Contains(rc.Unchecked, winners[1]) {
			t.Fatalf("winners %v; after the operator's round: %+v, winners %v", winners, rc, winnerIDs(out.Winners))
		}
		d, err := e.svc.DrawRecord(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		current := map[int64]bool{}
		for _, w := range d.Record.CurrentWinners() {
			current[w.UserID] = true
		}
		for _, id := range d.Record.Recheck.Unchecked {
			if !current[id] {
				t.Fatalf("stored re-check lists %d as unchecked, who is not a current winner: %+v", id, d.Record.Recheck)
			}
		}
		e.tg.Heal()
		sel, err = e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		if sel.Recheck.Status != draw.RecheckComplete || len(sel.Recheck.Unchecked) != 0 || len(sel.Recheck.Final) != 2 {
			t.Fatalf("after Telegram is back: %+v", sel.Recheck)
		}
		e.verify(gid, users)
	})
}
