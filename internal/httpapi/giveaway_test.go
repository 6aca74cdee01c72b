package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// TestGiveawayFlow walks the giveaway service's calls when an owner
// finishes a giveaway: select-winners (twice, as its retry does), the full
// listing, count, stats, winners, delivery updates, and the draw record,
// which must verify.
func TestGiveawayFlow(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		const gid = 4242
		users := []int64{9001, 17, 123456789012, 640, 3, 77777, 5005, 28, 4096, 31337}
		pids := map[int64]int64{}
		for _, u := range users {
			pids[u] = h.join(gid, u)
		}
		h.join(gid+1, 17) // another giveaway must not leak in

		before := h.do("GET", fmt.Sprintf("/api/participants/%d/draw", gid), nil).expect(t, http.StatusOK, "")
		committed := before.body["draw"].(map[string]any)
		if committed["status"] != "committed" || committed["commitment"] == "" || committed["server_seed"] != nil {
			t.Fatalf("draw before selection must show only the commitment: %s", before.raw)
		}
		h.do("GET", fmt.Sprintf("/api/participants/%d/winners", gid), nil).expect(t, http.StatusOK, "")

		// 606 gets a captcha before the draw and answers it after.
		late := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": gid, "user_id": 606}).expect(t, http.StatusOK, "")

		h.clock.Advance(time.Minute)
		sel := h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", gid),
			map[string]any{"winner_count": 3, "selection_method": "pick-my-friend"}).expect(t, http.StatusOK, "")
		if sel.num("total_participants") != 10 || sel.num("winner_count_requested") != 3 || sel.num("winner_count_selected") != 3 ||
			sel.flag("already_selected") || sel.str("selection_method") != draw.Version {
			t.Fatalf("select-winners: %s", sel.raw)
		}
		winners := sel.body["winners"].([]any)
		var winnerIDs []int64
		for i, w := range winners {
			w := w.(map[string]any)
			uid := int64(w["user_id"].(float64))
			winnerIDs = append(winnerIDs, uid)
			if int(w["position"].(float64)) != i+1 || int64(w["participant_id"].(float64)) != pids[uid] ||
				w["username"] != fmt.Sprintf("user_%d", uid) || w["first_name"] != "User" {
				t.Fatalf("winner %d: %v", i, w)
			}
		}

		// The giveaway service retries its finish flow; any later call,
		// by either path, returns the same draw.
		again := h.do("POST", fmt.Sprintf("/api/participants/select-winners/%d", gid), map[string]any{"winner_count": 5}).
			expect(t, http.StatusOK, "")
		if !again.flag("already_selected") || !bytes.Equal(mustJSON(t, again.body["winners"]), mustJSON(t, sel.body["winners"])) ||
			!bytes.Equal(mustJSON(t, again.body["draw"]), mustJSON(t, sel.body["draw"])) {
			t.Fatalf("second select-winners differs:\n%s\n%s", sel.raw, again.raw)
		}

		// The record verifies against the full entrant list from the export.
		var rec draw.Record
		if err := json.Unmarshal(mustJSON(t, sel.body["draw"]), &rec); err != nil {
			t.Fatal(err)
		}
		entrants := slices.Clone(users)
		slices.Sort(entrants)
		if err := draw.Verify(rec, draw.VerifyOptions{Entrants: entrants}); err != nil {
			t.Fatalf("draw record does not verify: %v", err)
		}
		if rec.Commitment.String() != committed["commitment"] {
			t.Fatalf("commitment changed at the draw")
		}

		// Registration is closed after the draw, even for new users who
		// pass the captcha.
		// A drawn giveaway is not active (the contract checks that before
		// duplicates), also for someone who already takes part.
		h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": gid, "user_id": 17}).
			expect(t, http.StatusConflict, "GIVEAWAY_NOT_ACTIVE")
		h.do("POST", "/api/participants/validate-captcha", map[string]any{"giveaway_id": gid, "user_id": 606,
			"answer": solve(t, late.str("captcha_question"))}).expect(t, http.StatusConflict, "GIVEAWAY_NOT_ACTIVE")
		if cs := h.do("GET", "/api/participants/captcha-status/606", nil); !cs.flag("captcha_completed") {
			t.Fatalf("a right answer completes the captcha even when the giveaway closed: %s", cs.raw)
		}
		h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": gid, "user_id": 607}).
			expect(t, http.StatusConflict, "GIVEAWAY_NOT_ACTIVE")

		// Listing as the giveaway service asks: everyone, in id order.
		list := h.do("GET", fmt.Sprintf("/api/participants/%d?page=1&limit=%d", gid, len(users)), nil).expect(t, http.StatusOK, "")
		ps := list.body["participants"].([]any)
		if len(ps) != len(users) {
			t.Fatalf("listing has %d participants, want %d", len(ps), len(users))
		}
		var lastID float64
		nWinners := 0
		for _, p := range ps {
			p := p.(map[string]any)
			if p["id"].(float64) <= lastID || p["id"] != p["participant_id"] || p["giveaway_id"].(float64) != gid {
				t.Fatalf("listing order or ids: %v", p)
			}
			lastID = p["id"].(float64)
			if p["is_winner"] == true {
				nWinners++
				if p["winner_selected_at"] == nil {
					t.Fatalf("winner without winner_selected_at: %v", p)
				}
			}
			for _, k := range []string{"username", "first_name", "last_name", "participated_at", "captcha_completed",
				"subscription_verified", "message_delivered", "delivery_timestamp", "delivery_attempts"} {
				if _, ok := p[k]; !ok {
					t.Fatalf("participant lacks %q: %v", k, p)
				}
			}
		}
		pag := list.body["pagination"].(map[string]any)
		st := list.body["stats"].(map[string]any)
		if nWinners != 3 || pag["total"].(float64) != 10 || pag["pages"].(float64) != 1 || st["winners"].(float64) != 3 ||
			st["total"].(float64) != 10 || st["captcha_completed"].(float64) != 10 {
			t.Fatalf("listing stats: %s", list.raw)
		}
		page2 := h.do("GET", fmt.Sprintf("/api/participants/list/%d?page=2&limit=4", gid), nil).expect(t, http.StatusOK, "")
		if n := len(page2.body["participants"].([]any)); n != 4 || page2.body["pagination"].(map[string]any)["pages"].(float64) != 3 {
			t.Fatalf("page 2: %s", page2.raw)
		}

		count := h.do("GET", fmt.Sprintf("/api/participants/%d/count", gid), nil).expect(t, http.StatusOK, "")
		if count.num("count") != 10 || count.num("total_participants") != 10 {
			t.Fatalf("count: %s", count.raw)
		}

		// Delivery: winners and losers are messaged, one batch.
		var allPIDs []int64
		for _, u := range users {
			allPIDs = append(allPIDs, pids[u])
		}
		del := h.do("PUT", "/api/participants/update-delivery-status", map[string]any{
			"participant_ids": append(allPIDs, 99999999), "delivered": true, "delivery_timestamp": "2026-11-28T12:00:00Z",
		}).expect(t, http.StatusOK, "")
		failed := del.body["failed_updates"].([]any)
		if del.num("updated_count") != 10 || len(failed) != 1 || failed[0].(map[string]any)["participant_id"].(float64) != 99999999 {
			t.Fatalf("delivery: %s", del.raw)
		}
		stats := h.do("GET", fmt.Sprintf("/api/participants/%d/stats", gid), nil).expect(t, http.StatusOK, "")
		want := map[string]any{"total_participants": 10.0, "captcha_completed_participants": 10.0,
			"subscription_verified_participants": 0.0, "winners": 3.0, "messages_delivered": 10.0}
		for k, v := range want {
			if stats.body["stats"].(map[string]any)[k] != v {
				t.Fatalf("stats.%s = %v, want %v: %s", k, stats.body["stats"].(map[string]any)[k], v, stats.raw)
			}
		}

		// Winners and their status for the bot.
		wr := h.do("GET", fmt.Sprintf("/api/participants/%d/winners", gid), nil).expect(t, http.StatusOK, "")
		if len(wr.body["winners"].([]any)) != 3 || wr.body["draw"].(map[string]any)["status"] != "drawn" {
			t.Fatalf("winners: %s", wr.raw)
		}
		for _, u := range users {
			ws := h.do("GET", fmt.Sprintf("/api/participants/winner-status/%d/%d", u, gid), nil).expect(t, http.StatusOK, "")
			if ws.flag("is_winner") != slices.Contains(winnerIDs, u) || ws.num("total_winners") != 3 || ws.str("winner_selected_at") == "" {
				t.Fatalf("winner-status of %d: %s", u, ws.raw)
			}
			cs := h.do("GET", fmt.Sprintf("/api/participants/captcha-status/%d", u), nil)
			wantWins := int64(0)
			if slices.Contains(winnerIDs, u) {
				wantWins = 1
			}
			if cs.num("total_wins") != wantWins {
				t.Fatalf("total_wins of %d = %d, want %d", u, cs.num("total_wins"), wantWins)
			}
		}

		// Inclusion proofs: a winner, a loser, and someone not entered.
		for _, u := range []int64{winnerIDs[0], loser(users, winnerIDs)} {
			pr := h.do("GET", fmt.Sprintf("/api/participants/%d/draw/proof/%d", gid, u), nil).expect(t, http.StatusOK, "")
			var p draw.Proof
			if err := json.Unmarshal(mustJSON(t, pr.body["proof"]), &p); err != nil {
				t.Fatal(err)
			}
			if err := draw.Verify(rec, draw.VerifyOptions{Proofs: []draw.Proof{p}}); err != nil {
				t.Fatalf("proof of %d does not verify: %v", u, err)
			}
			if p.IsWinner != slices.Contains(winnerIDs, u) {
				t.Fatalf("proof of %d: is_winner %v", u, p.IsWinner)
			}
		}
		h.do("GET", fmt.Sprintf("/api/participants/%d/draw/proof/606", gid), nil).expect(t, http.StatusNotFound, "PARTICIPANT_NOT_FOUND")
		h.do("GET", fmt.Sprintf("/api/participants/%d/draw/proof/17", gid+1), nil).expect(t, http.StatusConflict, "DRAW_NOT_COMPLETED")
		h.do("GET", "/api/participants/999999/draw", nil).expect(t, http.StatusNotFound, "DRAW_NOT_FOUND")
	})
}

func loser(users, winners []int64) int64 {
	for _, u := range users {
		if !slices.Contains(winners, u) {
			return u
		}
	}
	panic("everyone won")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRedraw replaces a disqualified winner by continuing the permutation;
// the result verifies, repeating the request changes nothing, and wins are
// counted exactly once.
func TestRedraw(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		const gid = 8
		var users []int64
		for u := int64(1); u <= 12; u++ {
			h.join(gid, u*11)
			users = append(users, u*11)
		}
		h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid), map[string]any{"disqualified_user_ids": []int64{11}, "reason": "x"}).
			expect(t, http.StatusConflict, "DRAW_NOT_COMPLETED")
		sel := h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", gid), map[string]any{"winner_count": 2, "beacon": "00ff10"}).
			expect(t, http.StatusOK, "")
		first := int64(sel.body["winners"].([]any)[0].(map[string]any)["user_id"].(float64))

		h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid), map[string]any{"disqualified_user_ids": []int64{loser(users, []int64{first,
			int64(sel.body["winners"].([]any)[1].(map[string]any)["user_id"].(float64))})}, "reason": "left"}).
			expect(t, http.StatusConflict, "NOT_A_WINNER")
		h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid), map[string]any{"disqualified_user_ids": []int64{first}}).
			expect(t, http.StatusBadRequest, "MISSING_REASON")
		h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid), map[string]any{"disqualified_user_ids": []any{}, "reason": "x"}).
			expect(t, http.StatusBadRequest, "MISSING_DISQUALIFIED_USER_IDS")

		rd := h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid), map[string]any{"disqualified_user_ids": []int64{first}, "reason": "left the channel"}).
			expect(t, http.StatusOK, "")
		repl := rd.body["replacements"].([]any)
		if len(repl) != 1 || repl[0].(map[string]any)["position"].(float64) != 1 || rd.flag("already_applied") {
			t.Fatalf("redraw: %s", rd.raw)
		}
		newWinner := int64(repl[0].(map[string]any)["user_id"].(float64))
		var rec draw.Record
		if err := json.Unmarshal(mustJSON(t, rd.body["draw"]), &rec); err != nil {
			t.Fatal(err)
		}
		if err := draw.Verify(rec, draw.VerifyOptions{Entrants: users}); err != nil {
			t.Fatalf("redrawn record does not verify: %v", err)
		}
		again := h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid), map[string]any{"disqualified_user_ids": []int64{first}, "reason": "left the channel"}).
			expect(t, http.StatusOK, "")
		if !again.flag("already_applied") || !bytes.Equal(mustJSON(t, again.body["draw"]), mustJSON(t, rd.body["draw"])) {
			t.Fatalf("repeated redraw must return the same round: %s", again.raw)
		}
		ws := h.do("GET", fmt.Sprintf("/api/participants/%d/winners", gid), nil).expect(t, http.StatusOK, "")
		got := ws.body["winners"].([]any)
		if len(got) != 2 || int64(got[0].(map[string]any)["user_id"].(float64)) != newWinner {
			t.Fatalf("winners after redraw: %s", ws.raw)
		}
		if cs := h.do("GET", fmt.Sprintf("/api/participants/captcha-status/%d", first), nil); cs.num("total_wins") != 0 {
			t.Fatalf("disqualified winner keeps a win: %s", cs.raw)
		}
		if cs := h.do("GET", fmt.Sprintf("/api/participants/captcha-status/%d", newWinner), nil); cs.num("total_wins") != 1 {
			t.Fatalf("replacement has no win: %s", cs.raw)
		}
		if ws := h.do("GET", fmt.Sprintf("/api/participants/winner-status/%d/%d", first, gid), nil); ws.flag("is_winner") {
			t.Fatalf("disqualified user still a winner: %s", ws.raw)
		}
	})
}

// TestDrawEdgeCases: an empty giveaway finishes, more winners than entrants
// means everyone wins, and the commitment can be published in advance.
func TestDrawEdgeCases(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		empty := h.do("POST", "/api/participants/31/select-winners", map[string]any{"winner_count": 3}).expect(t, http.StatusOK, "")
		if empty.num("total_participants") != 0 || len(empty.body["winners"].([]any)) != 0 {
			t.Fatalf("empty draw: %s", empty.raw)
		}
		h.do("GET", "/api/participants/31?page=1&limit=0", nil).expect(t, http.StatusOK, "")

		c1 := h.do("POST", "/api/participants/32/draw/commit", nil).expect(t, http.StatusOK, "")
		c2 := h.do("POST", "/api/participants/32/draw/commit", nil).expect(t, http.StatusOK, "")
		if c1.body["draw"].(map[string]any)["commitment"] != c2.body["draw"].(map[string]any)["commitment"] {
			t.Fatalf("commit is not idempotent")
		}
		h.join(32, 5)
		h.join(32, 6)
		all := h.do("POST", "/api/participants/32/select-winners", map[string]any{"winner_count": 5}).expect(t, http.StatusOK, "")
		if all.num("winner_count_selected") != 2 || all.num("winner_count_requested") != 5 {
			t.Fatalf("fewer entrants than winners: %s", all.raw)
		}
		if all.body["draw"].(map[string]any)["commitment"] != c1.body["draw"].(map[string]any)["commitment"] {
			t.Fatalf("the published commitment was not used")
		}
		h.do("POST", "/api/participants/33/select-winners", map[string]any{"winner_count": 1001}).
			expect(t, http.StatusBadRequest, "INVALID_WINNER_COUNT")
		h.do("POST", "/api/participants/33/select-winners", map[string]any{"winner_count": 0}).
			expect(t, http.StatusBadRequest, "INVALID_WINNER_COUNT")
		h.do("POST", "/api/participants/33/select-winners", map[string]any{}).
			expect(t, http.StatusBadRequest, "MISSING_WINNER_COUNT")
		h.do("POST", "/api/participants/33/select-winners", map[string]any{"winner_count": 1, "beacon": "XYZ"}).
			expect(t, http.StatusBadRequest, "INVALID_BEACON")
	})
}

// TestExport streams every participant in id order, as NDJSON and CSV,
// across several internal batches.
func TestExport(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		for u := int64(1); u <= 20; u++ {
			h.join(7, u)
		}
		h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": 7, "user_id": 21, "first_name": "=cmd|' /C calc'!A0"})
		nd := h.do("GET", "/api/participants/7/export", nil)
		if nd.status != http.StatusOK || nd.header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("export: %d %v", nd.status, nd.header)
		}
		sc := bufio.NewScanner(bytes.NewReader(nd.raw))
		n := 0
		for sc.Scan() {
			var p map[string]any
			if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			n++
			if p["user_id"].(float64) != float64(n) {
				t.Fatalf("line %d is user %v", n, p["user_id"])
			}
		}
		if n != 20 {
			t.Fatalf("exported %d rows, want 20", n)
		}
		c := h.do("GET", "/api/participants/7/export?format=csv", nil)
		rows, err := csv.NewReader(bytes.NewReader(c.raw)).ReadAll()
		if err != nil || len(rows) != 21 || rows[0][0] != "participant_id" {
			t.Fatalf("csv: %v rows, %v", len(rows), err)
		}
		empty := h.do("GET", "/api/participants/8/export", nil)
		if empty.status != http.StatusOK || len(empty.raw) != 0 {
			t.Fatalf("empty export: %d %q", empty.status, empty.raw)
		}
		h.do("GET", "/api/participants/7/export?format=xml", nil).expect(t, http.StatusBadRequest, "INVALID_FORMAT")
		if strings.Contains(string(c.raw), ",=cmd") {
			t.Fatalf("csv export lets a formula through")
		}
	})
}
