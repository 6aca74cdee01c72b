package participant_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

func eachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// TestV2DrawVerifies: a v2 draw freezes the entrants (registration is
// refused from then on, saying why), has the freeze cosigned by the
// witnesses before the beacon round, waits for the round and draws; the
// record verifies with pkg/draw against the pinned test chain, the log key
// and the witness keys, the attestation and every log entry included, and
// so do the winners' and an entrant's proofs.
func TestV2DrawVerifies(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 2)
		svc := e.service(nil, e.beacons(drandtest.Honest), nil)
		ctx := context.Background()
		const gid = 42
		users := []int64{900, 5, 77, 1 << 40, 3, 12, 64}
		e.enter(svc, gid, users...)

		type result struct {
			sel participant.Selection
			err error
		}
		done := make(chan result, 1)
		start := time.Now()
		go func() {
			sel, err := svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 3})
			done <- result{sel, err}
		}()
		// While the draw waits for its beacon, the giveaway is frozen:
		// registration is refused at once, and entrants can prove their
		// tickets.
		var frozen participant.Draw
		for {
			d, err := svc.DrawRecord(ctx, gid)
			if err == nil && d.Status != participant.DrawCommitted {
				frozen = d
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatal("the draw did not freeze")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if frozen.Status == participant.DrawFrozen {
			if err := e.store.CompleteCaptcha(ctx, 1234, time.Now()); err != nil {
				t.Fatal(err)
			}
			_, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: 1234})
			if code(t, err) != participant.CodeGiveawayNotActive || !strings.Contains(err.Error(), "closed") {
				t.Fatalf("registration after the freeze: %v; want GIVEAWAY_NOT_ACTIVE saying entries are closed", err)
			}
			p, err := svc.Proof(ctx, gid, 77)
			if err != nil || p.Tickets != 1 || p.LeafIndex != 4 || p.FirstTicket != 4 || p.IsWinner {
				t.Fatalf("frozen proof of user 77 = %+v, %v", p, err)
			}
			if frozen.PublicRecord().ServerSeed != nil {
				t.Fatal("the frozen record shows the server seed")
			}
		}
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		sel := res.sel
		rec := sel.Record
		if sel.AlreadySelected || sel.Selected != 3 || sel.Method != draw.VersionV2 || rec.Status != draw.StatusDrawn {
			t.Fatalf("selection = %+v", sel)
		}
		if !rec.FreezeAttested || rec.FreezeAttestation == nil {
			t.Fatalf("the freeze is not attested: %+v; events %+v", rec, e.events.all())
		}
		if now := time.Now(); now.Before(rec.BeaconRoundTime(e.chain.Info)) {
			t.Fatalf("drawn at %v, before beacon round %d's time %v", now, rec.BeaconRound, rec.BeaconRoundTime(e.chain.Info))
		}
		if want := draw.BeaconRoundAfter(e.chain.Info, rec.FrozenAt, uint64(testBeaconDelay/time.Second)); rec.BeaconRound != want {
			t.Fatalf("beacon round %d, want %d", rec.BeaconRound, want)
		}
		entrants := slices.Sorted(slices.Values(users))
		opts := e.verifyOptions(gid, entrants)
		proofs, err := svc.WinnerProofs(ctx, gid)
		if err != nil || len(proofs) != 3 {
			t.Fatalf("winner proofs: %d, %v", len(proofs), err)
		}
		p, err := svc.Proof(ctx, gid, 12)
		if err != nil {
			t.Fatal(err)
		}
		opts.Proofs = append(proofs, p)
		rep, err := draw.VerifyReport(rec, opts)
		if err != nil {
			t.Fatalf("the v2 record does not verify: %v", err)
		}
		for _, c := range []string{"beacon", "attestation", "entrants", "winners", "proof", "log"} {
			if !passed(rep, c) {
				t.Errorf("check %s was not made: %+v", c, rep)
			}
		}
		if len(rep.Skipped) != 0 {
			t.Errorf("checks skipped: %+v", rep.Skipped)
		}
		if got := e.checkHistory(gid); !slices.Equal(got, []drawlog.Type{drawlog.TypeCommit, drawlog.TypeFreeze, drawlog.TypeDraw}) {
			t.Fatalf("log entries %v", got)
		}
		// The entrant list for auditors has the tickets; the record stays.
		list, err := svc.EntrantList(ctx, gid)
		if err != nil || list.Version != draw.VersionV2 || !slices.Equal(list.IDs, entrants) || list.Tickets != nil {
			t.Fatalf("entrant list = %+v, %v", list, err)
		}
		again, err := svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 5})
		if err != nil || !again.AlreadySelected || recordJSON(t, again.Record) != recordJSON(t, rec) {
			t.Fatalf("a second call = %+v, %v; want the same draw", again, err)
		}
		// Wins are counted once, for the winners.
		for _, w := range sel.Winners {
			u, err := e.store.User(ctx, w.UserID)
			if err != nil || u.TotalWins != 1 {
				t.Fatalf("user %d has %d wins, %v", w.UserID, u.TotalWins, err)
			}
		}
	})
}

// TestV2ReplicasDrawOnce: two services on one Postgres (two replicas)
// asked at once give one draw and identical answers.
func TestV2ReplicasDrawOnce(t *testing.T) {
	t.Parallel()
	e := newV2Env(t, "postgres", 1)
	a := e.service(nil, e.beacons(drandtest.Honest), nil)
	b := e.service(testenv.ReopenStore(t, e.store), e.beacons(drandtest.Honest), nil)
	const gid = 7
	e.enter(a, gid, 10, 20, 30, 40, 50, 60)
	var wg sync.WaitGroup
	sels := make([]participant.Selection, 6)
	errs := make([]error, 6)
	for i := range sels {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		wg.Go(func() {
			sels[i], errs[i] = svc.SelectWinners(context.Background(), gid, participant.SelectRequest{WinnerCount: 2})
		})
	}
	wg.Wait()
	fresh := 0
	for i, s := range sels {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !s.AlreadySelected {
			fresh++
		}
		if recordJSON(t, s.Record) != recordJSON(t, sels[0].Record) || !slices.EqualFunc(s.Winners, sels[0].Winners, func(x, y participant.Winner) bool {
			return x.UserID == y.UserID && x.Position == y.Position
		}) {
			t.Fatalf("answers differ:\n%s\n%s", recordJSON(t, s.Record), recordJSON(t, sels[0].Record))
		}
	}
	if fresh != 1 {
		t.Fatalf("%d calls drew, want exactly one", fresh)
	}
	if err := draw.Verify(sels[0].Record, e.verifyOptions(gid, []int64{10, 20, 30, 40, 50, 60})); err != nil {
		t.Fatal(err)
	}
	if got := e.checkHistory(gid); len(got) != 3 {
		t.Fatalf("log entries %v, want commit, freeze, draw", got)
	}
}

// TestV2ResumesAfterAStop: a draw stopped between its freeze and its draw
// (here: its request's deadline came before the beacon round, leaving it
// frozen) is finished by another replica's FinishPendingDraws once the
// round is out, with the same entrants and round: the winners are those
// the frozen record and the round's beacon give, and a later call returns
// them.
func TestV2ResumesAfterAStop(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 1)
		first := e.service(nil, e.beacons(drandtest.Honest), nil)
		const gid = 9
		e.enter(first, gid, 1, 2, 3, 4, 5)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := first.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if code(t, err) != participant.CodeBeaconUnavailable {
			t.Fatalf("a call whose deadline is before the round: %v, want BEACON_UNAVAILABLE", err)
		}
		frozen, err := e.store.Draw(context.Background(), gid)
		if err != nil || frozen.Status != participant.DrawFrozen {
			t.Fatalf("after the stop the draw is %v, %v; want frozen", frozen.Status, err)
		}
		second := e.service(testenv.ReopenStore(t, e.store), e.beacons(drandtest.Honest), nil)
		if n, err := second.FinishPendingDraws(context.Background()); err != nil || n != 0 {
			t.Fatalf("before the round: finished %d, %v; want none", n, err)
		}
		time.Sleep(time.Until(frozen.BeaconAt) + 100*time.Millisecond)
		if n, err := second.FinishPendingDraws(context.Background()); err != nil || n != 1 {
			t.Fatalf("finished %d, %v; want 1", n, err)
		}
		d, err := e.store.Draw(context.Background(), gid)
		if err != nil || d.Status != participant.DrawDrawn {
			t.Fatalf("draw %v, %v", d.Status, err)
		}
		rec := d.Record
		if rec.BeaconRound != frozen.Record.BeaconRound || rec.EntrantsRoot != frozen.Record.EntrantsRoot || !rec.FrozenAt.Equal(frozen.Record.FrozenAt) {
			t.Fatalf("the draw changed its freeze: round %d root %s, frozen with %d %s", rec.BeaconRound, rec.EntrantsRoot,
				frozen.Record.BeaconRound, frozen.Record.EntrantsRoot)
		}
		tree, err := draw.NewSumTree([]int64{1, 2, 3, 4, 5}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := frozen.Record.DrawWinners(draw.DrawInput{ServerSeed: frozen.ServerSeed, Entrants: tree,
			BeaconSignature: e.chain.Sign(frozen.Record.BeaconRound), DrawnAt: rec.DrawnAt, Chain: e.chain.Info})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rec.Winners, want.Winners) {
			t.Fatalf("winners %+v, want %+v", rec.Winners, want.Winners)
		}
		if err := draw.Verify(rec, e.verifyOptions(gid, []int64{1, 2, 3, 4, 5})); err != nil {
			t.Fatal(err)
		}
		sel, err := first.SelectWinners(context.Background(), gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil || !sel.AlreadySelected || !slices.Equal(sel.Record.Winners, want.Winners) {
			t.Fatalf("a later call = %+v, %v", sel, err)
		}
		if n, err := second.FinishPendingDraws(context.Background()); err != nil || n != 0 {
			t.Fatalf("finished %d again, %v", n, err)
		}
	})
}

// TestBeaconUnavailableThenSameRound: with every relay down the call ends
// with BEACON_UNAVAILABLE and a Retry-After before its own deadline, the
// draw frozen; with a relay back, the retry draws on the same round.
func TestBeaconUnavailableThenSameRound(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 0)
		down := e.service(nil, e.beacons(drandtest.Down, drandtest.Down), nil)
		const gid = 11
		e.enter(down, gid, 4, 8, 15, 16, 23, 42)
		timeout := testBeaconDelay + 3*time.Second
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		_, err := down.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		took := time.Since(start)
		var perr *participant.Error
		if code(t, err) != participant.CodeBeaconUnavailable {
			t.Fatalf("err = %v, want BEACON_UNAVAILABLE", err)
		}
		if ok := asError(err, &perr); !ok || perr.RetryAfter <= 0 {
			t.Fatalf("no Retry-After: %+v", perr)
		}
		if took >= timeout {
			t.Fatalf("the call took %v, past its %v deadline", took, timeout)
		}
		if took < testBeaconDelay-time.Second {
			t.Fatalf("the call gave up after %v, before the round's time", took)
		}
		frozen, err := e.store.Draw(context.Background(), gid)
		if err != nil || frozen.Status != participant.DrawFrozen {
			t.Fatalf("draw %v, %v; want frozen", frozen.Status, err)
		}
		up := e.service(nil, e.beacons(drandtest.Down, drandtest.Honest), nil)
		sel, err := up.SelectWinners(context.Background(), gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil || sel.AlreadySelected || sel.Record.BeaconRound != frozen.Record.BeaconRound {
			t.Fatalf("retry = round %d, %v; want a draw on round %d", sel.Record.BeaconRound, err, frozen.Record.BeaconRound)
		}
		if sel.Record.FreezeAttested {
			t.Fatal("attested without witnesses")
		}
		rep, err := draw.VerifyReport(sel.Record, e.verifyOptions(gid, []int64{4, 8, 15, 16, 23, 42}))
		if err != nil || !skipped(rep, "attestation") {
			t.Fatalf("verify = %+v, %v; want it to pass and say the freeze is not attested", rep, err)
		}
	})
}

func asError(err error, target **participant.Error) bool {
	e, ok := err.(*participant.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestLyingBeaconNeverUsed: a relay that serves another key's signatures
// is never believed (the drand client refuses them), nor is a beacon
// source that hands one over as it is (the service checks it again): the
// draw stays frozen until an honest beacon comes, and uses that one.
func TestLyingBeaconNeverUsed(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 0)
		ctx := context.Background()
		const gid = 13
		liar := e.service(nil, lyingBeacons{e.chain}, nil)
		e.enter(liar, gid, 2, 3, 5, 7)
		_, err := liar.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 1})
		if code(t, err) != participant.CodeBeaconUnavailable {
			t.Fatalf("a lying beacon source: %v, want BEACON_UNAVAILABLE", err)
		}
		lying := e.service(nil, e.beacons(drandtest.Lying), nil)
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		if _, err := lying.SelectWinners(cctx, gid, participant.SelectRequest{WinnerCount: 1}); code(t, err) != participant.CodeBeaconUnavailable {
			t.Fatalf("a lying relay: %v, want BEACON_UNAVAILABLE", err)
		}
		d, _ := e.store.Draw(ctx, gid)
		if d.Status != participant.DrawFrozen {
			t.Fatalf("after lies the draw is %s, want still frozen", d.Status)
		}
		honest := e.service(nil, e.beacons(drandtest.Lying, drandtest.Honest), nil)
		sel, err := honest.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sel.Record.BeaconSignature, e.chain.Sign(sel.Record.BeaconRound); string(got) != string(want) {
			t.Fatal("the draw does not use the chain's signature of its round")
		}
		if err := draw.Verify(sel.Record, e.verifyOptions(gid, []int64{2, 3, 5, 7})); err != nil {
			t.Fatal(err)
		}
	})
}

// TestUnattestedFreezes: without witnesses a v2 record says
// freeze_attested false; with a witness too slow for the deadline (the
// beacon round's time minus 3 s) it says false too, and the service
// reports why.
func TestUnattestedFreezes(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		t.Run("no witnesses", func(t *testing.T) {
			t.Parallel()
			e := newV2Env(t, backend, 0)
			svc := e.service(nil, e.beacons(drandtest.Honest), nil)
			e.enter(svc, 1, 10, 11)
			sel, err := svc.SelectWinners(ctx, 1, participant.SelectRequest{WinnerCount: 1})
			if err != nil || sel.Record.FreezeAttested || sel.Record.FreezeAttestation != nil {
				t.Fatalf("without witnesses: attested %v, %+v, %v", sel.Record.FreezeAttested, sel.Record.FreezeAttestation, err)
			}
			ev := e.events.all()
			if len(ev) != 1 || ev[0].Attested || ev[0].Reason != "no witnesses are configured" {
				t.Fatalf("events %+v", ev)
			}
		})
		t.Run("slow witness", func(t *testing.T) {
			t.Parallel()
			e := newV2Env(t, backend, 2)
			e.quorum = 2
			e.witnesses[1].SetMode(witnesstest.Slow(testBeaconDelay))
			svc := e.service(nil, e.beacons(drandtest.Honest), nil)
			e.enter(svc, 1, 10, 11, 12)
			sel, err := svc.SelectWinners(ctx, 1, participant.SelectRequest{WinnerCount: 1})
			if err != nil || sel.Record.FreezeAttested {
				t.Fatalf("with a slow witness: attested %v, %v", sel.Record.FreezeAttested, err)
			}
			ev := e.events.all()
			if len(ev) != 1 || ev[0].Attested || ev[0].Kind != "freeze" || !containsAll(ev[0].Reason, "1 of 2 witnesses", "quorum is 2") {
				t.Fatalf("events %+v; want the freeze unattested, 1 of 2 witnesses in time", ev)
			}
			rep, err := draw.VerifyReport(sel.Record, e.verifyOptions(1, []int64{10, 11, 12}))
			if err != nil || !skipped(rep, "attestation") {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
		})
	})
}

// TestNoEntrantsNoBeacon: a v2 draw with no entrants does not wait for the
// beacon, and still logs its freeze and its draw, with no winners.
func TestNoEntrantsNoBeacon(t *testing.T) {
	e := newV2Env(t, "sqlite", 1)
	svc := e.service(nil, e.beacons(drandtest.Down), nil)
	start := time.Now()
	sel, err := svc.SelectWinners(context.Background(), 3, participant.SelectRequest{WinnerCount: 2})
	if err != nil || len(sel.Record.Winners) != 0 || sel.Record.EntrantsCount != 0 {
		t.Fatalf("empty draw = %+v, %v", sel, err)
	}
	if took := time.Since(start); took > testBeaconDelay/2 {
		t.Fatalf("an empty draw took %v: it waited for a beacon", took)
	}
	if got := e.checkHistory(3); !slices.Equal(got, []drawlog.Type{drawlog.TypeCommit, drawlog.TypeFreeze, drawlog.TypeDraw}) {
		t.Fatalf("log %v", got)
	}
	if err := draw.Verify(sel.Record, e.verifyOptions(3, []int64{})); err != nil {
		t.Fatal(err)
	}
}

// TestAttestationSurvivesABeaconOutage: the witnesses attest the freeze,
// then no relay answers. The attestation is kept with the frozen record at
// once, so the retry after the outage (when cosigning in time is no longer
// possible) still draws an attested record.
func TestAttestationSurvivesABeaconOutage(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 2)
		down := e.service(nil, e.beacons(drandtest.Down), nil)
		const gid = 17
		users := []int64{3, 5, 7, 11, 13}
		e.enter(down, gid, users...)
		ctx, cancel := context.WithTimeout(context.Background(), testBeaconDelay+3*time.Second)
		defer cancel()
		if _, err := down.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2}); code(t, err) != participant.CodeBeaconUnavailable {
			t.Fatalf("err = %v, want BEACON_UNAVAILABLE", err)
		}
		frozen, err := e.store.Draw(context.Background(), gid)
		if err != nil || frozen.Status != participant.DrawFrozen {
			t.Fatalf("draw %v, %v; want frozen", frozen.Status, err)
		}
		if !frozen.Record.FreezeAttested || frozen.Record.FreezeAttestation == nil {
			t.Fatal("the frozen record lost the witnesses' attestation when the beacon did not come")
		}
		up := e.service(nil, e.beacons(drandtest.Honest), nil)
		sel, err := up.SelectWinners(context.Background(), gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil || !sel.Record.FreezeAttested {
			t.Fatalf("retry: attested %t, %v; want an attested draw", sel.Record.FreezeAttested, err)
		}
		rep, err := draw.VerifyReport(sel.Record, e.verifyOptions(gid, users))
		if err != nil || !passed(rep, "attestation") {
			t.Fatalf("verify = %+v, %v; want the attestation checked and passed", rep, err)
		}
	})
}
