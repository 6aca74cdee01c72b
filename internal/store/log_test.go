package store_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// makeDraws creates committed draw rows for giveaways 1..n, which log
// entries need.
func makeDraws(t testing.TB, s *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	err := s.InTx(ctx, func(q participant.Queries) error {
		for g := int64(1); g <= int64(n); g++ {
			seed := make([]byte, 32)
			seed[0] = byte(g)
			fresh := participant.Draw{GiveawayID: g, Status: participant.DrawCommitted, ServerSeed: seed,
				Commitment: draw.Commitment(seed), CommittedAt: t0}
			if _, err := q.EnsureDraw(ctx, g, fresh, participant.LockExclusive); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// appendRounds appends rounds batches of one entry for each of giveaways
// 1..n, and returns every entry's bytes in log order.
func appendRounds(t testing.TB, s *store.Store, n, rounds int) [][]byte {
	t.Helper()
	ctx := context.Background()
	var all [][]byte
	for r := range rounds {
		batch := make([]participant.LogAppend, n)
		for g := range n {
			batch[g] = participant.LogAppend{GiveawayID: int64(g + 1), Type: drawlog.TypeCommit, Seq: uint64(r),
				Data: fmt.Appendf(nil, "entry %d of giveaway %d", r, g+1)}
		}
		err := s.InTx(ctx, func(q participant.Queries) error {
			idx, err := q.AppendLog(ctx, batch...)
			if err != nil {
				return err
			}
			for i, x := range idx {
				if want := uint64(len(all) + i); x != want {
					t.Errorf("entry %d got index %d, want %d", len(all)+i, x, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			all = append(all, e.Data)
		}
	}
	return all
}

func leafHashes(entries [][]byte) []drawlog.Hash {
	out := make([]drawlog.Hash, len(entries))
	for i, e := range entries {
		out[i] = drawlog.LeafHash(e)
	}
	return out
}

// TestLogProofsVerify: a log of a few thousand entries, appended in
// batches, has the root of its entries, and its stored nodes give
// inclusion and consistency proofs that pkg/drawlog verifies, for every
// kind of index and size (powers of two, their neighbours, random ones).
func TestLogProofsVerify(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const giveaways, rounds = 100, 31
		makeDraws(t, s, giveaways)
		entries := appendRounds(t, s, giveaways, rounds)
		leaves := leafHashes(entries)
		n := uint64(len(entries))

		head, err := s.LogHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head.Size != n || head.Root != drawlog.RootHash(leaves) {
			t.Fatalf("head = %d %s, want %d %s", head.Size, head.Root, n, drawlog.RootHash(leaves))
		}
		sizes := []uint64{1, 2, 3, 4, 5, 7, 8, 9, 1023, 1024, 1025, 2048, n - 1, n}
		for range 20 {
			sizes = append(sizes, 1+mrand.Uint64N(n))
		}
		roots := map[uint64]drawlog.Hash{}
		for _, size := range sizes {
			roots[size] = drawlog.RootHash(leaves[:size])
		}
		for _, size := range sizes {
			indices := []uint64{0, size - 1, size / 2, mrand.Uint64N(size)}
			for _, i := range indices {
				path, err := s.LogInclusionProof(ctx, i, size)
				if err != nil {
					t.Fatalf("inclusion %d in %d: %v", i, size, err)
				}
				if err := drawlog.VerifyInclusion(i, size, leaves[i], path, roots[size]); err != nil {
					t.Fatalf("inclusion %d in %d does not verify: %v", i, size, err)
				}
				if size > 1 {
					if err := drawlog.VerifyInclusion(i, size, drawlog.LeafHash([]byte("another entry")), path, roots[size]); err == nil {
						t.Fatalf("inclusion %d in %d verifies for another entry", i, size)
					}
				}
			}
			for _, first := range sizes {
				if first > size {
					continue
				}
				p, err := s.LogConsistencyProof(ctx, first, size)
				if err != nil {
					t.Fatalf("consistency %d to %d: %v", first, size, err)
				}
				if err := drawlog.VerifyConsistency(first, size, p, roots[first], roots[size]); err != nil {
					t.Fatalf("consistency %d to %d does not verify: %v", first, size, err)
				}
			}
		}
		if _, err := s.LogInclusionProof(ctx, 0, n+1); err == nil {
			t.Fatal("a proof in a tree larger than the log was given")
		}

		got, err := s.LogEntries(ctx, 1000, 1003)
		if err != nil || len(got) != 3 || got[0].Index != 1000 || string(got[2].Data) != string(entries[1002]) {
			t.Fatalf("entries [1000, 1003) = %+v, %v", got, err)
		}
		mine, err := s.GiveawayLog(ctx, 7)
		if err != nil || len(mine) != rounds || mine[1].Index != giveaways+6 || mine[1].GiveawayID != 7 {
			t.Fatalf("giveaway 7's log = %d entries, %v", len(mine), err)
		}
		d, err := s.Draw(ctx, 7)
		if err != nil || d.LogSeq != rounds || d.LogLast == nil || *d.LogLast != mine[rounds-1].Index {
			t.Fatalf("draw 7 stands at seq %d, last %v; want %d, %d", d.LogSeq, d.LogLast, rounds, mine[rounds-1].Index)
		}
	})
}

// TestAppendRefusesAStaleSeq: an entry whose seq is not its giveaway's
// next is refused and nothing of its transaction stays: the log and the
// draw row are as they were.
func TestAppendRefusesAStaleSeq(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		makeDraws(t, s, 2)
		appendRounds(t, s, 2, 1)
		err := s.InTx(ctx, func(q participant.Queries) error {
			_, err := q.AppendLog(ctx, participant.LogAppend{GiveawayID: 1, Type: drawlog.TypeFreeze, Seq: 0, Data: []byte("stale")})
			return err
		})
		if err == nil {
			t.Fatal("an entry at a stale seq was appended")
		}
		err = s.InTx(ctx, func(q participant.Queries) error {
			_, err := q.AppendLog(ctx, participant.LogAppend{GiveawayID: 99, Type: drawlog.TypeCommit, Data: []byte("no draw")})
			return err
		})
		if err == nil {
			t.Fatal("an entry of a giveaway without a draw row was appended")
		}
		head, err := s.LogHead(ctx)
		if err != nil || head.Size != 2 {
			t.Fatalf("head size %d, %v; want 2", head.Size, err)
		}
		if es, _ := s.LogEntries(ctx, 0, 10); len(es) != 2 {
			t.Fatalf("%d entries stored, want 2", len(es))
		}
	})
}

// TestConcurrentAppendsStayDense: appends from many transactions on two
// stores (as two replicas) at once are serialised by the head row: every
// index from 0 is used exactly once, and the head's root is the root of
// the entries stored.
func TestConcurrentAppendsStayDense(t *testing.T) {
	t.Parallel()
	s := testenv.OpenStore(t, "postgres")
	other := testenv.ReopenStore(t, s)
	ctx := context.Background()
	const giveaways, each = 16, 10
	makeDraws(t, s, giveaways)
	var wg sync.WaitGroup
	for g := range giveaways {
		st := s
		if g%2 == 1 {
			st = other
		}
		wg.Go(func() {
			for seq := range uint64(each) {
				err := st.InTx(ctx, func(q participant.Queries) error {
					_, err := q.AppendLog(ctx, participant.LogAppend{GiveawayID: int64(g + 1), Type: drawlog.TypeCommit, Seq: seq,
						Data: fmt.Appendf(nil, "%d/%d", g+1, seq)})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	entries, err := s.LogEntries(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != giveaways*each {
		t.Fatalf("%d entries, want %d", len(entries), giveaways*each)
	}
	var data [][]byte
	for i, e := range entries {
		if e.Index != uint64(i) {
			t.Fatalf("entry %d has index %d: the indices are not dense", i, e.Index)
		}
		data = append(data, e.Data)
	}
	head, err := other.LogHead(ctx)
	if err != nil || head.Size != uint64(len(entries)) || head.Root != drawlog.RootHash(leafHashes(data)) {
		t.Fatalf("head %d %s, %v; want %d and the entries' root", head.Size, head.Root, err, len(entries))
	}
}

// TestCheckpointsAndWitnessState: checkpoints are stored once per size,
// cosignatures once per witness (the first kept), witness sizes never go
// down, and the generated key is stored once for every replica.
func TestCheckpointsAndWitnessState(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.LatestCheckpoint(ctx); !errors.Is(err, participant.ErrNotFound) {
			t.Fatalf("latest checkpoint of an empty log: %v, want not found", err)
		}
		for _, c := range []struct {
			size uint64
			note string
		}{{3, "three\n"}, {5, "five\n"}, {3, "another three\n"}} {
			if err := s.SaveCheckpoint(ctx, c.size, c.note); err != nil {
				t.Fatal(err)
			}
		}
		sig := func(name string, b byte) note.Signature {
			raw := []byte{0, 0, 0, b, 9, 9, 9}
			s, _ := noteSig(name, raw)
			return s
		}
		if err := s.SaveCosignatures(ctx, 3, []note.Signature{sig("w1", 1), sig("w2", 2)}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCosignatures(ctx, 3, []note.Signature{sig("w1", 7)}); err != nil {
			t.Fatal(err)
		}
		cs, err := s.Checkpoints(ctx, 2, 10)
		if err != nil || len(cs) != 2 || cs[0].Size != 3 || cs[0].Note != "three\n" || cs[1].Note != "five\n" {
			t.Fatalf("checkpoints = %+v, %v", cs, err)
		}
		if got := cs[0].Cosignatures; len(got) != 2 || got[0] != sig("w1", 1) || got[1] != sig("w2", 2) || got[0].Hash != 1 {
			t.Fatalf("cosignatures of size 3 = %+v, want w1's first and w2's", got)
		}
		latest, err := s.LatestCheckpoint(ctx)
		if err != nil || latest.Size != 5 || len(latest.Cosignatures) != 0 {
			t.Fatalf("latest = %+v, %v", latest, err)
		}

		if err := s.SaveWitnessSizes(ctx, map[string]uint64{"w1": 5, "w2": 3}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveWitnessSizes(ctx, map[string]uint64{"w1": 4, "w2": 8}); err != nil {
			t.Fatal(err)
		}
		sizes, err := s.WitnessSizes(ctx)
		if err != nil || sizes["w1"] != 5 || sizes["w2"] != 8 || len(sizes) != 2 {
			t.Fatalf("witness sizes = %v, %v; want w1 5, w2 8", sizes, err)
		}

		if _, err := s.EnsureLogKey(ctx, participant.LogKeyPair{}); !errors.Is(err, participant.ErrNotFound) {
			t.Fatalf("no key yet: %v", err)
		}
		k1 := newKeyPair(t)
		k2 := newKeyPair(t)
		got1, err := s.EnsureLogKey(ctx, k1)
		if err != nil || got1 != k1 {
			t.Fatalf("first key = %+v, %v", got1, err)
		}
		got2, err := testenv.ReopenStore(t, s).EnsureLogKey(ctx, k2)
		if err != nil || got2 != k1 {
			t.Fatalf("a second replica's key = %+v, %v; want the first one kept", got2, err)
		}
	})
}

// TestLatestCosignedCheckpoint: the latest checkpoint a quorum of the
// named witnesses cosigned is found below a bound, past later checkpoints
// that fewer of them cosigned or none did, with all its cosignatures;
// others' cosignatures do not count.
func TestLatestCosignedCheckpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cosigned := map[uint64][]string{2: nil, 3: {"w1", "w2"}, 5: {"w1"}, 6: {"w1", "w3"}, 7: nil, 8: {"w2", "w3"}, 9: {"w3", "w4"}}
		for size, names := range cosigned {
			if err := s.SaveCheckpoint(ctx, size, fmt.Sprintf("size %d\n", size)); err != nil {
				t.Fatal(err)
			}
			var sigs []note.Signature
			for _, name := range names {
				sig, _ := noteSig(name, []byte{0, 0, 0, byte(size), 1, 2, 3})
				sigs = append(sigs, sig)
			}
			if err := s.SaveCosignatures(ctx, size, sigs); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			witnesses []string
			quorum    int
			below     uint64
			want      uint64 // 0: none
		}{
			{[]string{"w1", "w2"}, 2, math.MaxUint64, 3},
			{[]string{"w2", "w1"}, 2, 3, 0},
			{[]string{"w1", "w2"}, 1, math.MaxUint64, 8},
			{[]string{"w1", "w2"}, 1, 8, 6},
			{[]string{"w1"}, 1, math.MaxUint64, 6},
			{[]string{"w1", "w3"}, 2, math.MaxUint64, 6},
			{[]string{"w2", "w3"}, 2, math.MaxUint64, 8},
			{[]string{"w1", "w2", "w3"}, 2, math.MaxUint64, 8},
			{[]string{"w1", "w2", "w3"}, 2, 8, 6},
			{[]string{"w1", "w2", "w3"}, 3, math.MaxUint64, 0},
			{[]string{"w1", "w1"}, 2, math.MaxUint64, 0},
			{[]string{"w5"}, 1, math.MaxUint64, 0},
		} {
			got, err := s.LatestCosignedCheckpoint(ctx, c.witnesses, c.quorum, c.below)
			if c.want == 0 {
				if !errors.Is(err, participant.ErrNotFound) {
					t.Errorf("%d of %v below %d: %+v, %v; want not found", c.quorum, c.witnesses, c.below, got, err)
				}
				continue
			}
			if err != nil || got.Size != c.want || got.Note != fmt.Sprintf("size %d\n", c.want) || len(got.Cosignatures) != len(cosigned[c.want]) {
				t.Errorf("%d of %v below %d: %+v, %v; want size %d with its %d cosignatures", c.quorum, c.witnesses, c.below, got, err, c.want, len(cosigned[c.want]))
			}
		}
		if _, err := s.LatestCosignedCheckpoint(ctx, []string{"w1"}, 0, math.MaxUint64); err == nil || errors.Is(err, participant.ErrNotFound) {
			t.Errorf("a quorum of 0: %v, want an error", err)
		}
	})
}

func newKeyPair(t *testing.T) participant.LogKeyPair {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "example.org/log")
	if err != nil {
		t.Fatal(err)
	}
	return participant.LogKeyPair{Signer: skey, Verifier: vkey}
}

// TestLogLockExcludes: WithLogLock on two stores of one database (two
// replicas) never runs its functions at once.
func TestLogLockExcludes(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		stores := []*store.Store{s, s}
		if s.Dialect() == "postgres" {
			stores[1] = testenv.ReopenStore(t, s)
		}
		var inside, overlaps, runs atomic.Int64
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				err := stores[i%2].WithLogLock(context.Background(), func(context.Context) error {
					if inside.Add(1) > 1 {
						overlaps.Add(1)
					}
					time.Sleep(20 * time.Millisecond)
					inside.Add(-1)
					runs.Add(1)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if runs.Load() != 8 || overlaps.Load() != 0 {
			t.Fatalf("%d runs, %d overlapping; want 8 and none", runs.Load(), overlaps.Load())
		}
		// A caller whose context ends while it waits gives up.
		held := make(chan struct{})
		release := make(chan struct{})
		go stores[0].WithLogLock(context.Background(), func(context.Context) error {
			close(held)
			<-release
			return nil
		})
		<-held
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := stores[1].WithLogLock(ctx, func(context.Context) error { return nil })
		close(release)
		if err == nil {
			t.Fatal("WithLogLock ran while another caller held the lock")
		}
	})
}

// TestEntrantTickets: entrants come with their tickets, and without a
// tickets slice when everyone holds one.
func TestEntrantTickets(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, u := range []int64{30, 10, 20} {
			if _, _, err := s.InsertParticipant(ctx, participant.NewParticipant{GiveawayID: 1, UserID: u, At: t0}); err != nil {
				t.Fatal(err)
			}
		}
		ids, tickets, err := s.EntrantTickets(ctx, 1, false)
		if err != nil || !slices.Equal(ids, []int64{10, 20, 30}) || tickets != nil {
			t.Fatalf("entrants = %v %v, %v; want 10 20 30 and no tickets", ids, tickets, err)
		}
		if _, err := s.DB().ExecContext(ctx, "UPDATE participants SET tickets = 3 WHERE user_id = 20"); err != nil {
			t.Fatal(err)
		}
		err = s.InTx(ctx, func(q participant.Queries) error {
			ids, tickets, err = q.EntrantTickets(ctx, 1, false)
			return err
		})
		if err != nil || !slices.Equal(ids, []int64{10, 20, 30}) || !slices.Equal(tickets, []uint64{1, 3, 1}) {
			t.Fatalf("entrants = %v %v, %v; want 10 20 30 with 1 3 1", ids, tickets, err)
		}
		ids, tickets, err = s.EntrantTicketsFrom(ctx, 1, false, 11, 1)
		if err != nil || !slices.Equal(ids, []int64{20}) || !slices.Equal(tickets, []uint64{3}) {
			t.Fatalf("entrants from 11 = %v %v, %v", ids, tickets, err)
		}
		if _, err := s.DB().ExecContext(ctx, "UPDATE participants SET tickets = 0 WHERE user_id = 10"); err == nil {
			t.Fatal("a participant was given 0 tickets")
		}
	})
}

// noteSig is a note signature line of the given name over raw, whose first
// four bytes are the key hash.
func noteSig(name string, raw []byte) (note.Signature, error) {
	return note.Signature{Name: name, Hash: binary.BigEndian.Uint32(raw), Base64: base64.StdEncoding.EncodeToString(raw)}, nil
}
