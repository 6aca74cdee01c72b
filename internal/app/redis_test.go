package app_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
)

func getAs(t *testing.T, url, token string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Service-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// TestReplicasShareRedis: two replicas share one rate budget through Redis;
// when Redis goes away both keep serving (the limiter fails open), report
// degraded health but stay ready, and recover by themselves when it
// returns.
func TestReplicasShareRedis(t *testing.T) {
	redisURL, _ := url.Parse(testenv.RedisURL(t))
	proxy := testenv.NewProxy(t, redisURL.Host)
	redisURL.Host = proxy.Addr()
	const token = "giveaway-token-for-tests"
	env := []string{
		"DATABASE_URL=" + testenv.PostgresSchema(t),
		"REDIS_URL=" + redisURL.String(),
		"REDIS_KEY_PREFIX=test:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":",
		"REDIS_TIMEOUT=0.2",
		"API_RATE_LIMIT=6 per hour",
		"SERVICE_TOKENS=giveaway:" + token,
	}
	a := testenv.StartService(t, env...)
	b := testenv.StartService(t, append(env, "MIGRATE_ON_START=false")...)
	urls := []string{a.URL, b.URL}

	for i := range 6 {
		if code, _ := getAs(t, urls[i%2]+"/api/participants/1/count", token); code != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, code)
		}
	}
	for _, u := range urls {
		if code, h := getAs(t, u+"/api/participants/1/count", token); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Fatalf("over the shared budget: %d %v", code, h)
		}
	}

	proxy.Stop()
	for _, u := range urls {
		if code, _ := getAs(t, u+"/api/participants/1/count", token); code != http.StatusOK {
			t.Fatalf("with Redis down the limiter must fail open, got %d", code)
		}
		code, body := get(t, u+"/health")
		if code != http.StatusOK || body["status"] != "degraded" {
			t.Fatalf("health with Redis down: %d %v", code, body)
		}
		if code, _ := get(t, u+"/health/ready"); code != http.StatusOK {
			t.Fatalf("Redis is optional, so readiness holds: %d", code)
		}
	}

	proxy.Start()
	deadline := time.Now().Add(10 * time.Second)
	for _, u := range urls {
		for {
			_, body := get(t, u+"/health")
			if body["status"] == "healthy" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no recovery after Redis returned: %v", body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The budget is enforced again, and it survived the outage in Redis.
	if code, _ := getAs(t, urls[0]+"/api/participants/1/count", token); code != http.StatusTooManyRequests {
		t.Fatalf("after recovery the shared budget applies again, got %d", code)
	}
}
