package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
)

// BenchmarkReplicaCount is the cost of a count on the primary and on the
// replica, where each read first checks its connection's replay position.
func BenchmarkReplicaCount(b *testing.B) {
	primary := testenv.StartCluster(b, testenv.ClusterOptions{Database: "app"})
	rep := testenv.StartReplica(b, primary, testenv.ReplicaOptions{})
	ctx := context.Background()
	heard := &reads{}
	s, err := store.Open(ctx, store.Options{PostgresURL: primary.URL(), PoolSize: 2, Replica: store.ReplicaOptions{
		URL: rep.URL(), MaxLag: time.Minute, OnRead: heard.add,
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if err := rep.WaitReplayed(ctx); err != nil {
		b.Fatal(err)
	}
	if st := s.MeasureReplica(ctx); !st.Usable {
		b.Fatalf("replica state %+v; want usable", st)
	}
	for _, c := range []struct {
		name string
		ctx  func() context.Context
		want string
	}{
		{"primary", func() context.Context { return ctx }, ""},
		{"replica", func() context.Context { return store.AllowStale(ctx) }, store.ReadReplica},
	} {
		b.Run(c.name, func(b *testing.B) {
			heard.last()
			for range b.N {
				if _, err := s.Count(c.ctx(), 1); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			for _, got := range heard.last() {
				if got != c.want {
					b.Fatalf("a read went to %s, want %q", got, c.want)
				}
			}
		})
	}
}
