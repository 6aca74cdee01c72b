package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/telegive/participant-service/internal/testenv"
)

// parallel runs n copies of fn at once and collects their replies.
func parallel(n int, fn func(i int) reply) []reply {
	out := make([]reply, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// TestConcurrentRegistrations: 50 registrations of one user in one
// giveaway give exactly one participant and no 5xx; 50 first-time
// registrations agree on one captcha challenge.
func TestConcurrentRegistrations(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		challenges := parallel(50, func(int) reply {
			return h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": 900})
		})
		session := challenges[0].str("session_id")
		for _, r := range challenges {
			if r.status != http.StatusOK || r.str("session_id") != session || session == "" {
				t.Fatalf("concurrent first registrations disagree: %d %s vs %s", r.status, r.str("session_id"), session)
			}
		}
		answer := solve(t, challenges[0].str("captcha_question"))

		// Two (here: ten) right answers at once count once.
		answers := parallel(10, func(int) reply {
			return h.do("POST", "/api/participants/validate-captcha", map[string]any{"giveaway_id": 1, "user_id": 900, "answer": answer})
		})
		pid := answers[0].num("participant_id")
		for _, r := range answers {
			if r.status != http.StatusOK || r.num("participant_id") != pid || !r.flag("captcha_completed") {
				t.Fatalf("concurrent right answers: %d %s", r.status, r.raw)
			}
		}
		if cs := h.do("GET", "/api/participants/captcha-status/900", nil); cs.num("total_participations") != 1 {
			t.Fatalf("racing answers counted %d participations: %s", cs.num("total_participations"), cs.raw)
		}

		regs := parallel(50, func(int) reply {
			return h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 2, "user_id": 900})
		})
		created := 0
		for _, r := range regs {
			switch {
			case r.status == http.StatusCreated:
				created++
			case r.status == http.StatusConflict && r.str("error_code") == "DUPLICATE_PARTICIPATION":
			default:
				t.Fatalf("concurrent registration answered %d: %s", r.status, r.raw)
			}
		}
		count := h.do("GET", "/api/participants/2/count", nil).num("count")
		if created != 1 || count != 1 {
			t.Fatalf("50 concurrent registrations made %d created answers and %d participants; want 1 and 1", created, count)
		}
		if cs := h.do("GET", "/api/participants/captcha-status/900", nil); cs.num("total_participations") != 2 {
			t.Fatalf("total_participations = %d, want 2", cs.num("total_participations"))
		}
	})
}

// TestConcurrentWrongAnswersNeverExceedTheMaximum: concurrent wrong answers
// are counted in the database, so at most MaxAttempts are spent per
// challenge.
func TestConcurrentWrongAnswersNeverExceedTheMaximum(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		ch := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 1, "user_id": 5})
		wrong := solve(t, ch.str("captcha_question")) + 100
		rs := parallel(12, func(int) reply {
			return h.do("POST", "/api/participants/validate-captcha", map[string]any{"giveaway_id": 1, "user_id": 5, "answer": wrong})
		})
		fresh, limited := 0, 0
		for _, r := range rs {
			switch {
			case r.status == http.StatusOK && r.str("new_question") != "":
				fresh++
			case r.status == http.StatusTooManyRequests:
				limited++
			case r.status != http.StatusOK:
				t.Fatalf("wrong answer answered %d: %s", r.status, r.raw)
			}
		}
		// 12 wrong answers with 3 attempts per challenge use exactly four
		// challenges: the first and three fresh ones (5 an hour allowed).
		if fresh != 4 || limited != 0 {
			t.Fatalf("12 concurrent wrong answers issued %d fresh challenges (%d limited); want 4", fresh, limited)
		}
	})
}

// TestTwoReplicasDrawOnce: two servers on one Postgres database answer
// concurrent select-winners with one draw and identical answers.
func TestTwoReplicasDrawOnce(t *testing.T) {
	t.Parallel()
	shared := testenv.OpenStore(t, "postgres")
	a := newHarness(t, "postgres", withStore(shared))
	b := newHarness(t, "postgres", withStore(testenv.ReopenStore(t, shared)))
	for g := int64(1); g <= 3; g++ {
		for u := int64(1); u <= 40; u++ {
			a.join(g, u*7+g)
		}
	}
	for g := int64(1); g <= 3; g++ {
		rs := parallel(20, func(i int) reply {
			h := a
			path := fmt.Sprintf("/api/participants/%d/select-winners", g)
			if i%2 == 1 {
				h, path = b, fmt.Sprintf("/api/participants/select-winners/%d", g)
			}
			return h.do("POST", path, map[string]any{"winner_count": 5})
		})
		fresh := 0
		for _, r := range rs {
			if r.status != http.StatusOK {
				t.Fatalf("select-winners answered %d: %s", r.status, r.raw)
			}
			if !r.flag("already_selected") {
				fresh++
			}
			if !bytes.Equal(mustJSON(t, r.body["draw"]), mustJSON(t, rs[0].body["draw"])) ||
				!bytes.Equal(mustJSON(t, r.body["winners"]), mustJSON(t, rs[0].body["winners"])) {
				t.Fatalf("replicas disagree:\n%s\n%s", r.raw, rs[0].raw)
			}
		}
		if fresh != 1 {
			t.Fatalf("giveaway %d was drawn %d times", g, fresh)
		}
		total := int64(0)
		for u := int64(1); u <= 40; u++ {
			total += a.do("GET", fmt.Sprintf("/api/participants/captcha-status/%d", u*7+g), nil).num("total_wins")
		}
		if total != 5 {
			t.Fatalf("giveaway %d: %d wins counted, want 5", g, total)
		}
	}
}

// TestRegistrationRacingTheDraw: registrations that race a draw either
// make it into the draw or are refused; none is confirmed and left out.
func TestRegistrationRacingTheDraw(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		for u := int64(1); u <= 60; u++ {
			h.join(99, u) // complete the captcha for 60 users
		}
		rs := parallel(61, func(i int) reply {
			if i == 30 {
				return h.do("POST", "/api/participants/9/select-winners", map[string]any{"winner_count": 60})
			}
			u := int64(i + 1)
			if i > 30 {
				u = int64(i)
			}
			return h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 9, "user_id": u})
		})
		sel := rs[30]
		if sel.status != http.StatusOK {
			t.Fatalf("select-winners: %s", sel.raw)
		}
		confirmed := 0
		for i, r := range rs {
			if i == 30 {
				continue
			}
			switch {
			case r.status == http.StatusCreated:
				confirmed++
			case r.str("error_code") == "GIVEAWAY_NOT_ACTIVE":
			default:
				t.Fatalf("racing registration answered %d: %s", r.status, r.raw)
			}
		}
		if got := sel.num("total_participants"); got != int64(confirmed) {
			t.Fatalf("%d registrations were confirmed but the draw saw %d entrants", confirmed, got)
		}
	})
}
