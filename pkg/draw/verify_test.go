package draw_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// verifyFixture is a drawn record with two redraw rounds, its entrants, and
// proofs for every current winner, a disqualified winner and a loser.
func verifyFixture(t *testing.T) (draw.Record, []int64, []draw.Proof) {
	t.Helper()
	r, e := mustDraw(t, 200, 5, []byte("beacon"))
	mustRedraw(t, &r, e, r.Winners[4].UserID, r.Winners[1].UserID)
	mustRedraw(t, &r, e, r.Replacements[0].Replacements[0].UserID)
	var proofs []draw.Proof
	for _, w := range r.CurrentWinners() {
		proofs = append(proofs, mustProof(t, r, e, w.UserID))
	}
	proofs = append(proofs, mustProof(t, r, e, r.Winners[4].UserID))
	for _, id := range e {
		if !slices.ContainsFunc(proofs, func(p draw.Proof) bool { return p.UserID == id }) && id != r.Winners[1].UserID {
			proofs = append(proofs, mustProof(t, r, e, id))
			break
		}
	}
	return r, e, proofs
}

func mustProof(t *testing.T, r draw.Record, e []int64, id int64) draw.Proof {
	t.Helper()
	p, err := r.Proof(e, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyAccepts(t *testing.T) {
	r, e, proofs := verifyFixture(t)
	for name, opts := range map[string]draw.VerifyOptions{
		"record only":  {},
		"entrants":     {Entrants: e},
		"proofs":       {Proofs: proofs},
		"everything":   {Entrants: e, Proofs: proofs},
		"no redraws":   {Entrants: e},
		"empty proofs": {Proofs: []draw.Proof{}},
	} {
		t.Run(name, func(t *testing.T) {
			r := r
			if name == "no redraws" {
				r.Replacements = nil
			}
			if err := draw.Verify(r, opts); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	empty, _ := mustDraw(t, 0, 1, nil)
	if err := draw.Verify(empty, draw.VerifyOptions{Entrants: []int64{}}); err != nil {
		t.Errorf("Verify of a draw without entrants: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	r, e, proofs := verifyFixture(t)
	winnerProof := proofs[0]
	cases := []struct {
		name     string
		check    string
		entrants bool
		mutate   func(r *draw.Record, p []draw.Proof) []draw.Proof
	}{
		{"version", "version", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.Version = "telegive-draw-v2"; return p }},
		{"status", "status", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.Status = draw.StatusCommitted; return p }},
		{"server seed", "commitment", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.ServerSeed = slices.Clone(r.ServerSeed)
			r.ServerSeed[0] ^= 1
			return p
		}},
		{"short server seed", "commitment", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.ServerSeed = r.ServerSeed[:16]
			r.Commitment = draw.Commitment(r.ServerSeed)
			return p
		}},
		{"commitment", "commitment", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.Commitment[5] ^= 1; return p }},
		{"timing", "timing", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.CommittedAt = r.DrawnAt.Add(time.Second)
			return p
		}},
		{"root with entrants", "entrants", true, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.EntrantsRoot[0] ^= 1; return p }},
		{"root", "draw_seed", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.EntrantsRoot[0] ^= 1; return p }},
		{"count with entrants", "entrants", true, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.EntrantsCount--; return p }},
		{"count", "draw_seed", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.EntrantsCount--; return p }},
		{"beacon", "draw_seed", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.Beacon = nil; return p }},
		{"giveaway id", "draw_seed", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.GiveawayID++; return p }},
		{"draw seed", "draw_seed", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.DrawSeed[31] ^= 1; return p }},
		{"winner index", "winners", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.Winners[2].Index++; return p }},
		{"winner position", "winners", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.Winners[2].Position = 9; return p }},
		{"winner count", "winners", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.WinnerCountRequested++; return p }},
		{"missing winner", "winners", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { r.Winners = r.Winners[:4]; return p }},
		{"swapped winner users", "winners", true, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.Winners[0].UserID, r.Winners[2].UserID = r.Winners[2].UserID, r.Winners[0].UserID
			return p
		}},
		{"repeated winner user", "winners", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.Winners[0].UserID = r.Winners[2].UserID
			return p
		}},
		{"replacement index", "replacements", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.Replacements[0].Replacements[1].Index++
			return p
		}},
		{"replacement position", "replacements", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			rr := r.Replacements[0].Replacements
			rr[0].Position, rr[1].Position = rr[1].Position, rr[0].Position
			return p
		}},
		{"replaced user", "replacements", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.Replacements[1].Replacements[0].ReplacesUserID++
			return p
		}},
		{"replacement user", "replacements", true, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.Replacements[1].Replacements[0].UserID = e[0]
			return p
		}},
		{"dropped replacement", "replacements", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.Replacements[0].Replacements = r.Replacements[0].Replacements[:1]
			return p
		}},
		{"disqualified non-winner", "replacements", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.Replacements[1].DisqualifiedUserIDs = []int64{r.Winners[4].UserID}
			return p
		}},
		{"rounds swapped", "replacements", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			r.Replacements[0], r.Replacements[1] = r.Replacements[1], r.Replacements[0]
			return p
		}},
		{"proof path", "proof", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			p[0].AuditPath[3][7] ^= 0x80
			return p
		}},
		{"proof size", "proof", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { p[0].TreeSize++; return p }},
		{"proof root", "proof", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { p[0].EntrantsRoot[0] ^= 1; return p }},
		{"proof claims a loss", "proof", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			p[0].IsWinner, p[0].Position = false, 0
			return p
		}},
		{"proof claims a win", "proof", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			last := &p[len(p)-1]
			last.IsWinner, last.Position = true, 1
			return p
		}},
		{"proof position", "proof", false, func(r *draw.Record, p []draw.Proof) []draw.Proof { p[0].Position++; return p }},
		{"winner proof for another leaf", "proof", false, func(r *draw.Record, p []draw.Proof) []draw.Proof {
			// A genuine proof of a loser's leaf relabelled as a winner's:
			// the leaf hash then differs, so the path fails.
			loser := p[len(p)-1]
			loser.UserID, loser.IsWinner, loser.Position = winnerProof.UserID, true, winnerProof.Position
			return append(p, loser)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r2 := deepCopy(r)
			p2 := c.mutate(&r2, deepCopyProofs(proofs))
			opts := draw.VerifyOptions{Proofs: p2}
			if c.entrants {
				opts.Entrants = e
			}
			err := draw.Verify(r2, opts)
			var ve *draw.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want a *VerifyError", err)
			}
			if ve.Check != c.check {
				t.Errorf("failed check %q (%v), want %q", ve.Check, ve, c.check)
			}
			if ve.Error() != ve.Check+": "+ve.Reason || ve.Reason == "" {
				t.Errorf("malformed error %q", ve.Error())
			}
		})
	}
	// Without the entrant list, a relabelled winner is only caught by a
	// proof; the record alone cannot tell.
	r2 := deepCopy(r)
	r2.Winners[0].UserID = e[0] + 1 // not an entrant id
	if err := draw.Verify(r2, draw.VerifyOptions{}); err != nil {
		t.Errorf("record-only Verify checked user ids: %v", err)
	}
	if got := draw.Unchecked(r2, draw.VerifyOptions{}); !slices.ContainsFunc(got, func(c draw.Claim) bool { return c.UserID == e[0]+1 }) {
		t.Errorf("Unchecked = %v, want the relabelled winner among the claims taken on trust", got)
	}
}

// TestVerifyRejectsRelabelledClaims changes the user id the record names at
// an index, keeping the record consistent, and expects the proof of the
// entrant really at that index to fail the record, for a current winner and
// for a disqualified one alike.
func TestVerifyRejectsRelabelledClaims(t *testing.T) {
	r, e, proofs := verifyFixture(t)
	outsider := e[len(e)-1] + 1
	cases := map[string]func(r *draw.Record){
		"current winner": func(r *draw.Record) { r.Winners[0].UserID = outsider },
		"disqualified winner": func(r *draw.Record) {
			old := r.Winners[4].UserID
			r.Winners[4].UserID = outsider
			rd := &r.Replacements[0]
			for i, id := range rd.DisqualifiedUserIDs {
				if id == old {
					rd.DisqualifiedUserIDs[i] = outsider
				}
			}
			for i := range rd.Replacements {
				if rd.Replacements[i].ReplacesUserID == old {
					rd.Replacements[i].ReplacesUserID = outsider
				}
			}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			r2 := deepCopy(r)
			mutate(&r2)
			if err := draw.Verify(r2, draw.VerifyOptions{}); err != nil {
				t.Fatalf("the relabelled record must stay consistent on its own: %v", err)
			}
			err := draw.Verify(r2, draw.VerifyOptions{Proofs: proofs})
			var ve *draw.VerifyError
			if !errors.As(err, &ve) || ve.Check != "proof" || !strings.Contains(ve.Reason, fmt.Sprintf("names user %d", outsider)) {
				t.Fatalf("Verify with proofs = %v, want a proof failure naming user %d", err, outsider)
			}
		})
	}
}

func TestUnchecked(t *testing.T) {
	r, e, proofs := verifyFixture(t)
	all := r.Claims()
	// Five initial winners, two replacements in round 1, one in round 2.
	if len(all) != 8 || all[0] != (draw.Claim{Round: 0, Position: 1, UserID: r.Winners[0].UserID, Index: r.Winners[0].Index}) {
		t.Fatalf("Claims = %v", all)
	}
	last := r.Replacements[1].Replacements[0]
	if all[7] != (draw.Claim{Round: 2, Position: last.Position, UserID: last.UserID, Index: last.Index}) {
		t.Fatalf("last claim %v, want round 2's replacement %+v", all[7], last)
	}
	if got := all[7].String(); got != fmt.Sprintf("round 2, position %d: user %d at entrant index %d", last.Position, last.UserID, last.Index) {
		t.Errorf("String = %q", got)
	}
	if got := all[0].String(); got != fmt.Sprintf("position 1: user %d at entrant index %d", r.Winners[0].UserID, r.Winners[0].Index) {
		t.Errorf("String = %q", got)
	}

	if got := draw.Unchecked(r, draw.VerifyOptions{}); !slices.Equal(got, all) {
		t.Errorf("record only: Unchecked = %v, want every claim", got)
	}
	if got := draw.Unchecked(r, draw.VerifyOptions{Entrants: e}); len(got) != 0 {
		t.Errorf("with the entrants: Unchecked = %v, want none", got)
	}
	if got := draw.Unchecked(r, draw.VerifyOptions{Entrants: e, Proofs: proofs}); len(got) != 0 {
		t.Errorf("with everything: Unchecked = %v, want none", got)
	}
	// The fixture proves the current winners and one disqualified winner
	// (Winners[4]); Winners[1] and round 1's first replacement, disqualified
	// in round 2, stay unproven.
	want := []draw.Claim{all[1], all[5]}
	if all[5].UserID != r.Replacements[0].Replacements[0].UserID {
		t.Fatalf("fixture changed: claim 5 is %v", all[5])
	}
	if got := draw.Unchecked(r, draw.VerifyOptions{Proofs: proofs}); !slices.Equal(got, want) {
		t.Errorf("with proofs: Unchecked = %v, want %v", got, want)
	}
	// A proof for a user at another leaf proves nothing about the claim.
	moved := deepCopyProofs(proofs)
	moved[0].LeafIndex++
	if got := draw.Unchecked(r, draw.VerifyOptions{Proofs: moved[:1]}); !slices.Contains(got, all[slices.IndexFunc(all, func(c draw.Claim) bool { return c.UserID == moved[0].UserID })]) {
		t.Errorf("a proof at another leaf counted as evidence: %v", got)
	}
}

func deepCopy(r draw.Record) draw.Record {
	r.ServerSeed = slices.Clone(r.ServerSeed)
	r.Beacon = slices.Clone(r.Beacon)
	r.Winners = slices.Clone(r.Winners)
	r.Replacements = slices.Clone(r.Replacements)
	for i := range r.Replacements {
		rd := &r.Replacements[i]
		rd.DisqualifiedUserIDs = slices.Clone(rd.DisqualifiedUserIDs)
		rd.Replacements = slices.Clone(rd.Replacements)
	}
	return r
}

func deepCopyProofs(ps []draw.Proof) []draw.Proof {
	ps = slices.Clone(ps)
	for i := range ps {
		ps[i].AuditPath = slices.Clone(ps[i].AuditPath)
	}
	return ps
}
