package httpapi_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/pkg/draw"
)

// The fuzz targets of this file send fuzzed bodies, path segments and query
// values through the real handler (middleware, routing, decoding, the
// domain and a real SQLite store) and hold every answer to the API's
// contract: never a 5xx or a panic, always a JSON body with success, a
// well-formed error code on errors, the OpenAPI description, and, per
// endpoint, an oracle written from docs/api.md that predicts which error a
// bad request gets and checks the values of a good one.

// The set-up state every fuzz target starts from.
const (
	fuzzOpen        = 1   // a giveaway with six participants, not drawn
	fuzzDrawn       = 2   // a giveaway with twenty participants and three winners
	fuzzPendingUser = 500 // a user with a live captcha for fuzzOpen
)

// fuzzAPI is the real HTTP handler on its own SQLite store. Each fuzz
// target builds one (once per fuzzing process) and sends it every input.
type fuzzAPI struct {
	handler http.Handler
	logs    *testenv.Logs
	// participants are the participant ids the set-up created.
	participants []int64
}

// fuzzSubscriptions answers subscription checks without an upstream: even
// user ids are members.
type fuzzSubscriptions struct{ now func() time.Time }

func (s fuzzSubscriptions) CheckSubscription(_ context.Context, userID, accountID int64) (participant.Subscription, error) {
	sub := participant.Subscription{Status: "left", VerifiedAt: s.now(),
		Channel: participant.Channel{ID: -100 - accountID%1000, Title: "Fuzz channel", Username: "fuzzchannel"}}
	if userID%2 == 0 {
		sub.Subscribed, sub.Status = true, "member"
	}
	return sub, nil
}

func newFuzzAPI(f *testing.F) *fuzzAPI {
	f.Helper()
	st := testenv.OpenStore(f, "sqlite")
	clk := &clock{now: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	opts := defaultOptions()
	opts.Now = clk.Now
	svc := participant.NewService(st, nil, fuzzSubscriptions{clk.Now}, opts)
	logs := &testenv.Logs{}
	api := httpapi.New(httpapi.Options{
		Service:     svc,
		Health:      health.New(time.Second, health.Check{Name: "database", Impact: health.Critical, Run: health.Func(st.Ping)}),
		Logger:      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ServiceName: "participant-service", Version: "fuzz", MaxBodyBytes: 1 << 20, ExportBatchSize: 7, Now: clk.Now,
	})
	a := &fuzzAPI{handler: api.Handler(), logs: logs}
	for u := int64(1); u <= 20; u++ {
		a.participants = append(a.participants, a.setupJoin(f, fuzzDrawn, u))
		if u <= 6 {
			a.participants = append(a.participants, a.setupJoin(f, fuzzOpen, u))
		}
	}
	a.setup(f, "POST", fmt.Sprintf("/api/participants/%d/select-winners", fuzzDrawn), `{"winner_count": 3}`, http.StatusOK)
	a.setup(f, "POST", "/api/participants/register", fmt.Sprintf(`{"giveaway_id": %d, "user_id": %d}`, fuzzOpen, fuzzPendingUser), http.StatusOK)
	return a
}

// setup sends a set-up request and returns its decoded body.
func (a *fuzzAPI) setup(f *testing.F, method, path, body string, status int) map[string]any {
	f.Helper()
	_, resp, raw := a.serve(method, path, []byte(body))
	var m map[string]any
	if resp.StatusCode != status || json.Unmarshal(raw, &m) != nil {
		f.Fatalf("set-up %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return m
}

// setupJoin registers a user through the captcha and returns the
// participant id.
func (a *fuzzAPI) setupJoin(f *testing.F, giveawayID, userID int64) int64 {
	f.Helper()
	reg := fmt.Sprintf(`{"giveaway_id": %d, "user_id": %d, "username": "fuzz_user_%d", "first_name": "Fuzz"}`, giveawayID, userID, userID)
	_, resp, raw := a.serve("POST", "/api/participants/register", []byte(reg))
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if resp.StatusCode == http.StatusOK {
		answer := solve(f, fmt.Sprint(m["captcha_question"]))
		m = a.setup(f, "POST", "/api/participants/validate-captcha",
			fmt.Sprintf(`{"giveaway_id": %d, "user_id": %d, "answer": %d}`, giveawayID, userID, answer), http.StatusOK)
	} else if resp.StatusCode != http.StatusCreated {
		f.Fatalf("set-up: register %d in %d: %d %s", userID, giveawayID, resp.StatusCode, raw)
	}
	id, _ := m["participant_id"].(float64)
	if id < 1 {
		f.Fatalf("set-up: no participant id in %v", m)
	}
	return int64(id)
}

// serve sends one request to the handler. A handler that aborts its
// response (an export cut by a failure) is reported as a 500.
func (a *fuzzAPI) serve(method, target string, body []byte) (req *http.Request, resp *http.Response, raw []byte) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req = httptest.NewRequest(method, target, rd)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != nil {
				if p != http.ErrAbortHandler {
					panic(p)
				}
				rec = httptest.NewRecorder()
				rec.WriteHeader(http.StatusInternalServerError)
				_, _ = rec.WriteString("the handler aborted the response")
			}
		}()
		a.handler.ServeHTTP(rec, req)
	}()
	return req, rec.Result(), rec.Body.Bytes()
}

var errorCodeRE = regexp.MustCompile(`^[A-Z_]+$`)

// call serves a request and checks what every answer must be. It returns
// the status and the decoded JSON body (nil for a redirect or a
// non-JSON success such as an export).
func (a *fuzzAPI) call(t *testing.T, method, target string, body []byte) (int, map[string]any) {
	t.Helper()
	req, resp, raw := a.serve(method, target, body)
	status := resp.StatusCode
	if status >= 500 {
		t.Fatalf("%s %s answered %d: %s\nbody sent: %q\nlogs: %.2000s", method, target, status, raw, body, a.logs.String())
	}
	if status >= 300 && status < 400 {
		// A client that follows a redirect sends a POST again as a GET
		// without its body: paths with ".", ".." or empty segments are
		// refused, never redirected.
		t.Fatalf("%s %s answered %d to %q", method, target, status, resp.Header.Get("Location"))
	}
	// An escaped slash in a segment is a separator to the router but not to
	// the OpenAPI validator, which would hold the answer to the wrong
	// operation.
	if !strings.Contains(strings.ToUpper(target), "%2F") {
		checkAgainstSpec(t, req, resp, raw)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if status >= 300 {
			t.Fatalf("%s %s answered %d without a JSON body: %q", method, target, status, raw)
		}
		return status, nil
	}
	// Numbers stay exact (ids go up to 2^63-1).
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		t.Fatalf("%s %s answered %d with a body that is not a JSON object: %q (%v)", method, target, status, raw, err)
	}
	if success, ok := m["success"].(bool); !ok || success != (status < 400) {
		t.Fatalf("%s %s answered %d with success %v: %s", method, target, status, m["success"], raw)
	}
	if status < 400 {
		return status, m
	}
	code, _ := m["error_code"].(string)
	msg, _ := m["error"].(string)
	if !errorCodeRE.MatchString(code) || msg == "" {
		t.Fatalf("%s %s answered %d without a proper error_code and error: %s", method, target, status, raw)
	}
	if fields, ok := m["validation_errors"]; ok {
		list, _ := fields.([]any)
		if len(list) == 0 {
			t.Fatalf("empty validation_errors: %s", raw)
		}
		for i, fe := range list {
			fe, _ := fe.(map[string]any)
			fcode, _ := fe["error_code"].(string)
			if field, _ := fe["field"].(string); field == "" || !errorCodeRE.MatchString(fcode) || i == 0 && fcode != code {
				t.Fatalf("validation error %d is malformed or does not lead the error_code: %s", i, raw)
			}
		}
	}
	return status, m
}

// expectError fails unless the answer is the error predicted by an oracle.
func expectError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string, sent []byte) {
	t.Helper()
	if status != wantStatus || body["error_code"] != wantCode {
		t.Fatalf("answered %d %v, want %d %s\nbody sent: %q", status, body["error_code"], wantStatus, wantCode, sent)
	}
}

// expectOneOf fails unless a valid request got one of the answers that
// docs/api.md allows for it ("" stands for success).
func expectOneOf(t *testing.T, status int, body map[string]any, sent []byte, allowed ...string) {
	t.Helper()
	code, _ := body["error_code"].(string)
	if status >= 400 && !slices.Contains(allowed, code) || status < 400 && !slices.Contains(allowed, "") {
		t.Fatalf("a valid request answered %d %q, want one of %q\nbody sent: %q", status, code, allowed, sent)
	}
}

// The request oracles: what docs/api.md says a field may hold, decided from
// the request's JSON independently of the service's decoder.

// bodyObject returns the fields of the body sent, or nil once it has
// checked that a body which is not a JSON object was refused with 400
// INVALID_JSON.
func bodyObject(t *testing.T, status int, resp map[string]any, body []byte) map[string]json.RawMessage {
	t.Helper()
	m := jsonObject(body)
	if m == nil {
		expectError(t, status, resp, 400, "INVALID_JSON", body)
	}
	return m
}

// jsonObject is the body as an object of raw values, or nil when it is not
// a JSON object.
func jsonObject(body []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	return m
}

var jsonIntRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// field is one field of a request body.
type field struct {
	raw     string
	present bool // given and not null
}

func fieldOf(m map[string]json.RawMessage, key string) field {
	raw, ok := m[key]
	s := strings.TrimSpace(string(raw))
	return field{raw: s, present: ok && s != "null"}
}

// integer returns the field as a JSON integer (no fraction, no exponent,
// not a string) that fits in an int64.
func (f field) integer() (int64, bool) {
	if !f.present || !jsonIntRE.MatchString(f.raw) {
		return 0, false
	}
	n, err := strconv.ParseInt(f.raw, 10, 64)
	return n, err == nil
}

// id is the documented id check: MISSING_ when absent or null, INVALID_
// unless a JSON integer of at least 1.
func (f field) id(name string) (int64, string) {
	if !f.present {
		return 0, "MISSING_" + strings.ToUpper(name)
	}
	if n, ok := f.integer(); ok && n >= 1 {
		return n, ""
	}
	return 0, "INVALID_" + strings.ToUpper(name)
}

// text returns an optional string field; absent and null are "".
func (f field) text() (string, bool) {
	if !f.present {
		return "", true
	}
	var s string
	return s, json.Unmarshal([]byte(f.raw), &s) == nil
}

// positiveIDs returns a JSON array of ids.
func (f field) positiveIDs() ([]int64, bool) {
	var raws []json.RawMessage
	if json.Unmarshal([]byte(f.raw), &raws) != nil {
		return nil, false
	}
	ids := []int64{}
	for _, r := range raws {
		n, ok := field{raw: strings.TrimSpace(string(r)), present: true}.integer()
		if !ok || n < 1 {
			return nil, false
		}
		ids = append(ids, n)
	}
	return ids, true
}

// requiredIDs returns a required array of ids, or the code its absence
// (MISSING_<name>) or a bad value (INVALID_<name>) gets.
func (f field) requiredIDs(name string) ([]int64, string) {
	if !f.present {
		return nil, "MISSING_" + name
	}
	ids, ok := f.positiveIDs()
	if !ok {
		return nil, "INVALID_" + name
	}
	return ids, ""
}

// firstOf returns the first non-empty code.
func firstOf(codes ...string) string {
	for _, c := range codes {
		if c != "" {
			return c
		}
	}
	return ""
}

func ifBad(ok bool, code string) string {
	if ok {
		return ""
	}
	return code
}

var (
	answerRE   = regexp.MustCompile(`^-?[0-9]{1,18}$`)
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{5,32}$`)
)

// validName is the documented rule for first and last names and redraw
// reasons: at most max characters (after trimming), no control characters.
func validName(s string, max int) bool {
	s = strings.TrimFunc(s, unicode.IsSpace)
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && strings.IndexFunc(s, unicode.IsControl) < 0
}

func validUsername(s string) bool {
	s = strings.TrimPrefix(strings.TrimFunc(s, unicode.IsSpace), "@")
	return s == "" || usernameRE.MatchString(s)
}

// FuzzRegister: POST /register with a fuzzed body. A bad field gets the
// code of the first bad field (types first, then values); a valid request
// gets a captcha or a participation.
func FuzzRegister(f *testing.F) {
	a := newFuzzAPI(f)
	f.Add([]byte(`{"giveaway_id": 1, "user_id": 7, "username": "@alice_1", "first_name": "Alice"}`))
	f.Add([]byte(`{"giveaway_id": 3, "user_id": 1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		status, resp := a.call(t, "POST", "/api/participants/register", body)
		m := bodyObject(t, status, resp, body)
		if m == nil {
			return
		}
		gid, gidBad := fieldOf(m, "giveaway_id").id("giveaway_id")
		uid, uidBad := fieldOf(m, "user_id").id("user_id")
		username, userOK := fieldOf(m, "username").text()
		first, firstOK := fieldOf(m, "first_name").text()
		last, lastOK := fieldOf(m, "last_name").text()
		want := firstOf(gidBad, uidBad,
			ifBad(userOK, "INVALID_USERNAME"), ifBad(firstOK, "INVALID_FIRST_NAME"), ifBad(lastOK, "INVALID_LAST_NAME"),
			ifBad(validUsername(username), "INVALID_USERNAME"),
			ifBad(validName(first, 100), "INVALID_FIRST_NAME"), ifBad(validName(last, 100), "INVALID_LAST_NAME"))
		if want != "" {
			expectError(t, status, resp, 400, want, body)
			return
		}
		expectOneOf(t, status, resp, body, "", "DUPLICATE_PARTICIPATION", "GIVEAWAY_NOT_ACTIVE", "TOO_MANY_ATTEMPTS")
		switch status {
		case http.StatusOK:
			if resp["requires_captcha"] != true || resp["session_id"] == "" || resp["session_id"] != resp["captcha_session_id"] ||
				!testenv.CaptchaQuestion.MatchString(fmt.Sprint(resp["captcha_question"])) {
				t.Fatalf("user %d in %d: a captcha answer without its question or session: %v", uid, gid, resp)
			}
		case http.StatusCreated:
			var got struct {
				ParticipantID int64 `json:"participant_id"`
			}
			if err := remarshal(resp, &got); err != nil || resp["requires_captcha"] != false || got.ParticipantID < 1 {
				t.Fatalf("user %d in %d: a registration without a participant id: %v", uid, gid, resp)
			}
		}
	})
}

// FuzzValidateCaptcha: POST /validate-captcha with a fuzzed body. The ids
// and session fields are checked first, then the answer, which must be a
// JSON integer or a string of digits with surrounding spaces; anything
// else is INVALID_ANSWER_FORMAT (and uses no attempt).
func FuzzValidateCaptcha(f *testing.F) {
	a := newFuzzAPI(f)
	f.Add([]byte(fmt.Sprintf(`{"giveaway_id": %d, "user_id": %d, "answer": " 12 "}`, fuzzOpen, fuzzPendingUser)))
	f.Add([]byte(fmt.Sprintf(`{"giveaway_id": %d, "user_id": %d, "answer": 1.0, "session_id": null}`, fuzzOpen, fuzzPendingUser)))
	f.Fuzz(func(t *testing.T, body []byte) {
		status, resp := a.call(t, "POST", "/api/participants/validate-captcha", body)
		m := bodyObject(t, status, resp, body)
		if m == nil {
			return
		}
		_, gidBad := fieldOf(m, "giveaway_id").id("giveaway_id")
		_, uidBad := fieldOf(m, "user_id").id("user_id")
		session, sessionOK := fieldOf(m, "session_id").text()
		altOK := true
		if session == "" {
			// captcha_session_id is the fallback name of the same field.
			_, altOK = fieldOf(m, "captcha_session_id").text()
		}
		want := firstOf(gidBad, uidBad, ifBad(sessionOK, "INVALID_SESSION_ID"), ifBad(altOK, "INVALID_CAPTCHA_SESSION_ID"))
		if want == "" && !validAnswer(fieldOf(m, "answer")) {
			want = "INVALID_ANSWER_FORMAT"
		}
		if want != "" {
			expectError(t, status, resp, 400, want, body)
			return
		}
		expectOneOf(t, status, resp, body, "", "CAPTCHA_NOT_FOUND", "CAPTCHA_SESSION_MISMATCH", "CAPTCHA_EXPIRED",
			"TOO_MANY_ATTEMPTS", "DUPLICATE_PARTICIPATION", "GIVEAWAY_NOT_ACTIVE")
		if status == http.StatusOK {
			if _, ok := resp["captcha_completed"].(bool); !ok {
				t.Fatalf("an answer without captcha_completed: %v", resp)
			}
		}
	})
}

// validAnswer is the documented answer format.
func validAnswer(f field) bool {
	if !f.present {
		return false
	}
	if strings.HasPrefix(f.raw, `"`) {
		var s string
		return json.Unmarshal([]byte(f.raw), &s) == nil && answerRE.MatchString(strings.TrimFunc(s, unicode.IsSpace))
	}
	_, ok := f.integer()
	return ok
}

// FuzzVerifySubscription: POST /verify-subscription with a fuzzed body;
// a valid one is answered for exactly the ids sent.
func FuzzVerifySubscription(f *testing.F) {
	a := newFuzzAPI(f)
	f.Add([]byte(`{"user_id": 2, "account_id": 9}`))
	f.Add([]byte(`{"user_id": 9223372036854775807, "account_id": 1e2}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		status, resp := a.call(t, "POST", "/api/participants/verify-subscription", body)
		m := bodyObject(t, status, resp, body)
		if m == nil {
			return
		}
		uid, uidBad := fieldOf(m, "user_id").id("user_id")
		account, accountBad := fieldOf(m, "account_id").id("account_id")
		if want := firstOf(uidBad, accountBad); want != "" {
			expectError(t, status, resp, 400, want, body)
			return
		}
		expectOneOf(t, status, resp, body, "")
		var echo struct {
			UserID       int64 `json:"user_id"`
			AccountID    int64 `json:"account_id"`
			IsSubscribed bool  `json:"is_subscribed"`
		}
		if err := remarshal(resp, &echo); err != nil || echo.UserID != uid || echo.AccountID != account || echo.IsSubscribed != (uid%2 == 0) {
			t.Fatalf("verify-subscription for user %d, account %d answered %v (%v)", uid, account, resp, err)
		}
	})
}

// remarshal decodes a body that call decoded into a typed value.
func remarshal(m map[string]any, v any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// FuzzUpdateDelivery: PUT /update-delivery-status with a fuzzed body. A
// valid update counts exactly the known participants among the ids and
// lists the others as failures, and whatever it stored, the participant
// listings still answer.
func FuzzUpdateDelivery(f *testing.F) {
	a := newFuzzAPI(f)
	f.Add([]byte(`{"participant_ids": [1, 2, 999], "delivered": true, "delivery_timestamp": "2026-11-28T10:00:00Z"}`))
	f.Add([]byte(`{"participant_ids": [3, 3], "delivered": false}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		status, resp := a.call(t, "PUT", "/api/participants/update-delivery-status", body)
		m := bodyObject(t, status, resp, body)
		if m == nil {
			return
		}
		ids, idsBad := fieldOf(m, "participant_ids").requiredIDs("PARTICIPANT_IDS")
		delivered := fieldOf(m, "delivered")
		deliveredOK := !delivered.present || delivered.raw == "true" || delivered.raw == "false"
		ts, tsOK := fieldOf(m, "delivery_timestamp").text()
		storable := true
		if tsOK && ts != "" {
			at, err := time.Parse(time.RFC3339Nano, ts)
			tsOK = err == nil
			// A time whose UTC year is outside 1..9999 cannot be written
			// back as RFC 3339 (nor stored by Postgres): refusing it is as
			// good as storing it, as long as nothing breaks.
			storable = at.UTC().Year() >= 1 && at.UTC().Year() <= 9999
		}
		want := firstOf(idsBad, ifBad(deliveredOK, "INVALID_DELIVERED"), ifBad(tsOK, "INVALID_DELIVERY_TIMESTAMP"))
		if want == "" && len(ids) == 0 {
			want = "MISSING_PARTICIPANT_IDS"
		}
		if want == "" && len(ids) > 10000 {
			want = "TOO_MANY_PARTICIPANT_IDS"
		}
		if want != "" {
			expectError(t, status, resp, 400, want, body)
			return
		}
		if !storable && status == 400 && resp["error_code"] == "INVALID_DELIVERY_TIMESTAMP" {
			return
		}
		expectOneOf(t, status, resp, body, "")
		var got struct {
			UpdatedCount  int `json:"updated_count"`
			FailedUpdates []struct {
				ParticipantID int64 `json:"participant_id"`
			} `json:"failed_updates"`
		}
		if err := remarshal(resp, &got); err != nil {
			t.Fatal(err)
		}
		var known int
		var unknown []int64
		seen := map[int64]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if slices.Contains(a.participants, id) {
				known++
			} else {
				unknown = append(unknown, id)
			}
		}
		var failed []int64
		for _, fu := range got.FailedUpdates {
			failed = append(failed, fu.ParticipantID)
		}
		if got.UpdatedCount != known || !slices.Equal(failed, unknown) {
			t.Fatalf("update of %v: updated %d, failed %v; want %d, %v", ids, got.UpdatedCount, failed, known, unknown)
		}
		// What was stored must not break the readers of the participants.
		// Afterwards every delivery time is reset to a plain one, so that a
		// later input is judged on its own.
		defer func() {
			reset, _ := json.Marshal(map[string]any{"participant_ids": a.participants, "delivery_timestamp": "2026-01-01T00:00:00Z"})
			if _, resp, raw := a.serve("PUT", "/api/participants/update-delivery-status", reset); resp.StatusCode != http.StatusOK {
				t.Fatalf("resetting the delivery times: %d %s", resp.StatusCode, raw)
			}
		}()
		for _, g := range []int{fuzzOpen, fuzzDrawn} {
			if status, _ := a.call(t, "GET", fmt.Sprintf("/api/participants/%d?limit=100", g), nil); status != http.StatusOK {
				t.Fatalf("after the update %q, the listing of giveaway %d answers %d", body, g, status)
			}
		}
	})
}

// pathSegment puts a fuzzed value in a path as a client would send it.
func pathSegment(s string) string { return url.PathEscape(s) }

// pathID is the documented path id: a positive decimal integer.
func pathID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 1
}

// expectPathRefusal checks the answer to a path segment that is not an id:
// a 400 naming the parameter, or no route at all (a segment that is a route
// name, or ".", ".." and empty segments, which are refused as no route). A
// segment with a slash makes another path, which may be any route.
func expectPathRefusal(t *testing.T, status int, body map[string]any, code, seg string) {
	t.Helper()
	if strings.Contains(seg, "/") {
		return // the client addressed another path; call checked the answer
	}
	if status == http.StatusNotFound && body["error_code"] == "NOT_FOUND" ||
		status == http.StatusMethodNotAllowed || status == 400 && body["error_code"] == code {
		return
	}
	t.Fatalf("path segment %q answered %d %v, want 400 %s", seg, status, body["error_code"], code)
}

// verifyDraw checks a draw record from an answer against the giveaway's
// published entrant list.
func (a *fuzzAPI) verifyDraw(t *testing.T, giveawayID int64, resp map[string]any) draw.Record {
	t.Helper()
	var got struct {
		Draw draw.Record `json:"draw"`
	}
	if err := remarshal(resp, &got); err != nil {
		t.Fatalf("the draw record does not decode: %v", err)
	}
	_, r, raw := a.serve("GET", fmt.Sprintf("/api/participants/%d/draw/entrants", giveawayID), nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("entrants of drawn giveaway %d: %d %s", giveawayID, r.StatusCode, raw)
	}
	entrants := []int64{}
	for _, line := range strings.Fields(string(raw)) {
		id, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			t.Fatalf("entrant list line %q", line)
		}
		entrants = append(entrants, id)
	}
	if err := draw.Verify(got.Draw, draw.VerifyOptions{Entrants: entrants}); err != nil {
		t.Fatalf("the draw of giveaway %d does not verify: %v", giveawayID, err)
	}
	return got.Draw
}

// FuzzSelectWinners: POST /{giveaway_id}/select-winners (or the legacy
// path) with a fuzzed id and body. Every draw it answers verifies against
// the entrant list, with the winner count and beacon asked for.
func FuzzSelectWinners(f *testing.F) {
	a := newFuzzAPI(f)
	f.Add("7", []byte(`{"winner_count": 2, "beacon": "00ff"}`), false)
	f.Add(strconv.Itoa(fuzzOpen), []byte(``), true)
	f.Fuzz(func(t *testing.T, seg string, body []byte, legacy bool) {
		path := "/api/participants/" + pathSegment(seg) + "/select-winners"
		if legacy {
			path = "/api/participants/select-winners/" + pathSegment(seg)
		}
		status, resp := a.call(t, "POST", path, body)
		gid, ok := pathID(seg)
		if !ok {
			expectPathRefusal(t, status, resp, "INVALID_GIVEAWAY_ID", seg)
			return
		}
		m := jsonObject(body)
		if len(bytes.TrimSpace(body)) == 0 {
			m = map[string]json.RawMessage{}
		}
		if m == nil {
			expectError(t, status, resp, 400, "INVALID_JSON", body)
			return
		}
		// Types are checked before values: a count that is not a positive
		// integer (up to 2^31) or a beacon that is not a string, then a count
		// above MAX_WINNERS or a beacon that is not lowercase hex.
		wc := fieldOf(m, "winner_count")
		count, countOK := wc.integer()
		countTyped := !wc.present || countOK && count >= 1 && count <= 1<<31
		beacon, beaconTyped := fieldOf(m, "beacon").text()
		b, err := hex.DecodeString(beacon)
		beaconOK := err == nil && len(b) <= 512 && strings.ToLower(beacon) == beacon
		want := firstOf(ifBad(countTyped, "INVALID_WINNER_COUNT"), ifBad(beaconTyped, "INVALID_BEACON"))
		if want == "" {
			want = firstOf(ifBad(count <= 1000, "INVALID_WINNER_COUNT"), ifBad(beaconOK, "INVALID_BEACON"))
		}
		if want == "" && !wc.present {
			want = "MISSING_WINNER_COUNT" // no giveaway service to ask
		}
		if want != "" {
			expectError(t, status, resp, 400, want, body)
			return
		}
		expectOneOf(t, status, resp, body, "")
		rec := a.verifyDraw(t, gid, resp)
		var got struct {
			GiveawayID      int64 `json:"giveaway_id"`
			Winners         []any `json:"winners"`
			Requested       int64 `json:"winner_count_requested"`
			Selected        int   `json:"winner_count_selected"`
			Total           int64 `json:"total_participants"`
			AlreadySelected bool  `json:"already_selected"`
		}
		if err := remarshal(resp, &got); err != nil {
			t.Fatal(err)
		}
		if got.GiveawayID != gid || rec.GiveawayID != gid || got.Selected != len(got.Winners) ||
			int64(got.Selected) != min(got.Requested, got.Total) || uint64(got.Requested) != rec.WinnerCountRequested {
			t.Fatalf("select-winners on %d: inconsistent answer %v", gid, resp)
		}
		if !got.AlreadySelected && (got.Requested != count || hex.EncodeToString(rec.Beacon) != beacon) {
			t.Fatalf("a fresh draw of %d winners with beacon %q recorded %d and %x", count, beacon, got.Requested, rec.Beacon)
		}
	})
}

// FuzzRedraw: POST /{giveaway_id}/redraw with a fuzzed id and body. A
// redraw that is answered verifies against the entrant list, with the
// reason and disqualified users given.
func FuzzRedraw(f *testing.F) {
	a := newFuzzAPI(f)
	f.Add(strconv.Itoa(fuzzDrawn), []byte(`{"disqualified_user_ids": [1, 2, 3], "reason": "left the channel"}`))
	f.Add(strconv.Itoa(fuzzOpen), []byte(`{"disqualified_user_ids": [1], "reason": "x"}`))
	f.Fuzz(func(t *testing.T, seg string, body []byte) {
		status, resp := a.call(t, "POST", "/api/participants/"+pathSegment(seg)+"/redraw", body)
		gid, ok := pathID(seg)
		if !ok {
			expectPathRefusal(t, status, resp, "INVALID_GIVEAWAY_ID", seg)
			return
		}
		m := bodyObject(t, status, resp, body)
		if m == nil {
			return
		}
		if _, perUser := m["disqualified"]; perUser {
			// The v2 form, a reason per user ({user_id, reason} objects),
			// alone or besides the list: refused as a bad list or reason,
			// or answered as a redraw would be.
			expectOneOf(t, status, resp, body, "", "DRAW_NOT_COMPLETED", "NOT_A_WINNER",
				"INVALID_DISQUALIFIED_USER_IDS", "MISSING_DISQUALIFIED_USER_IDS", "INVALID_REASON", "MISSING_REASON")
			return
		}
		dq, dqBad := fieldOf(m, "disqualified_user_ids").requiredIDs("DISQUALIFIED_USER_IDS")
		reason, reasonOK := fieldOf(m, "reason").text()
		want := firstOf(dqBad, ifBad(reasonOK, "INVALID_REASON"))
		if want == "" {
			// The documented rules: 1..1000 users, a reason of 1..500
			// characters without control characters.
			switch {
			case len(dq) == 0:
				want = "MISSING_DISQUALIFIED_USER_IDS"
			case len(dq) > 1000:
				want = "INVALID_DISQUALIFIED_USER_IDS"
			case !validName(reason, 500):
				want = "INVALID_REASON"
			case strings.TrimFunc(reason, unicode.IsSpace) == "":
				want = "MISSING_REASON"
			}
		}
		if want != "" {
			expectError(t, status, resp, 400, want, body)
			return
		}
		expectOneOf(t, status, resp, body, "", "DRAW_NOT_COMPLETED", "NOT_A_WINNER")
		if status != http.StatusOK {
			return
		}
		a.verifyDraw(t, gid, resp)
		var got struct {
			Disqualified   []int64 `json:"disqualified_user_ids"`
			Reason         string  `json:"reason"`
			AlreadyApplied bool    `json:"already_applied"`
		}
		if err := remarshal(resp, &got); err != nil {
			t.Fatal(err)
		}
		wantDQ := slices.Compact(slices.Sorted(slices.Values(dq)))
		if !slices.Equal(got.Disqualified, wantDQ) || !got.AlreadyApplied && got.Reason != strings.TrimSpace(reason) {
			t.Fatalf("redraw of %v for %q answered %v for %q", wantDQ, reason, got.Disqualified, got.Reason)
		}
	})
}

// FuzzListParticipants: GET /{giveaway_id} (or /list/{giveaway_id}) with a
// fuzzed id, page and limit. The page answered is exactly the slice of
// the giveaway's participants that page and limit describe.
func FuzzListParticipants(f *testing.F) {
	a := newFuzzAPI(f)
	f.Add(strconv.Itoa(fuzzDrawn), "2", "7", false)
	f.Add(strconv.Itoa(fuzzOpen), "", "0", true)
	f.Fuzz(func(t *testing.T, seg, page, limit string, legacy bool) {
		q := url.Values{}
		if page != "" {
			q.Set("page", page)
		}
		if limit != "" {
			q.Set("limit", limit)
		}
		path := "/api/participants/" + pathSegment(seg)
		if legacy {
			path = "/api/participants/list/" + pathSegment(seg)
		}
		status, resp := a.call(t, "GET", path+"?"+q.Encode(), nil)
		gid, ok := pathID(seg)
		if !ok {
			expectPathRefusal(t, status, resp, "INVALID_GIVEAWAY_ID", seg)
			return
		}
		p, l := 1, 50
		var pageErr, limitErr error
		if page != "" {
			p, pageErr = strconv.Atoi(page)
		}
		if limit != "" {
			l, limitErr = strconv.Atoi(limit)
		}
		want := firstOf(ifBad(pageErr == nil && p >= 1, "INVALID_PAGE"), ifBad(limitErr == nil && l >= 0, "INVALID_LIMIT"))
		if want != "" {
			expectError(t, status, resp, 400, want, []byte(page+"&"+limit))
			return
		}
		if l == 0 {
			l = 50
		}
		l = min(l, 10000)
		// The page's first row, computed without overflow. A page whose
		// first row is beyond any int64 may be refused.
		start := new(big.Int).Mul(big.NewInt(int64(p-1)), big.NewInt(int64(l)))
		if !start.IsInt64() && status == 400 && resp["error_code"] == "INVALID_PAGE" {
			return
		}
		expectOneOf(t, status, resp, nil, "")
		var got struct {
			Participants []struct {
				ID         int64 `json:"id"`
				GiveawayID int64 `json:"giveaway_id"`
			} `json:"participants"`
			Stats      struct{ Total int64 }                     `json:"stats"`
			Pagination struct{ Page, Limit, Total, Pages int64 } `json:"pagination"`
		}
		if err := remarshal(resp, &got); err != nil {
			t.Fatal(err)
		}
		total := got.Stats.Total
		wantRows := int64(0)
		if start.Cmp(big.NewInt(total)) < 0 {
			wantRows = min(int64(l), total-start.Int64())
		}
		if got.Pagination.Page != int64(p) || got.Pagination.Limit != int64(l) || got.Pagination.Total != total ||
			got.Pagination.Pages != (total+int64(l)-1)/int64(l) || int64(len(got.Participants)) != wantRows {
			t.Fatalf("page %q limit %q of giveaway %d (%d participants): pagination %+v with %d rows, want page %d limit %d and %d rows",
				page, limit, gid, total, got.Pagination, len(got.Participants), p, l, wantRows)
		}
		for i, pt := range got.Participants {
			if pt.GiveawayID != gid || i > 0 && pt.ID <= got.Participants[i-1].ID {
				t.Fatalf("participants out of order or of another giveaway: %v", got.Participants)
			}
		}
	})
}

// getRoutes are the remaining routes with path parameters, filled in with
// two fuzzed segments and a fuzzed query value.
var getRoutes = []struct {
	method, path string // %[1]s, %[2]s: segments; %[3]s: the query value
	check        func(t *testing.T, seg1, seg2, query string, status int, body map[string]any)
}{
	{"GET", "/api/participants/captcha-status/%[1]s", checkIDs("user_id")},
	{"GET", "/api/participants/winner-status/%[1]s/%[2]s", checkIDs("user_id", "giveaway_id")},
	{"GET", "/api/participants/history/%[1]s?limit=%[3]s", checkHistory},
	{"GET", "/api/participants/%[1]s/count", checkIDs("giveaway_id")},
	{"GET", "/api/participants/%[1]s/stats", checkIDs("giveaway_id")},
	{"GET", "/api/participants/%[1]s/winners", checkIDs("giveaway_id")},
	{"GET", "/api/participants/%[1]s/export?format=%[3]s", checkExport},
	{"GET", "/api/participants/%[1]s/draw", checkIDs("giveaway_id")},
	{"GET", "/api/participants/%[1]s/draw/proof/%[2]s", checkIDs("giveaway_id", "user_id")},
	{"GET", "/api/participants/%[1]s/draw/entrants", checkIDs("giveaway_id")},
	{"GET", "/api/participants/%[1]s/draw/winner-proofs", checkIDs("giveaway_id")},
	{"POST", "/api/participants/%[1]s/draw/commit", checkIDs("giveaway_id")},
}

// checkIDs holds the answer to path segments against the id rule: a
// segment that is not an id is refused naming its parameter, and a
// success was for ids.
func checkIDs(names ...string) func(t *testing.T, seg1, seg2, query string, status int, body map[string]any) {
	return func(t *testing.T, seg1, seg2, _ string, status int, body map[string]any) {
		t.Helper()
		for i, seg := range []string{seg1, seg2}[:len(names)] {
			if _, ok := pathID(seg); !ok {
				expectPathRefusal(t, status, body, "INVALID_"+strings.ToUpper(names[i]), seg)
				return
			}
		}
		if status >= 400 {
			expectOneOf(t, status, body, nil, "DRAW_NOT_FOUND", "DRAW_NOT_COMPLETED", "PARTICIPANT_NOT_FOUND")
		}
	}
}

func checkHistory(t *testing.T, seg1, seg2, query string, status int, body map[string]any) {
	t.Helper()
	if _, ok := pathID(seg1); !ok {
		expectPathRefusal(t, status, body, "INVALID_USER_ID", seg1)
		return
	}
	// limit: absent or 0 is the default of 10, otherwise 1..100.
	n, err := strconv.Atoi(query)
	if query != "" && (err != nil || n < 0 || n > 100) {
		expectError(t, status, body, 400, "INVALID_LIMIT", []byte(query))
		return
	}
	expectOneOf(t, status, body, nil, "")
	if n == 0 {
		n = 10
	}
	if got, _ := body["recent_participations"].([]any); len(got) > n {
		t.Fatalf("history with limit %q answered %d participations, want at most %d", query, len(got), n)
	}
}

func checkExport(t *testing.T, seg1, seg2, query string, status int, body map[string]any) {
	t.Helper()
	if _, ok := pathID(seg1); !ok {
		expectPathRefusal(t, status, body, "INVALID_GIVEAWAY_ID", seg1)
		return
	}
	if query != "" && query != "ndjson" && query != "csv" {
		expectError(t, status, body, 400, "INVALID_FORMAT", []byte(query))
		return
	}
	expectOneOf(t, status, body, nil, "")
}

// FuzzPathParameters: every other route with path parameters, with
// fuzzed segments and query value.
func FuzzPathParameters(f *testing.F) {
	a := newFuzzAPI(f)
	f.Add(uint8(1), "7", strconv.Itoa(fuzzDrawn), "")
	f.Add(uint8(8), strconv.Itoa(fuzzDrawn), "1", "")
	f.Add(uint8(2), "3", "", "100")
	f.Add(uint8(6), strconv.Itoa(fuzzOpen), "", "csv")
	f.Fuzz(func(t *testing.T, route uint8, seg1, seg2, query string) {
		r := getRoutes[int(route)%len(getRoutes)]
		path := fmt.Sprintf(r.path, pathSegment(seg1), pathSegment(seg2), url.QueryEscape(query))
		status, body := a.call(t, r.method, path, nil)
		r.check(t, seg1, seg2, query, status, body)
	})
}
