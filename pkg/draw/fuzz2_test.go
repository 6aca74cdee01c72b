package draw_test

import (
	"bytes"
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
	"github.com/telegive/participant-service/pkg/drawlog"
)

// fuzzStreamLimit bounds the stream values a fuzzed record may make the
// verifier read, so that a claimed stream index cannot exhaust the budget.
const fuzzStreamLimit = 1 << 14

// v2Checks are the names a v2 VerifyError may carry.
var v2Checks = allV2Checks

func checkVerifyErrorV2(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ve *draw.VerifyError
	if !errors.As(err, &ve) || !(slices.Contains(v2Checks, ve.Check) || slices.Contains(checks, ve.Check)) || ve.Reason == "" {
		t.Fatalf("%s: %T %v is not a VerifyError with a known check and a reason", what, err, err)
	}
}

func encodableV2(r draw.Record) bool {
	times := []time.Time{r.CommittedAt, r.FrozenAt, r.DrawnAt}
	for _, rd := range r.Replacements {
		times = append(times, rd.RequestedAt, rd.RedrawnAt)
	}
	for _, ts := range times {
		if !inUTCRange(ts) {
			return false
		}
	}
	return true
}

// FuzzVerifyRecordV2 decodes a v2 record, an entrant list, proofs and log
// entries the way a verifier gets them from the API (or from a hostile
// server) and verifies the record with every combination of list and
// proofs, always with the test keys and the entries. It must never panic or
// take long; any failure must be a VerifyError; more evidence can only turn
// a pass into a failure; and what passes must mean what it says: the record
// survives re-encoding, the winners are the listed entrants at their
// indices with their tickets, and each proof is the one the list gives.
func FuzzVerifyRecordV2(f *testing.F) {
	// Small, with one redraw round: every beacon costs a pairing, which
	// the fuzzer's instrumentation makes slow.
	ids, tickets := ticketList(6, 4, 99)
	b := buildV2(f, v2Spec{name: "fuzz", giveawayID: 77, ids: ids, tickets: tickets, maxTickets: 4, k: 3, delay: 10,
		drawRound: 12040883, attest: true,
		rounds: []v2RoundSpec{{positions: []int{1, 3}, reasons: []draw.Reason{draw.ReasonFraud}, round: 32281667}}})
	empty := buildV2(f, v2Spec{name: "fuzz empty", giveawayID: 78, ids: []int64{}, tickets: []uint64{}, maxTickets: 2, k: 1, delay: 10, drawRound: 32285085})
	emptyJSON, _ := json.Marshal(empty.record)
	f.Add(emptyJSON, "", []byte(`[]`), []byte(nil))
	rec, _ := json.Marshal(b.record)
	var list bytes.Buffer
	if err := draw.WriteEntrantList(&list, b.in.UserIDs, b.in.Tickets); err != nil {
		f.Fatal(err)
	}
	proofs, _ := json.Marshal(b.proofs(f))
	entries, _ := json.Marshal(entryStrings(b.opts.LogEntries))
	f.Add(rec, list.String(), proofs, entries)
	f.Add(rec, "", []byte(nil), []byte(nil))
	committed, _ := json.Marshal(b.committed)
	frozen, _ := json.Marshal(b.frozen)
	f.Add(committed, list.String(), []byte(`[]`), entries)
	f.Add(frozen, "1 1\n", []byte(`[]`), []byte(`{}`))

	keys := testKeys(f, testWitnesses(f))
	f.Fuzz(func(t *testing.T, recordJSON []byte, entrantList string, proofsJSON, entriesJSON []byte) {
		var r draw.Record
		if err := timed(t, "decoding the record", func() error { return json.Unmarshal(recordJSON, &r) }); err != nil {
			return
		}
		ids, tickets, err := draw.ReadEntrantList(strings.NewReader(entrantList))
		if err != nil {
			ids, tickets = nil, nil
		}
		var proofs []draw.Proof
		if json.Unmarshal(proofsJSON, &proofs) != nil {
			proofs = nil
		}
		var logEntries map[string]string
		if json.Unmarshal(entriesJSON, &logEntries) != nil {
			logEntries = nil
		}
		base := keys
		base.MaxStreamValues = fuzzStreamLimit
		base.LogEntries = map[uint64][]byte{}
		for k, v := range logEntries {
			if i, err := strconv.ParseUint(k, 10, 64); err == nil {
				base.LogEntries[i] = []byte(v)
			}
		}
		verify := func(what string, withList, withProofs bool) error {
			opts := base
			if withList {
				opts.Entrants, opts.Tickets = ids, tickets
			}
			if withProofs {
				opts.Proofs = proofs
			}
			err := timed(t, what, func() error { return draw.Verify(r, opts) })
			checkVerifyErrorV2(t, what, err)
			return err
		}
		bare := verify("Verify(record)", false, false)
		withList := verify("Verify(record, entrants)", true, false)
		withProofs := verify("Verify(record, proofs)", false, true)
		withBoth := verify("Verify(record, entrants, proofs)", true, true)
		if bare != nil && (withList == nil || withProofs == nil || withBoth == nil) {
			t.Fatalf("fails alone (%v) but passes with more evidence: entrants %v, proofs %v, both %v", bare, withList, withProofs, withBoth)
		}
		if withBoth == nil && (withList != nil || withProofs != nil) {
			t.Fatalf("passes with entrants and proofs but not with one of them: %v, %v", withList, withProofs)
		}
		if bare != nil || r.Version != draw.VersionV2 {
			return
		}
		k := min(r.WinnerCountRequested, r.EntrantsCount)
		if r.Status != draw.StatusDrawn || uint64(len(r.Winners)) != k || r.TotalTickets < r.EntrantsCount || r.TotalTickets > draw.MaxTotalTickets {
			t.Fatalf("verified a record with status %q, %d winners of %d, %d tickets for %d entrants", r.Status, len(r.Winners), k, r.TotalTickets, r.EntrantsCount)
		}
		seen := map[int]bool{}
		for _, w := range r.CurrentWinners() {
			if w.Index >= r.EntrantsCount || w.Position < 1 || uint64(w.Position) > k || seen[w.Position] ||
				w.Tickets == 0 || w.Tickets > r.MaxTickets || w.Ticket < w.FirstTicket || w.Ticket-w.FirstTicket >= w.Tickets {
				t.Fatalf("verified a record whose current winner %+v is out of range or repeated", w)
			}
			seen[w.Position] = true
		}
		if encodableV2(r) {
			out, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("a verified record does not encode: %v", err)
			}
			var back draw.Record
			if err := json.Unmarshal(out, &back); err != nil || !reflect.DeepEqual(back, r) {
				t.Fatalf("re-encoding changed the verified record (%v):\n got %+v\nwant %+v", err, back, r)
			}
		}
		if withList == nil && ids != nil {
			tree, err := draw.NewSumTree(ids, tickets)
			if err != nil {
				t.Fatalf("the list verified but builds no tree: %v", err)
			}
			for _, w := range r.CurrentWinners() {
				if id, tk, first := tree.Entrant(w.Index); id != w.UserID || tk != w.Tickets || first != w.FirstTicket {
					t.Fatalf("verified against the list, yet winner %+v is entrant %d with %d tickets from %d", w, id, tk, first)
				}
			}
			if withBoth == nil {
				for _, p := range proofs {
					want, err := r.TicketProof(tree, p.UserID)
					if err != nil || !reflect.DeepEqual(want, p) {
						t.Fatalf("verified proof %+v differs from the list's %+v (%v)", p, want, err)
					}
				}
			}
		}
	})
}

func entryStrings(m map[uint64][]byte) map[string]string {
	out := map[string]string{}
	for i, b := range m {
		out[strconv.FormatUint(i, 10)] = string(b)
	}
	return out
}

// FuzzDrawDifferentialV2 draws a v2 giveaway from fuzzed inputs on a test
// chain, optionally redraws and attests, and holds the result against the
// verifier: the record verifies with all the evidence and survives JSON; and
// flipping bits of any one byte of its JSON gives a record that fails to
// decode, fails verification with all the evidence, or decodes to the same
// record.
func FuzzDrawDifferentialV2(f *testing.F) {
	f.Add([]byte("seed"), int64(42), int64(1), []byte{0, 3, 1, 0, 1, 2, 0, 9, 4, 0}, uint16(2), uint8(5), uint32(7200), uint64(1), true, uint32(100), uint8(1))
	f.Add([]byte{}, int64(math.MaxInt64), int64(math.MaxInt64-40), []byte{0, 0, 0, 0, 0, 0}, uint16(65535), uint8(1), uint32(3), uint64(0), false, uint32(7), uint8(0x20))
	f.Add([]byte("x"), int64(9), int64(5), []byte{}, uint16(1), uint8(3), uint32(30), uint64(0), true, uint32(3), uint8(4))
	tc := newTestChain(f)
	witnesses := testWitnesses(f)
	keys := testKeys(f, witnesses)
	f.Fuzz(func(t *testing.T, seedBytes []byte, giveawayID, start int64, gaps []byte, winnerCount uint16, maxTickets uint8,
		delay uint32, disqualify uint64, attest bool, mutateAt uint32, mutateXor uint8) {
		if giveawayID < 1 || maxTickets == 0 || delay < 3 {
			return
		}
		// Each pair of bytes is the gap to the next id and the tickets.
		ids, tickets := []int64{}, []uint64{}
		id := max(start, 1)
		for i := 0; i+1 < len(gaps) && len(ids) < 256; i += 2 {
			ids = append(ids, id)
			tickets = append(tickets, 1+uint64(gaps[i+1])%uint64(maxTickets))
			gap := 1 + int64(gaps[i])
			if id > math.MaxInt64-gap {
				break
			}
			id += gap
		}
		tickets = tickets[:len(ids)]
		serverSeed := v2ServerSeed(string(seedBytes))
		chain := tc.chain
		committed := time.Unix(chain.GenesisTime+86400, 0).UTC()
		tree, err := draw.NewSumTree(ids, tickets)
		if err != nil {
			t.Fatalf("NewSumTree: %v", err)
		}
		l := newTestLog(t)
		r, err := draw.Commit(draw.CommitInput{GiveawayID: giveawayID, ServerSeed: serverSeed, CommittedAt: committed, Chain: chain,
			BeaconDelay: uint64(delay), MaxTickets: uint64(maxTickets)})
		if err != nil {
			t.Fatalf("Commit: %v", err)
		}
		r.Log = append(r.Log, draw.LogRef{Type: drawlog.TypeCommit, Index: l.append(r.CommitEntry(r.LogHeader(0)))})
		frozenAt := committed.Add(time.Duration(delay%3600) * time.Second)
		r, err = r.Freeze(draw.FreezeInput{Entrants: tree, WinnerCount: uint64(winnerCount), FrozenAt: frozenAt, Chain: chain})
		if winnerCount == 0 {
			if err == nil {
				t.Fatal("Freeze accepted a winner count of 0")
			}
			return
		}
		if err != nil {
			t.Fatalf("Freeze: %v", err)
		}
		freezeIndex := l.append(r.FreezeEntry(r.LogHeader(1)))
		r.Log = append(r.Log, draw.LogRef{Type: drawlog.TypeFreeze, Index: freezeIndex})
		deadline := chain.RoundTime(r.BeaconRound).Add(-draw.CosignatureMargin)
		if attest && !deadline.Before(frozenAt) {
			r.FreezeAttested = true
			r.FreezeAttestation = l.attest(freezeIndex, witnesses[0].at(t, deadline), witnesses[1].at(t, frozenAt))
		}
		var sig []byte
		drawnAt := frozenAt
		if len(ids) > 0 {
			sig, drawnAt = tc.sign(r.BeaconRound), r.BeaconRoundTime(chain)
		}
		r, err = r.DrawWinners(draw.DrawInput{ServerSeed: serverSeed, Entrants: tree, BeaconSignature: sig, DrawnAt: drawnAt, Chain: chain})
		if err != nil {
			t.Fatalf("DrawWinners: %v", err)
		}
		r.Log = append(r.Log, draw.LogRef{Type: drawlog.TypeDraw, Index: l.append(r.DrawEntry(r.LogHeader(2)))})
		var dq []draw.Disqualification
		for _, w := range r.Winners {
			if disqualify>>(uint(w.Position-1)%64)&1 == 1 {
				dq = append(dq, draw.Disqualification{UserID: w.UserID, Reason: draw.Reasons()[w.Position%len(draw.Reasons())]})
			}
		}
		if len(dq) > 0 {
			req, err := r.RequestRedraw(dq, drawnAt.Add(time.Hour), chain)
			if err != nil {
				t.Fatalf("RequestRedraw: %v", err)
			}
			reqIndex := l.append(req.RequestEntry(r.LogHeader(3)))
			r.Log = append(r.Log, draw.LogRef{Type: drawlog.TypeRedrawRequest, Index: reqIndex})
			if attest {
				d := chain.RoundTime(req.BeaconRound).Add(-draw.CosignatureMargin)
				req.RequestAttestation = l.attest(reqIndex, witnesses[0].at(t, d), witnesses[1].at(t, req.RequestedAt))
			}
			rd, err := r.CompleteRedraw(req, draw.RedrawInput{Entrants: tree, BeaconSignature: tc.sign(req.BeaconRound),
				RedrawnAt: chain.RoundTime(req.BeaconRound), Chain: chain})
			if err != nil {
				t.Fatalf("CompleteRedraw: %v", err)
			}
			if want := min(len(dq), len(ids)-len(r.Winners)); countFilled(rd) != want {
				t.Fatalf("%d replacements for %d disqualified with %d entrants left", countFilled(rd), len(dq), len(ids)-len(r.Winners))
			}
			r.Replacements = append(r.Replacements, rd)
			r.Log = append(r.Log, draw.LogRef{Type: drawlog.TypeRedraw, Index: l.append(r.RedrawEntry(r.LogHeader(4), 1))})
		}
		opts := keys
		opts.Chain, opts.Entrants, opts.Tickets, opts.LogEntries = &chain, ids, tickets, l.entries
		for _, id := range ids[:min(len(ids), 2)] {
			p, err := r.TicketProof(tree, id)
			if err != nil {
				t.Fatal(err)
			}
			opts.Proofs = append(opts.Proofs, p)
		}
		rep, err := draw.VerifyReport(r, opts)
		if err != nil {
			t.Fatalf("a record drawn from valid input does not verify: %v", err)
		}
		if slices.Contains(rep.Checks, "attestation") != r.FreezeAttested || len(rep.Unchecked) != 0 {
			t.Fatalf("report %+v for a record attested %t", rep, r.FreezeAttested)
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
		if timed(t, "Verify(mutated)", func() error { return draw.Verify(m, opts) }) != nil {
			return
		}
		if !reflect.DeepEqual(m, r) {
			t.Fatalf("changing byte %d (%q to %q) gives a different record that still verifies:\n%s", i, data[i], mutated[i], mutated)
		}
	})
}

func countFilled(rd draw.Redraw) int {
	n := 0
	for _, p := range rd.Replacements {
		if !p.Empty() {
			n++
		}
	}
	return n
}
