package httpapi_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestReferralOverHTTP: register's answer says what the referral did,
// through the captcha and without it; the participant list, its stats,
// the giveaway's stats, the NDJSON and CSV exports and the eligibility
// answer show the tickets and the referrer, as the description says
// (every answer is checked against it).
func TestReferralOverHTTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		const gid, referrer = 80, 8001
		h.do("PUT", "/api/participants/80/rules", map[string]any{"max_tickets": 4, "referral_bonus": 2, "recheck_at_draw": false}).
			expect(t, http.StatusOK, "")
		h.join(gid, referrer)

		// A first-time friend: the captcha keeps the referrer, and the
		// right answer completes the registration with it.
		r := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": gid, "user_id": 8002, "referrer_user_id": referrer}).
			expect(t, http.StatusOK, "")
		if !r.flag("requires_captcha") || r.body["referral"] != nil {
			t.Fatalf("first register: %s", r.raw)
		}
		v := h.do("POST", "/api/participants/validate-captcha", map[string]any{"giveaway_id": gid, "user_id": 8002,
			"answer": solve(t, r.str("captcha_question"))}).expect(t, http.StatusOK, "")
		if got := string(mustJSON(t, v.body["referral"])); got != `{"bonus_tickets":2,"counted":true,"referrer_tickets":3,"referrer_user_id":8001}` {
			t.Fatalf("validate-captcha's referral = %s", got)
		}

		// A friend who passed the captcha elsewhere joins at once, and the
		// answer says the bonus was capped.
		h.join(81, 8003)
		r = h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": gid, "user_id": 8003, "referrer_user_id": referrer}).
			expect(t, http.StatusCreated, "")
		if got := string(mustJSON(t, r.body["referral"])); got != `{"bonus_tickets":1,"counted":true,"referrer_tickets":4,"referrer_user_id":8001}` {
			t.Fatalf("referral = %s", got)
		}
		// Inviting oneself is refused.
		h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": gid, "user_id": 8004, "referrer_user_id": 8004}).
			expect(t, http.StatusBadRequest, "INVALID_REFERRER_USER_ID")

		l := h.do("GET", "/api/participants/80?limit=10", nil).expect(t, http.StatusOK, "")
		var listing struct {
			Participants []struct {
				UserID         int64  `json:"user_id"`
				Tickets        int64  `json:"tickets"`
				ReferrerUserID *int64 `json:"referrer_user_id"`
			} `json:"participants"`
			Stats struct {
				Tickets int64 `json:"tickets"`
			} `json:"stats"`
		}
		if err := json.Unmarshal(l.raw, &listing); err != nil {
			t.Fatal(err)
		}
		want := map[int64][2]int64{referrer: {4, 0}, 8002: {1, referrer}, 8003: {1, referrer}}
		if len(listing.Participants) != 3 || listing.Stats.Tickets != 6 {
			t.Fatalf("listing: %s", l.raw)
		}
		for _, p := range listing.Participants {
			var ref int64
			if p.ReferrerUserID != nil {
				ref = *p.ReferrerUserID
			}
			if w := want[p.UserID]; p.Tickets != w[0] || ref != w[1] {
				t.Fatalf("user %d: %d tickets, referrer %d; want %v (%s)", p.UserID, p.Tickets, ref, w, l.raw)
			}
		}
		if st := h.do("GET", "/api/participants/80/stats", nil).expect(t, http.StatusOK, ""); !strings.Contains(string(st.raw), `"total_tickets":6`) {
			t.Fatalf("stats: %s", st.raw)
		}

		ndjson := h.do("GET", "/api/participants/80/export", nil)
		lines := strings.Split(strings.TrimSpace(string(ndjson.raw)), "\n")
		if len(lines) != 3 || !strings.Contains(lines[0], `"tickets":4,"referrer_user_id":null`) ||
			!strings.Contains(lines[1], `"tickets":1,"referrer_user_id":8001`) {
			t.Fatalf("NDJSON export: %s", ndjson.raw)
		}
		rows, err := csv.NewReader(strings.NewReader(string(h.do("GET", "/api/participants/80/export?format=csv", nil).raw))).ReadAll()
		if err != nil || len(rows) != 4 {
			t.Fatalf("CSV export: %v, %v", rows, err)
		}
		last := func(row []string) string { return strings.Join(row[len(row)-2:], ",") }
		if last(rows[0]) != "tickets,referrer_user_id" || last(rows[1]) != "4," || last(rows[2]) != "1,8001" {
			t.Fatalf("CSV export: %v", rows)
		}

		e := h.do("GET", "/api/participants/80/eligibility/8001", nil).expect(t, http.StatusOK, "")
		if e.num("tickets") != 4 || e.num("participant_id") == 0 {
			t.Fatalf("eligibility of the referrer: %s", e.raw)
		}
	})
}
