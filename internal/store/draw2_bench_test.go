package store_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
)

// instantBeacons is an honest beacon source that does not wait for a
// round's time, so that the figures leave the beacon delay out.
type instantBeacons struct{ chain *drandtest.Chain }

func (b instantBeacons) Chain(context.Context) (beacon.Chain, error) { return b.chain.Info, nil }

func (b instantBeacons) Wait(_ context.Context, round uint64) (beacon.Beacon, error) {
	return b.chain.Beacon(round), nil
}

// BenchmarkDrawV2 is BenchmarkDraw for telegive-draw-v2: the freeze (lock,
// read the eligible ids and tickets, build the sum tree, log the freeze,
// save the record and the tree cache) and the draw (lock again, verify the
// beacon, derive the seed, select by tickets, mark the winners, log the
// draw, save), beacon wait excluded, against the COPY of the same ids.
//
//	go test ./internal/store -run '^$' -bench DrawV2 -benchtime 3x
//	BENCH_ENTRANTS=10000000 go test ./internal/store -run '^$' -bench DrawV2/10000000 -benchtime 1x -timeout 1h
func BenchmarkDrawV2(b *testing.B) {
	sizes := []int{10_000, 1_000_000}
	if s := os.Getenv("BENCH_ENTRANTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("BENCH_ENTRANTS: %v", err)
		}
		sizes = []int{n}
	}
	for _, n := range sizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			st := testenv.OpenStore(b, "postgres")
			const gid = 1
			seed(b, st, gid, n)
			chain := drandtest.NewChain(b, time.Second, time.Now().Add(-time.Hour))
			b.Run("copy", func(b *testing.B) {
				benchCopy(b, st, gid, n)
			})
			b.Run("draw", func(b *testing.B) {
				benchSelectV2(b, st, chain, gid, n)
			})
		})
	}
}

func benchSelectV2(b *testing.B, st *store.Store, chain *drandtest.Chain, gid int64, n int) {
	ctx := context.Background()
	svc := participant.NewService(st, nil, nil, participant.Options{DrawVersion: draw.VersionV2, Beacons: instantBeacons{chain}})
	committed, err := svc.CommitDraw(ctx, gid)
	if err != nil {
		b.Fatal(err)
	}
	record, err := st.Draw(ctx, gid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sel, err := svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 10})
		if err != nil {
			b.Fatal(err)
		}
		if sel.AlreadySelected || sel.TotalParticipants != int64(n) || len(sel.Winners) != 10 {
			b.Fatalf("draw saw %d entrants, %d winners (already selected: %v)", sel.TotalParticipants, len(sel.Winners), sel.AlreadySelected)
		}
		b.StopTimer()
		// Undo the draw so the next iteration freezes and draws again; the
		// log keeps the entries, which only makes it longer.
		_, err = st.DB().ExecContext(ctx, `UPDATE participants SET is_winner = FALSE, winner_position = NULL,
			winner_selected_at = NULL WHERE giveaway_id = ? AND is_winner`, gid)
		if err == nil {
			committed.Record = record.Record
			err = resetDraw(ctx, st, committed)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// resetDraw puts a v2 draw back to its commitment, one log entry in.
func resetDraw(ctx context.Context, st *store.Store, d participant.Draw) error {
	if err := st.SaveDraw(ctx, d); err != nil {
		return err
	}
	_, err := st.DB().ExecContext(ctx, "UPDATE draws SET log_seq = 1, log_last = ? WHERE giveaway_id = ?", int64(*d.LogLast), d.GiveawayID)
	return err
}
