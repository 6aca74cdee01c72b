package drawlog_test

import (
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/drawlog"
)

func TestSampleLogObeysTheRules(t *testing.T) {
	if err := drawlog.CheckGiveawayHistory(indexed(sampleLog(t))); err != nil {
		t.Fatal(err)
	}
	// A verifier feeds one giveaway's entries alone.
	var mine []drawlog.IndexedEntry
	for _, e := range indexed(sampleLog(t)) {
		if e.Entry.Head().GiveawayID == gV1 {
			mine = append(mine, e)
		}
	}
	if err := drawlog.CheckGiveawayHistory(mine); err != nil {
		t.Fatal(err)
	}
}

// logEdit changes the sample log before it is checked.
type logEdit func(t *testing.T, log []drawlog.IndexedEntry) []drawlog.IndexedEntry

// edit applies f to the entry at index i, which must be of type E.
func edit[E drawlog.Entry](i int, f func(*E)) logEdit {
	return func(t *testing.T, log []drawlog.IndexedEntry) []drawlog.IndexedEntry {
		for j := range log {
			if log[j].Index == uint64(i) {
				e := log[j].Entry.(E)
				f(&e)
				log[j].Entry = e
				return log
			}
		}
		t.Fatalf("no entry %d", i)
		return nil
	}
}

// drop removes the entry at index i.
func drop(i int) logEdit {
	return func(t *testing.T, log []drawlog.IndexedEntry) []drawlog.IndexedEntry {
		return slices.DeleteFunc(log, func(e drawlog.IndexedEntry) bool { return e.Index == uint64(i) })
	}
}

// push appends e at the next index.
func push(e drawlog.Entry) logEdit {
	return func(t *testing.T, log []drawlog.IndexedEntry) []drawlog.IndexedEntry {
		return append(log, drawlog.IndexedEntry{Index: log[len(log)-1].Index + 1, Entry: e})
	}
}

func head(g int64, seq uint64, prev uint64) drawlog.Header {
	return drawlog.Header{GiveawayID: g, Seq: seq, Prev: new(prev)}
}

func setHead(i int, seq uint64, prev *uint64) logEdit {
	return func(t *testing.T, log []drawlog.IndexedEntry) []drawlog.IndexedEntry {
		for j := range log {
			if log[j].Index == uint64(i) {
				switch e := log[j].Entry.(type) {
				case drawlog.Draw:
					e.Seq, e.Prev = seq, prev
					log[j].Entry = e
				case drawlog.Redraw:
					e.Seq, e.Prev = seq, prev
					log[j].Entry = e
				case drawlog.RedrawRequest:
					e.Seq, e.Prev = seq, prev
					log[j].Entry = e
				default:
					t.Fatalf("setHead of a %T", e)
				}
			}
		}
		return log
	}
}

var epoch = time.Unix(1800000000, 0).UTC()

func TestRuleViolations(t *testing.T) {
	tests := []struct {
		name  string
		edits []logEdit
		giv   int64
		index uint64
		rule  drawlog.Rule
	}{
		{"first entry is a freeze", []logEdit{drop(0)}, gV2, 2, drawlog.RuleFirstEntry},
		{"second commit", []logEdit{push(drawlog.Commit{Header: head(gV2, 5, 8), Version: drawlog.VersionV1, MaxTickets: 1, CommittedAt: epoch})}, gV2, 11, drawlog.RuleOneCommit},
		{"legacy after commit", []logEdit{push(drawlog.Legacy{Header: head(gV1, 5, 10)})}, gV1, 11, drawlog.RuleOneCommit},
		{"commit after legacy", []logEdit{push(drawlog.Commit{Header: head(gLegacy, 1, 6), Version: drawlog.VersionV1, MaxTickets: 1, CommittedAt: epoch})}, gLegacy, 11, drawlog.RuleOneCommit},
		{"second freeze", []logEdit{push(drawlog.Freeze{Header: head(gV1, 5, 10), Commitment: sum("x"), FrozenAt: epoch})}, gV1, 11, drawlog.RuleOneFreeze},
		{"second draw", []logEdit{push(drawlog.Draw{Header: head(gV2, 5, 8), ServerSeed: sum("server seed 42"), BeaconRound: new(uint64(24436789)), Winners: []int64{1, 2}, DrawnAt: epoch})}, gV2, 11, drawlog.RuleOneDraw},
		{"draw without freeze", []logEdit{drop(2), setHead(3, 1, new(uint64(0)))}, gV2, 3, drawlog.RuleFreezeBeforeDraw},
		{"v1 draw without freeze", []logEdit{drop(4), setHead(5, 1, new(uint64(1)))}, gV1, 5, drawlog.RuleFreezeBeforeDraw},
		{"redraw round 2 first", []logEdit{edit(7, func(e *drawlog.RedrawRequest) { e.Round = 2 })}, gV2, 7, drawlog.RuleRedrawOrder},
		{"request before the draw", []logEdit{drop(3), setHead(7, 2, new(uint64(2)))}, gV2, 7, drawlog.RuleRedrawOrder},
		{"request while a round is pending", []logEdit{drop(10), push(drawlog.RedrawRequest{Header: head(gV1, 4, 9), Round: 2,
			Disqualified: []drawlog.Disqualification{{UserID: 4, Reason: "x"}}, RequestedAt: epoch})}, gV1, 10, drawlog.RuleRedrawOrder},
		{"redraw without request", []logEdit{drop(7), setHead(8, 3, new(uint64(3)))}, gV2, 8, drawlog.RuleRedrawAfterRequest},
		{"redraw of another round", []logEdit{edit(8, func(e *drawlog.Redraw) { e.Round = 2 })}, gV2, 8, drawlog.RuleRedrawAfterRequest},
		{"second redraw of a round", []logEdit{push(drawlog.Redraw{Header: head(gV2, 5, 8), Round: 1, Replacements: []int64{3}, RedrawnAt: epoch})}, gV2, 11, drawlog.RuleRedrawAfterRequest},
		{"first seq not 0", []logEdit{edit(0, func(e *drawlog.Commit) { e.Seq = 1 })}, gV2, 0, drawlog.RuleSeq},
		{"seq skips", []logEdit{edit(3, func(e *drawlog.Draw) { e.Seq = 3 })}, gV2, 3, drawlog.RuleSeq},
		{"seq repeats", []logEdit{edit(5, func(e *drawlog.Draw) { e.Seq = 1 })}, gV1, 5, drawlog.RuleSeq},
		{"first prev not null", []logEdit{edit(6, func(e *drawlog.Legacy) { e.Prev = new(uint64(5)) })}, gLegacy, 6, drawlog.RulePrev},
		{"prev points elsewhere", []logEdit{edit(3, func(e *drawlog.Draw) { e.Prev = new(uint64(1)) })}, gV2, 3, drawlog.RulePrev},
		{"prev null later", []logEdit{edit(8, func(e *drawlog.Redraw) { e.Prev = nil })}, gV2, 8, drawlog.RulePrev},
		{"freeze of another commitment", []logEdit{edit(2, func(e *drawlog.Freeze) { e.Commitment = sum("other") })}, gV2, 2, drawlog.RuleCommitment},
		{"seed not behind the commitment", []logEdit{edit(5, func(e *drawlog.Draw) { e.ServerSeed = sum("other") })}, gV1, 5, drawlog.RuleCommitment},
		{"v1 freeze with a beacon round", []logEdit{edit(4, func(e *drawlog.Freeze) { e.BeaconRound = new(uint64(3)) })}, gV1, 4, drawlog.RuleVersion},
		{"v1 freeze with tickets", []logEdit{edit(4, func(e *drawlog.Freeze) { e.TotalTickets = 4 })}, gV1, 4, drawlog.RuleVersion},
		{"v2 freeze without a beacon round", []logEdit{edit(2, func(e *drawlog.Freeze) { e.BeaconRound = nil })}, gV2, 2, drawlog.RuleVersion},
		{"v2 freeze above max tickets", []logEdit{edit(2, func(e *drawlog.Freeze) { e.TotalTickets = 21 })}, gV2, 2, drawlog.RuleVersion},
		{"v2 draw of another round", []logEdit{edit(3, func(e *drawlog.Draw) { e.BeaconRound = new(uint64(24436790)) })}, gV2, 3, drawlog.RuleVersion},
		{"v2 request without a round", []logEdit{edit(7, func(e *drawlog.RedrawRequest) { e.BeaconRound = nil })}, gV2, 7, drawlog.RuleVersion},
		{"v1 request with a round", []logEdit{edit(9, func(e *drawlog.RedrawRequest) { e.BeaconRound = new(uint64(9)) })}, gV1, 9, drawlog.RuleVersion},
		{"too few winners", []logEdit{edit(3, func(e *drawlog.Draw) { e.Winners = e.Winners[:1] })}, gV2, 3, drawlog.RuleWinners},
		{"disqualifies a non-winner", []logEdit{edit(7, func(e *drawlog.RedrawRequest) { e.Disqualified[0].UserID = 3 })}, gV2, 7, drawlog.RuleWinners},
		{"disqualified out of position order", []logEdit{edit(9, func(e *drawlog.RedrawRequest) {
			e.Disqualified = []drawlog.Disqualification{e.Disqualified[1], e.Disqualified[0]}
		})}, gV1, 9, drawlog.RuleWinners},
		{"disqualifies a replaced winner", []logEdit{push(drawlog.RedrawRequest{Header: head(gV2, 5, 8), Round: 2, BeaconRound: new(uint64(5)),
			Disqualified: []drawlog.Disqualification{{UserID: 101, Reason: "x"}}, RequestedAt: epoch})}, gV2, 11, drawlog.RuleWinners},
		{"fewer replacements", []logEdit{edit(10, func(e *drawlog.Redraw) { e.Replacements = e.Replacements[:1] })}, gV1, 10, drawlog.RuleWinners},
		{"replacement chosen before", []logEdit{edit(8, func(e *drawlog.Redraw) { e.Replacements = []int64{101} })}, gV2, 8, drawlog.RuleWinners},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := indexed(sampleLog(t))
			for _, e := range tt.edits {
				log = e(t, log)
			}
			err := drawlog.CheckGiveawayHistory(log)
			var re *drawlog.RuleError
			if !errors.As(err, &re) {
				t.Fatalf("CheckGiveawayHistory = %v, want a RuleError", err)
			}
			if re.GiveawayID != tt.giv || re.Index != tt.index || re.Rule != tt.rule {
				t.Errorf("got giveaway %d, entry %d, rule %s (%v); want giveaway %d, entry %d, rule %s",
					re.GiveawayID, re.Index, re.Rule, err, tt.giv, tt.index, tt.rule)
			}
		})
	}
}

func TestCheckerRefusesEntriesOutOfOrder(t *testing.T) {
	c := drawlog.NewChecker()
	log := sampleLog(t)
	if err := c.Add(5, log[0]); err != nil {
		t.Fatal(err)
	}
	err := c.Add(5, log[1])
	var re *drawlog.RuleError
	if !errors.As(err, &re) || re.Rule != drawlog.RuleIndexOrder || re.Index != 5 {
		t.Fatalf("Add at the same index = %v, want rule %s", err, drawlog.RuleIndexOrder)
	}
	want := "drawlog: giveaway 9223372036854775807, entry 5: rule index-order: index 5 does not follow 5"
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// A refused entry is not recorded: the giveaway can still start.
	if err := c.Add(6, log[1]); err != nil {
		t.Errorf("after a refusal: %v", err)
	}
}

func TestLegacyGiveaways(t *testing.T) {
	legacy := drawlog.Legacy{Header: drawlog.Header{GiveawayID: gLegacy}, RecordSHA256: sum("record")}
	seed := sum("legacy seed")
	commitment := drawlog.Hash(sumBytes(seed[:]))
	request := func(seq, prev, round uint64) drawlog.RedrawRequest {
		return drawlog.RedrawRequest{Header: head(gLegacy, seq, prev), Round: round,
			Disqualified: []drawlog.Disqualification{{UserID: 77, Reason: "x"}}, RequestedAt: epoch}
	}
	redraw := func(seq, prev, round uint64) drawlog.Redraw {
		return drawlog.Redraw{Header: head(gLegacy, seq, prev), Round: round, Replacements: []int64{78}, RedrawnAt: epoch}
	}
	freeze := func(seq, prev uint64) drawlog.Freeze {
		return drawlog.Freeze{Header: head(gLegacy, seq, prev), Commitment: commitment, EntrantsCount: 3, TotalTickets: 3, WinnerCount: 1, FrozenAt: epoch}
	}
	tests := []struct {
		name    string
		entries []drawlog.Entry
		rule    drawlog.Rule // empty when the history is valid
	}{
		{"drawn before the log, redrawn after", []drawlog.Entry{legacy, request(1, 0, 3), redraw(2, 1, 3), request(3, 2, 4), redraw(4, 3, 4)}, ""},
		{"committed before the log, drawn after", []drawlog.Entry{legacy, freeze(1, 0),
			drawlog.Draw{Header: head(gLegacy, 2, 1), ServerSeed: seed, Winners: []int64{77}, DrawnAt: epoch}, request(3, 2, 1), redraw(4, 3, 1)}, ""},
		{"rounds skip after the first", []drawlog.Entry{legacy, request(1, 0, 3), redraw(2, 1, 3), request(3, 2, 5)}, drawlog.RuleRedrawOrder},
		{"freeze after redraws", []drawlog.Entry{legacy, request(1, 0, 1), redraw(2, 1, 1), freeze(3, 2)}, drawlog.RuleOneFreeze},
		{"request between freeze and draw", []drawlog.Entry{legacy, freeze(1, 0), request(2, 1, 1)}, drawlog.RuleRedrawOrder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []drawlog.IndexedEntry
			for i, e := range tt.entries {
				log = append(log, drawlog.IndexedEntry{Index: uint64(i), Entry: e})
			}
			err := drawlog.CheckGiveawayHistory(log)
			var re *drawlog.RuleError
			switch {
			case tt.rule == "" && err != nil:
				t.Errorf("valid history refused: %v", err)
			case tt.rule != "" && (!errors.As(err, &re) || re.Rule != tt.rule || re.Index != uint64(len(log)-1)):
				t.Errorf("CheckGiveawayHistory = %v, want rule %s at entry %d", err, tt.rule, len(log)-1)
			}
		})
	}
}

func sumBytes(b []byte) [32]byte { return sha256.Sum256(b) }
