package reliability_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/client"
)

// TestRedisOutageUnderLoad: Redis goes away for two seconds under mixed
// load. As documented, the rate limiter fails open and the cache is
// bypassed, so no request fails; /health says degraded meanwhile and
// healthy again after, without a restart.
func TestRedisOutageUnderLoad(t *testing.T) {
	report(t, underRedisFault(t, outage))
}

// TestRedisPartitionUnderLoad: the same, with Redis going silent instead
// of away: each command waits out REDIS_TIMEOUT (0.2 s here) and then
// degrades as in an outage, so requests slow down by a few timeouts but
// none fails.
func TestRedisPartitionUnderLoad(t *testing.T) {
	f := underRedisFault(t, partition)
	// A request makes at most a few Redis calls (auth replay check, two
	// limiter checks, a cache read); each gives up after 0.2 s.
	if slowest := f["max_ms"].(float64); slowest > 2000 {
		t.Fatalf("a request took %.0f ms while Redis was silent", slowest)
	}
	report(t, f)
}

func underRedisFault(t *testing.T, f fault) figures {
	t.Helper()
	ru, _ := url.Parse(testenv.RedisURL(t))
	proxy := testenv.NewProxy(t, ru.Host)
	ru.Host = proxy.Addr()
	svc := start(t, "DATABASE_URL="+testenv.PostgresSchema(t), "REDIS_URL="+ru.String(),
		"REDIS_KEY_PREFIX=reliability:"+strconv.FormatInt(time.Now().UnixNano(), 36)+":", "REDIS_TIMEOUT=0.2")
	b := newBot(t, svc.URL)
	ctx := context.Background()
	known := b.users(t, 20)

	var (
		sent, failed atomic.Int64
		lat          latencies
		wg           sync.WaitGroup
		degradedSeen atomic.Bool
	)
	c, _ := client.New(svc.URL, client.WithRetries(0, 0))
	stop := time.Now().Add(6 * time.Second)
	for w := range 6 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				user := known[(w+i)%len(known)]
				start := time.Now()
				var err error
				if i%2 == 0 {
					_, err = c.CaptchaStatus(ctx, user)
				} else {
					_, err = c.Register(ctx, client.RegisterRequest{GiveawayID: 2 + int64(i%5), UserID: user})
					if client.IsCode(err, client.CodeDuplicate) {
						err = nil
					}
				}
				lat.add("request", time.Since(start))
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					t.Logf("request failed during the Redis outage: %v", err)
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	f.begin(proxy)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if health(t, svc.URL) == "degraded" {
			degradedSeen.Store(true)
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.end(proxy)
	back := time.Now()
	wg.Wait()
	var recovered time.Duration
	for time.Since(back) < 10*time.Second {
		if health(t, svc.URL) == "healthy" {
			recovered = time.Since(back)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !degradedSeen.Load() || recovered == 0 {
		t.Fatalf("health was not degraded during the outage (%v) or not healthy after it (%v)", degradedSeen.Load(), recovered)
	}
	if failed.Load() > 0 {
		t.Fatalf("%d of %d requests failed during the Redis outage", failed.Load(), sent.Load())
	}
	return figures{
		"requests_sent": sent.Load(), "failed": failed.Load(), "p99_ms": ms(lat.quantile("request", 0.99)),
		"max_ms": ms(lat.quantile("request", 1)), "healthy_again_ms": ms(recovered),
	}
}

func health(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/health")
	if err != nil {
		return "unreachable"
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return body.Status
}
