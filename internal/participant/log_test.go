package participant_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// TestConcurrentCommitsKeepTheLogDense: many giveaways committed at once
// on two replicas of one Postgres, with checkpoints signed meanwhile, give
// a log whose indices are dense, with one commit per giveaway, and whose
// every checkpoint verifies and is consistent with the one before.
func TestConcurrentCommitsKeepTheLogDense(t *testing.T) {
	t.Parallel()
	e := newV2Env(t, "postgres", 0)
	beacons := e.beacons(drandtest.Honest)
	svcs := []*participant.Service{e.service(nil, beacons, nil), e.service(testenv.ReopenStore(t, e.store), beacons, nil)}
	ctx := context.Background()
	const giveaways = 60
	var wg sync.WaitGroup
	for g := range giveaways {
		wg.Go(func() {
			if _, err := svcs[g%2].CommitDraw(ctx, int64(1000+g)); err != nil {
				t.Error(err)
			}
			if g%5 == 0 {
				if _, err := svcs[(g/5)%2].Checkpoint(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if _, err := svcs[0].Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := svcs[1].LogEntries(ctx, 0, participant.MaxLogEntries)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != giveaways {
		t.Fatalf("%d entries, want %d", len(entries), giveaways)
	}
	seen := map[int64]bool{}
	var leaves []drawlog.Hash
	for i, en := range entries {
		p, err := drawlog.Parse(en.Data)
		if err != nil || en.Index != uint64(i) || p.Type() != drawlog.TypeCommit || seen[en.GiveawayID] || p.Head().Seq != 0 {
			t.Fatalf("entry %d: index %d, giveaway %d, %v", i, en.Index, en.GiveawayID, err)
		}
		seen[en.GiveawayID] = true
		leaves = append(leaves, drawlog.LeafHash(en.Data))
	}
	key, err := svcs[0].LogKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := drawlog.NewLogVerifier(key.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	cps, err := e.store.Checkpoints(ctx, 0, 1000)
	if err != nil || len(cps) < 2 {
		t.Fatalf("%d checkpoints, %v", len(cps), err)
	}
	var prev *drawlog.Checkpoint
	for _, c := range cps {
		cp, _, err := drawlog.VerifyCheckpoint(c.Note, verifier)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Root != drawlog.RootHash(leaves[:cp.Size]) {
			t.Fatalf("checkpoint %d's root is not its entries'", cp.Size)
		}
		if prev != nil && prev.Size > 0 {
			proof, err := svcs[1].LogConsistencyProof(ctx, prev.Size, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := drawlog.VerifyConsistency(prev.Size, cp.Size, proof, prev.Root, cp.Root); err != nil {
				t.Fatalf("checkpoint %d is not consistent with %d: %v", cp.Size, prev.Size, err)
			}
		}
		prev = &cp
	}
	latest, err := svcs[1].LogCheckpoint(ctx)
	if err != nil || latest.Size != giveaways {
		t.Fatalf("latest checkpoint %d, %v", latest.Size, err)
	}
	path, err := svcs[0].LogInclusionProof(ctx, 17, giveaways)
	if err != nil || drawlog.VerifyInclusion(17, giveaways, leaves[17], path, prev.Root) != nil {
		t.Fatalf("inclusion of 17: %v", err)
	}
}

// TestLogReadsValidate: the log's reads refuse malformed or too large
// ranges with a code per parameter, and a tree the log has not reached
// with TREE_SIZE_NOT_REACHED and no field errors.
func TestLogReadsValidate(t *testing.T) {
	e := newV2Env(t, "sqlite", 0)
	svc := e.service(nil, e.beacons(drandtest.Honest), nil)
	ctx := context.Background()
	for g := int64(1); g <= 3; g++ {
		if _, err := svc.CommitDraw(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		err  error
		want participant.Code
	}{
		{"end below start", second(svc.LogEntries(ctx, 2, 1)), participant.CodeInvalidEnd},
		{"too many entries", second(svc.LogEntries(ctx, 0, participant.MaxLogEntries+1)), participant.CodeInvalidEnd},
		{"tree size 0", second(svc.LogInclusionProof(ctx, 0, 0)), participant.CodeInvalidTreeSize},
		{"tree size beyond the log", second(svc.LogInclusionProof(ctx, 0, 4)), participant.CodeTreeSizeNotReached},
		{"index beyond the tree", second(svc.LogInclusionProof(ctx, 2, 2)), participant.CodeInvalidIndex},
		{"index beyond a tree beyond the log", second(svc.LogInclusionProof(ctx, 5, 5)), participant.CodeInvalidIndex},
		{"second 0", second(svc.LogConsistencyProof(ctx, 0, 0)), participant.CodeInvalidSecond},
		{"second beyond the log", second(svc.LogConsistencyProof(ctx, 1, 4)), participant.CodeTreeSizeNotReached},
		{"first above second", second(svc.LogConsistencyProof(ctx, 3, 2)), participant.CodeInvalidFirst},
		{"first above a second beyond the log", second(svc.LogConsistencyProof(ctx, 6, 5)), participant.CodeInvalidFirst},
		{"first 0", second(svc.LogConsistencyProof(ctx, 0, 2)), participant.CodeInvalidFirst},
	} {
		if got := code(t, c.err); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		// A tree the log has not reached is no invalid field: the
		// request is well formed.
		var e *participant.Error
		if errors.As(c.err, &e) && (len(e.Fields) == 0) != (c.want == participant.CodeTreeSizeNotReached) {
			t.Errorf("%s: field errors %+v", c.name, e.Fields)
		}
	}
	for _, p := range []struct{ first, second uint64 }{{1, 3}, {3, 3}} {
		if _, err := svc.LogConsistencyProof(ctx, p.first, p.second); err != nil {
			t.Errorf("consistency %d to %d, the log's size: %v", p.first, p.second, err)
		}
	}
	if _, err := svc.LogInclusionProof(ctx, 2, 3); err != nil {
		t.Errorf("inclusion of 2 under the log's size: %v", err)
	}
	es, err := svc.LogEntries(ctx, 1, 100)
	if err != nil || len(es) != 2 || es[0].Index != 1 {
		t.Fatalf("entries from 1 = %+v, %v; want the two there are", es, err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestLogServesTheLatestCosignedCheckpoint: with witnesses, the log serves
// the latest checkpoint a quorum of them cosigned, not a later one signed
// but not yet cosigned, nor one whose stored cosignatures do not verify;
// once the later one is cosigned, it serves that. Before any checkpoint is
// cosigned, and without witnesses, it serves the latest signed one.
func TestLogServesTheLatestCosignedCheckpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 2)
		svc := e.service(nil, e.beacons(drandtest.Honest), nil)
		ctx := context.Background()
		served := func(want uint64, cosigned bool) {
			t.Helper()
			c, err := svc.LogCheckpoint(ctx)
			if err != nil || c.Size != want {
				t.Fatalf("served the checkpoint of size %d, %v; want %d", c.Size, err, want)
			}
			e.checkCosigned(c, want, cosigned)
		}
		commit := func(g int64) {
			t.Helper()
			if _, err := svc.CommitDraw(ctx, g); err != nil {
				t.Fatal(err)
			}
		}
		publish := func(want uint64) {
			t.Helper()
			a, err := svc.PublishCheckpoint(ctx)
			if err != nil || !a.Attested || a.TreeSize != want {
				t.Fatalf("publish: %+v, %v; want size %d attested", a, err, want)
			}
		}
		sign := func(want uint64) {
			t.Helper()
			if c, err := svc.Checkpoint(ctx); err != nil || c.Size != want {
				t.Fatalf("checkpoint of size %d, %v; want %d", c.Size, err, want)
			}
		}

		commit(1)
		served(1, false)
		publish(1)
		served(1, true)

		commit(2)
		sign(2)
		served(1, true)
		publish(2)
		served(2, true)

		// Cosignature lines with the witnesses' names and key hashes that
		// do not verify are counted by the store, but not served.
		commit(3)
		sign(3)
		var forged []note.Signature
		for _, w := range e.witnesses {
			raw := binary.BigEndian.AppendUint32(nil, w.Verifier().KeyHash())
			forged = append(forged, note.Signature{Name: w.Name(), Hash: w.Verifier().KeyHash(),
				Base64: base64.StdEncoding.EncodeToString(append(raw, make([]byte, 72)...))})
		}
		if err := e.store.SaveCosignatures(ctx, 3, forged); err != nil {
			t.Fatal(err)
		}
		if c, err := e.store.LatestCosignedCheckpoint(ctx, []string{e.witnesses[0].Name(), e.witnesses[1].Name()}, 2, math.MaxUint64); err != nil || c.Size != 3 {
			t.Fatalf("the store's latest cosigned checkpoint: %d, %v; want the forged 3", c.Size, err)
		}
		served(2, true)

		// Without witnesses, the latest signed one.
		e = newV2Env(t, backend, 0)
		svc = e.service(nil, e.beacons(drandtest.Honest), nil)
		commit(1)
		sign(1)
		commit(2)
		sign(2)
		served(2, false)
	})
}

// TestLogServesAQuorumOfCosignatures: with a quorum of one of two
// witnesses, a checkpoint one of them cosigned is served over a later one
// none cosigned.
func TestLogServesAQuorumOfCosignatures(t *testing.T) {
	e := newV2Env(t, "sqlite", 2)
	e.quorum = 1
	svc := e.service(nil, e.beacons(drandtest.Honest), nil)
	ctx := context.Background()
	e.witnesses[1].SetMode(witnesstest.Down)
	if _, err := svc.CommitDraw(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if a, err := svc.PublishCheckpoint(ctx); err != nil || !a.Attested || a.Cosigned != 1 {
		t.Fatalf("publish: %+v, %v; want attested by one witness", a, err)
	}
	if _, err := svc.CommitDraw(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := svc.LogCheckpoint(ctx)
	if err != nil || c.Size != 1 {
		t.Fatalf("served the checkpoint of size %d, %v; want 1", c.Size, err)
	}
	e.checkCosigned(c, 1, true)
}

// checkCosigned checks that a served checkpoint of the given size is
// signed by the log and, if cosigned, carries a quorum of the witnesses'
// cosignatures and no other line; if not, none.
func (e *v2env) checkCosigned(c participant.LogCheckpoint, size uint64, cosigned bool) {
	e.t.Helper()
	logKey, err := drawlog.NewLogVerifier(e.signer.VerifierKey())
	if err != nil {
		e.t.Fatal(err)
	}
	cp, n, err := drawlog.VerifyCheckpoint(c.Note, logKey)
	if err != nil || cp.Size != size {
		e.t.Fatalf("the served checkpoint %q: size %d, %v; want %d", c.Note, cp.Size, err, size)
	}
	var ws []note.Verifier
	for _, w := range e.witnesses {
		ws = append(ws, w.Verifier())
	}
	quorum := e.quorum
	if quorum == 0 {
		quorum = len(ws)
	}
	cosigs, err := drawlog.VerifyCosignatures(n, ws, 0)
	switch {
	case err != nil:
		e.t.Fatal(err)
	case !cosigned && len(n.UnverifiedSigs) != 0:
		e.t.Fatalf("the checkpoint of size %d carries %d cosignatures, want none", size, len(n.UnverifiedSigs))
	case cosigned && (len(cosigs) < quorum || len(cosigs) != len(n.UnverifiedSigs)):
		e.t.Fatalf("the checkpoint of size %d carries %d lines, %d of them witnesses' that verify; want a quorum of %d and nothing else", size, len(n.UnverifiedSigs), len(cosigs), quorum)
	}
}

// TestGeneratedLogKeyIsShared: without a configured key, the first
// replica to need one generates it and keeps it in the database, and every
// replica signs with it.
func TestGeneratedLogKeyIsShared(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		st := testenv.OpenStore(t, backend)
		ctx := context.Background()
		a := participant.NewService(st, nil, nil, participant.Options{})
		b := participant.NewService(testenv.ReopenStore(t, st), nil, nil, participant.Options{})
		ka, err := a.LogKey(ctx)
		if err != nil || !ka.Generated || ka.Origin != participant.DefaultLogOrigin || ka.Quorum != 0 {
			t.Fatalf("key = %+v, %v", ka, err)
		}
		kb, err := b.LogKey(ctx)
		if err != nil || kb.VerifierKey != ka.VerifierKey {
			t.Fatalf("the second replica's key %q, %v; want %q", kb.VerifierKey, err, ka.VerifierKey)
		}
		if _, err := a.CommitDraw(ctx, 1); err != nil {
			t.Fatal(err)
		}
		ca, err := a.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := b.Checkpoint(ctx)
		if err != nil || cb.Note != ca.Note || ca.Size != 1 {
			t.Fatalf("two replicas signed size %d differently: %q and %q (%v)", ca.Size, ca.Note, cb.Note, err)
		}
	})
}

// TestBackfillLogsOldDrawsOnce: draws from before the log (here: their
// entries removed) get, once, a legacy entry for a drawn v1 record (the
// SHA-256 of its canonical JSON) and a commit entry for a committed one,
// however often and on however many replicas the backfill runs; later
// events of those giveaways follow their entry by the log's rules.
func TestBackfillLogsOldDrawsOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		st := testenv.OpenStore(t, backend)
		ctx := context.Background()
		svc := participant.NewService(st, nil, nil, participant.Options{})
		e := &v2env{t: t, store: st}
		e.enter(svc, 1, 10, 20, 30)
		if _, err := svc.SelectWinners(ctx, 1, participant.SelectRequest{WinnerCount: 2}); err != nil {
			t.Fatal(err)
		}
		e.enter(svc, 2, 10)
		if _, err := svc.CommitDraw(ctx, 3); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"DELETE FROM log_entries", "DELETE FROM log_nodes", "UPDATE log_head SET size = 0, compact = ?",
			"UPDATE draws SET log_seq = 0, log_last = NULL"} {
			var err error
			if q == "UPDATE log_head SET size = 0, compact = ?" {
				_, err = st.DB().ExecContext(ctx, q, []byte{})
			} else {
				_, err = st.DB().ExecContext(ctx, q)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		replicas := []*participant.Service{svc, participant.NewService(testenv.ReopenStore(t, st), nil, nil, participant.Options{})}
		var wg sync.WaitGroup
		results := make([]participant.BackfillResult, 4)
		for i := range results {
			wg.Go(func() {
				var err error
				results[i], err = replicas[i%2].BackfillLog(ctx)
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var total participant.BackfillResult
		for _, r := range results {
			total.Legacy += r.Legacy
			total.Commits += r.Commits
		}
		if total != (participant.BackfillResult{Legacy: 1, Commits: 2}) {
			t.Fatalf("backfills logged %+v in all, want 1 legacy and 2 commits", total)
		}
		if again, err := svc.BackfillLog(ctx); err != nil || again != (participant.BackfillResult{}) {
			t.Fatalf("a second backfill = %+v, %v; want nothing", again, err)
		}
		d, err := st.Draw(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := st.GiveawayLog(ctx, 1)
		if err != nil || len(entries) != 1 {
			t.Fatalf("giveaway 1 has %d entries, %v", len(entries), err)
		}
		b, _ := json.Marshal(d.Record)
		want, _ := drawlog.RecordSHA256(b)
		got, err := drawlog.Parse(entries[0].Data)
		if err != nil || got.Type() != drawlog.TypeLegacy || got.(drawlog.Legacy).RecordSHA256 != want {
			t.Fatalf("legacy entry %s, %v; want record_sha256 %s", entries[0].Data, err, want)
		}
		// Later events follow: a v1 redraw after the legacy entry, the
		// draw of a backfilled commitment.
		winner := d.Record.Winners[0].UserID
		if _, err := svc.Redraw(ctx, 1, participant.RedrawRequest{DisqualifiedUserIDs: []int64{winner}, Reason: "left the channel"}); err != nil {
			t.Fatal(err)
		}
		if got := e.checkHistory(1); !slices.Equal(got, []drawlog.Type{drawlog.TypeLegacy, drawlog.TypeRedrawRequest, drawlog.TypeRedraw}) {
			t.Fatalf("giveaway 1's log %v", got)
		}
		if _, err := svc.SelectWinners(ctx, 2, participant.SelectRequest{WinnerCount: 1}); err != nil {
			t.Fatal(err)
		}
		if got := e.checkHistory(2); !slices.Equal(got, []drawlog.Type{drawlog.TypeCommit, drawlog.TypeFreeze, drawlog.TypeDraw}) {
			t.Fatalf("giveaway 2's log %v", got)
		}
	})
}

// TestV1GiveawayStaysV1: a giveaway committed while the service drew v1
// is drawn and redrawn as v1 after the option changed to v2, its events
// logged in v1's shape; a giveaway new after the change is v2.
func TestV1GiveawayStaysV1(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 0)
		ctx := context.Background()
		v1 := e.service(nil, nil, func(o *participant.Options) { o.DrawVersion = draw.Version })
		if _, err := v1.CommitDraw(ctx, 5); err != nil {
			t.Fatal(err)
		}
		v2 := e.service(nil, e.beacons(drandtest.Honest), nil)
		e.enter(v2, 5, 1, 2, 3, 4)
		sel, err := v2.SelectWinners(ctx, 5, participant.SelectRequest{WinnerCount: 2, Beacon: "abcd"})
		if err != nil || sel.Method != draw.Version || sel.Record.Version != draw.Version || sel.Record.Beacon.String() != "abcd" {
			t.Fatalf("selection %+v, %v; want a v1 draw with the caller's beacon", sel, err)
		}
		if err := draw.Verify(sel.Record, draw.VerifyOptions{Entrants: []int64{1, 2, 3, 4}}); err != nil {
			t.Fatal(err)
		}
		res, err := v2.Redraw(ctx, 5, participant.RedrawRequest{DisqualifiedUserIDs: []int64{sel.Record.Winners[1].UserID}, Reason: "free text is fine in v1"})
		if err != nil || res.Round.Reason != "free text is fine in v1" {
			t.Fatalf("v1 redraw %+v, %v", res.Round, err)
		}
		if err := draw.Verify(res.Record, draw.VerifyOptions{Entrants: []int64{1, 2, 3, 4}}); err != nil {
			t.Fatal(err)
		}
		if got := e.checkHistory(5); !slices.Equal(got, []drawlog.Type{drawlog.TypeCommit, drawlog.TypeFreeze, drawlog.TypeDraw,
			drawlog.TypeRedrawRequest, drawlog.TypeRedraw}) {
			t.Fatalf("log %v", got)
		}
		d, err := v2.CommitDraw(ctx, 6)
		if err != nil || d.Version != draw.VersionV2 || d.PublicRecord().ChainHash != draw.Hash(e.chain.Info.Hash) || d.PublicRecord().BeaconDelay != 5 {
			t.Fatalf("a new giveaway: %+v, %v; want v2 on the test chain", d.PublicRecord(), err)
		}
		if _, err := v2.SelectWinners(ctx, 6, participant.SelectRequest{WinnerCount: 1, Beacon: "abcd"}); code(t, err) != participant.CodeInvalidBeacon {
			t.Fatalf("a caller beacon for a v2 draw: %v, want INVALID_BEACON", err)
		}
	})
}

// TestRedrawV2Verifies: a v2 redraw disqualifies a current winner for a
// reason of the fixed set, logs and attests its request, waits for its own
// beacon round and draws the replacement; the record verifies with every
// check, repeating the request returns the same round, and bad requests
// are refused with their codes.
func TestRedrawV2Verifies(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 1)
		svc := e.service(nil, e.beacons(drandtest.Honest), nil)
		ctx := context.Background()
		const gid = 21
		users := []int64{101, 102, 103, 104, 105, 106}
		e.enter(svc, gid, users...)
		sel, err := svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		loser := int64(0)
		for _, u := range users {
			if u != sel.Record.Winners[0].UserID && u != sel.Record.Winners[1].UserID {
				loser = u
			}
		}
		if _, err := svc.Redraw(ctx, gid, participant.RedrawRequest{DisqualifiedUserIDs: []int64{loser}, Reason: "fraud"}); code(t, err) != participant.CodeNotAWinner {
			t.Fatalf("redraw of a non-winner: %v", err)
		}
		_, err = svc.Redraw(ctx, gid, participant.RedrawRequest{DisqualifiedUserIDs: []int64{sel.Record.Winners[0].UserID}, Reason: "left"})
		if code(t, err) != participant.CodeInvalidReason || !containsAll(err.Error(), "not_subscribed", "fraud", "rules_violation") {
			t.Fatalf("a reason outside the set: %v; want INVALID_REASON listing the reasons", err)
		}
		gone := sel.Record.Winners[0].UserID
		req := participant.RedrawRequest{Disqualified: []draw.Disqualification{{UserID: gone, Reason: draw.ReasonFraud}}}
		start := time.Now()
		res, err := svc.Redraw(ctx, gid, req)
		if err != nil {
			t.Fatal(err)
		}
		rd := res.Round
		if res.AlreadyApplied || rd.Round != 1 || len(rd.Replacements) != 1 || rd.Replacements[0].ReplacesUserID != gone || rd.RequestAttestation == nil {
			t.Fatalf("round %+v", rd)
		}
		if time.Since(start) < testBeaconDelay-time.Second {
			t.Fatalf("the round was drawn after %v, before its beacon round", time.Since(start))
		}
		opts := e.verifyOptions(gid, users)
		rep, err := draw.VerifyReport(res.Record, opts)
		if err != nil || len(rep.Skipped) != 0 || !passed(rep, "replacements") || !passed(rep, "log") {
			t.Fatalf("verify = %+v, %v", rep, err)
		}
		again, err := svc.Redraw(ctx, gid, req)
		if err != nil || !again.AlreadyApplied || recordJSON(t, again.Record) != recordJSON(t, res.Record) {
			t.Fatalf("the repeated request = %+v, %v", again, err)
		}
		if got := e.checkHistory(gid); !slices.Equal(got, []drawlog.Type{drawlog.TypeCommit, drawlog.TypeFreeze, drawlog.TypeDraw,
			drawlog.TypeRedrawRequest, drawlog.TypeRedraw}) {
			t.Fatalf("log %v", got)
		}
		ws, err := e.store.Winners(ctx, gid)
		if err != nil || len(ws) != 2 || slices.ContainsFunc(ws, func(w participant.Winner) bool { return w.UserID == gone }) {
			t.Fatalf("winners after the redraw: %+v, %v", ws, err)
		}
		if u, _ := e.store.User(ctx, gone); u.TotalWins != 0 {
			t.Fatalf("the disqualified winner keeps %d wins", u.TotalWins)
		}
	})
}

// TestRedrawV2ResumesOnTheSameRound: a redraw round whose call stopped
// before its beacon (every relay down) stays pending on its round: another
// round cannot be asked for meanwhile, and the same request, or the
// background finisher, completes it on that round.
func TestRedrawV2ResumesOnTheSameRound(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 0)
		ctx := context.Background()
		up := e.service(nil, e.beacons(drandtest.Honest), nil)
		const gid = 31
		e.enter(up, gid, 1, 2, 3, 4, 5)
		sel, err := up.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		down := e.service(nil, e.beacons(drandtest.Down), nil)
		req := participant.RedrawRequest{DisqualifiedUserIDs: []int64{sel.Record.Winners[1].UserID}, Reason: string(draw.ReasonUnreachable)}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := down.Redraw(cctx, gid, req); code(t, err) != participant.CodeBeaconUnavailable {
			t.Fatalf("redraw without a beacon: %v", err)
		}
		d, err := e.store.Draw(ctx, gid)
		if err != nil || d.PendingRedraw == nil || d.PendingRedraw.Round != 1 {
			t.Fatalf("pending %+v, %v", d.PendingRedraw, err)
		}
		other := participant.RedrawRequest{DisqualifiedUserIDs: []int64{sel.Record.Winners[0].UserID}, Reason: string(draw.ReasonDeclined)}
		if _, err := up.Redraw(ctx, gid, other); code(t, err) != participant.CodeRedrawInProgress {
			t.Fatalf("another round while one is pending: %v", err)
		}
		time.Sleep(time.Until(d.BeaconAt) + 100*time.Millisecond)
		if n, err := up.FinishPendingDraws(ctx); err != nil || n != 1 {
			t.Fatalf("finished %d, %v", n, err)
		}
		res, err := up.Redraw(ctx, gid, req)
		if err != nil || !res.AlreadyApplied || res.Round.BeaconRound != d.PendingRedraw.BeaconRound {
			t.Fatalf("the same request after = %+v, %v; want round 1 on beacon round %d", res.Round, err, d.PendingRedraw.BeaconRound)
		}
		if err := draw.Verify(res.Record, e.verifyOptions(gid, []int64{1, 2, 3, 4, 5})); err != nil {
			t.Fatal(err)
		}
	})
}
