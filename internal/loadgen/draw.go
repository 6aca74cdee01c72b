package loadgen

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/pkg/client"
)

// runDraw seeds a giveaway with o.entrants eligible participants straight
// into Postgres (a draw over millions cannot be set up through the API in
// reasonable time), times COPY of their ids, the floor of any draw, then
// times select-winners through the API and the service's memory during it.
func runDraw(ctx context.Context, o options, _ *client.Client, gw *client.Client, svc *spawned, stdout io.Writer) (Summary, error) {
	if o.databaseURL == "" {
		return Summary{}, fmt.Errorf("the draw scenario needs -database-url, the database the service uses")
	}
	db := bun.NewDB(sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(o.databaseURL), pgdriver.WithReadTimeout(time.Hour))), pgdialect.New())
	defer db.Close()
	gid := time.Now().UnixNano()/1000%1_000_000_000 + 1
	if _, err := gw.CommitDraw(ctx, gid); err != nil {
		return Summary{}, fmt.Errorf("commit: %w", err)
	}
	start := time.Now()
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO participants (giveaway_id, user_id, participated_at)
		SELECT %d, g::bigint * 7919 + 13, now() FROM generate_series(1, %d) g`, gid, o.entrants)); err != nil {
		return Summary{}, fmt.Errorf("seed: %w", err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE participants"); err != nil {
		return Summary{}, err
	}
	fmt.Fprintf(stdout, "seeded %d entrants in %s\n", o.entrants, time.Since(start).Round(time.Millisecond))

	copyTime, err := bestCopy(ctx, db, gid, 3)
	if err != nil {
		return Summary{}, err
	}
	var idle int64
	if svc != nil {
		idle, _ = svc.rss()
		svc.resetPeak()
	}
	rec := newRecorder()
	rec.start = time.Now()
	sel, err := gw.SelectWinners(ctx, gid, client.SelectRequest{WinnerCount: 10})
	drawTime := time.Since(rec.start)
	rec.end = time.Now()
	rec.record("select_winners", drawTime, outcome(err))
	if err != nil {
		return Summary{}, fmt.Errorf("select-winners: %w", err)
	}
	if sel.TotalParticipants != int64(o.entrants) {
		return Summary{}, fmt.Errorf("the draw saw %d entrants, want %d", sel.TotalParticipants, o.entrants)
	}
	proofStart := time.Now()
	if _, err := gw.Proof(ctx, gid, sel.Winners[0].UserID); err != nil {
		return Summary{}, fmt.Errorf("proof: %w", err)
	}
	proofTime := time.Since(proofStart)
	sum := rec.summary()
	sum.IdleRSS = idle
	if svc != nil {
		// Let the sampler see the draw's peak before it is read.
		time.Sleep(200 * time.Millisecond)
		sum.PeakRSS = svc.peakRSS.Load()
	}
	fmt.Fprintf(stdout, "draw over %d entrants: %s; COPY of the same ids: %s; ratio %.2f; one inclusion proof: %s\n",
		o.entrants, drawTime.Round(time.Millisecond), copyTime.Round(time.Millisecond),
		drawTime.Seconds()/copyTime.Seconds(), proofTime.Round(100*time.Microsecond))
	_, _ = db.ExecContext(ctx, "DELETE FROM participants WHERE giveaway_id = $1", gid)
	return sum, nil
}

// bestCopy returns the fastest of n COPYs of the giveaway's eligible ids.
func bestCopy(ctx context.Context, db *bun.DB, gid int64, n int) (time.Duration, error) {
	query := fmt.Sprintf("COPY (SELECT user_id FROM participants WHERE giveaway_id = %d AND captcha_completed ORDER BY user_id) TO STDOUT", gid)
	best := time.Duration(1<<63 - 1)
	for range n {
		conn, err := db.Conn(ctx)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		_, err = pgdriver.CopyTo(ctx, conn, io.Discard, query)
		d := time.Since(start)
		conn.Close()
		if err != nil {
			return 0, fmt.Errorf("copy: %w", err)
		}
		best = min(best, d)
	}
	return best, nil
}
