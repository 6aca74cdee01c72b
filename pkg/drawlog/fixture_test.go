package drawlog_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/drawlog"
)

func sum(s string) drawlog.Hash { return sha256.Sum256([]byte(s)) }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Giveaways of the sample log.
const (
	gV2     = 42
	gV1     = 1<<63 - 1
	gLegacy = 7
)

// quicknet is the chain hash of drand's quicknet.
var quicknet = func() drawlog.Hash {
	h, err := drawlog.ParseHash("52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971")
	if err != nil {
		panic(err)
	}
	return h
}()

// legacyRecord is a v1 record that existed before the log.
const legacyRecord = `{"version":"telegive-draw-v1","status":"committed","giveaway_id":7,` +
	`"commitment":"d2e5f4ab6b5e8ea8af1d2cd4c2d5e1d0e5a7e0cf8c0b2a4b7c6a2e7b1e8f9a01","committed_at":"2025-06-01T12:00:00Z"}`

// sampleLog is a small log that obeys every rule: a v2 giveaway, a v1
// giveaway with the largest id, interleaved, and a legacy one, each through
// a redraw round where it has one.
func sampleLog(t testing.TB) []drawlog.Entry {
	t.Helper()
	seed2, seed1 := sum("server seed 42"), sum("server seed v1")
	commit2, commit1 := sha256.Sum256(seed2[:]), sha256.Sum256(seed1[:])
	rules := sum("One entry per Telegram account; winners must stay subscribed.")
	legacy, err := drawlog.RecordSHA256([]byte(legacyRecord))
	if err != nil {
		t.Fatal(err)
	}
	head := func(g int64, seq uint64, prev int) drawlog.Header {
		h := drawlog.Header{GiveawayID: g, Seq: seq}
		if prev >= 0 {
			h.Prev = new(uint64(prev))
		}
		return h
	}
	return []drawlog.Entry{
		0: drawlog.Commit{Header: head(gV2, 0, -1), Commitment: commit2, Version: drawlog.VersionV2,
			ChainHash: &quicknet, BeaconDelay: 10, MaxTickets: 5, RulesSHA256: &rules, CommittedAt: at("2026-12-01T09:00:00Z")},
		1: drawlog.Commit{Header: head(gV1, 0, -1), Commitment: commit1, Version: drawlog.VersionV1,
			MaxTickets: 1, CommittedAt: at("2026-12-01T09:30:00Z")},
		2: drawlog.Freeze{Header: head(gV2, 1, 0), Commitment: commit2, EntrantsRoot: sum("entrants 42"),
			EntrantsCount: 4, TotalTickets: 9, WinnerCount: 2, BeaconRound: new(uint64(24436789)), FrozenAt: at("2026-12-01T10:00:00Z")},
		3: drawlog.Draw{Header: head(gV2, 2, 2), ServerSeed: seed2, DrawSeed: sum("draw seed 42"),
			BeaconRound: new(uint64(24436789)), Winners: []int64{101, 9223372036854775807}, DrawnAt: at("2026-12-01T10:00:13Z")},
		4: drawlog.Freeze{Header: head(gV1, 1, 1), Commitment: commit1, EntrantsRoot: sum("entrants v1"),
			EntrantsCount: 3, TotalTickets: 3, WinnerCount: 2, FrozenAt: at("2026-12-01T11:00:00Z")},
		5: drawlog.Draw{Header: head(gV1, 2, 4), ServerSeed: seed1, DrawSeed: sum("draw seed v1"),
			Winners: []int64{5, 6}, DrawnAt: at("2026-12-01T11:00:00Z")},
		6: drawlog.Legacy{Header: head(gLegacy, 0, -1), RecordSHA256: legacy},
		7: drawlog.RedrawRequest{Header: head(gV2, 3, 3), Round: 1,
			Disqualified: []drawlog.Disqualification{{UserID: 101, Reason: "left_channel"}},
			BeaconRound:  new(uint64(24465600)), RequestedAt: at("2026-12-02T08:00:00Z")},
		8: drawlog.Redraw{Header: head(gV2, 4, 7), Round: 1, Replacements: []int64{7}, RedrawnAt: at("2026-12-02T08:00:14Z")},
		9: drawlog.RedrawRequest{Header: head(gV1, 3, 5), Round: 1,
			Disqualified: []drawlog.Disqualification{{UserID: 5, Reason: "fraud: <script>&\"\u2028 é"}, {UserID: 6, Reason: "fraud: <script>&\"\u2028 é"}},
			RequestedAt:  at("2026-12-02T09:00:00Z")},
		10: drawlog.Redraw{Header: head(gV1, 4, 9), Round: 1, Replacements: []int64{4, drawlog.NoReplacement}, RedrawnAt: at("2026-12-02T09:00:00Z")},
	}
}

// indexed numbers entries by their place in the slice.
func indexed(entries []drawlog.Entry) []drawlog.IndexedEntry {
	out := make([]drawlog.IndexedEntry, len(entries))
	for i, e := range entries {
		out[i] = drawlog.IndexedEntry{Index: uint64(i), Entry: e}
	}
	return out
}

func mustMarshal(t testing.TB, e drawlog.Entry) []byte {
	t.Helper()
	b, err := drawlog.Marshal(e)
	if err != nil {
		t.Fatalf("Marshal(%+v): %v", e, err)
	}
	return b
}
