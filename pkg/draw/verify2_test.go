package draw_test

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/bls"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

var allV2Checks = []string{"version", "status", "commitment", "chain", "timing", "beacon_round", "beacon", "attestation",
	"total_tickets", "entrants", "draw_seed", "winners", "replacements", "proof", "log"}

func skipChecks(s []draw.Skip) []string {
	out := []string{}
	for _, k := range s {
		out = append(out, k.Check)
	}
	return out
}

func TestVerifyV2Accepts(t *testing.T) {
	b := v2Fixture(t)
	r := b.record
	if n := len(r.Replacements); n != 2 || !r.Replacements[1].Replacements[2].Empty() {
		t.Fatalf("fixture changed: %d rounds, last %+v", n, r.Replacements[n-1].Replacements)
	}
	opts := b.opts
	opts.Proofs = b.proofs(t)
	rep, err := draw.VerifyReport(r, opts)
	if err != nil {
		t.Fatalf("Verify with everything: %v", err)
	}
	if !slices.Equal(rep.Checks, allV2Checks) || len(rep.Skipped) != 0 || len(rep.Unchecked) != 0 {
		t.Errorf("report %+v, want every check and nothing skipped", rep)
	}

	// The record alone: the same checks pass, the rest are named.
	rep, err = draw.VerifyReport(r, draw.VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify of the record alone: %v", err)
	}
	if want := []string{"version", "status", "commitment", "chain", "timing", "beacon_round", "beacon", "total_tickets", "draw_seed", "winners", "replacements"}; !slices.Equal(rep.Checks, want) {
		t.Errorf("record alone: checks %v, want %v", rep.Checks, want)
	}
	if got, want := skipChecks(rep.Skipped), []string{"entrants", "winners", "attestation", "replacements", "replacements", "log"}; !slices.Equal(got, want) {
		t.Errorf("record alone: skipped %v, want %v", got, want)
	}
	if len(rep.Unchecked) != len(r.Claims()) || len(r.Claims()) != 3+1+2 {
		t.Errorf("record alone: %d unchecked of %d claims", len(rep.Unchecked), len(r.Claims()))
	}
	for _, s := range rep.Skipped {
		if s.Reason == "" {
			t.Errorf("skip %q without a reason", s.Check)
		}
	}

	// Proofs alone check every identity; the list is still not recomputed.
	rep, err = draw.VerifyReport(r, draw.VerifyOptions{Proofs: b.proofs(t)})
	if err != nil || len(rep.Unchecked) != 0 || slices.Contains(skipChecks(rep.Skipped), "winners") || !slices.Contains(rep.Checks, "proof") {
		t.Errorf("with proofs: %+v, %v", rep, err)
	}

	// The record survives JSON, and the decoded record verifies alike.
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back draw.Record
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if err := draw.Verify(back, opts); err != nil {
		t.Fatalf("decoded record: %v\n%s", err, data)
	}
}

func TestVerifyV2Unattested(t *testing.T) {
	ids, tickets := ticketList(40, 3, 5)
	b := buildV2(t, v2Spec{name: "unattested", giveawayID: 77, ids: ids, tickets: tickets, maxTickets: 3, k: 2, delay: 3, drawRound: 32285085,
		rounds: []v2RoundSpec{{positions: []int{1}, reasons: []draw.Reason{draw.ReasonUnreachable}, round: 32285086}}})
	rep, err := draw.VerifyReport(b.record, b.opts)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(rep.Checks, "attestation") {
		t.Errorf("an unattested freeze reported as checked: %v", rep.Checks)
	}
	if got := skipChecks(rep.Skipped); !slices.Equal(got, []string{"attestation", "replacements"}) {
		t.Errorf("skipped %v", rep.Skipped)
	}
	if !strings.Contains(rep.Skipped[0].Reason, "freeze_attested: false") || !strings.Contains(rep.Skipped[0].Reason, "operator's word") {
		t.Errorf("unattested reason %q", rep.Skipped[0].Reason)
	}
}

func TestVerifyV2NoEntrants(t *testing.T) {
	b := buildV2(t, v2Spec{name: "empty", giveawayID: 5, maxTickets: 1, k: 3, delay: 10, drawRound: 32285085})
	r := b.record
	if len(r.Winners) != 0 || len(r.BeaconSignature) != 0 || r.TotalTickets != 0 || r.BeaconRound != 32285085 {
		t.Fatalf("record %+v", r)
	}
	if err := draw.Verify(r, b.opts); err != nil {
		t.Fatal(err)
	}
	r.BeaconSignature = quicknetSig(t, 32285085)
	var ve *draw.VerifyError
	if err := draw.Verify(r, draw.VerifyOptions{}); !errors.As(err, &ve) || ve.Check != "beacon" {
		t.Errorf("a signature with no entrants: %v", err)
	}
}

// testChain is a drand chain of the tests' own, whose key signs any round.
type testChain struct {
	chain beacon.Chain
	key   *bls.PrivateKey[bls.KeyG2SigG1]
}

func newTestChain(t testing.TB) testChain {
	t.Helper()
	key, err := bls.KeyGen[bls.KeyG2SigG1]([]byte("telegive test chain key, public on purpose"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKey().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	group := sha256.Sum256([]byte("telegive test group"))
	c := beacon.Chain{PublicKey: pub, GenesisTime: 1_700_000_000, Period: 3 * time.Second, GroupHash: group[:],
		Scheme: beacon.SchemeUnchainedG1, BeaconID: "telegive-test"}
	if c.Hash, err = c.ComputeHash(); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return testChain{chain: c, key: key}
}

func (c testChain) sign(round uint64) []byte {
	m := beacon.Message(round)
	return bls.Sign(c.key, m[:])
}

// TestVerifyV2OtherChain: a record on a chain other than quicknet fails
// the chain check unless the verifier pins that chain.
func TestVerifyV2OtherChain(t *testing.T) {
	tc := newTestChain(t)
	seed := v2ServerSeed("other chain")
	ids, tickets := ticketList(20, 5, 8)
	tree, _ := draw.NewSumTree(ids, tickets)
	frozenAt := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r, err := draw.Commit(draw.CommitInput{GiveawayID: 9, ServerSeed: seed, CommittedAt: frozenAt.Add(-time.Hour), Chain: tc.chain, MaxTickets: 5})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = r.Freeze(draw.FreezeInput{Entrants: tree, WinnerCount: 2, FrozenAt: frozenAt, Chain: tc.chain}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DrawWinners(draw.DrawInput{ServerSeed: seed, Entrants: tree, BeaconSignature: tc.sign(r.BeaconRound + 1),
		DrawnAt: r.BeaconRoundTime(tc.chain), Chain: tc.chain}); err == nil {
		t.Fatal("DrawWinners accepted the beacon of another round")
	}
	if r, err = r.DrawWinners(draw.DrawInput{ServerSeed: seed, Entrants: tree, BeaconSignature: tc.sign(r.BeaconRound),
		DrawnAt: r.BeaconRoundTime(tc.chain), Chain: tc.chain}); err != nil {
		t.Fatal(err)
	}
	l := newTestLog(t)
	r.Log = []draw.LogRef{
		{Type: drawlog.TypeCommit, Index: l.append(r.CommitEntry(r.LogHeader(0)))},
		{Type: drawlog.TypeFreeze, Index: l.append(r.FreezeEntry(r.LogHeader(1)))},
		{Type: drawlog.TypeDraw, Index: l.append(r.DrawEntry(r.LogHeader(2)))},
	}
	var ve *draw.VerifyError
	if err := draw.Verify(r, draw.VerifyOptions{}); !errors.As(err, &ve) || ve.Check != "chain" ||
		!strings.Contains(ve.Reason, "quicknet") || !strings.Contains(ve.Reason, tc.chain.HashHex()) {
		t.Errorf("unpinned chain: %v", err)
	}
	if err := draw.Verify(r, draw.VerifyOptions{Chain: &tc.chain, Entrants: ids, Tickets: tickets}); err != nil {
		t.Errorf("pinned chain: %v", err)
	}
	qn := beacon.Quicknet()
	if err := draw.Verify(r, draw.VerifyOptions{Chain: &qn}); !errors.As(err, &ve) || ve.Check != "chain" {
		t.Errorf("quicknet pinned explicitly: %v", err)
	}
	bad := tc.chain
	bad.GenesisTime++
	if err := draw.Verify(r, draw.VerifyOptions{Chain: &bad}); !errors.As(err, &ve) || ve.Check != "chain" {
		t.Errorf("a pinned chain whose hash does not match its info: %v", err)
	}
}

// recordCopy returns a deep copy of r through its JSON, which the tests
// above show to be faithful.
func recordCopy(t *testing.T, r draw.Record) draw.Record {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out draw.Record
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVerifyV2Rejects changes one thing at a time in a fully evidenced,
// attested record with two redraw rounds and expects the check that covers
// it to fail, with a reason.
func TestVerifyV2Rejects(t *testing.T) {
	b := v2Fixture(t)
	qn := beacon.Quicknet()
	w0, w1 := b.witnesses[0], b.witnesses[1]
	deadline := func(round uint64) time.Time { return qn.RoundTime(round).Add(-draw.CosignatureMargin) }
	freezeIndex := b.record.Log[1].Index
	drawIndex := b.record.Log[2].Index
	noKeys := func(o *draw.VerifyOptions) { o.LogKey, o.Witnesses, o.LogEntries = nil, nil, nil }
	cases := []struct {
		name   string
		check  string
		mutate func(r *draw.Record, o *draw.VerifyOptions)
	}{
		{"unknown version", "version", func(r *draw.Record, o *draw.VerifyOptions) { r.Version = "telegive-draw-v3" }},
		{"v1 beacon in a v2 record", "version", func(r *draw.Record, o *draw.VerifyOptions) { r.Beacon = []byte{1} }},
		{"no chain hash", "version", func(r *draw.Record, o *draw.VerifyOptions) { r.ChainHash = draw.Hash{} }},
		{"frozen, not drawn", "status", func(r *draw.Record, o *draw.VerifyOptions) { r.Status = draw.StatusFrozen }},
		{"server seed", "commitment", func(r *draw.Record, o *draw.VerifyOptions) { r.ServerSeed[3] ^= 1 }},
		{"commitment", "commitment", func(r *draw.Record, o *draw.VerifyOptions) { r.Commitment[3] ^= 1 }},
		{"another chain", "chain", func(r *draw.Record, o *draw.VerifyOptions) { r.ChainHash[0] ^= 1 }},
		{"committed after the freeze", "timing", func(r *draw.Record, o *draw.VerifyOptions) { r.CommittedAt = r.FrozenAt.Add(time.Second) }},
		{"frozen after the draw", "timing", func(r *draw.Record, o *draw.VerifyOptions) { r.DrawnAt = r.FrozenAt.Add(-time.Second) }},
		{"fractional freeze time", "timing", func(r *draw.Record, o *draw.VerifyOptions) { r.FrozenAt = r.FrozenAt.Add(time.Millisecond) }},
		{"beacon round before the freeze", "timing", func(r *draw.Record, o *draw.VerifyOptions) { r.BeaconRound = 1000 }},
		{"a round that is not the first after the freeze", "beacon_round", func(r *draw.Record, o *draw.VerifyOptions) { r.BeaconRound++ }},
		{"freeze moved earlier", "beacon_round", func(r *draw.Record, o *draw.VerifyOptions) { r.FrozenAt = r.FrozenAt.Add(-3 * time.Second) }},
		{"shorter delay", "beacon_round", func(r *draw.Record, o *draw.VerifyOptions) { r.BeaconDelay = 4 }},
		{"delay below one period", "beacon_round", func(r *draw.Record, o *draw.VerifyOptions) { r.BeaconDelay = 2 }},
		{"signature bit flip", "beacon", func(r *draw.Record, o *draw.VerifyOptions) { r.BeaconSignature[20] ^= 0x10 }},
		{"signature of another round", "beacon", func(r *draw.Record, o *draw.VerifyOptions) { r.BeaconSignature = quicknetSig(t, 1000) }},
		{"signature with a trailing byte", "beacon", func(r *draw.Record, o *draw.VerifyOptions) { r.BeaconSignature = append(r.BeaconSignature, 0) }},
		{"no signature", "beacon", func(r *draw.Record, o *draw.VerifyOptions) { r.BeaconSignature = nil }},
		{"a cosignature after round - 3 s", "attestation", func(r *draw.Record, o *draw.VerifyOptions) {
			d := deadline(r.BeaconRound)
			r.FreezeAttestation = b.log.attest(freezeIndex, w0.at(t, d), w1.at(t, d.Add(time.Second)))
		}},
		{"one witness short of the quorum", "attestation", func(r *draw.Record, o *draw.VerifyOptions) {
			r.FreezeAttestation = b.log.attest(freezeIndex, w0.at(t, deadline(r.BeaconRound)))
		}},
		{"no cosignature", "attestation", func(r *draw.Record, o *draw.VerifyOptions) { r.FreezeAttestation = b.log.attest(freezeIndex) }},
		{"attestation of another entry", "attestation", func(r *draw.Record, o *draw.VerifyOptions) {
			d := deadline(r.BeaconRound)
			r.FreezeAttestation = b.log.attest(drawIndex, w0.at(t, d), w1.at(t, d))
		}},
		{"checkpoint edited", "attestation", func(r *draw.Record, o *draw.VerifyOptions) {
			r.FreezeAttestation.Checkpoint = strings.Replace(r.FreezeAttestation.Checkpoint, "\n4\n", "\n5\n", 1)
		}},
		{"audit path", "attestation", func(r *draw.Record, o *draw.VerifyOptions) { r.FreezeAttestation.AuditPath[0][0] ^= 1 }},
		{"leaf index", "attestation", func(r *draw.Record, o *draw.VerifyOptions) { r.FreezeAttestation.LeafIndex++ }},
		{"attested but no attestation", "attestation", func(r *draw.Record, o *draw.VerifyOptions) { r.FreezeAttestation = nil }},
		{"unattested but an attestation", "attestation", func(r *draw.Record, o *draw.VerifyOptions) { r.FreezeAttested = false }},
		{"another log key", "attestation", func(r *draw.Record, o *draw.VerifyOptions) {
			_, vkey, _ := note.GenerateKey(nil, testOrigin)
			o.LogKey, _ = drawlog.NewLogVerifier(vkey)
		}},
		{"another witness", "attestation", func(r *draw.Record, o *draw.VerifyOptions) {
			o.Witnesses = testKeys(t, []testWitness{w0, newTestWitness(t, "witness.example/three", 0x23)}).Witnesses
		}},
		{"winner count changes the freeze entry", "attestation", func(r *draw.Record, o *draw.VerifyOptions) { r.WinnerCountRequested++ }},
		{"log list moves the freeze", "attestation", func(r *draw.Record, o *draw.VerifyOptions) { r.Log[0].Index = 0 }},
		{"total above 2^53-1", "total_tickets", func(r *draw.Record, o *draw.VerifyOptions) { noKeys(o); r.TotalTickets = 1 << 53 }},
		{"total below N", "total_tickets", func(r *draw.Record, o *draw.VerifyOptions) { noKeys(o); r.TotalTickets = r.EntrantsCount - 1 }},
		{"total above N x max", "total_tickets", func(r *draw.Record, o *draw.VerifyOptions) { noKeys(o); r.MaxTickets = 2 }},
		{"no max_tickets", "total_tickets", func(r *draw.Record, o *draw.VerifyOptions) { noKeys(o); r.MaxTickets = 0 }},
		{"a ticket count of 0 in the list", "total_tickets", func(r *draw.Record, o *draw.VerifyOptions) {
			o.Tickets = slices.Clone(o.Tickets)
			o.Tickets[2] = 0
		}},
		{"a ticket count above max_tickets in the list", "total_tickets", func(r *draw.Record, o *draw.VerifyOptions) {
			o.Tickets = slices.Clone(o.Tickets)
			o.Tickets[2] = r.MaxTickets + 1
		}},
		{"list tickets whose sum overflows", "total_tickets", func(r *draw.Record, o *draw.VerifyOptions) {
			noKeys(o)
			r.MaxTickets = 1<<53 - 1
			o.Tickets = slices.Clone(o.Tickets)
			o.Tickets[0], o.Tickets[1] = 1<<53-1, 1<<53-1
		}},
		{"ticket counts missing", "total_tickets", func(r *draw.Record, o *draw.VerifyOptions) { o.Tickets = o.Tickets[:3] }},
		{"list tickets moved", "entrants", func(r *draw.Record, o *draw.VerifyOptions) {
			o.Tickets = slices.Clone(o.Tickets)
			i := slices.IndexFunc(o.Tickets, func(x uint64) bool { return x != o.Tickets[0] })
			o.Tickets[0], o.Tickets[i] = o.Tickets[i], o.Tickets[0]
		}},
		{"list one ticket short", "entrants", func(r *draw.Record, o *draw.VerifyOptions) {
			o.Tickets = slices.Clone(o.Tickets)
			i := slices.IndexFunc(o.Tickets, func(x uint64) bool { return x > 1 })
			o.Tickets[i]--
		}},
		{"list without an entrant", "entrants", func(r *draw.Record, o *draw.VerifyOptions) {
			o.Entrants, o.Tickets = o.Entrants[1:], o.Tickets[1:]
		}},
		{"list unsorted", "entrants", func(r *draw.Record, o *draw.VerifyOptions) {
			o.Entrants = slices.Clone(o.Entrants)
			o.Entrants[0], o.Entrants[1] = o.Entrants[1], o.Entrants[0]
		}},
		{"entrants root without keys", "draw_seed", func(r *draw.Record, o *draw.VerifyOptions) {
			noKeys(o)
			o.Entrants = nil
			r.EntrantsRoot[0] ^= 1
		}},
		{"draw seed", "draw_seed", func(r *draw.Record, o *draw.VerifyOptions) { r.DrawSeed[0] ^= 1 }},
		{"giveaway id", "draw_seed", func(r *draw.Record, o *draw.VerifyOptions) { noKeys(o); r.GiveawayID++ }},
		{"winner's ticket", "winners", func(r *draw.Record, o *draw.VerifyOptions) { r.Winners[1].Ticket++ }},
		{"winner's ticket count", "winners", func(r *draw.Record, o *draw.VerifyOptions) { r.Winners[1].Tickets++ }},
		{"winner's first ticket", "winners", func(r *draw.Record, o *draw.VerifyOptions) { r.Winners[0].FirstTicket++ }},
		{"winner's stream index", "winners", func(r *draw.Record, o *draw.VerifyOptions) { r.Winners[2].StreamIndex++ }},
		{"winner's index", "winners", func(r *draw.Record, o *draw.VerifyOptions) { r.Winners[0].Index++ }},
		{"winner's user", "winners", func(r *draw.Record, o *draw.VerifyOptions) { r.Winners[0].UserID = o.Entrants[0] }},
		{"winners swapped", "winners", func(r *draw.Record, o *draw.VerifyOptions) {
			noKeys(o)
			r.Winners[0], r.Winners[1] = r.Winners[1], r.Winners[0]
			r.Winners[0].Position, r.Winners[1].Position = 1, 2
		}},
		{"winner dropped", "winners", func(r *draw.Record, o *draw.VerifyOptions) { noKeys(o); r.Winners = r.Winners[:2] }},
		{"stream index beyond the bound", "winners", func(r *draw.Record, o *draw.VerifyOptions) { o.MaxStreamValues = 3 }},
		{"round beacon round", "replacements", func(r *draw.Record, o *draw.VerifyOptions) { r.Replacements[0].BeaconRound++ }},
		{"round signature bit flip", "replacements", func(r *draw.Record, o *draw.VerifyOptions) { r.Replacements[1].BeaconSignature[7] ^= 1 }},
		{"round requested before the draw", "replacements", func(r *draw.Record, o *draw.VerifyOptions) {
			r.Replacements[0].RequestedAt = r.DrawnAt.Add(-time.Second)
		}},
		{"round cosignature too late", "replacements", func(r *draw.Record, o *draw.VerifyOptions) {
			rd := &r.Replacements[0]
			d := deadline(rd.BeaconRound)
			rd.RequestAttestation = b.log.attest(rd.RequestAttestation.LeafIndex, w0.at(t, d.Add(time.Second)), w1.at(t, d))
		}},
		{"round reason", "replacements", func(r *draw.Record, o *draw.VerifyOptions) { r.Replacements[0].Disqualified[0].Reason = "bored" }},
		{"replacement user", "replacements", func(r *draw.Record, o *draw.VerifyOptions) {
			r.Replacements[0].Replacements[0].UserID = o.Entrants[len(o.Entrants)-1]
		}},
		{"replacement stream index", "replacements", func(r *draw.Record, o *draw.VerifyOptions) {
			r.Replacements[1].Replacements[1].StreamIndex--
		}},
		{"replacement ticket without the list", "replacements", func(r *draw.Record, o *draw.VerifyOptions) {
			noKeys(o)
			o.Entrants, o.Tickets = nil, nil
			r.Replacements[1].Replacements[0].Ticket--
		}},
		{"empty position filled", "replacements", func(r *draw.Record, o *draw.VerifyOptions) {
			p := &r.Replacements[1].Replacements[2]
			p.UserID, p.Index, p.Tickets = o.Entrants[0], 0, o.Tickets[0]
		}},
		{"replacement dropped", "replacements", func(r *draw.Record, o *draw.VerifyOptions) {
			r.Replacements[1].Replacements = r.Replacements[1].Replacements[:2]
		}},
		{"replaced user", "replacements", func(r *draw.Record, o *draw.VerifyOptions) { r.Replacements[0].Replacements[0].ReplacesUserID++ }},
		{"proof sum", "proof", func(r *draw.Record, o *draw.VerifyOptions) { o.Proofs[0].SumPath[0].Sum++ }},
		{"proof sum overflows", "proof", func(r *draw.Record, o *draw.VerifyOptions) { o.Proofs[0].SumPath[0].Sum = 1<<64 - 1 }},
		{"proof first ticket", "proof", func(r *draw.Record, o *draw.VerifyOptions) { o.Proofs[0].FirstTicket++ }},
		{"proof claims a loss", "proof", func(r *draw.Record, o *draw.VerifyOptions) {
			i := slices.IndexFunc(o.Proofs, func(p draw.Proof) bool { return p.IsWinner })
			o.Proofs[i].IsWinner, o.Proofs[i].Position = false, 0
		}},
		{"proof tickets", "proof", func(r *draw.Record, o *draw.VerifyOptions) { o.Proofs[1].Tickets++ }},
		{"winner relabelled, caught by its proof", "proof", func(r *draw.Record, o *draw.VerifyOptions) {
			noKeys(o)
			o.Entrants, o.Tickets = nil, nil
			relabel(r, r.Winners[0].UserID, 1<<40)
		}},
		{"a log entry", "log", func(r *draw.Record, o *draw.VerifyOptions) {
			e, _ := r.DrawEntry(r.LogHeader(2))
			e.DrawnAt = e.DrawnAt.Add(time.Second)
			o.LogEntries = maps.Clone(o.LogEntries)
			o.LogEntries[drawIndex], _ = drawlog.Marshal(e)
		}},
		{"a log entry that is not canonical", "log", func(r *draw.Record, o *draw.VerifyOptions) {
			o.LogEntries = maps.Clone(o.LogEntries)
			o.LogEntries[drawIndex] = append([]byte(" "), o.LogEntries[drawIndex]...)
		}},
		{"log list order", "log", func(r *draw.Record, o *draw.VerifyOptions) {
			noKeys(o)
			r.Log[3], r.Log[4] = r.Log[4], r.Log[3]
		}},
		{"log list too short", "log", func(r *draw.Record, o *draw.VerifyOptions) { r.Log = r.Log[:len(r.Log)-1] }},
	}
	proofs := b.proofs(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := recordCopy(t, b.record)
			o := b.opts
			o.Proofs = slices.Clone(proofs)
			for i := range o.Proofs {
				o.Proofs[i].SumPath = slices.Clone(o.Proofs[i].SumPath)
			}
			c.mutate(&r, &o)
			err := draw.Verify(r, o)
			var ve *draw.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want a *VerifyError", err)
			}
			if ve.Check != c.check || ve.Reason == "" {
				t.Errorf("failed check %q (%v), want %q", ve.Check, ve, c.check)
			}
			t.Logf("%v", ve)
		})
	}
}

// relabel renames user from to to everywhere the record names them, so
// that the record stays consistent on its own.
func relabel(r *draw.Record, from, to int64) {
	for i := range r.Winners {
		if r.Winners[i].UserID == from {
			r.Winners[i].UserID = to
		}
	}
	for i := range r.Replacements {
		rd := &r.Replacements[i]
		for j := range rd.Disqualified {
			if rd.Disqualified[j].UserID == from {
				rd.Disqualified[j].UserID = to
			}
		}
		for j := range rd.Replacements {
			p := &rd.Replacements[j]
			if p.UserID == from {
				p.UserID = to
			}
			if p.ReplacesUserID == from {
				p.ReplacesUserID = to
			}
		}
	}
}
