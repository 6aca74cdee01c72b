package participantctl_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participantctl"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// v2Giveaway is the giveaway most v2 tests verify: 12 entrants with 1 to
// 4 tickets, 3 winners, the freeze and the redraw request attested, one
// winner disqualified for fraud.
var v2Giveaway = v2Spec{id: 7, n: 12, k: 3, attest: true, redraw: true, frozenAt: base}

func verifyArgs(s *standIn, id int64, extra ...string) []string {
	args := append([]string{"verify-draw", "--giveaway", fmt.Sprint(id)}, s.pinned("--log-key")...)
	return append(append(args, extra...), s.url)
}

// TestVerifyDrawV2WithPinnedKeys verifies a v2 draw end to end against
// the stand-in service with every key pinned: exit 0, and the output
// names the chain, the rules hash, the tickets and the disqualification.
func TestVerifyDrawV2WithPinnedKeys(t *testing.T) {
	s := newStandIn(t)
	s.drawV1(3, 10)
	rec := s.drawV2(v2Giveaway)
	code, out, errOut := run(t, "", verifyArgs(s, 7)...)
	if code != participantctl.ExitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	w := rec.Winners[0]
	gone := rec.Replacements[0].Disqualified[0]
	for _, want := range []string{
		fmt.Sprintf("verified: giveaway 7 (telegive-draw-v2), 12 entrants holding %d tickets, 3 winners, 1 redraw round(s)\n", rec.TotalTickets),
		"  chain        " + s.chain.Info.HashHex() + " (not quicknet, beacon id \"telegive-test\", pinned with --chain-info ",
		"  rules        sha256 " + rulesHash.String() + " ",
		fmt.Sprintf("  ok  beacon_round (round %d is the first at or after frozen_at + beacon_delay 10 s)\n", rec.BeaconRound),
		fmt.Sprintf("  ok  beacon (round %d's BLS signature verifies", rec.BeaconRound),
		"  ok  attestation (the freeze entry, log index 4, is in a checkpoint of size 5 signed by the log key and cosigned by witness.example/one at 2026-06-01T10:00:01Z, witness.example/two at 2026-06-01T10:00:01Z",
		"  ok  replacements (1 redraw round(s)",
		"  ok  log (5 log entries match the record byte for byte",
		"  ok  log_checkpoint (the latest checkpoint, size 8, is signed by the log key; cosigned by 2 of 2 witnesses, quorum 2)\n",
		"  ok  log_inclusion (5 of the giveaway's log entries are in that checkpoint)\n",
		"  ok  log_consistency (2 attesting checkpoint(s) are prefixes of the latest)\n",
		"  ok  winner identities and tickets (4 user ids, each by its inclusion proof in the Merkle sum tree)\n",
		fmt.Sprintf("  drawn 1: user %d, %d ticket(s) [%d, %d) of %d, hit by ticket %d (stream value %d, entrant index %d)\n",
			w.UserID, w.Tickets, w.FirstTicket, w.FirstTicket+w.Tickets, rec.TotalTickets, w.Ticket, w.StreamIndex, w.Index),
		fmt.Sprintf("    disqualified user %d: fraud\n", gone.UserID),
		"  1 winner(s) disqualified in 1 round(s)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if strings.Contains(out, "not pinned") || strings.Contains(out, "NOT FULLY") {
		t.Errorf("a fully pinned verification says something was not checked")
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", out)
	}

	// With the entrant list the identities are checked against it.
	code, out, _ = run(t, "", verifyArgs(s, 7, "--entrants", "server")...)
	if code != participantctl.ExitOK || !strings.Contains(out, "  ok  entrants (root, count and tickets of 12 entrants recomputed from the list)\n") ||
		strings.Contains(out, "not checked") {
		t.Fatalf("with the entrant list: exit %d\n%s", code, out)
	}
}

// TestVerifyDrawV2UnpinnedKeysIsNotVerified leaves the log and witness
// keys out: the tool takes them from the service, names each as not
// pinned, and exits 4, although every check it ran passed.
func TestVerifyDrawV2UnpinnedKeysIsNotVerified(t *testing.T) {
	s := newStandIn(t)
	s.drawV2(v2Giveaway)
	code, out, errOut := run(t, "", "verify-draw", "--giveaway", "7", "--chain-info", s.chainFile, s.url)
	if code != participantctl.ExitPartial {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitPartial, out, errOut)
	}
	for _, want := range []string{
		"NOT FULLY VERIFIED: giveaway 7 (telegive-draw-v2)",
		"  not pinned   log key " + s.logVKey + " was taken from the service (/log/key), not pinned with --log-key",
		"  not pinned   the service gave witness keys " + s.witnesses[0].VerifierKey() + ", " + s.witnesses[1].VerifierKey() + " and quorum 2 (/log/key), not pinned with --witness-key",
		"  ok  attestation (",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if strings.HasPrefix(out, "verified") {
		t.Errorf("unpinned keys were called verified")
	}
	// The log key pinned alone still leaves the witnesses unpinned.
	code, out, _ = run(t, "", "verify-draw", "--giveaway", "7", "--chain-info", s.chainFile, "--log-key", s.logVKey, s.url)
	if code != participantctl.ExitPartial || strings.Contains(out, "not pinned   log key") || !strings.Contains(out, "not pinned   the service gave witness keys") {
		t.Errorf("log key pinned alone: exit %d\n%s", code, out)
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", out)
	}
}

// TestVerifyDrawV2NamesTheFailedCheck has the service lie in each way
// that matters and expects the check that catches it to be named.
func TestVerifyDrawV2NamesTheFailedCheck(t *testing.T) {
	s := newStandIn(t)
	rec := s.drawV2(v2Giveaway)
	s.drawV2(v2Spec{id: 8, n: 5, k: 2, attest: true, late: true, frozenAt: base.Add(time.Hour)})
	s.drawV2(v2Spec{id: 11, n: 9, twoOrMore: true, k: 3, attest: true, frozenAt: base.Add(2 * time.Hour)})
	drawIndex := rec.Log[2].Index

	// Another entrant, neither a winner nor a replacement.
	chosen := map[int64]bool{}
	for _, c := range rec.Claims() {
		chosen[c.UserID] = true
	}
	var outsider int64
	for i := int64(12); i >= 1 && outsider == 0; i-- {
		if !chosen[1000*i+7] {
			outsider = 1000*i + 7
		}
	}

	cases := []struct {
		name, check string
		id          int64
		record      func(r *draw.Record)
		entry       func(index uint64, data []byte) []byte
		extra       []string
	}{
		{name: "beacon signature bit", check: "beacon", record: func(r *draw.Record) { r.BeaconSignature[47] ^= 1 }},
		{name: "round not the first after the freeze", check: "beacon_round", record: func(r *draw.Record) {
			r.BeaconRound++
			r.BeaconSignature = s.chain.Sign(r.BeaconRound)
		}},
		{name: "late cosignature", check: "attestation", id: 8},
		{name: "winner id", check: "proof", record: func(r *draw.Record) { r.Winners[0].UserID = outsider }},
		// One ticket fewer for the last pick of a draw (no stream value is
		// read after it), dropped from the end of its range that does not
		// hold its winning ticket. With the entrant list the pick is
		// recomputed exactly; without it the winner's proof shows the true
		// count, unless the range left over cannot hold the entrants
		// between it and its chosen neighbours, which "winners" sees
		// first (the test chain's beacon is random, so either may).
		{name: "ticket count with the list", check: "winners", id: 11, extra: []string{"--entrants", "server"}, record: fewerTickets},
		{name: "ticket count", check: "proof|winners", id: 11, record: fewerTickets},
		{name: "log entry differs from the record", check: "log", entry: func(index uint64, data []byte) []byte {
			if index != drawIndex {
				return data
			}
			return []byte(strings.Replace(string(data), rec.DrawnAt.Format(drawlog.TimeLayout), rec.DrawnAt.Add(time.Second).Format(drawlog.TimeLayout), 1))
		}},
		{name: "record and entry agree but are not in the log", check: "log_inclusion",
			record: func(r *draw.Record) { r.DrawnAt = r.DrawnAt.Add(time.Second) },
			entry: func(index uint64, data []byte) []byte {
				if index != drawIndex {
					return data
				}
				r := rec
				r.DrawnAt = r.DrawnAt.Add(time.Second)
				e, err := r.DrawEntry(r.LogHeader(2))
				if err != nil {
					t.Error(err)
				}
				b, _ := drawlog.Marshal(e)
				return b
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.mu.Lock()
			s.recordHook, s.entryHook = c.record, c.entry
			s.mu.Unlock()
			id := c.id
			if id == 0 {
				id = 7
			}
			code, out, errOut := run(t, "", verifyArgs(s, id, c.extra...)...)
			check, _, _ := strings.Cut(strings.TrimPrefix(out, "FAILED "), ": ")
			if code != participantctl.ExitFailed || !strings.HasPrefix(out, "FAILED ") || !slices.Contains(strings.Split(c.check, "|"), check) {
				t.Fatalf("exit %d, want %d and FAILED %s\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitFailed, c.check, out, errOut)
			}
		})
	}
	s.recordHook, s.entryHook = nil, nil

	// Quicknet is pinned unless the user names another chain.
	code, out, _ := run(t, "", "verify-draw", "--giveaway", "7", "--log-key", s.logVKey, "--witness-key", s.witnesses[0].VerifierKey(),
		"--witness-key", s.witnesses[1].VerifierKey(), s.url)
	if code != participantctl.ExitFailed || !strings.HasPrefix(out, "FAILED chain: the pinned chain is 52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971 (quicknet), the record is on chain "+s.chain.Info.HashHex()) {
		t.Fatalf("a test chain against the default pin: exit %d\n%s", code, out)
	}
}

// fewerTickets takes a ticket from the last winner of r.
func fewerTickets(r *draw.Record) {
	w := &r.Winners[len(r.Winners)-1]
	if w.Ticket == w.FirstTicket+w.Tickets-1 {
		w.FirstTicket++
	}
	w.Tickets--
}

// TestVerifyDrawV2UnattestedFreeze verifies a draw whose freeze no witness
// cosigned: the freeze time rests on the operator's word, exit 4.
func TestVerifyDrawV2UnattestedFreeze(t *testing.T) {
	s := newStandIn(t)
	s.drawV2(v2Spec{id: 9, n: 6, k: 2, frozenAt: base})
	code, out, errOut := run(t, "", verifyArgs(s, 9)...)
	if code != participantctl.ExitPartial || !strings.HasPrefix(out, "NOT FULLY VERIFIED: giveaway 9") ||
		!strings.Contains(out, "  not checked  attestation: freeze_attested is false: the freeze time rests on the operator's word") {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitPartial, out, errOut)
	}
}

// TestVerifyDrawV2FromAFile verifies a v2 record file alone: the
// attestation can be checked offline with the pinned keys, but not the
// winners' identities nor the log, and the output says so.
func TestVerifyDrawV2FromAFile(t *testing.T) {
	s := newStandIn(t)
	rec := s.drawV2(v2Giveaway)
	b, err := json.Marshal(map[string]any{"success": true, "draw": rec})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "record.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"verify-draw"}, s.pinned("--log-key")...), path)
	code, out, errOut := run(t, "", args...)
	if code != participantctl.ExitPartial {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitPartial, out, errOut)
	}
	for _, want := range []string{
		"NOT FULLY VERIFIED: giveaway 7",
		"  ok  attestation (",
		"  not checked  log: the log entries were not given",
		"  not checked  log_inclusion: a record file holds no log entries",
		"  not checked  winner identities: nothing here ties these 4 user ids",
		"user id not checked",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	// Without the keys the attestation is not checked either.
	code, out, _ = run(t, "", "verify-draw", "--chain-info", s.chainFile, path)
	if code != participantctl.ExitPartial || !strings.Contains(out, "  not checked  attestation: no log key and witness keys were given") {
		t.Errorf("without keys: exit %d\n%s", code, out)
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", out)
	}
}

// TestVerifyDrawV1SaysItTrustsTheOrganisersSeed verifies a v1 record from
// the service: verified as before, and labelled as trusting the seed.
func TestVerifyDrawV1SaysItTrustsTheOrganisersSeed(t *testing.T) {
	s := newStandIn(t)
	s.drawV1(3, 10)
	code, out, errOut := run(t, "", "verify-draw", "--giveaway", "3", s.url)
	if code != participantctl.ExitOK || !strings.HasPrefix(out, "verified: giveaway 3, 10 entrants, 2 winners") ||
		!strings.Contains(out, "  trust  telegive-draw-v1: the winners follow from the organiser's seed") ||
		!strings.Contains(out, "this record trusts the organiser's seed") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
