package draw_test

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// verifyBudget bounds one call of the decoding and verification under test.
// The fuzz inputs are a few kilobytes at most, which take microseconds; the
// bound is loose so that a slow shared CI machine (and -race) never trips
// it, yet catches anything quadratic in a count the input only claims.
const verifyBudget = 3 * time.Second

// checks are the names a VerifyError may carry: v1's, then those only v2
// has (a fuzzed record may name either version).
var checks = []string{"version", "status", "commitment", "timing", "entrants", "draw_seed", "winners", "replacements", "proof",
	"chain", "beacon_round", "beacon", "attestation", "total_tickets", "log"}

// timed runs fn and fails the test when it takes longer than verifyBudget.
func timed[T any](t *testing.T, what string, fn func() T) T {
	t.Helper()
	start := time.Now()
	v := fn()
	if d := time.Since(start); d > verifyBudget {
		t.Fatalf("%s took %v, more than %v", what, d, verifyBudget)
	}
	return v
}

// checkVerifyError fails unless err is nil or a *VerifyError naming one of
// the documented checks, with a reason.
func checkVerifyError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ve *draw.VerifyError
	if !errors.As(err, &ve) || !slices.Contains(checks, ve.Check) || ve.Reason == "" {
		t.Fatalf("%s: %T %v is not a VerifyError with a known check and a reason", what, err, err)
	}
}

// parseEntrantList reads an entrant list in the format of GET
// .../draw/entrants (one user id per line). Anything else is "no list".
func parseEntrantList(s string) []int64 {
	out := []int64{}
	for _, f := range strings.Fields(s) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil
		}
		out = append(out, id)
	}
	return out
}

// inUTCRange reports whether a time can be written as RFC 3339, which needs
// a four-digit year once converted to UTC.
func inUTCRange(ts time.Time) bool {
	y := ts.UTC().Year()
	return y >= 0 && y <= 9999
}

func encodable(r draw.Record) bool {
	if !inUTCRange(r.CommittedAt) || !inUTCRange(r.DrawnAt) {
		return false
	}
	for _, rd := range r.Replacements {
		if !inUTCRange(rd.RedrawnAt) {
			return false
		}
	}
	return true
}

// FuzzVerifyRecord decodes a record, an entrant list and proofs the way a
// verifier gets them from the API (or from a hostile server) and verifies
// the record with every combination of the evidence. It must never panic
// or take long; any failure must be a VerifyError; more evidence can only
// turn a pass into a failure, never the reverse; and what passes must mean
// what it says: the record survives re-encoding, the winners are the listed
// entrants at their indices, and each proof is the one the entrant list
// gives.
func FuzzVerifyRecord(f *testing.F) {
	r, e := fuzzFixture(f)
	rec, _ := json.Marshal(r)
	var list strings.Builder
	for _, id := range e {
		list.WriteString(strconv.FormatInt(id, 10) + "\n")
	}
	var proofs []draw.Proof
	for _, id := range []int64{r.CurrentWinners()[0].UserID, e[0], e[len(e)-1]} {
		p, err := r.Proof(e, id)
		if err != nil {
			f.Fatal(err)
		}
		proofs = append(proofs, p)
	}
	proofJSON, _ := json.Marshal(proofs)
	f.Add(rec, list.String(), proofJSON)
	f.Add(rec, "", []byte(nil))
	f.Add([]byte(`{"version":"telegive-draw-v1","status":"committed"}`), "1\n2\n", []byte(`[]`))

	f.Fuzz(func(t *testing.T, recordJSON []byte, entrantList string, proofsJSON []byte) {
		var r draw.Record
		if err := timed(t, "decoding the record", func() error { return json.Unmarshal(recordJSON, &r) }); err != nil {
			return
		}
		entrants := parseEntrantList(entrantList)
		var proofs []draw.Proof
		if json.Unmarshal(proofsJSON, &proofs) != nil {
			proofs = nil
		}

		verify := func(what string, opts draw.VerifyOptions) error {
			err := timed(t, what, func() error { return draw.Verify(r, opts) })
			checkVerifyError(t, what, err)
			return err
		}
		bare := verify("Verify(record)", draw.VerifyOptions{})
		withEntrants := verify("Verify(record, entrants)", draw.VerifyOptions{Entrants: entrants})
		withProofs := verify("Verify(record, proofs)", draw.VerifyOptions{Proofs: proofs})
		withBoth := verify("Verify(record, entrants, proofs)", draw.VerifyOptions{Entrants: entrants, Proofs: proofs})

		// Evidence only adds checks.
		if bare != nil && (withEntrants == nil || withProofs == nil || withBoth == nil) {
			t.Fatalf("the record fails alone (%v) but passes with more evidence: entrants %v, proofs %v, both %v",
				bare, withEntrants, withProofs, withBoth)
		}
		if withBoth == nil && (withEntrants != nil || withProofs != nil) {
			t.Fatalf("passes with entrants and proofs but not with one of them: %v, %v", withEntrants, withProofs)
		}
		if bare != nil {
			return
		}

		// A verified record is drawn and self-consistent.
		k := min(r.WinnerCountRequested, r.EntrantsCount)
		if r.Status != draw.StatusDrawn || uint64(len(r.Winners)) != k {
			t.Fatalf("verified a record with status %q and %d winners of %d", r.Status, len(r.Winners), k)
		}
		seen := map[int]bool{}
		for _, w := range r.CurrentWinners() {
			if w.Index >= r.EntrantsCount || w.Position < 1 || uint64(w.Position) > k || seen[w.Position] {
				t.Fatalf("verified a record whose current winner %+v is out of range or repeated", w)
			}
			seen[w.Position] = true
		}
		if encodable(r) {
			out, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("a verified record does not encode: %v", err)
			}
			var back draw.Record
			if err := json.Unmarshal(out, &back); err != nil || !reflect.DeepEqual(back, r) {
				t.Fatalf("re-encoding changed the verified record (%v):\n got %+v\nwant %+v", err, back, r)
			}
		}
		if withEntrants == nil && entrants != nil {
			for _, w := range r.CurrentWinners() {
				if entrants[w.Index] != w.UserID {
					t.Fatalf("verified against the entrants, yet winner %+v is not entrant %d", w, entrants[w.Index])
				}
			}
		}
		if withBoth == nil && entrants != nil {
			for _, p := range proofs {
				want, err := r.Proof(entrants, p.UserID)
				if err != nil || want.LeafIndex != p.LeafIndex || want.IsWinner != p.IsWinner || want.Position != p.Position ||
					!slices.Equal(want.AuditPath, p.AuditPath) {
					t.Fatalf("verified proof %+v differs from the entrant list's %+v (%v)", p, want, err)
				}
			}
		}
	})
}

// fuzzFixture is a drawn record with a redraw round over 12 entrants,
// small so that the fuzzer can afford to minimise inputs made from it.
func fuzzFixture(tb testing.TB) (draw.Record, []int64) {
	e := make([]int64, 12)
	for i := range e {
		e[i] = int64(1000 + 7*i)
	}
	seed := sha256.Sum256([]byte("fuzz fixture"))
	r, err := draw.Draw(draw.Input{GiveawayID: 77, ServerSeed: seed[:], Entrants: e, Beacon: []byte{0xbe, 0xac},
		CommittedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), DrawnAt: time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC), WinnerCount: 3})
	if err != nil {
		tb.Fatal(err)
	}
	rd, err := r.Redraw(e, []int64{r.Winners[1].UserID}, "left the channel", r.DrawnAt.Add(time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	r.Replacements = append(r.Replacements, rd)
	return r, e
}

// fuzzEntrants turns bytes into a strictly ascending list of positive ids
// from start: each pair of bytes is the gap to the next id. It stops before
// an id would overflow, and at 512 entrants.
func fuzzEntrants(start int64, gaps []byte) []int64 {
	id := max(start, 1)
	out := []int64{}
	for i := 0; i+1 < len(gaps) && len(out) < 512; i += 2 {
		out = append(out, id)
		gap := 1 + (int64(gaps[i])<<8 | int64(gaps[i+1]))
		if id > math.MaxInt64-gap {
			break
		}
		id += gap
	}
	return out
}

// unbound clears what a record states but the protocol does not bind, so
// that a verifier cannot detect a change in it: the times (only their
// order is checked), the redraw reasons, and a requested winner count at or
// above the number of entrants (all of whom win either way).
func unbound(r draw.Record) draw.Record {
	r.CommittedAt, r.DrawnAt = time.Time{}, time.Time{}
	r.WinnerCountRequested = min(r.WinnerCountRequested, r.EntrantsCount)
	rounds := make([]draw.Redraw, len(r.Replacements))
	for i, rd := range r.Replacements {
		rd.Reason, rd.RedrawnAt = "", time.Time{}
		rounds[i] = rd
	}
	r.Replacements = rounds
	return r
}

// FuzzDrawDifferential draws from fuzzed inputs, optionally redraws, and
// holds the result against the verifier: the record verifies with its
// entrants and proofs and survives JSON; and flipping bits of any one byte
// of its JSON gives a record that fails to decode, fails verification, or
// differs from the original only in what the protocol does not bind.
func FuzzDrawDifferential(f *testing.F) {
	f.Add([]byte("seed"), int64(42), int64(1), []byte{0, 3, 0, 1, 1, 0, 0, 9, 0, 0}, []byte{}, uint16(2), uint32(3600), uint64(1), uint32(100), uint8(1))
	f.Add([]byte{}, int64(-1), int64(math.MaxInt64-3), []byte{0, 0, 0, 0, 0, 0}, []byte{0xff}, uint16(65535), uint32(0), uint64(0), uint32(7), uint8(0x20))
	f.Fuzz(func(t *testing.T, seed []byte, giveawayID, start int64, gaps, beacon []byte, winnerCount uint16,
		drawnAfter uint32, disqualify uint64, mutateAt uint32, mutateXor uint8) {
		serverSeed := sha256.Sum256(seed)
		entrants := fuzzEntrants(start, gaps)
		committed := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
		in := draw.Input{GiveawayID: giveawayID, ServerSeed: serverSeed[:], Entrants: entrants, Beacon: beacon,
			CommittedAt: committed, DrawnAt: committed.Add(time.Duration(drawnAfter) * time.Second), WinnerCount: uint64(winnerCount)}
		r, err := draw.Draw(in)
		if winnerCount == 0 {
			if err == nil {
				t.Fatal("Draw accepted a winner count of 0")
			}
			return
		}
		if err != nil {
			t.Fatalf("Draw refused valid input: %v", err)
		}
		if again, _ := draw.Draw(in); !reflect.DeepEqual(again, r) {
			t.Fatal("Draw is not deterministic")
		}
		k := min(uint64(winnerCount), uint64(len(entrants)))
		if uint64(len(r.Winners)) != k {
			t.Fatalf("%d winners of %d entrants for %d asked", len(r.Winners), len(entrants), winnerCount)
		}

		// A redraw of the winners picked by the disqualify bits.
		var dq []int64
		for _, w := range r.Winners {
			if disqualify>>(uint(w.Position-1)%64)&1 == 1 {
				dq = append(dq, w.UserID)
			}
		}
		if len(dq) > 0 {
			rd, err := r.Redraw(entrants, dq, "fuzz: disqualified", in.DrawnAt.Add(time.Hour))
			if err != nil {
				t.Fatalf("Redraw of current winners %v: %v", dq, err)
			}
			if want := min(len(dq), len(entrants)-len(r.Winners)); len(rd.Replacements) != want {
				t.Fatalf("%d replacements for %d disqualified with %d entrants left", len(rd.Replacements), len(dq), len(entrants)-len(r.Winners))
			}
			r.Replacements = append(r.Replacements, rd)
		}

		// Proofs for the disqualified winners and for the first entrant.
		var proofs []draw.Proof
		for _, id := range append(slices.Clone(dq), entrants[:min(len(entrants), 1)]...) {
			p, err := r.Proof(entrants, id)
			if err != nil {
				t.Fatalf("Proof(%d): %v", id, err)
			}
			proofs = append(proofs, p)
		}
		if err := timed(t, "Verify", func() error {
			return draw.Verify(r, draw.VerifyOptions{Entrants: entrants, Proofs: proofs})
		}); err != nil {
			t.Fatalf("a record drawn from valid input does not verify: %v", err)
		}

		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back draw.Record
		if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("JSON round trip changed the record (%v)", err)
		}

		mutated := slices.Clone(data)
		i := int(mutateAt % uint32(len(mutated)))
		mutated[i] ^= max(mutateXor, 1)
		var m draw.Record
		if json.Unmarshal(mutated, &m) != nil {
			return
		}
		if timed(t, "Verify(mutated)", func() error {
			return draw.Verify(m, draw.VerifyOptions{Entrants: entrants})
		}) != nil {
			return
		}
		if !reflect.DeepEqual(unbound(m), unbound(r)) {
			t.Fatalf("changing byte %d (%q to %q) gives a different record that still verifies:\n%s",
				i, data[i], mutated[i], mutated)
		}
	})
}
