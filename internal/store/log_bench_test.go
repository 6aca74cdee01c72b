package store_test

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// BenchmarkLog measures the draw log on Postgres once it holds a million
// entries (BENCH_LOG_ENTRIES to change it): an append in its own
// transaction, as an event appends it (p50 and p99 reported), and the
// inclusion and consistency proofs the API serves.
//
//	go test ./internal/store -run '^$' -bench Log -benchtime 2000x -timeout 30m
func BenchmarkLog(b *testing.B) {
	size := 1_000_000
	if s := os.Getenv("BENCH_LOG_ENTRIES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("BENCH_LOG_ENTRIES: %v", err)
		}
		size = n
	}
	st := testenv.OpenStore(b, "postgres")
	ctx := context.Background()
	const giveaways = 1000
	makeDraws(b, st, giveaways+1)
	start := time.Now()
	fillLog(b, st, giveaways, size)
	b.Logf("appended %d entries in batches in %v", size, time.Since(start))
	if _, err := st.DB().ExecContext(ctx, "VACUUM ANALYZE log_entries, log_nodes"); err != nil {
		b.Fatal(err)
	}
	head, err := st.LogHead(ctx)
	if err != nil || head.Size != uint64(size) {
		b.Fatalf("head %d, %v", head.Size, err)
	}

	b.Run("append", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		seq := uint64(0)
		for b.Loop() {
			t := time.Now()
			err := st.InTx(ctx, func(q participant.Queries) error {
				_, err := q.AppendLog(ctx, participant.LogAppend{GiveawayID: giveaways + 1, Type: drawlog.TypeCommit, Seq: seq,
					Data: fmt.Appendf(nil, `{"bench":%d}`, seq)})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
			seq++
		}
		reportPercentiles(b, lat)
	})
	head, err = st.LogHead(ctx)
	if err != nil {
		b.Fatal(err)
	}
	n := head.Size
	b.Run("inclusion", func(b *testing.B) {
		for b.Loop() {
			i := mrand.Uint64N(n)
			if _, err := st.LogInclusionProof(ctx, i, n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("consistency", func(b *testing.B) {
		for b.Loop() {
			first := 1 + mrand.Uint64N(n-1)
			if _, err := st.LogConsistencyProof(ctx, first, n); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// fillLog appends size entries for giveaways 1..giveaways in batches of
// one entry each, inside one transaction.
func fillLog(b *testing.B, st *store.Store, giveaways, size int) {
	b.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, func(q participant.Queries) error {
		for done, round := 0, uint64(0); done < size; round++ {
			batch := make([]participant.LogAppend, 0, giveaways)
			for g := 0; g < giveaways && done < size; g++ {
				batch = append(batch, participant.LogAppend{GiveawayID: int64(g + 1), Type: drawlog.TypeCommit, Seq: round,
					Data: fmt.Appendf(nil, `{"giveaway_id":"%d","seq":%d,"type":"bench"}`, g+1, round)})
				done++
			}
			if _, err := q.AppendLog(ctx, batch...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(at(0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(at(0.99).Microseconds()), "p99-µs")
}
