package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/signing"
)

// TestReplayRefusedByEveryReplica: signatures are remembered in the
// database, so a signed request replayed to another replica is refused,
// with or without Redis, and a replay sent to both at once passes once.
func TestReplayRefusedByEveryReplica(t *testing.T) {
	dsn := testenv.PostgresSchema(t)
	env := []string{"DATABASE_URL=" + dsn, "SERVICE_TOKENS=bot:bot-token-0123456789", "REQUIRE_SIGNATURES=true"}
	a := testenv.StartService(t, env...)
	b := testenv.StartService(t, append(env, "MIGRATE_ON_START=false")...)

	body := []byte(`{"giveaway_id": 3, "user_id": 44}`)
	const path = "/api/participants/register"
	ts := time.Now().Unix()
	send := func(base string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Service-Token", "bot-token-0123456789")
		req.Header.Set("X-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Signature", signing.Sign("bot-token-0123456789", http.MethodPost, path, ts, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			ErrorCode string `json:"error_code"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.ErrorCode
	}
	if status, code := send(a.URL); status != http.StatusOK {
		t.Fatalf("the signed request was refused: %d %s", status, code)
	}
	for _, replica := range []*testenv.Service{b, a} {
		if status, code := send(replica.URL); status != http.StatusUnauthorized || code != "AUTH_INVALID" {
			t.Fatalf("a replay got %d %s, want 401 AUTH_INVALID", status, code)
		}
	}

	// The same new request sent to both replicas at once passes once.
	ts++
	results := make(chan int, 2)
	for _, replica := range []*testenv.Service{a, b} {
		go func() {
			status, _ := send(replica.URL)
			results <- status
		}()
	}
	ok := 0
	for range 2 {
		if <-results == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("a request sent to two replicas at once was accepted %d times, want once", ok)
	}
}
