package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// fakeRegister answers each registration by its user id: 1xx users 201,
// 2xx 409, 3xx 503 with Retry-After, 4xx 503 without, others 500.
func fakeRegister(t *testing.T, seen chan<- map[string]any) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/participants/register" || r.Header.Get("X-Service-Token") != "bot-token" {
			http.Error(w, "wrong path or token", http.StatusTeapot)
			return
		}
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("body %q: %v", b, err)
		}
		seen <- body
		user := int64(body["user_id"].(float64))
		switch user / 100 {
		case 1:
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"success":true,"requires_captcha":false,"participation_confirmed":true,"participant_id":` + itoa(user*10) + `}`))
		case 2:
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"success":false,"error_code":"DUPLICATE_PARTICIPATION","participant_id":` + itoa(user*10) + `}`))
		case 3:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 4:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestHotRegistrationOutcomes(t *testing.T) {
	seen := make(chan map[string]any, 10)
	srv := fakeRegister(t, seen)
	defer srv.Close()
	h := newHotTarget(srv.Client(), srv.URL, "bot-token", 42, nil, 0)
	for user, want := range map[int64]string{101: outcomeCreated, 201: outcomeDuplicate, 301: outcomeShed,
		401: "503_without_retry_after", 501: "status_500"} {
		if got := h.register(context.Background(), user); got != want {
			t.Errorf("user %d: %q, want %q", user, got, want)
		}
		body := <-seen
		if body["giveaway_id"] != float64(42) || body["user_id"] != float64(user) {
			t.Errorf("sent %v", body)
		}
	}
	if h.acks.created[101] != 1010 || len(h.acks.created) != 1 {
		t.Errorf("201s noted: %v", h.acks.created)
	}
	if h.acks.duplicates[201] != 2010 || len(h.acks.duplicates) != 1 {
		t.Errorf("409s noted: %v", h.acks.duplicates)
	}
	if len(h.acks.sentTo) != 5 {
		t.Errorf("sent: %v", h.acks.sentTo)
	}
}

func TestHotRegistrationWithoutAServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	h := newHotTarget(&http.Client{Timeout: time.Second}, srv.URL, "", 1, nil, 0)
	if got := h.register(context.Background(), 7); got != "network" {
		t.Fatalf("%q, want network", got)
	}
	if _, ok := h.acks.sentTo[7]; !ok {
		t.Fatal("a request that may have reached the service is not noted as sent")
	}
}

func TestA201WithoutAParticipantID(t *testing.T) {
	a := newAckLog()
	if out := a.classify(1, 201, "", []byte(`{"success":true}`)); out != outcomeNoID {
		t.Fatalf("%q", out)
	}
	if len(a.created) != 0 {
		t.Fatal("a 201 without an id was noted as acknowledged")
	}
}

func TestHotPicksEachUserOnceThenWraps(t *testing.T) {
	h := newHotTarget(nil, "", "", 1, []int64{5, 6, 7}, 0)
	var got []int64
	for range 4 {
		got = append(got, h.pick())
	}
	if got[0] != 5 || got[1] != 6 || got[2] != 7 || got[3] != 5 {
		t.Fatalf("picked %v", got)
	}
	if !h.wrapped() {
		t.Fatal("not wrapped after the pool ran out")
	}
}

func TestHotRepeatsOnlyUsersAlreadySent(t *testing.T) {
	users := make([]int64, 1000)
	for i := range users {
		users[i] = int64(i)
	}
	h := newHotTarget(nil, "", "", 1, users, 1)
	if u := h.pick(); u != 0 {
		t.Fatalf("the first pick, with nobody sent, is %d", u)
	}
	for range 100 {
		if u := h.pick(); u != 0 {
			t.Fatalf("repeat picked %d, never sent", u)
		}
	}
	h.repeat = 0.5
	fresh := 0
	for range 200 {
		if h.pick() >= 1 {
			fresh++
		}
	}
	if fresh == 0 || fresh == 200 {
		t.Fatalf("%d of 200 picks fresh at repeat 0.5", fresh)
	}
}

func TestHotScriptIsTheCommittedOne(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "loadtest", "pgbench", "hot-register.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != hotScript {
		t.Fatal("loadtest/pgbench/hot-register.sql and hotScript differ: change both")
	}
}

func TestHotUsersCoverTheSchedule(t *testing.T) {
	o := options{scenario: "spike", warmup: 5 * time.Second, duration: 30 * time.Second}
	if n := hotUsers(o, 100_000); n < 100_000 {
		t.Fatalf("%d users for 100,000 scheduled requests", n)
	}
	o.scenario, o.rate = "hot", 2000
	if n := hotUsers(o, 0); n < 2000*35 {
		t.Fatalf("%d users for 35 s at 2,000/s", n)
	}
	o.rate = 0
	if n := hotUsers(o, 0); n < 10_000*35 {
		t.Fatalf("%d users for 35 s flat out", n)
	}
}
