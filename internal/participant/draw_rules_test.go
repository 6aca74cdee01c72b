package participant_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// commitEntryOf returns the giveaway's commit log entry, raw and parsed.
func (e *v2env) commitEntryOf(giveawayID int64) ([]byte, drawlog.Commit) {
	e.t.Helper()
	entries, err := e.store.GiveawayLog(context.Background(), giveawayID)
	if err != nil || len(entries) == 0 {
		e.t.Fatalf("giveaway %d's log: %d entries, %v", giveawayID, len(entries), err)
	}
	p, err := drawlog.Parse(entries[0].Data)
	if err != nil {
		e.t.Fatal(err)
	}
	c, ok := p.(drawlog.Commit)
	if !ok {
		e.t.Fatalf("giveaway %d's first entry is %s, not its commit", giveawayID, p.Type())
	}
	return entries[0].Data, c
}

// checkCommittedRules checks that the giveaway's v2 commitment, in its
// record and its commit entry, holds the rules' SHA-256 and max_tickets.
func (e *v2env) checkCommittedRules(svc *participant.Service, giveawayID int64, want participant.GiveawayRules) {
	e.t.Helper()
	d, err := svc.DrawRecord(context.Background(), giveawayID)
	if err != nil {
		e.t.Fatal(err)
	}
	rec := d.PublicRecord()
	if rec.RulesSHA256 == nil || *rec.RulesSHA256 != draw.Hash(want.SHA256) || rec.MaxTickets != uint64(want.Rules.MaxTickets) {
		e.t.Fatalf("giveaway %d's record commits rules %v and max_tickets %d; want %s and %d",
			giveawayID, rec.RulesSHA256, rec.MaxTickets, want.SHA256Hex(), want.Rules.MaxTickets)
	}
	_, c := e.commitEntryOf(giveawayID)
	if c.RulesSHA256 == nil || *c.RulesSHA256 != drawlog.Hash(want.SHA256) || c.MaxTickets != uint64(want.Rules.MaxTickets) {
		e.t.Fatalf("giveaway %d's commit entry has rules %v and max_tickets %d; want %s and %d",
			giveawayID, c.RulesSHA256, c.MaxTickets, want.SHA256Hex(), want.Rules.MaxTickets)
	}
}

// TestV2CommitHoldsTheRules: rules set before a giveaway's first
// registration, or before its explicit commit, go into its v2 commitment
// (record and commit entry) as the SHA-256 GET /rules serves and with
// their max_tickets; they are locked from then on, and the drawn record
// verifies with them.
func TestV2CommitHoldsTheRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 2)
		svc := e.service(nil, e.beacons(drandtest.Honest), nil)
		ctx := context.Background()
		const registered, committed = 51, 52
		in := participant.RulesInput{MaxTickets: ptr[int64](3), RecheckAtDraw: ptr(false)}
		for _, gid := range []int64{registered, committed} {
			if _, err := svc.SetRules(ctx, gid, in); err != nil {
				t.Fatal(err)
			}
		}
		users := []int64{7, 300, 41, 9000}
		e.enter(svc, registered, users...)
		if _, err := svc.CommitDraw(ctx, committed); err != nil {
			t.Fatal(err)
		}
		for _, gid := range []int64{registered, committed} {
			g, err := svc.GiveawayRules(ctx, gid)
			if err != nil || !g.Custom || !g.Locked {
				t.Fatalf("giveaway %d's rules = %+v, %v; want custom and locked", gid, g, err)
			}
			e.checkCommittedRules(svc, gid, g)
			if _, err := svc.SetRules(ctx, gid, participant.RulesInput{MaxTickets: ptr[int64](4)}); participant.ErrorCode(err) != participant.CodeRulesLocked {
				t.Fatalf("changing committed rules: %v, want RULES_LOCKED", err)
			}
			e.checkCommittedRules(svc, gid, g)
		}

		g, err := svc.GiveawayRules(ctx, registered)
		if err != nil {
			t.Fatal(err)
		}
		sel, err := svc.SelectWinners(ctx, registered, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		rec := sel.Record
		if rec.Status != draw.StatusDrawn || rec.RulesSHA256 == nil || *rec.RulesSHA256 != draw.Hash(g.SHA256) || rec.MaxTickets != 3 {
			t.Fatalf("the drawn record: %s", recordJSON(t, rec))
		}
		opts := e.verifyOptions(registered, slices.Sorted(slices.Values(users)))
		rep, err := draw.VerifyReport(rec, opts)
		if err != nil {
			t.Fatalf("the record with rules does not verify: %v", err)
		}
		if !passed(rep, "log") || len(rep.Skipped) != 0 {
			t.Fatalf("verification report %+v", rep)
		}
		if got := e.checkHistory(registered); !slices.Equal(got, []drawlog.Type{drawlog.TypeCommit, drawlog.TypeFreeze, drawlog.TypeDraw}) {
			t.Fatalf("log entries %v", got)
		}
	})
}

// TestV2CommitWithoutRulesUnchanged: a giveaway without rules is
// committed exactly as before rules existed: its record and its commit
// entry are, byte for byte, those of a commitment with rules_sha256 null
// and max_tickets 1, whether the first registration, the explicit commit
// or the draw created it.
func TestV2CommitWithoutRulesUnchanged(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newV2Env(t, backend, 0)
		svc := e.service(nil, e.beacons(drandtest.Honest), nil)
		ctx := context.Background()
		const registered, committed, drawn = 61, 62, 63
		e.enter(svc, registered, 11, 12)
		if _, err := svc.CommitDraw(ctx, committed); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SelectWinners(ctx, drawn, participant.SelectRequest{WinnerCount: 1}); err != nil {
			t.Fatal(err)
		}
		for _, gid := range []int64{registered, committed, drawn} {
			d, err := e.store.Draw(ctx, gid)
			if err != nil {
				t.Fatal(err)
			}
			want, err := draw.Commit(draw.CommitInput{GiveawayID: gid, ServerSeed: d.ServerSeed, CommittedAt: d.CommittedAt,
				Chain: e.chain.Info, BeaconDelay: uint64(testBeaconDelay / time.Second), MaxTickets: 1})
			if err != nil {
				t.Fatal(err)
			}
			wantEntry, err := want.CommitEntry(drawlog.Header{GiveawayID: gid})
			if err != nil {
				t.Fatal(err)
			}
			wantData, err := drawlog.Marshal(wantEntry)
			if err != nil {
				t.Fatal(err)
			}
			if data, _ := e.commitEntryOf(gid); !bytes.Equal(data, wantData) {
				t.Fatalf("giveaway %d's commit entry\n got %s\nwant %s", gid, data, wantData)
			}
			if d.Record.RulesSHA256 != nil || d.Record.MaxTickets != 1 {
				t.Fatalf("giveaway %d's record commits rules %v, max_tickets %d", gid, d.Record.RulesSHA256, d.Record.MaxTickets)
			}
			if gid == committed {
				if got := recordJSON(t, d.PublicRecord()); got != recordJSON(t, want) {
					t.Fatalf("giveaway %d's record\n got %s\nwant %s", gid, got, recordJSON(t, want))
				}
			}
		}
	})
}

// TestV1CommitHasNoRules: a v1 record has no rules field, so a v1
// giveaway's commit entry keeps rules_sha256 null and max_tickets 1 even
// with rules set.
func TestV1CommitHasNoRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		st := testenv.OpenStore(t, backend)
		svc := participant.NewService(st, nil, nil, participant.Options{})
		ctx := context.Background()
		const gid = 71
		if _, err := svc.SetRules(ctx, gid, participant.RulesInput{MaxTickets: ptr[int64](5)}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CommitDraw(ctx, gid); err != nil {
			t.Fatal(err)
		}
		entries, err := st.GiveawayLog(ctx, gid)
		if err != nil || len(entries) != 1 {
			t.Fatalf("log: %d entries, %v", len(entries), err)
		}
		p, err := drawlog.Parse(entries[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := p.(drawlog.Commit)
		if !ok || c.Version != drawlog.VersionV1 || c.RulesSHA256 != nil || c.MaxTickets != 1 {
			t.Fatalf("the v1 commit entry: %s", entries[0].Data)
		}
	})
}

// TestV2CommitRacesARulesChange: on Postgres, a change of the rules and
// the commit of the same giveaway sent at once are settled by the
// database: either the change came first, and the commitment holds the
// changed rules' hash, or the commit came first, and the change is
// RULES_LOCKED and the commitment holds none. Whichever won, the hash
// committed is that of the rules GET serves.
func TestV2CommitRacesARulesChange(t *testing.T) {
	e := newV2Env(t, "postgres", 0)
	svc := e.service(nil, e.beacons(drandtest.Honest), nil)
	ctx := context.Background()
	outcomes := map[string]int{}
	for i := range 40 {
		gid := int64(1000 + i)
		var wg sync.WaitGroup
		var setErr, commitErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, setErr = svc.SetRules(ctx, gid, participant.RulesInput{MaxTickets: ptr[int64](2 + int64(i%5))})
		}()
		go func() {
			defer wg.Done()
			_, commitErr = svc.CommitDraw(ctx, gid)
		}()
		wg.Wait()
		if commitErr != nil {
			t.Fatal(commitErr)
		}
		g, err := svc.GiveawayRules(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		d, err := svc.DrawRecord(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		rec := d.PublicRecord()
		switch {
		case setErr == nil && g.Custom:
			outcomes["rules first"]++
			e.checkCommittedRules(svc, gid, g)
		case participant.ErrorCode(setErr) == participant.CodeRulesLocked && !g.Custom:
			outcomes["commit first"]++
			if rec.RulesSHA256 != nil || rec.MaxTickets != 1 {
				t.Fatalf("giveaway %d: the change was refused, yet the commitment has rules %v, max_tickets %d", gid, rec.RulesSHA256, rec.MaxTickets)
			}
		default:
			t.Fatalf("giveaway %d: set %v, rules %+v", gid, setErr, g)
		}
	}
	t.Logf("outcomes: %s", fmt.Sprint(outcomes))
}
