package store_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
)

// BenchmarkDraw compares a full draw (lock, read the eligible ids, build the
// tree, derive the seed, select, mark winners, save the record) with the
// time Postgres needs merely to COPY the same ids out, the floor of any
// draw. The target is draw/copy <= 4 at 1,000,000 entrants; compare the two
// lines of one run, as the machine's speed varies.
//
//	go test ./internal/store -run '^$' -bench Draw -benchtime 5x
//	BENCH_ENTRANTS=10000000 go test ./internal/store -run '^$' -bench Draw/10000000 -benchtime 3x -timeout 1h
func BenchmarkDraw(b *testing.B) {
	for _, n := range benchSizes(b) {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			st := testenv.OpenStore(b, "postgres")
			const gid = 1
			seed(b, st, gid, n)
			b.Run("copy", func(b *testing.B) {
				benchCopy(b, st, gid, n)
			})
			b.Run("draw", func(b *testing.B) {
				benchSelect(b, st, gid, n)
			})
		})
	}
}

// seed inserts n eligible participants with sparse user ids.
func seed(b *testing.B, st *store.Store, gid int64, n int) {
	b.Helper()
	ctx := context.Background()
	_, err := st.DB().ExecContext(ctx, `INSERT INTO participants (giveaway_id, user_id, participated_at)
		SELECT ?, g::bigint * 7919 + 13, now() FROM generate_series(1, ?) g`, gid, n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, "VACUUM ANALYZE participants"); err != nil {
		b.Fatal(err)
	}
}

func benchCopy(b *testing.B, st *store.Store, gid int64, n int) {
	ctx := context.Background()
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	query := fmt.Sprintf("COPY (SELECT user_id FROM participants WHERE giveaway_id = %d AND captcha_completed ORDER BY user_id) TO STDOUT", gid)
	b.ResetTimer()
	for range b.N {
		res, err := pgdriver.CopyTo(ctx, conn, io.Discard, query)
		if err != nil {
			b.Fatal(err)
		}
		if rows, _ := res.RowsAffected(); rows != int64(n) {
			b.Fatalf("copied %d rows, want %d", rows, n)
		}
	}
}

func benchSelect(b *testing.B, st *store.Store, gid int64, n int) {
	ctx := context.Background()
	svc := participant.NewService(st, nil, nil, participant.Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sel, err := svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 10})
		if err != nil {
			b.Fatal(err)
		}
		if sel.AlreadySelected || sel.TotalParticipants != int64(n) {
			b.Fatalf("draw saw %d entrants (already selected: %v)", sel.TotalParticipants, sel.AlreadySelected)
		}
		b.StopTimer()
		// Undo the draw so the next iteration draws again.
		_, err = st.DB().ExecContext(ctx, `UPDATE participants SET is_winner = FALSE, winner_position = NULL,
			winner_selected_at = NULL WHERE giveaway_id = ? AND is_winner`, gid)
		if err == nil {
			_, err = st.DB().ExecContext(ctx, `UPDATE draws SET status = 'committed', record = NULL, drawn_at = NULL WHERE giveaway_id = ?`, gid)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// benchSizes are the draw benchmarks' entrant counts: 10,000 and
// 1,000,000, or the one BENCH_ENTRANTS names.
func benchSizes(b *testing.B) []int {
	s := os.Getenv("BENCH_ENTRANTS")
	if s == "" {
		return []int{10_000, 1_000_000}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		b.Fatalf("BENCH_ENTRANTS: %v", err)
	}
	return []int{n}
}
