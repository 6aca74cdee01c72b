package draw_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

var update = flag.Bool("update", false, "regenerate testdata/vectors.json")

const vectorsPath = "testdata/vectors.json"

// vectorFile is the layout of testdata/vectors.json, meant for verifiers
// written in other languages. 64-bit unsigned values that may exceed 2^53
// are decimal strings.
type vectorFile struct {
	Comment string          `json:"comment"`
	Version string          `json:"version"`
	Draws   []drawVector    `json:"draws"`
	Uniform []uniformVector `json:"uniform"`
}

type drawVector struct {
	Name   string     `json:"name"`
	Input  drawInput  `json:"input"`
	Output drawOutput `json:"output"`
}

type drawInput struct {
	ServerSeed  draw.HexBytes `json:"server_seed"`
	GiveawayID  int64         `json:"giveaway_id"`
	Entrants    []int64       `json:"entrants"`
	Beacon      draw.HexBytes `json:"beacon"`
	WinnerCount uint64        `json:"winner_count"`
	CommittedAt time.Time     `json:"committed_at"`
	DrawnAt     time.Time     `json:"drawn_at"`
	Redraws     []redrawInput `json:"redraws"`
	// ProofUserIDs names the entrants whose proofs are listed in the output.
	ProofUserIDs []int64 `json:"proof_user_ids"`
}

type redrawInput struct {
	DisqualifiedUserIDs []int64   `json:"disqualified_user_ids"`
	Reason              string    `json:"reason"`
	RedrawnAt           time.Time `json:"redrawn_at"`
}

type drawOutput struct {
	Commitment   draw.Hash `json:"commitment"`
	EntrantsRoot draw.Hash `json:"entrants_root"`
	DrawSeed     draw.Hash `json:"draw_seed"`
	// Stream holds the first 8 values of the stream of DrawSeed.
	Stream  []string    `json:"stream"`
	Winners []draw.Pick `json:"winners"`
	// Replacements holds the replacements of each redraw round in turn.
	Replacements   [][]draw.Replacement `json:"replacements"`
	CurrentWinners []draw.Pick          `json:"current_winners"`
	Proofs         []draw.Proof         `json:"proofs"`
	// Record is the complete published record after all rounds.
	Record draw.Record `json:"record"`
}

type uniformVector struct {
	Seed draw.Hash `json:"seed"`
	M    string    `json:"m"`
	// Outputs are successive uniform(m) results from the stream of Seed.
	Outputs []string `json:"outputs"`
	// Consumed counts the stream values used, rejected ones included.
	Consumed uint64 `json:"consumed"`
}

// compute runs the protocol on in, producing every output the file lists.
func compute(in drawInput) (drawOutput, error) {
	r, err := draw.Draw(draw.Input{
		GiveawayID:  in.GiveawayID,
		ServerSeed:  in.ServerSeed,
		CommittedAt: in.CommittedAt,
		DrawnAt:     in.DrawnAt,
		Entrants:    in.Entrants,
		Beacon:      in.Beacon,
		WinnerCount: in.WinnerCount,
	})
	if err != nil {
		return drawOutput{}, err
	}
	out := drawOutput{
		Commitment:   r.Commitment,
		EntrantsRoot: r.EntrantsRoot,
		DrawSeed:     r.DrawSeed,
		Winners:      r.Winners,
		Replacements: [][]draw.Replacement{},
		Proofs:       []draw.Proof{},
	}
	st := draw.NewStream(r.DrawSeed)
	for range 8 {
		out.Stream = append(out.Stream, strconv.FormatUint(st.Uint64(), 10))
	}
	for _, rd := range in.Redraws {
		round, err := r.Redraw(in.Entrants, rd.DisqualifiedUserIDs, rd.Reason, rd.RedrawnAt)
		if err != nil {
			return drawOutput{}, err
		}
		r.Replacements = append(r.Replacements, round)
		out.Replacements = append(out.Replacements, round.Replacements)
	}
	out.CurrentWinners = r.CurrentWinners()
	for _, id := range in.ProofUserIDs {
		p, err := r.Proof(in.Entrants, id)
		if err != nil {
			return drawOutput{}, err
		}
		out.Proofs = append(out.Proofs, p)
	}
	out.Record = r
	return out, nil
}

func computeUniform(seed draw.Hash, m uint64) uniformVector {
	st := draw.NewStream(seed)
	v := uniformVector{Seed: seed, M: strconv.FormatUint(m, 10)}
	for range 16 {
		v.Outputs = append(v.Outputs, strconv.FormatUint(st.Uniform(m), 10))
	}
	v.Consumed = st.Consumed()
	return v
}

func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Version != draw.Version || len(f.Draws) == 0 || len(f.Uniform) == 0 {
		t.Fatalf("unexpected vector file: version %q, %d draws, %d uniform", f.Version, len(f.Draws), len(f.Uniform))
	}
	for _, v := range f.Draws {
		t.Run(v.Name, func(t *testing.T) {
			got, err := compute(v.Input)
			if err != nil {
				t.Fatal(err)
			}
			compareJSON(t, got, v.Output)
			// The published record must verify, on its own and with all
			// the evidence.
			if err := draw.Verify(v.Output.Record, draw.VerifyOptions{}); err != nil {
				t.Errorf("record alone: %v", err)
			}
			if err := draw.Verify(v.Output.Record, draw.VerifyOptions{Entrants: v.Input.Entrants, Proofs: v.Output.Proofs}); err != nil {
				t.Errorf("record with entrants and proofs: %v", err)
			}
		})
	}
	for _, v := range f.Uniform {
		t.Run("uniform/"+v.M, func(t *testing.T) {
			m, err := strconv.ParseUint(v.M, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			compareJSON(t, computeUniform(v.Seed, m), v)
		})
	}
}

// compareJSON compares got and want field by field in their JSON form, so a
// mismatch names the field.
func compareJSON(t *testing.T, got, want any) {
	t.Helper()
	fields := func(v any) map[string]json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	g, w := fields(got), fields(want)
	for k, wv := range w {
		if !bytes.Equal(g[k], wv) {
			t.Errorf("%s:\n got %s\nwant %s", k, g[k], wv)
		}
	}
	if len(g) != len(w) {
		t.Errorf("got %d fields, want %d", len(g), len(w))
	}
}

// vectorSpec describes a draw case; redraw rounds name positions, resolved
// to the user ids holding them when the file is generated.
type vectorSpec struct {
	name       string
	giveawayID int64
	entrants   []int64
	beacon     []byte
	k          uint64
	rounds     [][]int
}

func writeVectors(t *testing.T) {
	seq := func(n int, first, step int64) []int64 {
		e := make([]int64, n)
		for i := range e {
			e[i] = first + int64(i)*step
		}
		return e
	}
	// Sparse, Telegram-like ids with irregular gaps, all below 2^53 so that
	// every JSON parser reads them exactly.
	sparse := make([]int64, 1000)
	id := int64(100_000_000)
	for i := range sparse {
		h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("sparse ids"), uint64(i)))
		id += 1 + int64(binary.BigEndian.Uint64(h[:])%(1<<30))
		sparse[i] = id
	}
	drandLike, _ := hexDecode("8f1d3b6c4a2e9d7f0b5c8e1a3d6f9b2c4e7a0d3f6b9c2e5a8d1f4b7c0e3a6d9f")
	specs := []vectorSpec{
		{name: "n0-no-entrants", giveawayID: 1, entrants: []int64{}, k: 1},
		{name: "n1-beacon", giveawayID: 2, entrants: []int64{123456789}, beacon: []byte("public randomness"), k: 1},
		{name: "n2", giveawayID: 3, entrants: []int64{10, 20}, k: 1},
		{name: "n3-beacon", giveawayID: 4, entrants: []int64{5, 6, 1 << 40}, beacon: drandLike, k: 2},
		{name: "n5", giveawayID: 5, entrants: seq(5, 1001, 1), k: 3},
		{name: "n5-redraw-runs-out", giveawayID: 6, entrants: seq(5, 1001, 1), k: 3, rounds: [][]int{{3, 1, 2}, {1}}},
		{name: "n7-k-exceeds-n", giveawayID: 7, entrants: seq(7, 77, 7), beacon: []byte{0}, k: 10},
		{name: "n8-two-redraws", giveawayID: 8, entrants: seq(8, 1, 1), k: 3, rounds: [][]int{{3, 1}, {1, 2}}},
		{name: "n1000-sparse-two-redraws", giveawayID: 1<<40 + 5, entrants: sparse, beacon: drandLike, k: 10, rounds: [][]int{{7, 2, 9}, {2}}},
	}
	f := vectorFile{
		Comment: "Test vectors for " + draw.Version + ", generated by TestVectors -update in github.com/telegive/participant-service/pkg/draw. " +
			"Byte strings and hashes are lowercase hex; unsigned 64-bit stream and uniform values are decimal strings. " +
			"Each draw lists its inputs (redraw rounds in order, each applied to the record as it stands) and every derived output; " +
			"uniform lists uniform(m) results with the number of stream values consumed, rejections included.",
		Version: draw.Version,
	}
	for _, s := range specs {
		seed := sha256.Sum256([]byte("telegive-draw-v1 test vector " + s.name))
		in := drawInput{
			ServerSeed:  seed[:],
			GiveawayID:  s.giveawayID,
			Entrants:    s.entrants,
			Beacon:      s.beacon,
			WinnerCount: s.k,
			CommittedAt: committedAt,
			DrawnAt:     drawnAt,
			Redraws:     []redrawInput{},
		}
		// Resolve each round's positions to user ids on the record so far.
		for i, positions := range s.rounds {
			in.ProofUserIDs = nil
			out, err := compute(in)
			if err != nil {
				t.Fatal(err)
			}
			rd := redrawInput{Reason: fmt.Sprintf("round %d: left the channel", i+1), RedrawnAt: drawnAt.Add(time.Duration(i+1) * time.Hour)}
			for _, pos := range positions {
				for _, w := range out.CurrentWinners {
					if w.Position == pos {
						rd.DisqualifiedUserIDs = append(rd.DisqualifiedUserIDs, w.UserID)
					}
				}
			}
			in.Redraws = append(in.Redraws, rd)
		}
		in.ProofUserIDs = proofUsers(t, in)
		out, err := compute(in)
		if err != nil {
			t.Fatal(err)
		}
		f.Draws = append(f.Draws, drawVector{Name: s.name, Input: in, Output: out})
	}
	for _, m := range []uint64{1, 2, 3, 10, 1000, 1<<32 + 1, 3 << 62, 1 << 63, 1<<63 + 1, 1<<64 - 1} {
		f.Uniform = append(f.Uniform, computeUniform(sha256.Sum256([]byte("uniform "+strconv.FormatUint(m, 10))), m))
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(vectorsPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// proofUsers picks the first and last entrant, the first current winner,
// every disqualified winner and one loser.
func proofUsers(t *testing.T, in drawInput) []int64 {
	e := in.Entrants
	if len(e) == 0 {
		return []int64{}
	}
	out, err := compute(in)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{e[0], e[len(e)-1]}
	won := make(map[int64]bool)
	for _, w := range out.CurrentWinners {
		won[w.UserID] = true
	}
	if len(out.CurrentWinners) > 0 {
		ids = append(ids, out.CurrentWinners[0].UserID)
	}
	for _, rd := range in.Redraws {
		ids = append(ids, rd.DisqualifiedUserIDs...)
	}
	for _, id := range e[len(e)/2:] {
		if !won[id] {
			ids = append(ids, id)
			break
		}
	}
	// Keep the first occurrence of each id.
	seen := make(map[int64]bool)
	uniq := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	return uniq
}

func hexDecode(s string) ([]byte, error) {
	var b draw.HexBytes
	err := b.UnmarshalText([]byte(s))
	return b, err
}
