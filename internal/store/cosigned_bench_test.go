package store_test

import (
	"context"
	"encoding/base64"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/telegive/participant-service/internal/testenv"
)

// BenchmarkLatestCosignedCheckpoint finds the latest checkpoint two of two
// witnesses cosigned among a million checkpoints (BENCH_CHECKPOINTS to
// change it), on each backend: "current" when one cosigned every
// checkpoint and the other all but the last ten, "one-witness-down" when
// the other cosigned only the first ten; and, to compare, the latest
// checkpoint whatever its cosignatures ("latest-signed").
//
//	go test ./internal/store -run '^$' -bench LatestCosigned -benchtime 200x
func BenchmarkLatestCosignedCheckpoint(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("BENCH_CHECKPOINTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("BENCH_CHECKPOINTS: %v", err)
		}
		n = v
	}
	sig := base64.StdEncoding.EncodeToString([]byte{0, 0, 0, 1, 2, 3, 4})
	for _, backend := range testenv.Backends {
		b.Run(backend, func(b *testing.B) {
			st := testenv.OpenStore(b, backend)
			ctx := context.Background()
			sizes := "WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?) "
			if st.Dialect() == "postgres" {
				sizes = "WITH s (n) AS (SELECT generate_series(1, ?)) "
			}
			insert := sizes + "INSERT INTO log_cosignatures (tree_size, witness, signature) SELECT n, ?, '" + sig + "' FROM s WHERE n <= ?"
			for _, q := range []struct {
				query string
				args  []any
			}{
				{sizes + "INSERT INTO log_checkpoints (tree_size, note) SELECT n, 'n' FROM s", []any{n}},
				{insert, []any{n, "w1", n}},
				{insert, []any{n, "w2", n - 10}},
				{insert, []any{n, "w3", 10}},
			} {
				if _, err := st.DB().ExecContext(ctx, q.query, q.args...); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := st.DB().ExecContext(ctx, "ANALYZE"); err != nil {
				b.Fatal(err)
			}
			b.Run("latest-signed", func(b *testing.B) {
				for b.Loop() {
					got, err := st.LatestCheckpoint(ctx)
					if err != nil || got.Size != uint64(n) {
						b.Fatalf("got %d, %v; want %d", got.Size, err, n)
					}
				}
			})
			for _, c := range []struct {
				name      string
				witnesses []string
				want      uint64
			}{{"current", []string{"w1", "w2"}, uint64(n - 10)}, {"one-witness-down", []string{"w1", "w3"}, 10}} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						got, err := st.LatestCosignedCheckpoint(ctx, c.witnesses, 2, math.MaxUint64)
						if err != nil || got.Size != c.want {
							b.Fatalf("got %d, %v; want %d", got.Size, err, c.want)
						}
					}
				})
			}
		})
	}
}
