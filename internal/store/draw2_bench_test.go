package store_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
)

// instantBeacons is an honest beacon source that does not wait for a
// round's time, so that the figures leave the beacon delay out; it adds
// the wait it skipped to skipped, to be reported apart.
type instantBeacons struct {
	chain   *drandtest.Chain
	skipped *atomic.Int64
}

func (b instantBeacons) Chain(context.Context) (beacon.Chain, error) { return b.chain.Info, nil }

func (b instantBeacons) Wait(_ context.Context, round uint64) (beacon.Beacon, error) {
	if b.skipped != nil {
		b.skipped.Add(int64(max(0, time.Until(b.chain.Info.RoundTime(round)))))
	}
	return b.chain.Beacon(round), nil
}

// BenchmarkDrawV2 is BenchmarkDraw for telegive-draw-v2: the freeze (lock,
// read the eligible ids and tickets, build the sum tree, log the freeze,
// save the record and the tree cache) and the draw (lock again, verify the
// beacon, derive the seed, select by tickets, mark the winners, log the
// draw, save), beacon wait excluded, against the COPY of the same ids. The
// machine is shared and noisy, so every iteration times a COPY and then a
// draw, and the benchmark reports their mean times and the ratio of their
// sums (draw/copy; the target is at most 2), the beacon wait the draw
// would have had (the default beacon delay of 10 s on a 1 s chain,
// skipped) and the process's peak RSS.
//
//	go test ./internal/store -run '^$' -bench DrawV2 -benchtime 5x
//	BENCH_ENTRANTS=10000000 go test ./internal/store -run '^$' -bench DrawV2/10000000 -benchtime 3x -timeout 1h
func BenchmarkDrawV2(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			st := testenv.OpenStore(b, "postgres")
			const gid = 1
			seed(b, st, gid, n)
			chain := drandtest.NewChain(b, time.Second, time.Now().Add(-time.Hour))
			benchDrawV2(b, st, chain, gid, n)
		})
	}
}

// benchDrawV2 alternates a COPY of the entrants' ids and a v2 draw over
// them, and reports each one's mean and their ratio.
func benchDrawV2(b *testing.B, st *store.Store, chain *drandtest.Chain, gid int64, n int) {
	ctx := context.Background()
	var skipped atomic.Int64
	svc := participant.NewService(st, nil, nil, participant.Options{DrawVersion: draw.VersionV2, Beacons: instantBeacons{chain, &skipped}})
	committed, err := svc.CommitDraw(ctx, gid)
	if err != nil {
		b.Fatal(err)
	}
	record, err := st.Draw(ctx, gid)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	query := fmt.Sprintf("COPY (SELECT user_id FROM participants WHERE giveaway_id = %d AND captcha_completed ORDER BY user_id) TO STDOUT", gid)
	var copyTime, drawTime time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		res, err := pgdriver.CopyTo(ctx, conn, io.Discard, query)
		if err != nil {
			b.Fatal(err)
		}
		if rows, _ := res.RowsAffected(); rows != int64(n) {
			b.Fatalf("copied %d rows, want %d", rows, n)
		}
		copyTime += time.Since(start)

		start = time.Now()
		sel, err := svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 10})
		if err != nil {
			b.Fatal(err)
		}
		drawTime += time.Since(start)
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
	iters := float64(b.N)
	b.ReportMetric(copyTime.Seconds()*1000/iters, "copy-ms")
	b.ReportMetric(drawTime.Seconds()*1000/iters, "draw-ms")
	b.ReportMetric(drawTime.Seconds()/copyTime.Seconds(), "draw/copy")
	b.ReportMetric(time.Duration(skipped.Load()).Seconds()/iters, "beacon-wait-s")
	if peak := peakRSS(); peak > 0 {
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	}
}

// peakRSS returns the process's peak resident memory so far, from
// /proc/self/status (0 where there is none).
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetDraw puts a v2 draw back to its commitment, one log entry in.
func resetDraw(ctx context.Context, st *store.Store, d participant.Draw) error {
	if err := st.SaveDraw(ctx, d); err != nil {
		return err
	}
	_, err := st.DB().ExecContext(ctx, "UPDATE draws SET log_seq = 1, log_last = ? WHERE giveaway_id = ?", int64(*d.LogLast), d.GiveawayID)
	return err
}
