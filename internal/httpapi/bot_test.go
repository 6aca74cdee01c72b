package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBotFlow walks the bot service's calls for a first-time user, field by
// field: captcha, wrong answer, right answer, retries, a second giveaway
// without captcha, and the status reads.
func TestBotFlow(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		reg := map[string]any{"giveaway_id": 100, "user_id": 555000111, "username": "@Alice_Bot", "first_name": "Alice", "last_name": "  Smith "}

		first := h.do("POST", "/api/participants/register", reg).expect(t, http.StatusOK, "")
		if !first.flag("requires_captcha") || first.str("captcha_question") == "" || first.str("session_id") == "" {
			t.Fatalf("first register must ask for a captcha: %s", first.raw)
		}
		if first.str("captcha_session_id") != first.str("session_id") || first.num("attempts_remaining") != 3 {
			t.Fatalf("challenge fields: %s", first.raw)
		}
		if exp, err := time.Parse(time.RFC3339, first.str("expires_at")); err != nil || !exp.Equal(h.clock.Now().Add(10*time.Minute)) {
			t.Fatalf("expires_at = %q (%v), want 10 minutes from now", first.str("expires_at"), err)
		}

		again := h.do("POST", "/api/participants/register", reg).expect(t, http.StatusOK, "")
		if again.str("session_id") != first.str("session_id") || again.str("captcha_question") != first.str("captcha_question") {
			t.Fatalf("register while a challenge is live must return the same challenge:\n%s\n%s", first.raw, again.raw)
		}

		answer := solve(t, first.str("captcha_question"))
		wrong := h.do("POST", "/api/participants/validate-captcha",
			map[string]any{"giveaway_id": 100, "user_id": 555000111, "answer": answer + 1}).expect(t, http.StatusOK, "")
		if wrong.flag("captcha_completed") || wrong.num("attempts_remaining") != 2 {
			t.Fatalf("wrong answer: %s", wrong.raw)
		}

		// The bot sends the answer as typed, a string with spaces.
		right := h.do("POST", "/api/participants/validate-captcha",
			map[string]any{"giveaway_id": 100, "user_id": 555000111, "answer": " " + itoa(answer) + " "}).expect(t, http.StatusOK, "")
		if !right.flag("captcha_completed") || !right.flag("participation_confirmed") || right.num("participant_id") < 1 {
			t.Fatalf("right answer: %s", right.raw)
		}
		pid := right.num("participant_id")

		// The bot retries whenever it missed an answer: same success.
		retry := h.do("POST", "/api/participants/validate-captcha",
			map[string]any{"giveaway_id": 100, "user_id": 555000111, "answer": answer, "session_id": first.str("session_id")}).
			expect(t, http.StatusOK, "")
		if retry.num("participant_id") != pid || !retry.flag("captcha_completed") {
			t.Fatalf("repeated right answer: %s", retry.raw)
		}

		dup := h.do("POST", "/api/participants/register", reg).expect(t, http.StatusConflict, "DUPLICATE_PARTICIPATION")
		if dup.num("participant_id") != pid {
			t.Fatalf("duplicate must name the participant: %s", dup.raw)
		}

		// The captcha is global: another giveaway needs none.
		other := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 200, "user_id": 555000111}).
			expect(t, http.StatusCreated, "")
		if other.flag("requires_captcha") || !other.flag("participation_confirmed") || other.num("participant_id") == pid {
			t.Fatalf("second giveaway: %s", other.raw)
		}

		cs := h.do("GET", "/api/participants/captcha-status/555000111", nil).expect(t, http.StatusOK, "")
		if !cs.flag("captcha_completed") || cs.num("total_participations") != 2 || cs.num("total_wins") != 0 ||
			cs.str("completed_at") == "" || cs.str("first_participation") == "" || cs.num("user_id") != 555000111 {
			t.Fatalf("captcha-status: %s", cs.raw)
		}
		unknown := h.do("GET", "/api/participants/captcha-status/42", nil).expect(t, http.StatusOK, "")
		if unknown.flag("captcha_completed") || unknown.num("total_participations") != 0 || unknown.body["completed_at"] != nil ||
			unknown.body["first_participation"] != nil {
			t.Fatalf("unknown user must be false/0/null: %s", unknown.raw)
		}

		ws := h.do("GET", "/api/participants/winner-status/555000111/100", nil).expect(t, http.StatusOK, "")
		if !ws.flag("participated") || ws.flag("is_winner") || ws.num("participant_id") != pid || ws.body["winner_selected_at"] != nil {
			t.Fatalf("winner-status: %s", ws.raw)
		}
		ws = h.do("GET", "/api/participants/winner-status/555000111/999", nil).expect(t, http.StatusOK, "")
		if ws.flag("participated") || ws.flag("is_winner") || ws.body["participant_id"] != nil {
			t.Fatalf("winner-status of a giveaway not joined: %s", ws.raw)
		}

		hist := h.do("GET", "/api/participants/history/555000111?limit=1", nil).expect(t, http.StatusOK, "")
		recent := hist.body["recent_participations"].([]any)
		stats := hist.body["user_stats"].(map[string]any)
		if len(recent) != 1 || stats["total_participations"].(float64) != 2 || !stats["captcha_completed"].(bool) {
			t.Fatalf("history: %s", hist.raw)
		}

		// Long after, with the solved challenge cleaned up, an answer for a
		// new giveaway still joins the user: the captcha is done for good.
		h.clock.Advance(3 * time.Hour)
		h.do("POST", "/admin/cleanup", nil).expect(t, http.StatusOK, "")
		later := h.do("POST", "/api/participants/validate-captcha",
			map[string]any{"giveaway_id": 300, "user_id": 555000111, "answer": 1}).expect(t, http.StatusOK, "")
		if !later.flag("captcha_completed") || later.num("participant_id") == 0 {
			t.Fatalf("validate after cleanup: %s", later.raw)
		}
		h.do("POST", "/api/participants/validate-captcha",
			map[string]any{"giveaway_id": 300, "user_id": 42, "answer": 1}).expect(t, http.StatusNotFound, "CAPTCHA_NOT_FOUND")

		list := h.do("GET", "/api/participants/100", nil).expect(t, http.StatusOK, "")
		p := list.body["participants"].([]any)[0].(map[string]any)
		if p["username"] != "Alice_Bot" || p["first_name"] != "Alice" || p["last_name"] != "Smith" || p["captcha_completed"] != true {
			t.Fatalf("stored participant: %v", p)
		}
	})
}

func itoa(n int64) string { return strings.TrimSpace(strings.Repeat(" ", 0) + formatInt(n)) }

func formatInt(n int64) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

// TestCaptchaAttemptsAndLimits covers exhaustion, the hourly challenge
// limit, expiry and the refusals that do not use an attempt.
func TestCaptchaAttemptsAndLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		user := map[string]any{"giveaway_id": 1, "user_id": 77}
		validate := func(answer any, extra ...string) reply {
			body := map[string]any{"giveaway_id": 1, "user_id": 77, "answer": answer}
			if len(extra) == 1 {
				body["session_id"] = extra[0]
			}
			return h.do("POST", "/api/participants/validate-captcha", body)
		}

		validate(5).expect(t, http.StatusNotFound, "CAPTCHA_NOT_FOUND")
		ch := h.do("POST", "/api/participants/register", user).expect(t, http.StatusOK, "")
		answer := solve(t, ch.str("captcha_question"))

		for _, bad := range []any{"seven", 1.5, "", " ", "1 2", true, nil, map[string]any{}} {
			validate(bad).expect(t, http.StatusBadRequest, "INVALID_ANSWER_FORMAT")
		}
		validate(answer, "not-the-session").expect(t, http.StatusConflict, "CAPTCHA_SESSION_MISMATCH")

		// Three wrong answers: the third issues a fresh challenge.
		validate(answer+1).expect(t, http.StatusOK, "")
		if r := validate(answer+1).expect(t, http.StatusOK, ""); r.num("attempts_remaining") != 1 {
			t.Fatalf("format errors must not use attempts: %s", r.raw)
		}
		fresh := validate(answer+1).expect(t, http.StatusOK, "")
		if fresh.str("new_question") == "" || fresh.num("attempts_remaining") != 3 || fresh.str("session_id") == ch.str("session_id") {
			t.Fatalf("last attempt must issue a new challenge: %s", fresh.raw)
		}
		// The old session no longer counts.
		validate(solve(t, fresh.str("new_question")), ch.str("session_id")).expect(t, http.StatusConflict, "CAPTCHA_SESSION_MISMATCH")

		// Exhaust challenges 2..5, then the sixth within the hour is refused.
		q := fresh.str("new_question")
		for i := 2; i <= 4; i++ {
			a := solve(t, q) + 1
			validate(a).expect(t, http.StatusOK, "")
			validate(a).expect(t, http.StatusOK, "")
			r := validate(a).expect(t, http.StatusOK, "")
			q = r.str("new_question")
			if q == "" {
				t.Fatalf("challenge %d: no new question: %s", i+1, r.raw)
			}
		}
		a := solve(t, q) + 1
		validate(a).expect(t, http.StatusOK, "")
		validate(a).expect(t, http.StatusOK, "")
		limited := validate(a).expect(t, http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
		if limited.num("retry_after") < 1 || limited.header.Get("Retry-After") == "" {
			t.Fatalf("429 must say when to retry: %s %v", limited.raw, limited.header)
		}
		h.do("POST", "/api/participants/register", user).expect(t, http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")
		validate(a).expect(t, http.StatusTooManyRequests, "TOO_MANY_ATTEMPTS")

		// An hour later a new challenge is issued; left unanswered, it expires.
		h.clock.Advance(61 * time.Minute)
		next := h.do("POST", "/api/participants/register", user).expect(t, http.StatusOK, "")
		if next.str("captcha_question") == "" {
			t.Fatalf("after the window: %s", next.raw)
		}
		h.clock.Advance(10 * time.Minute)
		validate(solve(t, next.str("captcha_question"))).expect(t, http.StatusGone, "CAPTCHA_EXPIRED")
		renewed := h.do("POST", "/api/participants/register", user).expect(t, http.StatusOK, "")
		if renewed.str("session_id") == next.str("session_id") {
			t.Fatalf("an expired challenge must be replaced")
		}
		done := validate(solve(t, renewed.str("captcha_question"))).expect(t, http.StatusOK, "")
		if !done.flag("captcha_completed") {
			t.Fatalf("%s", done.raw)
		}
	})
}
