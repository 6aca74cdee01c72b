package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
)

// reads records where marked reads went.
type reads struct {
	mu      sync.Mutex
	targets []string
}

func (r *reads) add(target string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets = append(r.targets, target)
}

// last returns the targets heard since the previous call.
func (r *reads) last() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.targets
	r.targets = nil
	return out
}

// replicated starts a primary and a streaming replica of the test's own
// and opens a migrated store on the primary that reads from the replica
// within maxLag, measuring every 100 ms in the background.
func replicated(t *testing.T, maxLag time.Duration) (*store.Store, *testenv.Replica, *reads) {
	t.Helper()
	primary := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
	rep := testenv.StartReplica(t, primary, testenv.ReplicaOptions{})
	heard := &reads{}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{PostgresURL: primary.URL(), PoolSize: 4, Replica: store.ReplicaOptions{
		URL: rep.URL(), MaxLag: maxLag, CheckInterval: 100 * time.Millisecond, OnRead: heard.add,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); s.WatchReplica(wctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the replica to be usable", func() bool { return s.Replica().Usable })
	return s, rep, heard
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func enter(t *testing.T, ctx context.Context, s *store.Store, giveawayID, userID int64) {
	t.Helper()
	if _, created, err := s.InsertParticipant(ctx, participant.NewParticipant{GiveawayID: giveawayID, UserID: userID, At: t0}); err != nil || !created {
		t.Fatalf("insert participant %d: created %v, %v", userID, created, err)
	}
}

func count(t *testing.T, ctx context.Context, s *store.Store, giveawayID int64) int64 {
	t.Helper()
	n, err := s.Count(ctx, giveawayID)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestStaleReadsFollowTheLagBound: with replay paused on the replica, a
// participant committed on the primary is missing from marked reads while
// the lag is within the bound (the replica answers), and present once it
// is beyond (the primary answers); unmarked reads and reads inside a
// transaction always see it. An idle primary does not make the replica
// look lagging.
func TestStaleReadsFollowTheLagBound(t *testing.T) {
	t.Parallel()
	const maxLag = 1500 * time.Millisecond
	s, rep, heard := replicated(t, maxLag)
	ctx := context.Background()
	enter(t, ctx, s, 1, 100)
	if err := rep.WaitReplayed(ctx); err != nil {
		t.Fatal(err)
	}

	// Idle for longer than the bound: the replica has replayed all there
	// is, so it stays fresh.
	time.Sleep(2 * maxLag)
	if st := s.Replica(); !st.Usable || st.Lag > maxLag/2 {
		t.Fatalf("after an idle %v: replica state %+v; want usable with a lag well below %v", 2*maxLag, st, maxLag)
	}
	heard.last()
	if n := count(t, store.AllowStale(ctx), s, 1); n != 1 {
		t.Fatalf("marked count = %d, want 1", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadReplica}) {
		t.Fatalf("marked read went to %v, want the replica", got)
	}

	rep.PauseReplay()
	enter(t, ctx, s, 1, 101)
	stale := store.AllowStale(ctx)
	if n := count(t, stale, s, 1); n != 1 {
		t.Fatalf("marked count within the lag bound = %d, want the replica's stale 1", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadReplica}) {
		t.Fatalf("marked read within the bound went to %v, want the replica", got)
	}
	if n := count(t, ctx, s, 1); n != 2 {
		t.Fatalf("unmarked count = %d, want the primary's 2", n)
	}
	var inTx int64
	if err := s.InTx(stale, func(q participant.Queries) error {
		var err error
		inTx, err = q.Count(stale, 1)
		return err
	}); err != nil || inTx != 2 {
		t.Fatalf("count in a transaction of a marked context = %d, %v; want the primary's 2", inTx, err)
	}
	if got := heard.last(); len(got) != 0 {
		t.Fatalf("unmarked and transactional reads were routed: %v", got)
	}

	waitFor(t, "the lag to pass the bound", func() bool { return s.Replica().Lag > maxLag })
	if st := s.Replica(); st.Usable || !st.Up {
		t.Fatalf("paused replica state %+v; want up but not usable", st)
	}
	if n := count(t, stale, s, 1); n != 2 {
		t.Fatalf("marked count beyond the lag bound = %d, want the primary's 2", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadFallback}) {
		t.Fatalf("marked read beyond the bound went to %v, want a fallback", got)
	}

	rep.ResumeReplay()
	waitFor(t, "the replica to catch up", func() bool { return s.Replica().Usable })
	// The request that fell back stays on the primary; a new one reads
	// from the replica, which has caught up.
	if n := count(t, stale, s, 1); n != 2 {
		t.Fatalf("marked count after catching up = %d, want 2", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadPrimary}) {
		t.Fatalf("a request that fell back read from %v, want the primary", got)
	}
	if n := count(t, store.AllowStale(ctx), s, 1); n != 2 {
		t.Fatalf("marked count of a new request after catching up = %d, want 2", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadReplica}) {
		t.Fatalf("a new request after catching up read from %v, want the replica", got)
	}
}

// TestEachReadChecksItsConnection: a read URL may balance connections over
// several replicas, so the measurements of one do not vouch for another:
// while they say the replica is fresh up to the primary's latest position,
// a read whose connection reaches a replica that has not replayed it goes
// to the primary.
func TestEachReadChecksItsConnection(t *testing.T) {
	t.Parallel()
	primary := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
	rep := testenv.StartReplica(t, primary, testenv.ReplicaOptions{})
	heard := &reads{}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{PostgresURL: primary.URL(), PoolSize: 2, Replica: store.ReplicaOptions{
		URL: rep.URL(), MaxLag: 5 * time.Second, OnRead: heard.add,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	enter(t, ctx, s, 6, 600)
	if err := rep.WaitReplayed(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.MeasureReplica(ctx); !st.Usable {
		t.Fatalf("replica state %+v; want usable", st)
	}
	rep.PauseReplay()
	enter(t, ctx, s, 6, 601)
	if st := s.MeasureReplica(ctx); !st.Usable {
		t.Fatalf("replica state just after the pause %+v; want usable", st)
	}
	if n := count(t, store.AllowStale(ctx), s, 6); n != 1 {
		t.Fatalf("marked count within the bound = %d, want the replica's stale 1", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadReplica}) {
		t.Fatalf("marked read within the bound went to %v, want the replica", got)
	}

	s.PretendReplicaFresh(t, ctx)
	if st := s.Replica(); !st.Usable {
		t.Fatalf("replica state %+v; want usable as measured", st)
	}
	if n := count(t, store.AllowStale(ctx), s, 6); n != 2 {
		t.Fatalf("marked count on a connection behind the measured position = %d, want the primary's 2", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadFallback}) {
		t.Fatalf("marked read on a connection behind the measured position went to %v, want a fallback", got)
	}
}

// TestARequestNeverGoesBackInTime: behind one read URL that reaches two
// replicas, one up to date and one behind (within the bound), a request
// that read from the first does not read from the second: its later read
// goes to the primary. A new request may read from the second.
func TestARequestNeverGoesBackInTime(t *testing.T) {
	t.Parallel()
	primary := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
	ahead := testenv.StartReplica(t, primary, testenv.ReplicaOptions{})
	behind := testenv.StartReplica(t, primary, testenv.ReplicaOptions{})
	proxy := testenv.NewProxy(t, ahead.Addr())
	heard := &reads{}
	ctx := context.Background()
	// Connections live a millisecond, so that each read dials the proxy's
	// current target.
	s, err := store.Open(ctx, store.Options{PostgresURL: primary.URL(), PoolSize: 2, PoolRecycle: time.Millisecond,
		Replica: store.ReplicaOptions{URL: ahead.URLAt(proxy.Addr()), MaxLag: time.Minute, OnRead: heard.add}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	enter(t, ctx, s, 8, 800)
	for _, r := range []*testenv.Replica{ahead, behind} {
		if err := r.WaitReplayed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.MeasureReplica(ctx); !st.Usable {
		t.Fatalf("replica state %+v; want usable", st)
	}
	behind.PauseReplay()
	enter(t, ctx, s, 8, 801)
	if err := ahead.WaitReplayed(ctx); err != nil {
		t.Fatal(err)
	}

	request := store.AllowStale(ctx)
	if n := count(t, request, s, 8); n != 2 {
		t.Fatalf("count on the replica ahead = %d, want 2", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadReplica}) {
		t.Fatalf("first read went to %v, want the replica", got)
	}
	proxy.SetTarget(behind.Addr())
	time.Sleep(10 * time.Millisecond)
	if n := count(t, request, s, 8); n != 2 {
		t.Fatalf("the same request's count with the URL now reaching the replica behind = %d, want the primary's 2", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadFallback}) {
		t.Fatalf("the same request's read went to %v, want a fallback", got)
	}
	if n := count(t, store.AllowStale(ctx), s, 8); n != 1 {
		t.Fatalf("a new request's count on the replica behind = %d, want its stale 1 (within the bound)", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadReplica}) {
		t.Fatalf("a new request's read went to %v, want the replica", got)
	}
}

// TestStoppedReplicaFallsBackToThePrimary: a replica that stops serves no
// marked read, and none fails: the first read that finds it down runs
// again on the primary, and once a measurement has seen it down reads go
// straight to the primary. Started again, it serves again.
func TestStoppedReplicaFallsBackToThePrimary(t *testing.T) {
	t.Parallel()
	s, rep, heard := replicated(t, 5*time.Second)
	ctx := context.Background()
	enter(t, ctx, s, 2, 200)
	if err := rep.WaitReplayed(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, store.AllowStale(ctx), s, 2); n != 1 {
		t.Fatalf("marked count = %d, want 1", n)
	}
	heard.last()

	rep.Stop(testenv.StopImmediate)
	enter(t, ctx, s, 2, 201)
	// Every marked read is answered, by the primary, before and after the
	// measurements notice.
	for i := range 3 {
		if i == 1 {
			waitFor(t, "a measurement to see the replica down", func() bool { return !s.Replica().Up })
		}
		n, err := s.Count(store.AllowStale(ctx), 2)
		if err != nil || n != 2 {
			t.Fatalf("marked count %d with the replica stopped = %d, %v; want the primary's 2", i, n, err)
		}
	}
	if got := heard.last(); !equal(got, []string{store.ReadFallback, store.ReadFallback, store.ReadFallback}) {
		t.Fatalf("marked reads with the replica stopped went to %v, want three fallbacks", got)
	}
	if st := s.Replica(); st.Usable || st.Up || st.Err == nil {
		t.Fatalf("stopped replica state %+v; want down with an error", st)
	}

	rep.Start()
	waitFor(t, "the restarted replica to be usable", func() bool { return s.Replica().Usable })
	if n := count(t, store.AllowStale(ctx), s, 2); n != 2 {
		t.Fatalf("marked count after the restart = %d, want 2", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadReplica}) {
		t.Fatalf("marked read after the restart went to %v, want the replica", got)
	}
}

// proxiedReplica opens a store on a primary and a streaming replica
// reached through a proxy, with one participant of giveaway 7 replayed,
// the replica measured usable and one marked count read (heard holds
// where it went).
func proxiedReplica(t *testing.T, checkInterval time.Duration) (*store.Store, *testenv.Proxy, *reads) {
	t.Helper()
	primary := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
	rep := testenv.StartReplica(t, primary, testenv.ReplicaOptions{})
	proxy := testenv.NewProxy(t, rep.Addr())
	heard := &reads{}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{PostgresURL: primary.URL(), PoolSize: 2, Replica: store.ReplicaOptions{
		URL: rep.URLAt(proxy.Addr()), MaxLag: 5 * time.Second, CheckInterval: checkInterval, OnRead: heard.add,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	enter(t, ctx, s, 7, 700)
	if err := rep.WaitReplayed(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.MeasureReplica(ctx); !st.Usable {
		t.Fatalf("replica state %+v; want usable", st)
	}
	if n := count(t, store.AllowStale(ctx), s, 7); n != 1 {
		t.Fatalf("marked count = %d, want 1", n)
	}
	return s, proxy, heard
}

// TestHungReplicaFallsBackToThePrimary: a replica that stops answering
// without refusing (a network partition, here a proxy that stops
// forwarding) costs a marked read at most the check interval before the
// primary answers it, and none fails.
func TestHungReplicaFallsBackToThePrimary(t *testing.T) {
	t.Parallel()
	const interval = 200 * time.Millisecond
	s, proxy, heard := proxiedReplica(t, interval)
	ctx := context.Background()
	heard.last()

	proxy.Pause()
	t.Cleanup(proxy.Resume)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	began := time.Now()
	n, err := s.Count(store.AllowStale(rctx), 7)
	took := time.Since(began)
	if err != nil || n != 1 {
		t.Fatalf("marked count with the replica hung = %d, %v; want the primary's 1", n, err)
	}
	if took > interval+time.Second {
		t.Fatalf("marked count with the replica hung took %v, want about the check interval %v", took, interval)
	}
	if got := heard.last(); !equal(got, []string{store.ReadFallback}) {
		t.Fatalf("marked read with the replica hung went to %v, want a fallback", got)
	}
	if st := s.Replica(); st.Up {
		t.Fatalf("replica state %+v after a read found it hung; want down", st)
	}
	t.Logf("a marked read on a hung replica was answered by the primary in %v", took.Round(time.Millisecond))
}

// TestReplicaHungMidReadFallsBackInHalfTheTime: a replica that stops
// answering after its freshness check passed, in the middle of the read
// itself, holds the read for half the time the caller has left, then the
// primary answers it within the caller's deadline.
func TestReplicaHungMidReadFallsBackInHalfTheTime(t *testing.T) {
	t.Parallel()
	s, proxy, heard := proxiedReplica(t, time.Minute)
	ctx := context.Background()
	if got := heard.last(); !equal(got, []string{store.ReadReplica}) {
		t.Fatalf("marked count went to %v, want the replica", got)
	}

	// The check's query goes through; the count's does not.
	proxy.PauseOn("COUNT(*) FROM participants")
	t.Cleanup(proxy.Resume)
	const deadline = 2 * time.Second
	rctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	began := time.Now()
	n, err := s.Count(store.AllowStale(rctx), 7)
	took := time.Since(began)
	if err != nil || n != 1 {
		t.Fatalf("marked count with the replica hung mid-read = %d, %v after %v; want the primary's 1", n, err, took)
	}
	if took < deadline/2-100*time.Millisecond || took >= deadline {
		t.Fatalf("marked count with the replica hung mid-read took %v, want about half the deadline %v", took, deadline)
	}
	if got := heard.last(); !equal(got, []string{store.ReadFallback}) {
		t.Fatalf("marked read with the replica hung mid-read went to %v, want a fallback", got)
	}
	if st := s.Replica(); st.Up {
		t.Fatalf("replica state %+v after a read hung on it; want down", st)
	}
	t.Logf("a marked read hung on the replica after its check was answered by the primary in %v", took.Round(time.Millisecond))
}

// TestWritesNeverGoToTheReplica: in a marked context, writes outside and
// inside transactions succeed, which a hot standby refuses, and what they
// wrote is on the primary.
func TestWritesNeverGoToTheReplica(t *testing.T) {
	t.Parallel()
	s, rep, _ := replicated(t, 5*time.Second)
	ctx := store.AllowStale(context.Background())
	enter(t, ctx, s, 3, 300)
	if err := s.InTx(ctx, func(q participant.Queries) error {
		_, _, err := q.InsertParticipant(ctx, participant.NewParticipant{GiveawayID: 3, UserID: 301, At: t0})
		return err
	}); err != nil {
		t.Fatalf("insert in a transaction of a marked context: %v", err)
	}
	if _, err := s.UpdateDelivery(ctx, []int64{1}, true, t0); err != nil {
		t.Fatalf("update in a marked context: %v", err)
	}
	if n := count(t, context.Background(), s, 3); n != 2 {
		t.Fatalf("primary count = %d, want 2", n)
	}
	// The replica itself refuses writes: had one been sent there, it
	// would have failed.
	if _, err := rep.DB().Exec("INSERT INTO participants (giveaway_id, user_id, participated_at) VALUES (3, 302, now())"); err == nil {
		t.Fatal("the replica accepted a write")
	}
}

// TestReadURLThatIsNotAStandby: a read URL pointing at a primary is not
// read from, as its lag cannot be measured; marked reads go to the
// primary and the state says why.
func TestReadURLThatIsNotAStandby(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresSchema(t)
	ctx := context.Background()
	heard := &reads{}
	s, err := store.Open(ctx, store.Options{PostgresURL: url, PoolSize: 2, Replica: store.ReplicaOptions{URL: url, OnRead: heard.add}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Replica(); st.Usable || !st.Configured {
		t.Fatalf("state before any measurement %+v; want configured, not usable", st)
	}
	st := s.MeasureReplica(ctx)
	if st.Usable || st.Up || st.Err == nil {
		t.Fatalf("state of a read URL on a primary %+v; want not usable, with an error", st)
	}
	if n := count(t, store.AllowStale(ctx), s, 4); n != 0 {
		t.Fatalf("count = %d, want 0", n)
	}
	if got := heard.last(); !equal(got, []string{store.ReadFallback}) {
		t.Fatalf("marked read went to %v, want a fallback", got)
	}
}

// TestNoReplica: without a read URL, marked reads are the primary's and
// the state says no replica is configured.
func TestNoReplica(t *testing.T) {
	t.Parallel()
	s := testenv.OpenStore(t, "postgres")
	ctx := context.Background()
	if st := s.Replica(); st.Configured {
		t.Fatalf("state %+v; want not configured", st)
	}
	if _, err := s.Count(store.AllowStale(ctx), 5); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(ctx, store.Options{SQLitePath: testenv.SQLitePath(t), Replica: store.ReplicaOptions{URL: "postgres://x/y"}}); err == nil {
		t.Fatal("a read replica was accepted on SQLite")
	}
}
