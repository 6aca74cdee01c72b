package draw_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

var updateV2 = flag.Bool("update-v2", false, "regenerate testdata/vectors-v2.json")

const vectorsV2Path = "testdata/vectors-v2.json"

// vectorFileV2 is the layout of testdata/vectors-v2.json, for verifiers
// written in other languages. Stream values, which may exceed 2^53, are
// decimal strings; every other number is below 2^53.
type vectorFileV2 struct {
	Comment string `json:"comment"`
	Version string `json:"version"`
	// Chain is quicknet's chain info, as a relay's /info gives it.
	Chain beacon.Chain `json:"chain"`
	// LogKey and Witnesses are the test keys the attested draws are
	// signed with (their private keys are public on purpose).
	LogKey     string          `json:"log_key"`
	Witnesses  []string        `json:"witnesses"`
	SumTrees   []sumTreeVector `json:"sum_trees"`
	Draws      []drawVectorV2  `json:"draws"`
	Randomness []randomnessVec `json:"randomness"`
}

type sumTreeVector struct {
	UserIDs []int64  `json:"user_ids"`
	Tickets []uint64 `json:"tickets"`
	// Leaves are the leaf nodes, in order.
	Leaves []draw.Node `json:"leaves"`
	Root   draw.Node   `json:"root"`
	// Proofs has one proof per leaf, in order.
	Proofs []sumProofVector `json:"proofs"`
}

type sumProofVector struct {
	LeafIndex   uint64      `json:"leaf_index"`
	FirstTicket uint64      `json:"first_ticket"`
	AuditPath   []draw.Node `json:"audit_path"`
}

type randomnessVec struct {
	Round      uint64        `json:"round"`
	Signature  draw.HexBytes `json:"signature"`
	Randomness draw.Hash     `json:"randomness"`
}

type drawVectorV2 struct {
	Name   string      `json:"name"`
	Input  v2Input     `json:"input"`
	Output drawOutput2 `json:"output"`
}

type roundOutput struct {
	BeaconRound uint64    `json:"beacon_round"`
	Randomness  draw.Hash `json:"randomness"`
	// Stream holds the first 8 values of the round's stream.
	Stream       []string           `json:"stream"`
	Replacements []draw.Replacement `json:"replacements"`
}

type logEntryVector struct {
	Index uint64       `json:"index"`
	Type  drawlog.Type `json:"type"`
	// Data is the entry's bytes, RFC 8785 canonical JSON.
	Data string `json:"data"`
}

type drawOutput2 struct {
	Commitment   draw.Hash `json:"commitment"`
	EntrantsRoot draw.Node `json:"entrants_root"`
	BeaconRound  uint64    `json:"beacon_round"`
	Randomness   draw.Hash `json:"randomness"`
	DrawSeed     draw.Hash `json:"draw_seed"`
	// Stream holds the first 8 values of the stream of DrawSeed.
	Stream         []string         `json:"stream"`
	Winners        []draw.Pick      `json:"winners"`
	Rounds         []roundOutput    `json:"rounds"`
	CurrentWinners []draw.Pick      `json:"current_winners"`
	Proofs         []draw.Proof     `json:"proofs"`
	LogEntries     []logEntryVector `json:"log_entries"`
	// Committed and Frozen are the record as published before the draw;
	// Record is the complete record after every round.
	Committed draw.Record `json:"committed"`
	Frozen    draw.Record `json:"frozen"`
	Record    draw.Record `json:"record"`
}

func streamValues(st *draw.Stream) []string {
	out := make([]string, 8)
	for i := range out {
		out[i] = strconv.FormatUint(st.Uint64(), 10)
	}
	return out
}

// outputsV2 derives every listed value of a computed draw.
func outputsV2(t testing.TB, b v2Built) drawOutput2 {
	t.Helper()
	r := b.record
	out := drawOutput2{
		Commitment:     r.Commitment,
		EntrantsRoot:   b.tree.Root(),
		BeaconRound:    r.BeaconRound,
		Randomness:     beacon.Randomness(r.BeaconSignature),
		DrawSeed:       r.DrawSeed,
		Stream:         streamValues(draw.NewStream(r.DrawSeed)),
		Winners:        r.Winners,
		Rounds:         []roundOutput{},
		CurrentWinners: r.CurrentWinners(),
		Proofs:         []draw.Proof{},
		Committed:      b.committed,
		Frozen:         b.frozen,
		Record:         r,
	}
	for _, rd := range r.Replacements {
		rand := beacon.Randomness(rd.BeaconSignature)
		out.Rounds = append(out.Rounds, roundOutput{BeaconRound: rd.BeaconRound, Randomness: rand,
			Stream: streamValues(draw.NewRedrawStream(r.DrawSeed, rd.Round, rand)), Replacements: rd.Replacements})
	}
	for _, id := range b.in.ProofUserIDs {
		p, err := r.TicketProof(b.tree, id)
		if err != nil {
			t.Fatal(err)
		}
		out.Proofs = append(out.Proofs, p)
	}
	for j, i := range b.logOrder {
		out.LogEntries = append(out.LogEntries, logEntryVector{Index: i, Type: r.Log[j].Type, Data: string(b.log.entries[i])})
	}
	return out
}

// proofUsersV2 picks the first and last entrant, every claim and one loser.
func proofUsersV2(b v2Built) []int64 {
	ids := b.in.UserIDs
	if len(ids) == 0 {
		return []int64{}
	}
	out := []int64{ids[0], ids[len(ids)-1]}
	won := map[int64]bool{}
	for _, c := range b.record.Claims() {
		out = append(out, c.UserID)
		won[c.UserID] = true
	}
	for _, id := range ids[len(ids)/2:] {
		if !won[id] {
			out = append(out, id)
			break
		}
	}
	seen := map[int64]bool{}
	uniq := []int64{}
	for _, id := range out {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	return uniq
}

func vectorSpecsV2() []v2Spec {
	sparse := make([]int64, 1000)
	sparseTickets := make([]uint64, 1000)
	id := int64(100_000_000)
	for i := range sparse {
		h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("v2 sparse ids"), uint64(i)))
		id += 1 + int64(binary.BigEndian.Uint64(h[:])%(1<<30))
		sparse[i] = id
		sparseTickets[i] = 1 + uint64(h[8])%10
	}
	seq := func(n int, first, step int64) []int64 {
		e := make([]int64, n)
		for i := range e {
			e[i] = first + int64(i)*step
		}
		return e
	}
	return []v2Spec{
		{name: "n0-no-entrants", giveawayID: 1, ids: []int64{}, tickets: []uint64{}, maxTickets: 1, k: 3, delay: 10, drawRound: 32285085},
		{name: "n1-tickets1", giveawayID: 2, ids: []int64{123456789}, tickets: []uint64{1}, maxTickets: 1, k: 1, delay: 3, drawRound: 32285085},
		{name: "n5-tickets1-redraw", giveawayID: 3, ids: seq(5, 1001, 1), tickets: []uint64{1, 1, 1, 1, 1}, maxTickets: 1, k: 3, delay: 3,
			drawRound: 32285085, rounds: []v2RoundSpec{{positions: []int{2}, reasons: []draw.Reason{draw.ReasonNotSubscribed}, round: 32285086}}},
		{name: "n4-mixed-runs-out", giveawayID: 4, ids: []int64{5, 6, 1 << 40, 1<<53 - 1}, tickets: []uint64{3, 1, 7, 2}, maxTickets: 7, k: 3, delay: 3,
			drawRound: 1000, rounds: []v2RoundSpec{
				{positions: []int{1}, reasons: []draw.Reason{draw.ReasonAdmin}, round: 12040883},
				{positions: []int{3, 1, 2}, reasons: []draw.Reason{draw.ReasonAccountTooNew, draw.ReasonRulesViolation}, round: 32281667},
			}},
		{name: "n6-mixed-attested-empty-position", giveawayID: 4242, ids: seq(6, 70, 7), tickets: []uint64{2, 1, 4, 2, 3, 1}, maxTickets: 4, k: 3, delay: 10,
			drawRound: 12040883, attest: true, rounds: []v2RoundSpec{
				{positions: []int{2}, reasons: []draw.Reason{draw.ReasonFraud}, round: 32281667},
				{positions: []int{1, 2, 3}, reasons: []draw.Reason{draw.ReasonNotSubscribed, draw.ReasonDeclined}, round: 32285085},
			}},
		{name: "n20-k-exceeds-n", giveawayID: 6, ids: seq(20, 77, 7), tickets: []uint64{1, 5, 2, 2, 9, 1, 1, 3, 4, 1, 1, 1, 6, 2, 8, 1, 1, 1, 2, 3},
			maxTickets: 9, k: 25, delay: 10, drawRound: 32281667},
		{name: "n1000-sparse-mixed-attested-redraws", giveawayID: 1<<40 + 5, ids: sparse, tickets: sparseTickets, maxTickets: 10, k: 10, delay: 10,
			drawRound: 1000, attest: true, rounds: []v2RoundSpec{
				{positions: []int{7, 2, 9}, reasons: []draw.Reason{draw.ReasonPremiumRequired, draw.ReasonUnreachable}, round: 12040883},
				{positions: []int{2}, reasons: []draw.Reason{draw.ReasonFraud}, round: 32281667},
			}},
		{name: "n300-tickets1-attested", giveawayID: 8, ids: seq(300, 1, 3), tickets: ones(300), maxTickets: 1, k: 5, delay: 3,
			drawRound: 32285085, attest: true, rounds: []v2RoundSpec{
				{positions: []int{5, 1}, reasons: []draw.Reason{draw.ReasonDeclined}, round: 32285086},
			}},
	}
}

func writeVectorsV2(t *testing.T) {
	f := vectorFileV2{
		Comment: "Test vectors for " + draw.VersionV2 + ", generated by TestVectorsV2 -update-v2 in github.com/telegive/participant-service/pkg/draw. " +
			"Hashes, seeds and signatures are lowercase hex; stream values are decimal strings; every other number is below 2^53. " +
			"Beacons are real rounds of drand's quicknet (chain below). sum_trees lists Merkle sum trees with every leaf, the root and each leaf's proof. " +
			"Each draw lists its inputs (redraw rounds in order, disqualified winners in ascending position) and every derived output: the entrants root and " +
			"its sum, the beacon's randomness (SHA-256 of its signature), the draw seed, the first 8 values of each stream, winners, replacements, proofs, " +
			"the giveaway's log entries and the records as published at the commit, the freeze and after the last round. " +
			"Attested draws are logged after another giveaway's entry, with a second one after the freeze; the freeze is cosigned by witness one at the " +
			"last second allowed (beacon round's time - 3 s) and by witness two a second earlier, each redraw request by witness one two seconds before " +
			"its deadline and by witness two at it, each under a checkpoint of the whole log as it then stands, signed by log_key.",
		Version:   draw.VersionV2,
		Chain:     beacon.Quicknet(),
		LogKey:    testLogVKey,
		Witnesses: []string{},
	}
	for _, w := range testWitnesses(t) {
		f.Witnesses = append(f.Witnesses, w.vkey)
	}
	for _, n := range []int{1, 2, 3, 5, 7, 13} {
		ids, tickets := ticketList(n, 9, uint64(n)+500)
		f.SumTrees = append(f.SumTrees, sumTreeVectorOf(t, ids, tickets))
	}
	for round, sig := range quicknetRounds {
		b, _ := hexDecode(sig)
		f.Randomness = append(f.Randomness, randomnessVec{Round: round, Signature: b, Randomness: beacon.Randomness(b)})
	}
	slices.SortFunc(f.Randomness, func(a, b randomnessVec) int { return int(a.Round) - int(b.Round) })
	for _, s := range vectorSpecsV2() {
		b := buildV2(t, s)
		b.in.ProofUserIDs = proofUsersV2(b)
		f.Draws = append(f.Draws, drawVectorV2{Name: s.name, Input: b.in, Output: outputsV2(t, b)})
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsV2Path, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sumTreeVectorOf(t testing.TB, ids []int64, tickets []uint64) sumTreeVector {
	tree, err := draw.NewSumTree(ids, tickets)
	if err != nil {
		t.Fatal(err)
	}
	v := sumTreeVector{UserIDs: ids, Tickets: tickets, Root: tree.Root()}
	for i, id := range ids {
		v.Leaves = append(v.Leaves, draw.SumLeaf(id, tickets[i]))
		leaf, err := tree.Leaf(id)
		if err != nil {
			t.Fatal(err)
		}
		v.Proofs = append(v.Proofs, sumProofVector{LeafIndex: leaf.Index, FirstTicket: leaf.FirstTicket, AuditPath: leaf.Path})
	}
	return v
}

// TestVectorsV2 recomputes every vector of testdata/vectors-v2.json from its
// inputs and compares every output, then verifies each record as a verifier
// would: with all the evidence (every check passes, none is skipped), and
// from the record alone.
func TestVectorsV2(t *testing.T) {
	if *updateV2 {
		writeVectorsV2(t)
	}
	data, err := os.ReadFile(vectorsV2Path)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFileV2
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Version != draw.VersionV2 || len(f.Draws) < 8 || len(f.SumTrees) == 0 || len(f.Randomness) != len(quicknetRounds) {
		t.Fatalf("unexpected vector file: version %q, %d draws, %d trees", f.Version, len(f.Draws), len(f.SumTrees))
	}
	if err := f.Chain.Validate(); err != nil || f.Chain.HashHex() != beacon.Quicknet().HashHex() {
		t.Fatalf("chain %v: %v", f.Chain, err)
	}
	for _, r := range f.Randomness {
		if err := f.Chain.Verify(r.Round, r.Signature); err != nil || beacon.Randomness(r.Signature) != r.Randomness {
			t.Errorf("round %d: %v", r.Round, err)
		}
	}
	for _, v := range f.SumTrees {
		compareJSON(t, sumTreeVectorOf(t, v.UserIDs, v.Tickets), v)
		for i, p := range v.Proofs {
			first, err := draw.VerifyTicketInclusion(v.UserIDs[i], v.Tickets[i], p.LeafIndex, uint64(len(v.UserIDs)), p.AuditPath, v.Root.Hash, v.Root.Sum)
			if err != nil || first != p.FirstTicket {
				t.Errorf("tree of %d, leaf %d: %d, %v", len(v.UserIDs), i, first, err)
			}
		}
	}
	var attested, redrawn, empty, tickets1, mixed int
	for _, v := range f.Draws {
		t.Run(v.Name, func(t *testing.T) {
			b := computeV2(t, v.Input)
			compareJSON(t, outputsV2(t, b), v.Output)

			rec := v.Output.Record
			opts := testKeys(t, testWitnesses(t))
			opts.Entrants, opts.Tickets, opts.Proofs = v.Input.UserIDs, v.Input.Tickets, v.Output.Proofs
			opts.LogEntries = map[uint64][]byte{}
			for _, e := range v.Output.LogEntries {
				opts.LogEntries[e.Index] = []byte(e.Data)
			}
			rep, err := draw.VerifyReport(rec, opts)
			if err != nil {
				t.Fatalf("with all the evidence: %v", err)
			}
			if v.Input.Attested && (len(rep.Skipped) != 0 || !slices.Contains(rep.Checks, "attestation")) {
				t.Errorf("an attested record with all the evidence: checks %v, skipped %v", rep.Checks, rep.Skipped)
			}
			if len(rep.Unchecked) != 0 || !slices.Contains(rep.Checks, "log") || !slices.Contains(rep.Checks, "entrants") {
				t.Errorf("with all the evidence: %+v", rep)
			}
			if err := draw.Verify(rec, draw.VerifyOptions{}); err != nil {
				t.Errorf("the record alone: %v", err)
			}
		})
		if v.Input.Attested {
			attested++
		}
		if len(v.Input.Redraws) > 0 {
			redrawn++
		}
		for _, rd := range v.Output.Record.Replacements {
			for _, p := range rd.Replacements {
				if p.Empty() {
					empty++
				}
			}
		}
		if len(v.Input.UserIDs) > 1 && !slices.ContainsFunc(v.Input.Tickets, func(x uint64) bool { return x != 1 }) {
			tickets1++
		} else if len(v.Input.UserIDs) > 1 {
			mixed++
		}
	}
	if attested < 2 || redrawn < 3 || empty < 1 || tickets1 < 2 || mixed < 2 {
		t.Errorf("the vectors cover %d attested, %d redrawn, %d empty positions, %d with one ticket each, %d with mixed tickets",
			attested, redrawn, empty, tickets1, mixed)
	}
}
