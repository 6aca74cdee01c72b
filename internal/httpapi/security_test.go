package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/telegive/participant-service/internal/auth"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/ratelimit"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/upstream"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/signing"
)

// hostileText is a string sent in a text field, as the JSON literal a
// client puts in the body and the string the service decodes from it.
type hostileText struct {
	name  string
	json  string // the JSON string literal, quotes included
	value string // what encoding/json decodes it to
}

// hostileTexts are SQL injection, control and format characters, emoji
// sequences, combining marks, characters outside the BMP, lone surrogate
// escapes (which JSON decoding turns into U+FFFD), lengths around the
// 100-character limit, a very long string, and markup.
func hostileTexts() []hostileText {
	plain := []struct{ name, s string }{
		{"sql drop", "'; DROP TABLE participants; --"},
		{"sql or", `" OR 1=1 --`},
		{"sql union", "x' UNION SELECT server_seed FROM draws --"},
		{"sql comment", "admin'/*"},
		{"nul", "a\x00b"},
		{"only nul", "\x00"},
		{"rtl override", "\u202eexe.txt\u202c"},
		{"zero width joiner", "👨\u200d👩\u200d👧\u200d👦"},
		{"skin tones", "👍🏻👍🏿🧑🏽\u200d💻"},
		{"combining marks", "Z\u0351\u0363\u0337a\u0308\u0301l\u0334go"},
		{"4-byte characters", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱"},
		{"bom and nbsp", "\ufeffname\u00a0x"},
		{"line separator", "a\u2028b"},
		{"100 multibyte", strings.Repeat("ж", 100)},
		{"100 emoji", strings.Repeat("🎉", 100)},
		{"101 multibyte", strings.Repeat("ж", 101)},
		{"very long", strings.Repeat("A", 100_000)},
		{"html", `<script>alert("x")</script><img src=x onerror=alert(1)>`},
		{"format verbs", "%s%d%n%x%!(EXTRA)"},
		{"backslashes", `\'\"\\`},
		{"newline", "first\nsecond"},
		{"tab", "a\tb"},
		{"surrounding spaces", "  padded  "},
	}
	var out []hostileText
	for _, p := range plain {
		b, _ := json.Marshal(p.s)
		out = append(out, hostileText{p.name, string(b), p.s})
	}
	for _, e := range []struct{ name, json string }{
		{"lone high surrogate", `"\ud800"`},
		{"lone low surrogate", `"x\udc00y"`},
		{"reversed pair", `"\ude00\ud83d"`},
		{"escaped pair", `"\ud83d\ude00"`},
		{"escaped nul", `"a\u0000b"`},
		{"escaped bidi", `"\u202e\u0041"`},
	} {
		var s string
		if err := json.Unmarshal([]byte(e.json), &s); err != nil {
			panic(err)
		}
		out = append(out, hostileText{e.name, e.json, s})
	}
	return out
}

// hostileNumbers are texts that look like numbers, or like SQL, sent where
// an id or a count is expected.
var hostileNumbers = []string{"1 OR 1=1", "1; DROP TABLE participants", "1'--", "1e3", "0x1F", "1.0", "-1", "0",
	"٣", "１", "99999999999999999999", " 1", "1\x00", "", "null", "[1]"}

// TestHostileTextInEveryField sends hostile texts in every text field, path
// segment and query value, on SQLite and Postgres. Each answer is a 2xx or
// the 4xx the rules call for, never a 5xx; what is accepted is stored and
// returned exactly; and the database is intact afterwards.
func TestHostileTextInEveryField(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		texts := hostileTexts()

		t.Run("names", func(t *testing.T) {
			// Each text as the username, first and last name of a new user,
			// who passes the captcha; the listing must return what was
			// accepted, trimmed, byte for byte.
			const gid = 31
			stored := map[int64]map[string]any{}
			user := int64(1000)
			for _, c := range texts {
				for _, field := range []string{"username", "first_name", "last_name"} {
					user++
					body := fmt.Sprintf(`{"giveaway_id": %d, "user_id": %d, %q: %s}`, gid, user, field, c.json)
					r := h.do("POST", "/api/participants/register", body)
					valid := validName(c.value, 100)
					want := strings.TrimFunc(c.value, unicode.IsSpace)
					if field == "username" {
						valid, want = validUsername(c.value), strings.TrimPrefix(want, "@")
					}
					if !valid {
						r.expect(t, http.StatusBadRequest, "INVALID_"+strings.ToUpper(field))
						continue
					}
					r.expect(t, http.StatusOK, "")
					v := h.do("POST", "/api/participants/validate-captcha", map[string]any{"giveaway_id": gid, "user_id": user,
						"answer": solve(t, r.str("captcha_question"))}).expect(t, http.StatusOK, "")
					expected := map[string]any{"username": nil, "first_name": nil, "last_name": nil}
					if want != "" {
						expected[field] = want
					}
					stored[v.num("participant_id")] = expected
				}
			}
			if len(stored) < 40 {
				t.Fatalf("only %d of the hostile profiles were accepted", len(stored))
			}
			list := h.do("GET", fmt.Sprintf("/api/participants/%d?limit=10000", gid), nil).expect(t, http.StatusOK, "")
			ps, _ := list.body["participants"].([]any)
			if len(ps) != len(stored) {
				t.Fatalf("%d participants listed, %d registered", len(ps), len(stored))
			}
			for _, p := range ps {
				p := p.(map[string]any)
				want := stored[int64(p["id"].(float64))]
				for field, v := range want {
					if p[field] != v {
						t.Errorf("participant %v: %s = %q, want %q", p["id"], field, p[field], v)
					}
				}
			}
		})

		t.Run("captcha session", func(t *testing.T) {
			// No hostile session id matches the live challenge, even with
			// the right answer, and none uses an attempt.
			const gid, user = 32, 900
			ch := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": gid, "user_id": user}).expect(t, http.StatusOK, "")
			answer := solve(t, ch.str("captcha_question"))
			for _, c := range texts {
				for _, field := range []string{"session_id", "captcha_session_id"} {
					body := fmt.Sprintf(`{"giveaway_id": %d, "user_id": %d, "answer": %d, %q: %s}`, gid, user, answer, field, c.json)
					h.do("POST", "/api/participants/validate-captcha", body).expect(t, http.StatusConflict, "CAPTCHA_SESSION_MISMATCH")
				}
			}
			again := h.do("POST", "/api/participants/register", map[string]any{"giveaway_id": gid, "user_id": user}).expect(t, http.StatusOK, "")
			if again.str("session_id") != ch.str("session_id") || again.num("attempts_remaining") != 3 {
				t.Fatalf("the challenge changed or lost attempts: %s", again.raw)
			}
			h.do("POST", "/api/participants/validate-captcha", map[string]any{"giveaway_id": gid, "user_id": user, "answer": answer,
				"session_id": ch.str("session_id")}).expect(t, http.StatusOK, "")
		})

		t.Run("redraw reason", func(t *testing.T) {
			// Each acceptable reason is a redraw round whose record keeps it
			// exactly; the record still verifies at the end.
			const gid = 33
			for u := int64(1); u <= 40; u++ {
				h.join(gid, u)
			}
			h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", gid), `{"winner_count": 10}`).expect(t, http.StatusOK, "")
			var reasons []string
			for _, c := range texts {
				ws := h.do("GET", fmt.Sprintf("/api/participants/%d/winners", gid), nil).expect(t, http.StatusOK, "")
				winner := int64(ws.body["winners"].([]any)[0].(map[string]any)["user_id"].(float64))
				body := fmt.Sprintf(`{"disqualified_user_ids": [%d], "reason": %s}`, winner, c.json)
				r := h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid), body)
				trimmed := strings.TrimFunc(c.value, unicode.IsSpace)
				switch {
				case trimmed == "":
					r.expect(t, http.StatusBadRequest, "MISSING_REASON")
				case !validName(c.value, 500):
					r.expect(t, http.StatusBadRequest, "INVALID_REASON")
				case r.status == http.StatusBadRequest && len([]rune(trimmed)) > 100:
					// Refused below the documented 500 characters: reported
					// by TestRedrawReasonLength.
					r.expect(t, http.StatusBadRequest, "INVALID_REASON")
				default:
					r.expect(t, http.StatusOK, "")
					if r.str("reason") != trimmed {
						t.Errorf("%s: reason answered as %q, want %q", c.name, r.str("reason"), trimmed)
					}
					reasons = append(reasons, trimmed)
				}
			}
			if len(reasons) < 15 {
				t.Fatalf("only %d hostile reasons were accepted", len(reasons))
			}
			rec := h.verifiedDraw(t, gid)
			if len(rec.Replacements) != len(reasons) {
				t.Fatalf("%d redraw rounds recorded, %d accepted", len(rec.Replacements), len(reasons))
			}
			for i, rd := range rec.Replacements {
				if rd.Reason != reasons[i] {
					t.Errorf("round %d: reason recorded as %q, want %q", i+1, rd.Reason, reasons[i])
				}
			}
		})

		t.Run("beacon", func(t *testing.T) {
			// None is lowercase hex: each is refused and nothing is drawn.
			const gid = 34
			h.join(gid, 1)
			for _, c := range texts {
				body := fmt.Sprintf(`{"winner_count": 1, "beacon": %s}`, c.json)
				h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", gid), body).expect(t, http.StatusBadRequest, "INVALID_BEACON")
			}
			d := h.do("GET", fmt.Sprintf("/api/participants/%d/draw", gid), nil).expect(t, http.StatusOK, "")
			if d.body["draw"].(map[string]any)["status"] != "committed" {
				t.Fatalf("a refused select-winners drew the giveaway: %s", d.raw)
			}
		})

		t.Run("delivery timestamp", func(t *testing.T) {
			// None is an RFC 3339 time: each is refused and the
			// participant's delivery state is untouched.
			const gid = 35
			pid := h.join(gid, 1)
			for _, c := range texts {
				body := fmt.Sprintf(`{"participant_ids": [%d], "delivered": true, "delivery_timestamp": %s}`, pid, c.json)
				h.do("PUT", "/api/participants/update-delivery-status", body).expect(t, http.StatusBadRequest, "INVALID_DELIVERY_TIMESTAMP")
			}
			list := h.do("GET", fmt.Sprintf("/api/participants/%d", gid), nil).expect(t, http.StatusOK, "")
			p := list.body["participants"].([]any)[0].(map[string]any)
			if p["message_delivered"] != false || p["delivery_attempts"] != 0.0 || p["delivery_timestamp"] != nil {
				t.Fatalf("refused updates changed the participant: %v", p)
			}
		})

		t.Run("path segments and query values", func(t *testing.T) {
			values := hostileNumbers
			for _, c := range texts {
				values = append(values, c.value)
			}
			for _, v := range values {
				seg, q := url.PathEscape(v), url.QueryEscape(v)
				for _, c := range []struct {
					method, path, code string
					query              bool
				}{
					{"GET", "/api/participants/" + seg + "/count", "INVALID_GIVEAWAY_ID", false},
					{"GET", "/api/participants/captcha-status/" + seg, "INVALID_USER_ID", false},
					{"GET", "/api/participants/winner-status/1/" + seg, "INVALID_GIVEAWAY_ID", false},
					{"GET", "/api/participants/" + seg + "/draw", "INVALID_GIVEAWAY_ID", false},
					{"GET", "/api/participants/1/draw/proof/" + seg, "INVALID_USER_ID", false},
					{"POST", "/api/participants/" + seg + "/select-winners", "INVALID_GIVEAWAY_ID", false},
					{"GET", "/api/participants/1?page=" + q, "INVALID_PAGE", true},
					{"GET", "/api/participants/1?limit=" + q, "INVALID_LIMIT", true},
					{"GET", "/api/participants/history/1?limit=" + q, "INVALID_LIMIT", true},
					{"GET", "/api/participants/1/export?format=" + q, "INVALID_FORMAT", true},
				} {
					r := h.do(c.method, c.path, `{"winner_count": 1}`)
					switch {
					case v == "":
						// An empty query value is the default, and an empty
						// segment no endpoint (a 404, never a redirect).
						if r.status >= 500 {
							t.Errorf("%s %.80s: %d", c.method, c.path, r.status)
						}
					case v == "0" && strings.Contains(c.path, "limit="):
						r.expect(t, http.StatusOK, "") // a limit of 0 is the default, on every endpoint
					default:
						r.expect(t, http.StatusBadRequest, c.code)
					}
				}
			}
		})

		// The database is intact and nothing failed inside.
		h.do("GET", "/health/ready", nil).expect(t, http.StatusOK, "")
		st := h.do("GET", "/admin/stats", nil).expect(t, http.StatusOK, "")
		if n := st.body["stats"].(map[string]any)["participants"].(float64); n < 40 {
			t.Fatalf("participants after the hostile requests: %v", n)
		}
		if logs := h.logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
			t.Fatalf("hostile input caused internal errors:\n%.3000s", logs)
		}
	})
}

// verifiedDraw fetches a giveaway's draw record and entrant list and
// verifies the record.
func (h *harness) verifiedDraw(t *testing.T, gid int64) draw.Record {
	t.Helper()
	d := h.do("GET", fmt.Sprintf("/api/participants/%d/draw", gid), nil).expect(t, http.StatusOK, "")
	var rec struct {
		Draw draw.Record `json:"draw"`
	}
	if err := json.Unmarshal(d.raw, &rec); err != nil {
		t.Fatal(err)
	}
	e := h.do("GET", fmt.Sprintf("/api/participants/%d/draw/entrants", gid), nil)
	var entrants []int64
	for _, f := range strings.Fields(string(e.raw)) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("entrant list: %q", f)
		}
		entrants = append(entrants, id)
	}
	if err := draw.Verify(rec.Draw, draw.VerifyOptions{Entrants: entrants}); err != nil {
		t.Fatalf("the draw of giveaway %d does not verify: %v", gid, err)
	}
	return rec.Draw
}

// leakMarkers are what an error body or a log line must never contain: SQL
// of our queries and driver errors, Go stack traces and panics. The
// lower-case ones are matched in any case.
var leakMarkers = []string{"SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "sqlstate", "pq:", "sqlite", "sql logic",
	"goroutine ", ".go:", "panic", "runtime error"}

// TestErrorBodiesAndLogsAreClean sends a battery of bad requests (bad
// credentials, signatures and replays, malformed and hostile bodies,
// unknown routes, failing and refusing upstreams, budgets spent) and checks
// that no error body and no log line shows SQL, a stack trace, a token or
// an upstream URL.
func TestErrorBodiesAndLogsAreClean(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		fake, up := newFakeTelegive(t)
		h := newHarness(t, backend, authOption(auth.ModeRequired),
			withGiveaways(upstream.NewGiveaways(up)),
			withSubscriptions(upstream.NewSubscriptions(up)),
			withOptions(func(o *participant.Options) { o.RequireSubscription = true }),
			withAPI(func(o *httpapi.Options) {
				o.Limiter = ratelimit.NewMemory(nil)
				o.Limits = httpapi.Limits{Caller: ratelimit.Per(10_000, time.Hour), User: ratelimit.Per(3, time.Hour)}
			}))
		bot := map[string]string{"X-Service-Token": botToken}
		gw := map[string]string{"X-Service-Token": giveawayToken}
		var bodies []string
		send := func(method, path string, body any, headers map[string]string, status int, code string) reply {
			t.Helper()
			r := h.doWith(method, path, body, headers).expect(t, status, code)
			bodies = append(bodies, string(r.raw))
			return r
		}
		signed := func(body string, ts int64, token, sig string) map[string]string {
			if sig == "" {
				sig = signing.Sign(token, "POST", "/api/participants/register", ts, []byte(body))
			}
			return map[string]string{"X-Service-Token": token, "X-Timestamp": strconv.FormatInt(ts, 10), "X-Signature": sig}
		}
		reg := `{"giveaway_id": 1, "user_id": 40}`

		// Credentials.
		send("POST", "/api/participants/register", reg, nil, 401, "AUTH_REQUIRED")
		send("POST", "/api/participants/register", reg, map[string]string{"X-Service-Token": "not-a-real-token-000000"}, 401, "AUTH_INVALID")
		send("POST", "/api/participants/register", reg, map[string]string{"X-Service-Token": botToken[:12]}, 401, "AUTH_INVALID")
		send("POST", "/api/participants/register", reg, map[string]string{"X-Service-Token": "' OR '1'='1"}, 401, "AUTH_INVALID")
		send("POST", "/api/participants/1/select-winners", `{"winner_count": 1}`, bot, 403, "FORBIDDEN")
		send("GET", "/admin/stats", nil, gw, 403, "FORBIDDEN")
		now := time.Now().Unix()
		good := signed(reg, now, botToken, "")
		send("POST", "/api/participants/register", reg, good, 200, "")
		send("POST", "/api/participants/register", reg, good, 401, "AUTH_INVALID") // the replay
		send("POST", "/api/participants/register", reg, signed(reg, now-3600, botToken, ""), 401, "AUTH_INVALID")
		send("POST", "/api/participants/register", reg, signed(reg, now, botToken, strings.Repeat("0", 64)), 401, "AUTH_INVALID")
		send("POST", "/api/participants/register", reg, signed(reg, now, giveawayToken, signing.Sign(botToken, "POST", "/api/participants/register", now, []byte(reg))), 401, "AUTH_INVALID")

		// Bodies and parameters.
		for _, b := range []string{``, `{`, `[]`, `null`, `"x"`, `{"giveaway_id": 1, "user_id": 1}{}`, "{\"giveaway_id\": 1, \"user_id\": \"\xff\"}"} {
			send("POST", "/api/participants/register", b, bot, 400, "")
		}
		send("POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": "1 OR 1=1"}`, bot, 400, "INVALID_USER_ID")
		send("POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 41, "username": "x'; DROP TABLE users; --"}`, bot, 400, "INVALID_USERNAME")
		send("POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 41, "first_name": "a\u0000'; SELECT 1"}`, bot, 400, "INVALID_FIRST_NAME")
		send("POST", "/api/participants/validate-captcha", `{"giveaway_id": 1, "user_id": 41, "answer": "1; DROP TABLE participants"}`, bot, 400, "INVALID_ANSWER_FORMAT")
		send("POST", "/api/participants/validate-captcha", `{"giveaway_id": 1, "user_id": 42, "answer": 3}`, bot, 404, "CAPTCHA_NOT_FOUND")
		send("PUT", "/api/participants/update-delivery-status", `{"participant_ids": ["1 OR 1=1"]}`, bot, 400, "INVALID_PARTICIPANT_IDS")
		send("PUT", "/api/participants/update-delivery-status", `{"participant_ids": [1], "delivery_timestamp": "now()"}`, bot, 400, "INVALID_DELIVERY_TIMESTAMP")
		send("GET", "/api/participants/1%27%20OR%201=1/count", nil, gw, 400, "INVALID_GIVEAWAY_ID")
		send("GET", "/api/participants/1?page=1%3B%20DROP%20TABLE%20participants", nil, gw, 400, "INVALID_PAGE")
		send("POST", "/api/participants/1/redraw", `{"disqualified_user_ids": [5], "reason": "cheating"}`, gw, 409, "DRAW_NOT_COMPLETED")
		send("POST", "/api/participants/1/select-winners", `{"winner_count": 1, "beacon": "' OR 1=1"}`, gw, 400, "INVALID_BEACON")
		send("GET", "/api/participants/77/draw", nil, nil, 404, "DRAW_NOT_FOUND")
		send("GET", "/api/participants/1/nothing", nil, gw, 404, "NOT_FOUND")
		send("DELETE", "/api/participants/register", nil, bot, 405, "METHOD_NOT_ALLOWED")
		send("POST", "/api/participants/register", `{"first_name": "`+strings.Repeat("a", 2<<20)+`"}`, bot, 413, "PAYLOAD_TOO_LARGE")

		// Upstreams that fail or refuse.
		fake.giveawayStatus.Store("down")
		send("POST", "/api/participants/register", `{"giveaway_id": 2, "user_id": 43}`, bot, 503, "SERVICE_UNAVAILABLE")
		fake.giveawayStatus.Store("missing")
		send("POST", "/api/participants/register", `{"giveaway_id": 3, "user_id": 43}`, bot, 404, "GIVEAWAY_NOT_FOUND")
		fake.giveawayStatus.Store("finished")
		send("POST", "/api/participants/register", `{"giveaway_id": 4, "user_id": 43}`, bot, 409, "GIVEAWAY_NOT_ACTIVE")
		fake.giveawayStatus.Store("active")
		ch := send("POST", "/api/participants/register", `{"giveaway_id": 5, "user_id": 44}`, bot, 200, "")
		send("POST", "/api/participants/validate-captcha", map[string]any{"giveaway_id": 5, "user_id": 44,
			"answer": solve(t, ch.str("captcha_question"))}, bot, 403, "USER_NOT_SUBSCRIBED")
		lookup := h.doWith("POST", "/api/participants/verify-subscription", `{"user_id": 44, "account_id": 12345}`, bot)
		if lookup.status < 400 || lookup.str("error_code") == "" {
			t.Fatalf("a lookup for an unknown account: %d %s", lookup.status, lookup.raw)
		}
		bodies = append(bodies, string(lookup.raw))

		// A spent budget.
		for range 3 {
			h.doWith("POST", "/api/participants/register", `{"giveaway_id": 6, "user_id": 45}`, bot)
		}
		send("POST", "/api/participants/register", `{"giveaway_id": 6, "user_id": 45}`, bot, 429, "RATE_LIMITED")

		secrets := []string{botToken, giveawayToken, adminToken, secretBotToken, "TOP-SECRET", up.GiveawayURL, "http://127.0.0.1:", h.url}
		logs := h.logs.String()
		for _, text := range append(bodies, logs) {
			for _, m := range append(leakMarkers, secrets...) {
				if strings.Contains(text, m) || m == strings.ToLower(m) && strings.Contains(strings.ToLower(text), m) {
					t.Errorf("%q leaked into %.500s", m, text)
				}
			}
		}
		if !strings.Contains(logs, "authentication refused") {
			t.Fatalf("the refusals were not logged at all (is the log captured?):\n%.1000s", logs)
		}
	})
}

// slowClient opens a connection, writes head at once and then dribbles
// one byte of tail every interval, as a slowloris client does, until the
// server closes the connection. It returns how long the server kept the
// connection and the first line of any answer.
func slowClient(t *testing.T, addr, head, tail string, interval time.Duration) (kept time.Duration, answer string) {
	t.Helper()
	start := time.Now()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer conn.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReader(conn)
		answer, _ = br.ReadString('\n')
		_, _ = io.Copy(io.Discard, br) // until the server closes
		kept = time.Since(start)
	}()
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Error(err)
		return 0, ""
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-done:
			return kept, strings.TrimSpace(answer)
		case <-tick.C:
		}
		if time.Since(start) > 15*time.Second {
			t.Errorf("the server kept a slow connection for %v", time.Since(start))
			conn.Close()
			<-done
			return kept, ""
		}
		// Write errors are expected once the server has closed; the reader
		// sees the close.
		_, _ = conn.Write([]byte{tail[i%len(tail)]})
	}
}

// TestSlowClientsAreCutOff: with the real server and its timeouts, clients
// that send their headers or their body byte by byte are disconnected at
// the read-header and read timeouts, while normal requests from another
// client keep being answered promptly.
func TestSlowClientsAreCutOff(t *testing.T) {
	const headerTimeout, readTimeout = time.Second, 2 * time.Second
	svc := testenv.StartService(t, "HTTP_READ_HEADER_TIMEOUT=1", "HTTP_READ_TIMEOUT=2")
	addr := strings.TrimPrefix(svc.URL, "http://")
	// How late the server may be in closing on a loaded machine.
	const slack = 1500 * time.Millisecond

	type result struct {
		kind   string
		kept   time.Duration
		answer string
	}
	results := make(chan result, 16)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			head := "POST /api/participants/register HTTP/1.1\r\nHost: participant\r\n"
			kept, answer := slowClient(t, addr, head, fmt.Sprintf("X-Slow-%d: %s", i, strings.Repeat("a", 200)), 100*time.Millisecond)
			results <- result{"headers", kept, answer}
		})
	}
	for i := range 4 {
		wg.Go(func() {
			body := fmt.Sprintf(`{"giveaway_id": 1, "user_id": %d, "first_name": "%s"}`, 100+i, strings.Repeat("s", 400))
			head := fmt.Sprintf("POST /api/participants/register HTTP/1.1\r\nHost: participant\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
			kept, answer := slowClient(t, addr, head, body, 100*time.Millisecond)
			results <- result{"body", kept, answer}
		})
	}

	// Meanwhile another client is served as usual.
	client := &http.Client{Timeout: 5 * time.Second}
	var worst time.Duration
	served := 0
	for deadline := time.Now().Add(readTimeout + 500*time.Millisecond); time.Now().Before(deadline); served++ {
		start := time.Now()
		var resp *http.Response
		var err error
		if served%2 == 0 {
			resp, err = client.Get(svc.URL + "/health/live")
		} else {
			resp, err = client.Post(svc.URL+"/api/participants/register", "application/json",
				strings.NewReader(fmt.Sprintf(`{"giveaway_id": 2, "user_id": %d}`, 1000+served)))
		}
		if err != nil {
			t.Fatalf("a normal request failed during the slow clients: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a normal request answered %d during the slow clients", resp.StatusCode)
		}
		worst = max(worst, time.Since(start))
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	close(results)
	if worst > time.Second {
		t.Errorf("normal requests waited up to %v while slow clients were connected", worst)
	}
	t.Logf("%d normal requests served, the slowest in %v", served, worst)

	for r := range results {
		limit := headerTimeout
		if r.kind == "body" {
			limit = readTimeout
		}
		t.Logf("slow %s client: disconnected after %v, answer %q", r.kind, r.kept.Round(time.Millisecond), r.answer)
		if r.kept < limit-100*time.Millisecond || r.kept > limit+slack {
			t.Errorf("slow %s client disconnected after %v, want about %v", r.kind, r.kept, limit)
		}
		if r.answer != "" && !strings.HasPrefix(r.answer, "HTTP/1.1 4") {
			t.Errorf("slow %s client was answered %q, want nothing or a 4xx", r.kind, r.answer)
		}
	}
}

// rawExchange sends raw bytes and returns the status line of the answer.
func rawExchange(t *testing.T, addr, request string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = io.WriteString(conn, request) }()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestOversizedHeaders: the real server refuses a header block over its 64
// KiB limit with 431, whether in one header or many, and serves one just
// under it.
func TestOversizedHeaders(t *testing.T) {
	svc := testenv.StartService(t)
	addr := strings.TrimPrefix(svc.URL, "http://")
	for _, c := range []struct {
		name    string
		headers string
		want    string
	}{
		{"one 60 KiB header", "X-Big: " + strings.Repeat("a", 60<<10) + "\r\n", "HTTP/1.1 200 OK"},
		{"one 80 KiB header", "X-Big: " + strings.Repeat("a", 80<<10) + "\r\n", "HTTP/1.1 431 Request Header Fields Too Large"},
		{"2000 small headers", strings.Repeat("X-Many: "+strings.Repeat("b", 40)+"\r\n", 2000), "HTTP/1.1 431 Request Header Fields Too Large"},
		{"a 1 MiB header", "X-Huge: " + strings.Repeat("c", 1<<20) + "\r\n", "HTTP/1.1 431 Request Header Fields Too Large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := rawExchange(t, addr, "GET /health/live HTTP/1.1\r\nHost: participant\r\n"+c.headers+"Connection: close\r\n\r\n")
			if got != c.want {
				t.Fatalf("answered %q, want %q", got, c.want)
			}
		})
	}
	// The service is still there.
	resp, err := http.Get(svc.URL + "/health/live")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the oversized headers: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestOversizedBodies: deeply nested JSON and huge arrays or objects are
// answered quickly with a 4xx (or ignored where the field is unknown),
// never a 5xx.
func TestOversizedBodies(t *testing.T) {
	h := newHarness(t, "sqlite")
	nested := func(depth int, inner string) string {
		return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
	}
	array := func(n int, elem string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
	}
	var keys bytes.Buffer
	keys.WriteString(`{"giveaway_id": 1, "user_id": 9`)
	for i := range 40_000 {
		fmt.Fprintf(&keys, `, "k%d": %d`, i, i)
	}
	keys.WriteString("}")
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"nested arrays as the body", "POST", "/api/participants/register", nested(500_000, ""), 400, "INVALID_JSON"},
		{"nested objects as the body", "POST", "/api/participants/register", strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000), 400, "INVALID_JSON"},
		{"too deep in an unknown field", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 5, "x": ` + nested(20_000, "1") + `}`, 400, "INVALID_JSON"},
		{"deep but within limits in an unknown field", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 6, "x": ` + nested(5_000, "1") + `}`, 200, ""},
		{"deep nesting as an id", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": ` + nested(5_000, "7") + `}`, 400, "INVALID_USER_ID"},
		{"deep nesting as a name", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 7, "first_name": ` + nested(5_000, `"x"`) + `}`, 400, "INVALID_FIRST_NAME"},
		{"deep nesting as an answer", "POST", "/api/participants/validate-captcha", `{"giveaway_id": 1, "user_id": 7, "answer": ` + nested(5_000, "1") + `}`, 400, "INVALID_ANSWER_FORMAT"},
		{"200,000 delivery ids", "PUT", "/api/participants/update-delivery-status", `{"participant_ids": ` + array(200_000, "1") + `}`, 400, "TOO_MANY_PARTICIPANT_IDS"},
		{"100,000 disqualified users", "POST", "/api/participants/1/redraw", `{"reason": "x", "disqualified_user_ids": ` + array(100_000, "12345") + `}`, 400, "INVALID_DISQUALIFIED_USER_IDS"},
		{"a huge array in an unknown field", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 8, "x": ` + array(300_000, "0") + `}`, 200, ""},
		{"40,000 unknown keys", "POST", "/api/participants/register", keys.String(), 200, ""},
		{"a huge number", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 1` + strings.Repeat("0", 500_000) + `}`, 400, "INVALID_USER_ID"},
		{"a huge answer", "POST", "/api/participants/validate-captcha", `{"giveaway_id": 1, "user_id": 7, "answer": "` + strings.Repeat("9", 500_000) + `"}`, 400, "INVALID_ANSWER_FORMAT"},
		{"an array over the body limit", "PUT", "/api/participants/update-delivery-status", `{"participant_ids": ` + array(600_000, "1") + `}`, 413, "PAYLOAD_TOO_LARGE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			h.do(c.method, c.path, c.body).expect(t, c.status, c.code)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	if logs := h.logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("oversized bodies caused internal errors:\n%.3000s", logs)
	}
}

// The tests below pin down bugs the fuzz targets found; each states the
// documented behaviour and fails until the code provides it.

// TestDeliveryTimestampYearRange: a delivery_timestamp whose UTC time falls
// outside the years 1..9999 (RFC 3339 allows 0000 and offsets of up to a
// day) must be refused with a 400 or stored harmlessly. Today it is a 500
// on Postgres (year 0), and when stored it makes every later listing and
// export of the giveaway a 500.
func TestDeliveryTimestampYearRange(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		for i, ts := range []string{"9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+00:01", "0000-01-01T00:00:00Z"} {
			gid := int64(50 + i)
			pid := h.join(gid, 1)
			r := h.do("PUT", "/api/participants/update-delivery-status", fmt.Sprintf(`{"participant_ids": [%d], "delivery_timestamp": %q}`, pid, ts))
			if r.status != http.StatusOK && (r.status != http.StatusBadRequest || r.str("error_code") != "INVALID_DELIVERY_TIMESTAMP") {
				t.Errorf("delivery_timestamp %q answered %d %s, want 200 or 400 INVALID_DELIVERY_TIMESTAMP", ts, r.status, bytes.TrimSpace(r.raw))
			}
			for _, path := range []string{"", "/export"} {
				if l := h.do("GET", fmt.Sprintf("/api/participants/%d%s", gid, path), nil); l.status != http.StatusOK {
					t.Errorf("after delivery_timestamp %q (answered %d), GET /api/participants/%d%s answers %d %.200s", ts, r.status, gid, path, l.status, l.raw)
				}
			}
		}
	})
}

// TestListPageBeyondInt64: a page whose first row lies beyond any int64
// (page-1 times limit overflows) must be empty or refused with
// INVALID_PAGE. Today the offset wraps around and the first page comes
// back.
func TestListPageBeyondInt64(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		for u := int64(1); u <= 3; u++ {
			h.join(60, u)
		}
		for _, q := range []string{"page=9223372036854775807&limit=2", "page=4611686018427387905&limit=4", "page=2305843009213693953&limit=10000"} {
			r := h.do("GET", "/api/participants/60?"+q, nil)
			if r.status == http.StatusBadRequest && r.str("error_code") == "INVALID_PAGE" {
				continue
			}
			r.expect(t, http.StatusOK, "")
			if ps := r.body["participants"].([]any); len(ps) != 0 {
				t.Errorf("%s returned %d participants of the first page, want none", q, len(ps))
			}
		}
	})
}

// TestRedrawReasonLength: a redraw reason may have up to 500 characters
// (docs, OpenAPI maxLength, and the error message itself). Today reasons
// of 101 to 500 characters are refused, because the reason is checked with
// the 100-character rule for names.
func TestRedrawReasonLength(t *testing.T) {
	h := newHarness(t, "sqlite")
	const gid = 70
	for u := int64(1); u <= 10; u++ {
		h.join(gid, u)
	}
	h.do("POST", fmt.Sprintf("/api/participants/%d/select-winners", gid), `{"winner_count": 5}`).expect(t, http.StatusOK, "")
	for _, n := range []int{100, 101, 500, 501} {
		ws := h.do("GET", fmt.Sprintf("/api/participants/%d/winners", gid), nil).expect(t, http.StatusOK, "")
		winner := int64(ws.body["winners"].([]any)[0].(map[string]any)["user_id"].(float64))
		r := h.do("POST", fmt.Sprintf("/api/participants/%d/redraw", gid),
			map[string]any{"disqualified_user_ids": []int64{winner}, "reason": strings.Repeat("é", n)})
		switch {
		case n > participant.MaxReasonLength:
			if r.status != http.StatusBadRequest || r.str("error_code") != "INVALID_REASON" {
				t.Errorf("a reason of %d characters answered %d %.200s, want 400 INVALID_REASON", n, r.status, r.raw)
			}
		case r.status != http.StatusOK:
			t.Errorf("a reason of %d characters answered %d %.200s, want 200", n, r.status, r.raw)
		}
	}
}
