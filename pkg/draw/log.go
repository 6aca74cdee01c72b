package draw

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/telegive/participant-service/pkg/drawlog"
)

// LogHeader returns the header of the giveaway's entry at position j of
// r.Log, or of the next entry to append when j is len(r.Log): seq j, and
// prev the log index of the entry before it (nil for the first).
func (r Record) LogHeader(j int) drawlog.Header {
	h := drawlog.Header{GiveawayID: r.GiveawayID, Seq: uint64(j)}
	if j > 0 && j <= len(r.Log) {
		prev := r.Log[j-1].Index
		h.Prev = &prev
	}
	return h
}

// logPosition returns the position in r.Log of the nth (from 1) entry of
// type t.
func (r Record) logPosition(t drawlog.Type, nth int) (int, bool) {
	for j, ref := range r.Log {
		if ref.Type == t {
			if nth--; nth == 0 {
				return j, true
			}
		}
	}
	return 0, false
}

// CommitEntry returns the giveaway's commit entry with header h. A v1
// record gives v1's values: chain_hash null, beacon_delay 0, max_tickets 1.
func (r Record) CommitEntry(h drawlog.Header) (drawlog.Commit, error) {
	e := drawlog.Commit{Header: h, Commitment: drawlog.Hash(r.Commitment), Version: r.Version, CommittedAt: r.CommittedAt.UTC()}
	if r.Version == VersionV2 {
		ch := drawlog.Hash(r.ChainHash)
		e.ChainHash, e.BeaconDelay, e.MaxTickets = &ch, r.BeaconDelay, r.MaxTickets
		if r.RulesSHA256 != nil {
			rh := drawlog.Hash(*r.RulesSHA256)
			e.RulesSHA256 = &rh
		}
	} else {
		e.MaxTickets = 1
	}
	return e, checkEntry(e)
}

// FreezeEntry returns the giveaway's freeze entry with header h. A v1
// record, which has no freeze time, gives drawn_at, total_tickets equal to
// entrants_count and beacon_round null.
func (r Record) FreezeEntry(h drawlog.Header) (drawlog.Freeze, error) {
	e := drawlog.Freeze{Header: h, Commitment: drawlog.Hash(r.Commitment), EntrantsRoot: drawlog.Hash(r.EntrantsRoot),
		EntrantsCount: r.EntrantsCount, TotalTickets: r.EntrantsCount, WinnerCount: r.WinnerCountRequested, FrozenAt: r.DrawnAt.UTC()}
	if r.Version == VersionV2 {
		round := r.BeaconRound
		e.TotalTickets, e.BeaconRound, e.FrozenAt = r.TotalTickets, &round, r.FrozenAt.UTC()
	}
	return e, checkEntry(e)
}

// DrawEntry returns the giveaway's draw entry with header h: the seeds and
// the initial winners' user ids by position.
func (r Record) DrawEntry(h drawlog.Header) (drawlog.Draw, error) {
	if len(r.ServerSeed) != 32 {
		return drawlog.Draw{}, fmt.Errorf("draw: server seed is %d bytes, expected 32", len(r.ServerSeed))
	}
	e := drawlog.Draw{Header: h, ServerSeed: drawlog.Hash(r.ServerSeed), DrawSeed: drawlog.Hash(r.DrawSeed),
		Winners: make([]int64, len(r.Winners)), DrawnAt: r.DrawnAt.UTC()}
	for i, w := range r.Winners {
		e.Winners[i] = w.UserID
	}
	if r.Version == VersionV2 {
		round := r.BeaconRound
		e.BeaconRound = &round
	}
	return e, checkEntry(e)
}

// RedrawRequestEntry returns the redraw-request entry of redraw round
// round (from 1) with header h: the disqualified winners in ascending order
// of position with their reasons. A v1 round gives each disqualified winner
// the round's reason, requested_at its redrawn_at, and beacon_round null.
func (r Record) RedrawRequestEntry(h drawlog.Header, round int) (drawlog.RedrawRequest, error) {
	if round < 1 || round > len(r.Replacements) {
		return drawlog.RedrawRequest{}, fmt.Errorf("draw: no redraw round %d", round)
	}
	rd := r.Replacements[round-1]
	if r.Version == VersionV2 {
		return rd.RequestEntry(h)
	}
	e := drawlog.RedrawRequest{Header: h, Round: uint64(round), RequestedAt: rd.RedrawnAt.UTC()}
	for _, id := range r.v1Disqualified(round) {
		e.Disqualified = append(e.Disqualified, drawlog.Disqualification{UserID: id, Reason: rd.Reason})
	}
	return e, checkEntry(e)
}

// RequestEntry returns the redraw-request entry of the v2 round rd, as
// [Record.RequestRedraw] returns it, before or after its completion.
func (rd Redraw) RequestEntry(h drawlog.Header) (drawlog.RedrawRequest, error) {
	br := rd.BeaconRound
	e := drawlog.RedrawRequest{Header: h, Round: rd.Round, BeaconRound: &br, RequestedAt: rd.RequestedAt.UTC()}
	for _, d := range rd.Disqualified {
		e.Disqualified = append(e.Disqualified, drawlog.Disqualification{UserID: d.UserID, Reason: string(d.Reason)})
	}
	return e, checkEntry(e)
}

// RedrawEntry returns the redraw entry of redraw round round (from 1) with
// header h: for each disqualified winner of the request, in its order, the
// user id that takes the position, or drawlog.NoReplacement when it stays
// empty.
func (r Record) RedrawEntry(h drawlog.Header, round int) (drawlog.Redraw, error) {
	if round < 1 || round > len(r.Replacements) {
		return drawlog.Redraw{}, fmt.Errorf("draw: no redraw round %d", round)
	}
	rd := r.Replacements[round-1]
	e := drawlog.Redraw{Header: h, Round: uint64(round), RedrawnAt: rd.RedrawnAt.UTC()}
	if r.Version == VersionV2 {
		for _, p := range rd.Replacements {
			e.Replacements = append(e.Replacements, p.UserID)
		}
	} else {
		// v1 lists the replacements found, in ascending position; the
		// positions left over ran out.
		e.Replacements = make([]int64, len(r.v1Disqualified(round)))
		for i, p := range rd.Replacements {
			if i < len(e.Replacements) {
				e.Replacements[i] = p.UserID
			}
		}
	}
	return e, checkEntry(e)
}

// v1Disqualified returns v1 round's disqualified winners in ascending
// order of the positions they held, as the record states them.
func (r Record) v1Disqualified(round int) []int64 {
	seats := make(map[int64]int)
	for _, w := range r.Winners {
		seats[w.UserID] = w.Position
	}
	for _, rd := range r.Replacements[:round-1] {
		for _, id := range rd.DisqualifiedUserIDs {
			delete(seats, id)
		}
		for _, p := range rd.Replacements {
			seats[p.UserID] = p.Position
		}
	}
	ids := slices.Clone(r.Replacements[round-1].DisqualifiedUserIDs)
	slices.SortStableFunc(ids, func(a, b int64) int { return cmp.Compare(seats[a], seats[b]) })
	return ids
}

// checkEntry refuses an entry drawlog would not write.
func checkEntry(e drawlog.Entry) error {
	_, err := drawlog.Marshal(e)
	return err
}

// logLayout is the entry types a drawn v2 record's log names, in order.
func (r Record) logLayout() []drawlog.Type {
	out := []drawlog.Type{drawlog.TypeCommit, drawlog.TypeFreeze, drawlog.TypeDraw}
	for range r.Replacements {
		out = append(out, drawlog.TypeRedrawRequest, drawlog.TypeRedraw)
	}
	return out
}

// logEntry rebuilds the entry at position j of r.Log, whose layout is
// checked.
func (r Record) logEntry(j int) (drawlog.Entry, error) {
	h := r.LogHeader(j)
	switch {
	case j == 0:
		return r.CommitEntry(h)
	case j == 1:
		return r.FreezeEntry(h)
	case j == 2:
		return r.DrawEntry(h)
	case j%2 == 1:
		return r.RedrawRequestEntry(h, (j-1)/2)
	default:
		return r.RedrawEntry(h, (j-2)/2)
	}
}

// checkLog checks the record's log list, and the entries opts gives
// against the record.
func checkLog(r Record, opts VerifyOptions) *VerifyError {
	want := r.logLayout()
	// A trailing redraw-request is a round still waiting for its beacon,
	// which the record does not hold yet.
	if len(r.Log) == len(want)+1 && r.Log[len(want)].Type == drawlog.TypeRedrawRequest {
		want = append(want, drawlog.TypeRedrawRequest)
	}
	if len(r.Log) != len(want) {
		return failf("log", "the record's log names %d entries, expected %d: a commit, a freeze, a draw and a redraw-request and a redraw per redraw round", len(r.Log), len(want))
	}
	for j, ref := range r.Log {
		if ref.Type != want[j] {
			return failf("log", "log entry %d of the giveaway is a %s, expected a %s", j, ref.Type, want[j])
		}
		if j > 0 && ref.Index <= r.Log[j-1].Index {
			return failf("log", "log index %d of the giveaway's %s does not follow %d", ref.Index, ref.Type, r.Log[j-1].Index)
		}
	}
	var given []drawlog.IndexedEntry
	for j, ref := range r.Log[:len(r.logLayout())] {
		data, ok := opts.LogEntries[ref.Index]
		if !ok {
			continue
		}
		e, err := r.logEntry(j)
		if err != nil {
			return failf("log", "the %s entry cannot be rebuilt from the record: %v", ref.Type, err)
		}
		wantData, err := drawlog.Marshal(e)
		if err != nil {
			return failf("log", "the %s entry rebuilt from the record does not encode: %v", ref.Type, err)
		}
		parsed, err := drawlog.Parse(data)
		if err != nil {
			return failf("log", "log entry %d is not a valid telegive-log-v1 entry: %v", ref.Index, err)
		}
		if !bytes.Equal(data, wantData) {
			return failf("log", "log entry %d (%s): %s", ref.Index, ref.Type, EntryDiff(wantData, data))
		}
		given = append(given, drawlog.IndexedEntry{Index: ref.Index, Entry: parsed})
	}
	if len(given) == len(r.logLayout()) {
		if err := drawlog.CheckGiveawayHistory(given); err != nil {
			return failf("log", "%v", err)
		}
	}
	return nil
}

// EntryDiff names the first member in which two canonical entries
// differ, the record's (want) against the log's (got), for a verifier's
// message.
func EntryDiff(want, got []byte) string {
	var w, g map[string]json.RawMessage
	if json.Unmarshal(want, &w) != nil || json.Unmarshal(got, &g) != nil {
		return fmt.Sprintf("the record gives %s, the log holds %s", want, got)
	}
	keys := make([]string, 0, len(w)+len(g))
	for k := range w {
		keys = append(keys, k)
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		wv, inW := w[k]
		gv, inG := g[k]
		switch {
		case !inW:
			return fmt.Sprintf("the log has member %s (%s), the record none", k, gv)
		case !inG:
			return fmt.Sprintf("the log lacks member %s, the record gives %s", k, wv)
		case !bytes.Equal(wv, gv):
			return fmt.Sprintf("the record gives %s %s, the log holds %s", k, wv, gv)
		}
	}
	return "the bytes differ"
}
