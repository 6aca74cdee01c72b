package participant_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/upstream/telegramtest"
	"github.com/telegive/participant-service/pkg/draw"
)

// recheckEvents records what OnRecheck hears.
type recheckEvents struct {
	mu  sync.Mutex
	got []participant.RecheckEvent
}

func (r *recheckEvents) add(e participant.RecheckEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, e)
}

// take returns the events heard since the last take.
func (r *recheckEvents) take() []participant.RecheckEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

func byUser(es []participant.RecheckEvent) []participant.RecheckEvent {
	return slices.SortedFunc(slices.Values(es), func(a, b participant.RecheckEvent) int { return int(a.UserID - b.UserID) })
}

// TestRecheckEvents: OnRecheck hears an unchecked outcome for each winner
// of a pass that could not ask Telegram, then, with Telegram back, one
// failed outcome (with its reason) for the winner who left, one passed
// for the winner who stayed and one for the replacement; a call that has
// nothing left to check hears nothing.
func TestRecheckEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		var heard recheckEvents
		e := newRecheckEnv(t, backend, func(o *participant.Options) { o.OnRecheck = heard.add })
		ctx := context.Background()
		const gid = 531
		users := []int64{inBoth, onlyA, adminA, creatorB, restrictedIn}
		e.enterMembers(gid, users...)
		e.tg.Fail(telegramtest.Server50x(502))
		sel, err := e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		winners := winnerIDs(sel.Winners)
		var want []participant.RecheckEvent
		for _, w := range sorted(winners) {
			want = append(want, participant.RecheckEvent{GiveawayID: gid, UserID: w, Outcome: participant.RecheckUnchecked})
		}
		if got := byUser(heard.take()); !slices.Equal(got, want) {
			t.Fatalf("with Telegram down: heard %+v, want %+v", got, want)
		}

		e.tg.Heal()
		left, stayed := winners[0], winners[1]
		e.set(left, telegramtest.Joined, telegramtest.Left)
		sel, err = e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2})
		if err != nil {
			t.Fatal(err)
		}
		rc := sel.Recheck
		if rc.Status != draw.RecheckComplete || len(rc.Disqualified) != 1 || rc.Disqualified[0].ReplacedBy == 0 {
			t.Fatalf("with Telegram back: %+v", rc)
		}
		repl := rc.Disqualified[0].ReplacedBy
		want = byUser([]participant.RecheckEvent{
			{GiveawayID: gid, UserID: left, Outcome: participant.RecheckFailed, Reason: draw.ReasonNotSubscribed},
			{GiveawayID: gid, UserID: stayed, Outcome: participant.RecheckPassed},
			{GiveawayID: gid, UserID: repl, Outcome: participant.RecheckPassed},
		})
		if got := byUser(heard.take()); !slices.Equal(got, want) {
			t.Fatalf("with Telegram back: heard %+v, want %+v", got, want)
		}

		if _, err := e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 2}); err != nil {
			t.Fatal(err)
		}
		if got := heard.take(); len(got) != 0 {
			t.Fatalf("a call with nothing left to check: heard %+v", got)
		}
	})
}
