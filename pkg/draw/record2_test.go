package draw_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
)

func jsonKeys(t *testing.T, v any) ([]string, map[string]json.RawMessage) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, m
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

var (
	committedV2Keys = []string{"version", "status", "giveaway_id", "commitment", "committed_at", "chain_hash", "beacon_delay", "max_tickets", "rules_sha256"}
	frozenV2Keys    = append(slices.Clone(committedV2Keys), "entrants_count", "entrants_root", "total_tickets", "winner_count_requested",
		"frozen_at", "beacon_round", "freeze_attested", "freeze_attestation", "log")
	drawnV2Keys = append(slices.Clone(frozenV2Keys), "server_seed", "beacon_signature", "draw_seed", "winners", "replacements", "drawn_at")
)

func TestRecordV2JSONShapes(t *testing.T) {
	b := v2Fixture(t)
	seed := draw.HexBytes(v2ServerSeed("fixture")).String()
	for _, c := range []struct {
		name string
		r    draw.Record
		keys []string
	}{
		{"committed", b.committed, committedV2Keys},
		{"frozen", b.frozen, frozenV2Keys},
		{"drawn", b.record, drawnV2Keys},
	} {
		t.Run(c.name, func(t *testing.T) {
			keys, m := jsonKeys(t, c.r)
			if want := sorted(c.keys...); !slices.Equal(keys, want) {
				t.Errorf("keys %v, want %v", keys, want)
			}
			data, _ := json.Marshal(c.r)
			if c.name != "drawn" && strings.Contains(string(data), seed) {
				t.Errorf("a %s record leaks the server seed: %s", c.name, data)
			}
			if string(m["rules_sha256"]) != "null" || string(m["version"]) != `"telegive-draw-v2"` {
				t.Errorf("rules_sha256 %s, version %s", m["rules_sha256"], m["version"])
			}
			var back draw.Record
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			want := c.r
			if c.name == "committed" {
				// The committed shape has no log: only the commitment is
				// public yet.
				want.Log = nil
			}
			if !reflect.DeepEqual(back, want) {
				t.Errorf("round trip changed the record:\n got %+v\nwant %+v", back, want)
			}
			again, _ := json.Marshal(back)
			if string(again) != string(data) {
				t.Errorf("re-encoding differs:\n%s\n%s", data, again)
			}
		})
	}
	// A v2 record never shows v1's beacon, and times are whole-second UTC.
	_, m := jsonKeys(t, b.record)
	if _, ok := m["beacon"]; ok {
		t.Error("a v2 record has a beacon field")
	}
	if got := string(m["frozen_at"]); got != `"2024-10-14T17:13:23Z"` {
		t.Errorf("frozen_at %s", got)
	}
	// The winners and replacements carry their tickets, and an empty
	// position is null.
	var rounds []map[string]json.RawMessage
	if err := json.Unmarshal(m["replacements"], &rounds); err != nil {
		t.Fatal(err)
	}
	var repl []map[string]json.RawMessage
	if err := json.Unmarshal(rounds[1]["replacements"], &repl); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"user_id", "index", "tickets", "first_ticket", "ticket", "stream_index"} {
		if string(repl[2][k]) != "null" {
			t.Errorf("empty position: %s = %s, want null", k, repl[2][k])
		}
	}
	if string(repl[2]["replaces_user_id"]) == "null" || string(repl[0]["user_id"]) == "null" {
		t.Errorf("replacements %v", repl)
	}
	var winners []map[string]json.RawMessage
	if err := json.Unmarshal(m["winners"], &winners); err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(mapsKeys(winners[0])); !slices.Equal(keys, sorted("position", "user_id", "index", "tickets", "first_ticket", "ticket", "stream_index")) {
		t.Errorf("winner keys %v", keys)
	}
}

func mapsKeys(m map[string]json.RawMessage) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestRecordV1JSONHasNoV2Fields: a v1 record, and its picks, replacements
// and proofs on their own, keep exactly the v1 shape.
func TestRecordV1JSONHasNoV2Fields(t *testing.T) {
	r, e := mustDraw(t, 30, 4, []byte("beacon"))
	mustRedraw(t, &r, e, r.Winners[0].UserID)
	keys, _ := jsonKeys(t, r)
	if want := sorted("version", "status", "giveaway_id", "commitment", "committed_at", "server_seed", "entrants_count", "entrants_root",
		"beacon", "draw_seed", "winner_count_requested", "winners", "replacements", "drawn_at"); !slices.Equal(keys, want) {
		t.Errorf("v1 keys %v, want %v", keys, want)
	}
	// Go values with v2 fields set by mistake still give v1 JSON.
	r.Winners[0].Tickets, r.TotalTickets, r.Log = 3, 9, []draw.LogRef{{Type: "commit"}}
	data, _ := json.Marshal(r)
	for _, k := range []string{"tickets", "total_tickets", `"log"`, "stream_index", "chain_hash", "disqualified\""} {
		if strings.Contains(string(data), k) {
			t.Errorf("v1 record JSON holds %s: %s", k, data)
		}
	}
	if k, _ := jsonKeys(t, r.Replacements[0]); !slices.Equal(k, sorted("disqualified_user_ids", "reason", "redrawn_at", "replacements")) {
		t.Errorf("v1 round keys %v", k)
	}
	if k, _ := jsonKeys(t, mustProof(t, r, e, e[3])); !slices.Equal(k, sorted("user_id", "leaf_index", "tree_size", "audit_path", "entrants_root", "is_winner", "position")) {
		t.Errorf("v1 proof keys %v", k)
	}
}

func TestProofV2JSON(t *testing.T) {
	b := v2Fixture(t)
	p := b.proofs(t)[0]
	keys, m := jsonKeys(t, p)
	if want := sorted("user_id", "tickets", "leaf_index", "tree_size", "first_ticket", "audit_path", "entrants_root", "total_tickets", "is_winner", "position"); !slices.Equal(keys, want) {
		t.Errorf("v2 proof keys %v, want %v", keys, want)
	}
	if !strings.HasPrefix(string(m["audit_path"]), `[{"hash":"`) {
		t.Errorf("audit_path %s", m["audit_path"])
	}
	data, _ := json.Marshal(p)
	var back draw.Proof
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, p) {
		t.Errorf("v2 proof round trip: %v\n got %+v\nwant %+v", err, back, p)
	}
}

func TestV2StepsRefuse(t *testing.T) {
	qn := beacon.Quicknet()
	tc := newTestChain(t)
	seed := v2ServerSeed("steps")
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	good := draw.CommitInput{GiveawayID: 3, ServerSeed: seed, CommittedAt: at, Chain: qn, MaxTickets: 3}
	c, err := draw.Commit(good)
	if err != nil || c.BeaconDelay != draw.DefaultBeaconDelay || c.MaxTickets != 3 || c.Status != draw.StatusCommitted {
		t.Fatalf("Commit = %+v, %v", c, err)
	}
	for name, mutate := range map[string]func(*draw.CommitInput){
		"giveaway 0":          func(in *draw.CommitInput) { in.GiveawayID = 0 },
		"short seed":          func(in *draw.CommitInput) { in.ServerSeed = seed[:31] },
		"delay below period":  func(in *draw.CommitInput) { in.BeaconDelay = 2 },
		"fractional time":     func(in *draw.CommitInput) { in.CommittedAt = at.Add(time.Millisecond) },
		"invalid chain":       func(in *draw.CommitInput) { in.Chain.GenesisTime++ },
		"too many max ticket": func(in *draw.CommitInput) { in.MaxTickets = 1 << 53 },
	} {
		in := good
		in.Chain = beacon.Quicknet()
		mutate(&in)
		if _, err := draw.Commit(in); err == nil {
			t.Errorf("Commit accepted %s", name)
		}
	}

	ids, tickets := ticketList(10, 3, 1)
	tree, _ := draw.NewSumTree(ids, tickets)
	frozenAt := at.Add(time.Hour)
	fin := draw.FreezeInput{Entrants: tree, WinnerCount: 2, FrozenAt: frozenAt, Chain: qn}
	for name, mutate := range map[string]func(*draw.FreezeInput){
		"another chain":      func(in *draw.FreezeInput) { in.Chain = tc.chain },
		"no winners":         func(in *draw.FreezeInput) { in.WinnerCount = 0 },
		"before the commit":  func(in *draw.FreezeInput) { in.FrozenAt = at.Add(-time.Second) },
		"fractional":         func(in *draw.FreezeInput) { in.FrozenAt = frozenAt.Add(time.Microsecond) },
		"no tree":            func(in *draw.FreezeInput) { in.Entrants = nil },
		"tickets over limit": func(in *draw.FreezeInput) { in.Entrants, _ = draw.NewSumTree([]int64{1}, []uint64{4}) },
	} {
		in := fin
		mutate(&in)
		if _, err := c.Freeze(in); err == nil {
			t.Errorf("Freeze accepted %s", name)
		}
	}
	f, err := c.Freeze(fin)
	if err != nil {
		t.Fatal(err)
	}
	if want := qn.FirstRoundAtOrAfter(frozenAt.Add(10 * time.Second)); f.BeaconRound != want || f.Status != draw.StatusFrozen || f.TotalTickets != tree.TotalTickets() {
		t.Fatalf("frozen record %+v, want beacon round %d", f, want)
	}
	if _, err := f.Freeze(fin); err == nil {
		t.Error("a frozen record froze again")
	}
	// quicknet's real rounds are long past this freeze's round: a forged
	// signature must be refused before anything is drawn.
	din := draw.DrawInput{ServerSeed: seed, Entrants: tree, BeaconSignature: quicknetSig(t, 1000), DrawnAt: f.BeaconRoundTime(qn), Chain: qn}
	if _, err := f.DrawWinners(din); !errors.Is(err, beacon.ErrSignatureMismatch) {
		t.Errorf("DrawWinners with another round's signature: %v", err)
	}
	other, _ := draw.NewSumTree(ids[1:], tickets[1:])
	for name, mutate := range map[string]func(*draw.DrawInput){
		"wrong seed":   func(in *draw.DrawInput) { in.ServerSeed = v2ServerSeed("other") },
		"another list": func(in *draw.DrawInput) { in.Entrants = other },
		"before":       func(in *draw.DrawInput) { in.DrawnAt = frozenAt.Add(-time.Second) },
	} {
		in := din
		mutate(&in)
		if _, err := f.DrawWinners(in); err == nil {
			t.Errorf("DrawWinners accepted %s", name)
		}
	}
	if _, err := c.DrawWinners(din); err == nil {
		t.Error("a committed record was drawn without a freeze")
	}
	if _, err := c.TicketProof(tree, ids[0]); err == nil {
		t.Error("a committed record gave a proof")
	}
	if p, err := f.TicketProof(tree, ids[4]); err != nil || p.IsWinner || p.Tickets != tickets[4] {
		t.Errorf("a frozen record's proof: %+v, %v", p, err)
	}
	if _, err := f.TicketProof(tree, ids[4]+1); !errors.Is(err, draw.ErrNotEntered) {
		t.Errorf("proof of a non-entrant: %v", err)
	}
}

func TestRedrawStepsRefuse(t *testing.T) {
	b := v2Fixture(t)
	qn := beacon.Quicknet()
	r := b.record
	last := r.Replacements[1]
	before := r
	before.Replacements = r.Replacements[:1]
	cur := before.CurrentWinners()
	at := last.RequestedAt
	for name, dq := range map[string][]draw.Disqualification{
		"none":           nil,
		"not a winner":   {{UserID: r.Replacements[0].Disqualified[0].UserID, Reason: draw.ReasonFraud}},
		"twice":          {{UserID: cur[0].UserID, Reason: draw.ReasonFraud}, {UserID: cur[0].UserID, Reason: draw.ReasonAdmin}},
		"unknown reason": {{UserID: cur[0].UserID, Reason: "left"}},
	} {
		if _, err := before.RequestRedraw(dq, at, qn); err == nil {
			t.Errorf("RequestRedraw accepted %s", name)
		}
	}
	if _, err := before.RequestRedraw([]draw.Disqualification{{UserID: cur[0].UserID, Reason: draw.ReasonFraud}}, r.DrawnAt, qn); err == nil {
		t.Error("RequestRedraw accepted a time before the last round")
	}
	// Given in any order, the request lists them by position.
	rev := slices.Clone(last.Disqualified)
	slices.Reverse(rev)
	req, err := before.RequestRedraw(rev, at, qn)
	if err != nil || !slices.Equal(req.Disqualified, last.Disqualified) || req.Round != 2 || req.BeaconRound != last.BeaconRound {
		t.Fatalf("RequestRedraw = %+v, %v", req, err)
	}
	in := draw.RedrawInput{Entrants: b.tree, BeaconSignature: last.BeaconSignature, RedrawnAt: last.RedrawnAt, Chain: qn}
	if _, err := before.CompleteRedraw(req, in); err != nil {
		t.Fatal(err)
	}
	req.RequestAttestation = last.RequestAttestation
	if got, _ := before.CompleteRedraw(req, in); !reflect.DeepEqual(got, last) {
		t.Errorf("CompleteRedraw = %+v, want %+v", got, last)
	}
	bad := req
	bad.BeaconRound++
	if _, err := before.CompleteRedraw(bad, in); err == nil {
		t.Error("CompleteRedraw accepted a request with another beacon round")
	}
	in2 := in
	in2.BeaconSignature = quicknetSig(t, 1000)
	if _, err := before.CompleteRedraw(req, in2); err == nil {
		t.Error("CompleteRedraw accepted another round's signature")
	}
	broken := recordCopy(t, before)
	broken.Winners[0].Ticket++
	if _, err := broken.CompleteRedraw(req, in); err == nil || !strings.Contains(err.Error(), "inconsistent") {
		t.Errorf("CompleteRedraw extended an inconsistent record: %v", err)
	}
}

// TestV1MethodsRefuseV2: the v1 proof and redraw, which know nothing of
// tickets, refuse a v2 record instead of computing something wrong.
func TestV1MethodsRefuseV2(t *testing.T) {
	b := v2Fixture(t)
	if _, err := b.record.Proof(b.in.UserIDs, b.in.UserIDs[0]); err == nil || !strings.Contains(err.Error(), "TicketProof") {
		t.Errorf("Record.Proof of a v2 record: %v, want a pointer to TicketProof", err)
	}
	if _, err := b.record.Redraw(b.in.UserIDs, []int64{b.record.CurrentWinners()[0].UserID}, "x", b.record.DrawnAt); err == nil ||
		!strings.Contains(err.Error(), "RequestRedraw") {
		t.Errorf("Record.Redraw of a v2 record: %v, want a pointer to RequestRedraw", err)
	}
}
