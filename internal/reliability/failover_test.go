package reliability_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/client"
)

// failoverRecovery bounds how long after the database's address reaches
// the promoted replica the service registers again by itself: its pool
// must drop the connections to the lost primary rather than keep failing
// on them.
const failoverRecovery = 5 * time.Second

// TestPrimaryFailover plays the failover CloudNativePG performs: the
// primary, with a synchronous replica, is lost (an immediate stop, as a
// crash), the replica is promoted and the service's database address moves
// to it, while six clients register users who already passed the captcha
// as fast as they can. Every answer is 200 or, during the gap, 503 with a
// Retry-After: never a 500, never a hang. The service registers again
// within failoverRecovery of the address moving, without a restart, and
// its readiness goes down and back. Every acknowledged registration is on
// the new primary exactly once with the acknowledged id; every one that
// failed, sent again, is either taken now or answered as the duplicate of
// the one the lost primary committed before answering. The draw of a
// giveaway registered across the failover then works.
func TestPrimaryFailover(t *testing.T) {
	primary := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
	replica := testenv.StartReplica(t, primary, testenv.ReplicaOptions{Synchronous: true})
	proxy := testenv.NewProxy(t, primary.Addr())
	logs := &testenv.Logs{}
	svc := startLogged(t, logs, "DATABASE_URL="+primary.URLAt(proxy.Addr()), "DATABASE_POOL_SIZE=10",
		"DATABASE_POOL_TIMEOUT=1", "HEALTH_CHECK_TIMEOUT=0.3", "REQUEST_TIMEOUT=2")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The users pass the captcha once, through a giveaway of their own;
	// from then on each registration is one call and each 200 a committed
	// participation.
	const users = 40
	base := uniqueBase()
	b := newBot(t, svc.URL)
	userIDs := make([]int64, users)
	for i := range userIDs {
		userIDs[i] = base + int64(i)
		if b.join(ctx, base, userIDs[i]) == 0 {
			t.Fatalf("user %d: the captcha round failed: %v", userIDs[i], b.failures)
		}
	}
	c := newClient(t, svc.URL)
	ready := watchReadiness(svc.URL)

	type pair struct{ giveaway, user int64 }
	type ack struct {
		id int64
		at time.Time
	}
	var (
		mu       sync.Mutex
		acked    = map[pair]ack{}
		failed   []pair
		statuses = map[string]int{}
		slowest  time.Duration
		next     atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	// The k-th registration is user k mod users into giveaway base+1+k/users,
	// so that no pair is sent twice during the load.
	pairOf := func(k int64) pair { return pair{base + 1 + k/users, userIDs[k%users]} }
	for range 6 {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				p := pairOf(next.Add(1) - 1)
				sent := time.Now()
				res, err := c.Register(ctx, client.RegisterRequest{GiveawayID: p.giveaway, UserID: p.user})
				took := time.Since(sent)
				var e *client.Error
				mu.Lock()
				slowest = max(slowest, took)
				switch {
				case err == nil && !res.RequiresCaptcha && res.ParticipantID != 0:
					statuses["200"]++
					acked[p] = ack{res.ParticipantID, time.Now()}
				case err == nil:
					statuses["200 without a participation"]++
					failed = append(failed, p)
				case errors.As(err, &e):
					key := fmt.Sprintf("%d %s", e.Status, e.Code)
					if e.Status == http.StatusServiceUnavailable && e.RetryAfter <= 0 {
						key += " without Retry-After"
					}
					statuses[key]++
					failed = append(failed, p)
				default:
					statuses["no answer"]++
					failed = append(failed, p)
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}

	time.Sleep(2 * time.Second)
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	if before == 0 {
		stop.Store(true)
		wg.Wait()
		t.Fatalf("no registration acknowledged before the failover: %v", statuses)
	}
	lost := time.Now()
	primary.Stop(testenv.StopImmediate)
	proxy.Stop() // no endpoint while the operator promotes
	replica.Promote()
	proxy.SetTarget(replica.Addr())
	proxy.Start()
	moved := time.Now()
	gap := moved.Sub(lost)
	time.Sleep(failoverRecovery + time.Second)
	stop.Store(true)
	wg.Wait()
	ready.close()

	var firstAfter time.Time
	for _, a := range acked {
		if a.at.After(moved) && (firstAfter.IsZero() || a.at.Before(firstAfter)) {
			firstAfter = a.at
		}
	}
	t.Logf("answers: %v; %d acknowledged before the failover, %d in all; promotion took %v", statuses, before, len(acked), gap.Round(time.Millisecond))
	for s := range statuses {
		if s != "200" && s != "503 SERVICE_UNAVAILABLE" {
			t.Errorf("%d answers were %q; a failover may only answer 200 or 503 SERVICE_UNAVAILABLE with a Retry-After", statuses[s], s)
		}
	}
	if statuses["503 SERVICE_UNAVAILABLE"] == 0 {
		t.Errorf("no request failed while the database was away: the failover was not exercised")
	}
	// REQUEST_TIMEOUT bounds any answer; a second more for a busy machine.
	if slowest > 3*time.Second {
		t.Errorf("a caller waited %v for an answer, above the request deadline of 2s", slowest)
	}
	if firstAfter.IsZero() || firstAfter.Sub(moved) > failoverRecovery {
		t.Fatalf("no registration acknowledged within %v of the address moving to the promoted replica (first at %v after)", failoverRecovery, firstAfter.Sub(moved))
	}
	if ready.notReadyAt.IsZero() || ready.notReadyAt.Before(lost) || ready.readyAgain.Before(moved) || ready.readyAgain.Sub(moved) > failoverRecovery {
		t.Errorf("readiness did not go 503 and back within %v (503 at %v after the loss, ready %v after the move)",
			failoverRecovery, ready.notReadyAt.Sub(lost), ready.readyAgain.Sub(moved))
	}

	// Send every failed registration again: the lost primary may have
	// committed it (and the synchronous replica with it) before its answer
	// was lost, in which case the service must say duplicate and name it.
	retried := map[pair]int64{}
	committedUnanswered := 0
	for _, p := range failed {
		res, err := c.Register(ctx, client.RegisterRequest{GiveawayID: p.giveaway, UserID: p.user})
		var e *client.Error
		switch {
		case errors.As(err, &e) && e.Code == client.CodeDuplicate && e.ParticipantID != 0:
			retried[p] = e.ParticipantID
			committedUnanswered++
		case err != nil || res.RequiresCaptcha || res.ParticipantID == 0:
			t.Errorf("registration %+v sent again after the failover: %+v, %v", p, res, err)
		default:
			retried[p] = res.ParticipantID
		}
	}

	// The new primary itself, not the service, says what is stored.
	rows, err := replica.DB().QueryContext(ctx, "SELECT giveaway_id, user_id, id FROM participants WHERE giveaway_id > $1", base)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[pair][]int64{}
	for rows.Next() {
		var p pair
		var id int64
		if err := rows.Scan(&p.giveaway, &p.user, &id); err != nil {
			t.Fatal(err)
		}
		stored[p] = append(stored[p], id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	missing := 0
	for p, a := range acked {
		if ids := stored[p]; len(ids) != 1 || ids[0] != a.id {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged registration of user %d in giveaway %d as participant %d is stored as %v", p.user, p.giveaway, a.id, ids)
			}
		}
	}
	for p, id := range retried {
		if ids := stored[p]; len(ids) != 1 || ids[0] != id {
			t.Errorf("registration of user %d in giveaway %d, sent again as participant %d, is stored as %v", p.user, p.giveaway, id, ids)
		}
	}
	if want := len(acked) + len(retried); len(stored) != want {
		t.Errorf("%d registrations stored, %d acknowledged and %d sent again", len(stored), len(acked), len(retried))
	}
	if got := replica.QueryString("SELECT COALESCE(SUM(total_participations), 0) FROM users WHERE user_id >= $1 AND user_id < $2", base, base+users); got != fmt.Sprint(users+len(stored)) {
		t.Errorf("the users' participations are counted %s times, want %d (the captcha round and each stored registration once)", got, users+len(stored))
	}

	// The draw of a giveaway that was filled across the failover.
	var straddling int64
	for p, a := range acked {
		if a.at.Before(lost) && (straddling == 0 || p.giveaway > straddling) {
			straddling = p.giveaway
		}
	}
	var entrants []int64
	for p := range stored {
		if p.giveaway == straddling {
			entrants = append(entrants, p.user)
		}
	}
	sel, err := c.SelectWinners(ctx, straddling, client.SelectRequest{WinnerCount: 3})
	if err != nil {
		t.Fatalf("draw of giveaway %d after the failover: %v", straddling, err)
	}
	if len(sel.Winners) != min(3, len(entrants)) || sel.AlreadySelected {
		t.Errorf("draw of giveaway %d over %d entrants: %d winners (already selected %v), want %d", straddling, len(entrants), len(sel.Winners), sel.AlreadySelected, min(3, len(entrants)))
	}
	for _, w := range sel.Winners {
		if !slices.Contains(entrants, w.UserID) {
			t.Errorf("winner %d of giveaway %d is not one of its stored entrants", w.UserID, straddling)
		}
	}
	if got := replica.QueryString("SELECT count(*) FROM participants WHERE giveaway_id = $1 AND is_winner", straddling); got != fmt.Sprint(len(sel.Winners)) {
		t.Errorf("%s winners stored for giveaway %d, %d drawn", got, straddling, len(sel.Winners))
	}

	// The access log records each 503 at level ERROR; anything else at
	// that level (an internal error, a 500) is a failure of the failover.
	var unexpected []string
	for l := range strings.Lines(errorLines(logs.String())) {
		if !strings.Contains(l, `"msg":"request"`) || !strings.Contains(l, `"status":503`) {
			unexpected = append(unexpected, l)
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("the service logged errors:\n%s", strings.Join(unexpected, "\n"))
	}
	codes := make([]string, 0, len(statuses))
	for s, n := range statuses {
		codes = append(codes, fmt.Sprintf("%s: %d", s, n))
	}
	sort.Strings(codes)
	report(t, figures{"acknowledged": len(acked), "acknowledged_before_failover": before, "stored": len(stored), "lost": missing,
		"failed_then_sent_again": len(retried), "sent_again_found_committed": committedUnanswered, "answers": strings.Join(codes, ", "),
		"promotion_ms": ms(gap), "first_registration_after_move_ms": ms(firstAfter.Sub(moved)),
		"not_ready_ms": ms(ready.notReadyFor), "ready_after_move_ms": ms(ready.readyAgain.Sub(moved)),
		"slowest_answer_ms": ms(slowest), "draw_entrants": len(entrants), "winners": len(sel.Winners)})
}
