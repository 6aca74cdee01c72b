package draw

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// CosignatureMargin is how long before its beacon round's time a counted
// cosignature must be made: a witness's time at most round_time - 3 s.
const CosignatureMargin = 3 * time.Second

// pinnedChain returns the chain opts pins.
func (opts VerifyOptions) pinnedChain() beacon.Chain {
	if opts.Chain != nil {
		return *opts.Chain
	}
	return beacon.Quicknet()
}

func (opts VerifyOptions) streamLimit() uint64 {
	if opts.MaxStreamValues == 0 {
		return MaxStreamValues
	}
	return opts.MaxStreamValues
}

// canAttest reports whether opts can check attestations.
func (opts VerifyOptions) canAttest() bool { return opts.LogKey != nil && len(opts.Witnesses) > 0 }

func (opts VerifyOptions) quorum() int {
	if opts.Quorum == 0 {
		return len(opts.Witnesses)
	}
	return opts.Quorum
}

// chainName names a chain hash for a reason.
func chainName(h Hash) string {
	if h == Hash(beacon.Quicknet().Hash) {
		return h.String() + " (quicknet)"
	}
	return h.String()
}

// verifyV2 runs the v2 checks in order, recording each passed one.
func verifyV2(r Record, opts VerifyOptions, rep *Report) *VerifyError {
	// version: the record has v2's shape.
	switch {
	case len(r.Beacon) != 0:
		return failf("version", "a %s record has no caller beacon, but this one has %d bytes of it", VersionV2, len(r.Beacon))
	case r.ChainHash == Hash{}:
		return failf("version", "a %s record names its chain_hash, this one has none", VersionV2)
	}
	rep.pass("version")
	if r.Status != StatusDrawn {
		return failf("status", "expected %q, got %q", StatusDrawn, r.Status)
	}
	rep.pass("status")
	if len(r.ServerSeed) != 32 {
		return failf("commitment", "server seed is %d bytes, expected 32", len(r.ServerSeed))
	}
	if c := Commitment(r.ServerSeed); c != r.Commitment {
		return failf("commitment", "SHA-256 of the server seed is %s, commitment is %s", c, r.Commitment)
	}
	rep.pass("commitment")

	chain := opts.pinnedChain()
	if opts.Chain != nil {
		if err := chain.Validate(); err != nil {
			return failf("chain", "the pinned chain %x is not a valid chain: %v", chain.Hash, err)
		}
	}
	if len(chain.Hash) != 32 {
		return failf("chain", "the pinned chain's hash is %d bytes, expected 32", len(chain.Hash))
	}
	if Hash(chain.Hash) != r.ChainHash {
		return failf("chain", "the pinned chain is %s, the record is on chain %s", chainName(Hash(chain.Hash)), chainName(r.ChainHash))
	}
	rep.pass("chain")

	if err := checkTimingV2(r, chain); err != nil {
		return err
	}
	rep.pass("timing")

	if p := periodSeconds(chain); r.BeaconDelay < max(p, 1) || r.BeaconDelay > MaxTotalTickets {
		return failf("beacon_round", "beacon_delay is %d s, expected at least one period of the chain (%d s)", r.BeaconDelay, p)
	}
	if want := BeaconRoundAfter(chain, r.FrozenAt, r.BeaconDelay); r.BeaconRound != want {
		return failf("beacon_round", "the first round at or after frozen_at %s + beacon_delay %d s is %d, the record says %d",
			formatTime(r.FrozenAt), r.BeaconDelay, want, r.BeaconRound)
	}
	rep.pass("beacon_round")

	if r.EntrantsCount == 0 {
		if len(r.BeaconSignature) != 0 {
			return failf("beacon", "no entrants, so no beacon is awaited, yet the record holds a beacon_signature of %d bytes", len(r.BeaconSignature))
		}
	} else if err := chain.Verify(r.BeaconRound, r.BeaconSignature); err != nil {
		return failf("beacon", "beacon_signature is not round %d's beacon of chain %s: %v", r.BeaconRound, chainName(r.ChainHash), err)
	}
	rep.pass("beacon")

	switch {
	case !r.FreezeAttested && r.FreezeAttestation != nil:
		return failf("attestation", "freeze_attested is false, yet the record holds a freeze_attestation")
	case r.FreezeAttested && r.FreezeAttestation == nil:
		return failf("attestation", "freeze_attested is true, but the record holds no freeze_attestation")
	case r.FreezeAttested && opts.canAttest():
		j, ok := r.logPosition(drawlog.TypeFreeze, 1)
		if !ok {
			return failf("attestation", "the record's log names no freeze entry")
		}
		entry, err := r.FreezeEntry(r.LogHeader(j))
		if err != nil {
			return failf("attestation", "the freeze entry cannot be rebuilt from the record: %v", err)
		}
		if reason := checkAttestation(r.FreezeAttestation, entry, r.Log[j].Index, chain, r.BeaconRound, opts); reason != "" {
			return failf("attestation", "freeze: %s", reason)
		}
		rep.pass("attestation")
	}

	if err := checkTotalTickets(r, opts); err != nil {
		return err
	}
	rep.pass("total_tickets")

	var tree *SumTree
	if opts.Entrants != nil {
		if err := checkEntrants(opts.Entrants); err != nil {
			return failf("entrants", "%v", err)
		}
		t, err := NewSumTree(opts.Entrants, opts.Tickets)
		if err != nil {
			return failf("entrants", "%v", err)
		}
		root := t.Root()
		switch {
		case t.Len() != r.EntrantsCount:
			return failf("entrants", "the list has %d entrants, the record says %d", t.Len(), r.EntrantsCount)
		case root.Sum != r.TotalTickets:
			return failf("entrants", "the list holds %d tickets, the record says total_tickets %d", root.Sum, r.TotalTickets)
		case root.Hash != r.EntrantsRoot:
			return failf("entrants", "the list hashes to root %s, the record says %s", root.Hash, r.EntrantsRoot)
		}
		tree = t
		rep.pass("entrants")
	}

	rand := beacon.Randomness(r.BeaconSignature)
	if s := DrawSeedV2(r.ServerSeed, r.GiveawayID, r.EntrantsRoot, r.EntrantsCount, r.TotalTickets, r.ChainHash, r.BeaconRound, rand); s != r.DrawSeed {
		return failf("draw_seed", "recomputed %s, the record says %s", s, r.DrawSeed)
	}
	rep.pass("draw_seed")

	s := newReplay(r, tree, opts.streamLimit())
	if err := s.winners(); err != nil {
		return err
	}
	rep.pass("winners")

	for n := range r.Replacements {
		if err := checkRoundV2(r, n, chain, opts); err != nil {
			return err
		}
		if err := s.round(n); err != nil {
			return err
		}
	}
	rep.pass("replacements")

	if err := verifyProofsV2(r, opts.Proofs); err != nil {
		return err
	}
	if len(opts.Proofs) > 0 {
		rep.pass("proof")
	}

	if err := checkLog(r, opts); err != nil {
		return err
	}
	if logComplete(r, opts) {
		rep.pass("log")
	}
	return nil
}

// checkTimingV2 checks the record's times: whole seconds, committed_at <=
// frozen_at <= drawn_at, and the beacon round not before the freeze.
func checkTimingV2(r Record, chain beacon.Chain) *VerifyError {
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"committed_at", r.CommittedAt}, {"frozen_at", r.FrozenAt}, {"drawn_at", r.DrawnAt}} {
		if err := checkTime(t.name, t.at); err != nil {
			return failf("timing", "%v", err)
		}
	}
	switch {
	case r.CommittedAt.After(r.FrozenAt):
		return failf("timing", "committed at %s, after the freeze at %s", formatTime(r.CommittedAt), formatTime(r.FrozenAt))
	case r.FrozenAt.After(r.DrawnAt):
		return failf("timing", "frozen at %s, after the draw at %s", formatTime(r.FrozenAt), formatTime(r.DrawnAt))
	}
	if rt := chain.RoundTime(r.BeaconRound); rt.Before(r.FrozenAt) {
		return failf("timing", "beacon round %d was published at %s, before the freeze at %s", r.BeaconRound, formatTime(rt), formatTime(r.FrozenAt))
	}
	return nil
}

// checkTotalTickets checks T and max_tickets against N, and the ticket
// counts of a given list.
func checkTotalTickets(r Record, opts VerifyOptions) *VerifyError {
	n, total, most := r.EntrantsCount, r.TotalTickets, r.MaxTickets
	switch {
	case most == 0 || most > MaxTotalTickets:
		return failf("total_tickets", "max_tickets is %d, expected 1 to 2^53-1", most)
	case total > MaxTotalTickets:
		return failf("total_tickets", "total_tickets %d exceeds 2^53-1", total)
	case total < n:
		return failf("total_tickets", "total_tickets %d is below entrants_count %d, but every entrant holds at least one ticket", total, n)
	}
	if hi, lo := bits.Mul64(n, most); hi == 0 && total > lo {
		return failf("total_tickets", "total_tickets %d exceeds entrants_count %d times max_tickets %d", total, n, most)
	}
	if opts.Entrants == nil {
		return nil
	}
	if opts.Tickets != nil && len(opts.Tickets) != len(opts.Entrants) {
		return failf("total_tickets", "the list gives %d ticket counts for %d entrants", len(opts.Tickets), len(opts.Entrants))
	}
	var sum uint64
	for i := range opts.Entrants {
		t := ticketsAt(opts.Tickets, i)
		switch {
		case t == 0 || t > most:
			return failf("total_tickets", "the list gives entrant %d at index %d %d tickets, expected 1 to max_tickets (%d)", opts.Entrants[i], i, t, most)
		case t > MaxTotalTickets-sum:
			return failf("total_tickets", "the list's tickets up to index %d add up to more than 2^53-1", i)
		}
		sum += t
	}
	return nil
}

// checkRoundV2 checks redraw round n+1's times, beacon round, beacon and
// attestation; its selection is replayV2.round's.
func checkRoundV2(r Record, n int, chain beacon.Chain, opts VerifyOptions) *VerifyError {
	rd := r.Replacements[n]
	fail := func(format string, args ...any) *VerifyError {
		return failf("replacements", "round %d: "+format, append([]any{n + 1}, args...)...)
	}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"requested_at", rd.RequestedAt}, {"redrawn_at", rd.RedrawnAt}} {
		if err := checkTime(t.name, t.at); err != nil {
			return fail("%v", err)
		}
	}
	prev, what := r.DrawnAt, "the draw"
	if n > 0 {
		prev, what = r.Replacements[n-1].RedrawnAt, fmt.Sprintf("round %d's redraw", n)
	}
	switch {
	case rd.RequestedAt.Before(prev):
		return fail("requested at %s, before %s at %s", formatTime(rd.RequestedAt), what, formatTime(prev))
	case rd.RedrawnAt.Before(rd.RequestedAt):
		return fail("redrawn at %s, before its request at %s", formatTime(rd.RedrawnAt), formatTime(rd.RequestedAt))
	}
	if want := BeaconRoundAfter(chain, rd.RequestedAt, r.BeaconDelay); rd.BeaconRound != want {
		return fail("the first round at or after requested_at %s + beacon_delay %d s is %d, the record says %d",
			formatTime(rd.RequestedAt), r.BeaconDelay, want, rd.BeaconRound)
	}
	if err := chain.Verify(rd.BeaconRound, rd.BeaconSignature); err != nil {
		return fail("beacon_signature is not round %d's beacon: %v", rd.BeaconRound, err)
	}
	if rd.RequestAttestation != nil && opts.canAttest() {
		j, ok := r.logPosition(drawlog.TypeRedrawRequest, n+1)
		if !ok {
			return fail("the record's log names no redraw-request entry for the round")
		}
		entry, err := r.RedrawRequestEntry(r.LogHeader(j), n+1)
		if err != nil {
			return fail("the redraw-request entry cannot be rebuilt from the record: %v", err)
		}
		if reason := checkAttestation(rd.RequestAttestation, entry, r.Log[j].Index, chain, rd.BeaconRound, opts); reason != "" {
			return fail("request attestation: %s", reason)
		}
	}
	return nil
}

// checkAttestation checks that a shows entry, at log index index, in a
// checkpoint signed by the log and cosigned in time by a quorum of the
// witnesses: each counted cosignature's time at most beacon round's time
// minus CosignatureMargin. It returns why not.
func checkAttestation(a *Attestation, entry drawlog.Entry, index uint64, chain beacon.Chain, round uint64, opts VerifyOptions) string {
	c, n, err := drawlog.VerifyCheckpoint(a.Checkpoint, opts.LogKey)
	if err != nil {
		return fmt.Sprintf("the checkpoint: %v", err)
	}
	switch {
	case a.TreeSize != c.Size:
		return fmt.Sprintf("the checkpoint's tree size is %d, the attestation says %d", c.Size, a.TreeSize)
	case a.LeafIndex != index:
		return fmt.Sprintf("the record's log puts the entry at index %d, the attestation at %d", index, a.LeafIndex)
	}
	quorum := opts.quorum()
	cosigs, err := drawlog.VerifyCosignatures(n, opts.Witnesses, quorum)
	var qe *drawlog.QuorumError
	if err != nil && !errors.As(err, &qe) {
		return fmt.Sprintf("the cosignatures: %v", err)
	}
	deadline := chain.RoundTime(round).Add(-CosignatureMargin)
	var timely int
	var late []string
	for _, cs := range cosigs {
		if cs.Time.After(deadline) {
			late = append(late, fmt.Sprintf("%s at %s", cs.Name, formatTime(cs.Time)))
			continue
		}
		timely++
	}
	if timely < quorum {
		reason := fmt.Sprintf("%d of %d witnesses cosigned by %s (beacon round %d's time - 3 s), the quorum is %d",
			timely, len(opts.Witnesses), formatTime(deadline), round, quorum)
		if len(late) > 0 {
			reason += "; cosigned too late: " + strings.Join(late, ", ")
		}
		return reason
	}
	data, err := drawlog.Marshal(entry)
	if err != nil {
		return fmt.Sprintf("the %s entry rebuilt from the record does not encode: %v", entry.Type(), err)
	}
	path := make([]drawlog.Hash, len(a.AuditPath))
	for i, h := range a.AuditPath {
		path[i] = drawlog.Hash(h)
	}
	if err := drawlog.VerifyInclusion(a.LeafIndex, a.TreeSize, drawlog.LeafHash(data), path, c.Root); err != nil {
		return fmt.Sprintf("the %s entry rebuilt from the record (%s) is not in the checkpoint: %v", entry.Type(), data, err)
	}
	return ""
}

// verifyProofsV2 checks v2 inclusion proofs against the record and its
// claims.
func verifyProofsV2(r Record, proofs []Proof) *VerifyError {
	if len(proofs) == 0 {
		return nil
	}
	winners := make(map[int64]Pick)
	for _, w := range r.CurrentWinners() {
		winners[w.UserID] = w
	}
	byIndex := make(map[uint64]Claim)
	byUser := make(map[int64][]Claim)
	for _, c := range r.Claims() {
		byIndex[c.Index] = c
		byUser[c.UserID] = append(byUser[c.UserID], c)
	}
	for _, p := range proofs {
		switch {
		case p.Tickets == 0:
			return failf("proof", "user %d: a v1 proof (no tickets) for a %s record", p.UserID, VersionV2)
		case p.TreeSize != r.EntrantsCount:
			return failf("proof", "user %d: expected tree size %d, got %d", p.UserID, r.EntrantsCount, p.TreeSize)
		case p.EntrantsRoot != r.EntrantsRoot:
			return failf("proof", "user %d: expected root %s, got %s", p.UserID, r.EntrantsRoot, p.EntrantsRoot)
		case p.TotalTickets != r.TotalTickets:
			return failf("proof", "user %d: expected total_tickets %d, got %d", p.UserID, r.TotalTickets, p.TotalTickets)
		case p.Tickets > r.MaxTickets:
			return failf("proof", "user %d: %d tickets, more than max_tickets %d", p.UserID, p.Tickets, r.MaxTickets)
		}
		first, err := VerifyTicketInclusion(p.UserID, p.Tickets, p.LeafIndex, p.TreeSize, p.SumPath, r.EntrantsRoot, r.TotalTickets)
		if err != nil {
			return failf("proof", "user %d: %v", p.UserID, err)
		}
		if first != p.FirstTicket {
			return failf("proof", "user %d: the audit path gives first ticket %d, the proof says %d", p.UserID, first, p.FirstTicket)
		}
		if c, ok := byIndex[p.LeafIndex]; ok && (c.UserID != p.UserID || c.Tickets != p.Tickets || c.FirstTicket != first) {
			return failf("proof", "%s: the inclusion proof of entrant index %d is for user %d with tickets [%d, %d), the record names user %d with tickets [%d, %d)",
				c.place(), p.LeafIndex, p.UserID, first, first+p.Tickets, c.UserID, c.FirstTicket, c.FirstTicket+c.Tickets)
		}
		for _, c := range byUser[p.UserID] {
			if c.Index != p.LeafIndex {
				return failf("proof", "%s: the inclusion proof puts user %d at entrant index %d, the record at index %d",
					c.place(), p.UserID, p.LeafIndex, c.Index)
			}
		}
		w, won := winners[p.UserID]
		switch {
		case won != p.IsWinner:
			return failf("proof", "user %d: expected is_winner %t, got %t", p.UserID, won, p.IsWinner)
		case w.Position != p.Position:
			return failf("proof", "user %d: expected position %d, got %d", p.UserID, w.Position, p.Position)
		}
	}
	return nil
}

// skippedV2 lists the v2 checks that opts leaves out.
func skippedV2(r Record, opts VerifyOptions) []Skip {
	var out []Skip
	noKeys := "no log key and witness keys were given, so that the %s entry was in a checkpoint the witnesses cosigned before beacon round %d was published is taken on trust"
	switch {
	case !r.FreezeAttested:
		out = append(out, Skip{"attestation", fmt.Sprintf("the record says freeze_attested: false: no witness cosigned the freeze, so that the entrants were fixed before beacon round %d was published rests on the operator's word", r.BeaconRound)})
	case !opts.canAttest():
		out = append(out, Skip{"attestation", fmt.Sprintf(noKeys, "freeze", r.BeaconRound)})
	}
	for n, rd := range r.Replacements {
		switch {
		case rd.RequestAttestation == nil:
			out = append(out, Skip{"replacements", fmt.Sprintf("round %d: its request was not attested: that the disqualified winners were fixed before beacon round %d was published rests on the operator's word", n+1, rd.BeaconRound)})
		case !opts.canAttest():
			out = append(out, Skip{"replacements", fmt.Sprintf("round %d: "+noKeys, n+1, "redraw-request", rd.BeaconRound)})
		}
	}
	if missing := missingLogEntries(r, opts); len(missing) > 0 {
		what := "the log entries were not given"
		if opts.LogEntries != nil {
			what = fmt.Sprintf("log entries %v were not given", missing)
		}
		out = append(out, Skip{"log", what + ", so that the draw log says what the record says is taken on trust"})
	}
	return out
}

// missingLogEntries lists the log indices the record names that opts does
// not hold.
func missingLogEntries(r Record, opts VerifyOptions) []uint64 {
	var out []uint64
	for _, ref := range r.Log[:min(len(r.Log), len(r.logLayout()))] {
		if _, ok := opts.LogEntries[ref.Index]; !ok {
			out = append(out, ref.Index)
		}
	}
	return out
}

func logComplete(r Record, opts VerifyOptions) bool { return len(missingLogEntries(r, opts)) == 0 }

// currentWinnersV2 is CurrentWinners for a v2 record.
func (r Record) currentWinnersV2() []Pick {
	seats := make(map[int]Pick, len(r.Winners))
	users := make(map[int64]int, len(r.Winners))
	for _, w := range r.Winners {
		seats[w.Position] = w
		users[w.UserID] = w.Position
	}
	for _, rd := range r.Replacements {
		for _, d := range rd.Disqualified {
			if pos, ok := users[d.UserID]; ok {
				delete(seats, pos)
				delete(users, d.UserID)
			}
		}
		for _, p := range rd.Replacements {
			if p.Empty() {
				continue
			}
			seats[p.Position] = Pick{Position: p.Position, UserID: p.UserID, Index: p.Index, Tickets: p.Tickets,
				FirstTicket: p.FirstTicket, Ticket: p.Ticket, StreamIndex: p.StreamIndex}
			users[p.UserID] = p.Position
		}
	}
	out := make([]Pick, 0, len(seats))
	for _, w := range seats {
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b Pick) int { return cmp.Compare(a.Position, b.Position) })
	return out
}
