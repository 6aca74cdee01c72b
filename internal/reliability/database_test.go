package reliability_test

import (
	"context"
	"database/sql"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/internal/testenv"
)

// TestDatabaseOutageUnderLoad: while first-time users register through the
// captcha, Postgres goes away for two seconds (every connection cut, new
// ones refused, as when it restarts) and comes back. The bot-like clients
// retry as the bot does. Afterwards every registration the service
// acknowledged is in the database exactly once, with the acknowledged id
// and counted once; nothing else is there; readiness went 503 and back;
// the service recovered without a restart.
func TestDatabaseOutageUnderLoad(t *testing.T) {
	report(t, underDatabaseFault(t, outage, 2*time.Second))
}

// TestDatabasePartitionUnderLoad: the same load while the network to
// Postgres goes silent for three seconds: nothing is refused or closed,
// answers simply stop coming and new connections hang, as in a partition.
// The request deadline (REQUEST_TIMEOUT, one second here) bounds what any
// caller waits, frees the pool's stuck connections and turns the wait into
// 503; the same guarantees hold for what was acknowledged.
func TestDatabasePartitionUnderLoad(t *testing.T) {
	const deadline = time.Second
	f := underDatabaseFault(t, partition, 3*time.Second, "REQUEST_TIMEOUT=1")
	// The deadline, plus the answer's own way back on a busy machine.
	if slowest := f["slowest_answer_ms"].(float64); slowest > ms(deadline+time.Second) {
		t.Fatalf("a caller waited %.0f ms for an answer; the request deadline is %v", slowest, deadline)
	}
	report(t, f)
}

// underDatabaseFault registers first-time users through the captcha from
// eight bot-like clients while f breaks the way to Postgres for d, then
// checks what was acknowledged against the database itself.
func underDatabaseFault(t *testing.T, f fault, d time.Duration, env ...string) figures {
	t.Helper()
	direct := testenv.PostgresSchema(t)
	u, _ := url.Parse(direct)
	proxy := testenv.NewProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.Addr()
	svc := start(t, append([]string{"DATABASE_URL=" + viaProxy.String(), "DATABASE_POOL_SIZE=10",
		"DATABASE_POOL_TIMEOUT=1", "HEALTH_CHECK_TIMEOUT=0.3"}, env...)...)
	ready := watchReadiness(svc.URL)
	b := newBot(t, svc.URL)

	type ack struct{ giveaway, user, id int64 }
	var (
		mu    sync.Mutex
		acks  []ack
		users []int64
		lost  atomic.Int64
	)
	base := uniqueBase()
	var next atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	load := time.Now().Add(7 * time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(load) {
				user := base + next.Add(1)
				giveaway := 1 + user%3
				mu.Lock()
				users = append(users, user)
				mu.Unlock()
				id := b.join(ctx, giveaway, user)
				if id == 0 {
					lost.Add(1)
					continue
				}
				mu.Lock()
				acks = append(acks, ack{giveaway, user, id})
				mu.Unlock()
			}
		})
	}
	time.Sleep(2 * time.Second)
	broken := time.Now()
	f.begin(proxy)
	time.Sleep(d)
	f.end(proxy)
	back := time.Now()
	wg.Wait()
	ready.close()

	if ready.notReadyAt.IsZero() || ready.notReadyAt.Before(broken) || ready.readyAgain.Before(back) {
		t.Fatalf("readiness did not go 503 during the outage and back (503 at %v, ready again at %v)", ready.notReadyAt, ready.readyAgain)
	}
	for code := range b.failures {
		if code != "SERVICE_UNAVAILABLE" {
			t.Errorf("during the fault the service answered %s; an unreachable database is 503 SERVICE_UNAVAILABLE", code)
		}
	}
	if lost.Load() > 0 {
		t.Fatalf("%d registrations were never acknowledged within the bot's retries", lost.Load())
	}

	// Check the database directly, not through the service.
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(direct)))
	defer db.Close()
	found := map[[2]int64]int64{}
	rowsSeen := 0
	rows, err := db.QueryContext(ctx, "SELECT giveaway_id, user_id, id FROM participants WHERE user_id >= $1", base)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g, usr, id int64
		if err := rows.Scan(&g, &usr, &id); err != nil {
			t.Fatal(err)
		}
		rowsSeen++
		if _, dup := found[[2]int64{g, usr}]; dup {
			t.Errorf("user %d is twice in giveaway %d", usr, g)
		}
		found[[2]int64{g, usr}] = id
	}
	rows.Close()
	missing := 0
	for _, a := range acks {
		if id, ok := found[[2]int64{a.giveaway, a.user}]; !ok || id != a.id {
			t.Errorf("acknowledged registration %+v is missing or has id %d", a, id)
			missing++
		}
	}
	if len(found) != len(acks) {
		t.Fatalf("%d participants in the database, %d acknowledged", len(found), len(acks))
	}
	var counted int64
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(total_participations), 0) FROM users WHERE user_id >= $1", base).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if counted != int64(len(acks)) {
		t.Fatalf("participations counted %d times for %d registrations", counted, len(acks))
	}
	return figures{
		"requests_sent": b.requests, "failed_answers": b.failures, "registrations_attempted": len(users),
		"acknowledged": len(acks), "found": len(found), "lost": missing, "duplicated": rowsSeen - len(found),
		"not_ready_ms": ms(ready.notReadyFor), "recovery_ms": ms(ready.readyAgain.Sub(back)),
		"slowest_answer_ms": ms(b.slowest),
	}
}
