package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestRequestValidation: every malformed input is a 400 with a
// field-specific code, never a 500.
func TestRequestValidation(t *testing.T) {
	h := newHarness(t, "sqlite")
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"malformed json", "POST", "/api/participants/register", `{"giveaway_id": 1,`, 400, "INVALID_JSON"},
		{"array body", "POST", "/api/participants/register", `[1,2]`, 400, "INVALID_JSON"},
		{"null body", "POST", "/api/participants/register", `null`, 400, "INVALID_JSON"},
		{"empty body", "POST", "/api/participants/register", ``, 400, "INVALID_JSON"},
		{"missing user", "POST", "/api/participants/register", `{"giveaway_id": 1}`, 400, "MISSING_USER_ID"},
		{"missing giveaway", "POST", "/api/participants/register", `{"user_id": 1}`, 400, "MISSING_GIVEAWAY_ID"},
		{"null user", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": null}`, 400, "MISSING_USER_ID"},
		{"float user", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 1.0}`, 400, "INVALID_USER_ID"},
		{"exponent user", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 1e3}`, 400, "INVALID_USER_ID"},
		{"string user", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": "5"}`, 400, "INVALID_USER_ID"},
		{"negative user", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": -5}`, 400, "INVALID_USER_ID"},
		{"zero user", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 0}`, 400, "INVALID_USER_ID"},
		{"huge user", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 9223372036854775808}`, 400, "INVALID_USER_ID"},
		{"zero giveaway", "POST", "/api/participants/register", `{"giveaway_id": 0, "user_id": 5}`, 400, "INVALID_GIVEAWAY_ID"},
		{"bool giveaway", "POST", "/api/participants/register", `{"giveaway_id": true, "user_id": 5}`, 400, "INVALID_GIVEAWAY_ID"},
		{"short username", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 5, "username": "@abc"}`, 400, "INVALID_USERNAME"},
		{"username with space", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 5, "username": "a b c d e"}`, 400, "INVALID_USERNAME"},
		{"numeric username", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 5, "username": 12345}`, 400, "INVALID_USERNAME"},
		{"long first name", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 5, "first_name": "` + strings.Repeat("é", 101) + `"}`, 400, "INVALID_FIRST_NAME"},
		{"nul in last name", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 5, "last_name": "a\u0000b"}`, 400, "INVALID_LAST_NAME"},
		{"validate float giveaway", "POST", "/api/participants/validate-captcha", `{"giveaway_id": 2.5, "user_id": 5, "answer": 3}`, 400, "INVALID_GIVEAWAY_ID"},
		{"validate missing answer", "POST", "/api/participants/validate-captcha", `{"giveaway_id": 2, "user_id": 5}`, 400, "INVALID_ANSWER_FORMAT"},
		{"verify missing account", "POST", "/api/participants/verify-subscription", `{"user_id": 5}`, 400, "MISSING_ACCOUNT_ID"},
		{"verify string account", "POST", "/api/participants/verify-subscription", `{"user_id": 5, "account_id": "1"}`, 400, "INVALID_ACCOUNT_ID"},
		{"delivery empty", "PUT", "/api/participants/update-delivery-status", `{"participant_ids": []}`, 400, "MISSING_PARTICIPANT_IDS"},
		{"delivery missing", "PUT", "/api/participants/update-delivery-status", `{}`, 400, "MISSING_PARTICIPANT_IDS"},
		{"delivery strings", "PUT", "/api/participants/update-delivery-status", `{"participant_ids": ["1"]}`, 400, "INVALID_PARTICIPANT_IDS"},
		{"delivery not a list", "PUT", "/api/participants/update-delivery-status", `{"participant_ids": 5}`, 400, "INVALID_PARTICIPANT_IDS"},
		{"delivery bad time", "PUT", "/api/participants/update-delivery-status", `{"participant_ids": [1], "delivery_timestamp": "yesterday"}`, 400, "INVALID_DELIVERY_TIMESTAMP"},
		{"delivery bad flag", "PUT", "/api/participants/update-delivery-status", `{"participant_ids": [1], "delivered": "yes"}`, 400, "INVALID_DELIVERED"},
		{"delivery too many", "PUT", "/api/participants/update-delivery-status", `{"participant_ids": [` + strings.Repeat("1,", 10000) + `1]}`, 400, "TOO_MANY_PARTICIPANT_IDS"},
		{"select float count", "POST", "/api/participants/1/select-winners", `{"winner_count": 2.5}`, 400, "INVALID_WINNER_COUNT"},
		{"select negative count", "POST", "/api/participants/1/select-winners", `{"winner_count": -1}`, 400, "INVALID_WINNER_COUNT"},
		{"path user not a number", "GET", "/api/participants/captcha-status/abc", nil, 400, "INVALID_USER_ID"},
		{"path user zero", "GET", "/api/participants/captcha-status/0", nil, 400, "INVALID_USER_ID"},
		{"path user negative", "GET", "/api/participants/history/-4", nil, 400, "INVALID_USER_ID"},
		{"path giveaway float", "GET", "/api/participants/winner-status/5/1.5", nil, 400, "INVALID_GIVEAWAY_ID"},
		{"list bad page", "GET", "/api/participants/1?page=0", nil, 400, "INVALID_PAGE"},
		{"list text page", "GET", "/api/participants/1?page=two", nil, 400, "INVALID_PAGE"},
		{"list negative limit", "GET", "/api/participants/1?limit=-1", nil, 400, "INVALID_LIMIT"},
		{"list giveaway text", "GET", "/api/participants/abc", nil, 400, "INVALID_GIVEAWAY_ID"},
		{"history big limit", "GET", "/api/participants/history/5?limit=1000", nil, 400, "INVALID_LIMIT"},
		{"proof bad user", "GET", "/api/participants/1/draw/proof/x", nil, 400, "INVALID_USER_ID"},
		{"redraw bad ids", "POST", "/api/participants/1/redraw", `{"disqualified_user_ids": [0], "reason": "x"}`, 400, "INVALID_DISQUALIFIED_USER_IDS"},
		{"unknown route", "GET", "/api/participants/1/nothing", nil, 404, "NOT_FOUND"},
		{"unknown top route", "GET", "/nope", nil, 404, "NOT_FOUND"},
		{"wrong method on register", "GET", "/api/participants/register", nil, 405, "METHOD_NOT_ALLOWED"},
		{"wrong method on select", "GET", "/api/participants/1/select-winners", nil, 405, "METHOD_NOT_ALLOWED"},
		{"wrong method on list", "DELETE", "/api/participants/1", nil, 405, "METHOD_NOT_ALLOWED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do(c.method, c.path, c.body).expect(t, c.status, c.code)
			if c.status == 400 && c.code != "INVALID_JSON" && c.code != "INVALID_ANSWER_FORMAT" {
				fe, ok := r.body["validation_errors"].([]any)
				if !ok || len(fe) == 0 || fe[0].(map[string]any)["error_code"] != c.code {
					t.Fatalf("validation_errors missing or wrong: %s", r.raw)
				}
			}
		})
	}
}

// TestUnknownFieldsAreIgnored keeps old callers that send extra fields
// working.
func TestUnknownFieldsAreIgnored(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.do("POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": 5, "language": "en", "x": {"y": [1]}}`).
		expect(t, http.StatusOK, "")
}

// TestBodyLimit refuses an oversized body with 413, whether or not it
// declares its length.
func TestBodyLimit(t *testing.T) {
	h := newHarness(t, "sqlite")
	big := `{"giveaway_id": 1, "user_id": 5, "first_name": "` + strings.Repeat("a", 2<<20) + `"}`
	h.do("POST", "/api/participants/register", big).expect(t, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")

	req, _ := http.NewRequest("POST", h.url+"/api/participants/register", &chunked{s: big})
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized body: %d", resp.StatusCode)
	}
}

// chunked hides its length so the request is sent chunked.
type chunked struct {
	s   string
	off int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.off >= len(c.s) {
		return 0, errEOF
	}
	n := copy(p, c.s[c.off:])
	c.off += n
	return n, nil
}

var errEOF = io.EOF

// TestOneLimitRule: limit means the same on every endpoint that takes it:
// absent or 0 is the endpoint's default (50 for the listing, which the
// giveaway service calls with limit=0 for an empty giveaway; 10 for
// history), and a negative or non-integer limit is 400 INVALID_LIMIT with a
// message that says so.
func TestOneLimitRule(t *testing.T) {
	h := newHarness(t, "sqlite")
	for g := int64(1); g <= 12; g++ {
		h.join(g, 5)
	}
	for _, path := range []string{"/api/participants/history/5", "/api/participants/history/5?limit=0", "/api/participants/history/5?limit="} {
		r := h.do("GET", path, nil).expect(t, http.StatusOK, "")
		if got := len(r.body["recent_participations"].([]any)); got != 10 {
			t.Errorf("GET %s: %d participations, want the default of 10", path, got)
		}
	}
	if r := h.do("GET", "/api/participants/history/5?limit=12", nil).expect(t, http.StatusOK, ""); len(r.body["recent_participations"].([]any)) != 12 {
		t.Errorf("history?limit=12: %s", r.raw)
	}
	for _, path := range []string{"/api/participants/1?limit=0", "/api/participants/1", "/api/participants/99?page=1&limit=0"} {
		r := h.do("GET", path, nil).expect(t, http.StatusOK, "")
		if lim := r.body["pagination"].(map[string]any)["limit"]; lim != float64(50) {
			t.Errorf("GET %s: pagination.limit = %v, want the default of 50", path, lim)
		}
	}
	for _, c := range []struct{ path, says string }{
		{"/api/participants/history/5?limit=-1", "0 means 10"},
		{"/api/participants/history/5?limit=ten", "0 means 10"},
		{"/api/participants/history/5?limit=101", "0 means 10"},
		{"/api/participants/1?limit=-1", "0 means 50"},
		{"/api/participants/1?limit=fifty", "0 means 50"},
	} {
		r := h.do("GET", c.path, nil).expect(t, http.StatusBadRequest, "INVALID_LIMIT")
		if fe := r.body["validation_errors"].([]any)[0].(map[string]any); !strings.Contains(fe["error"].(string), c.says) {
			t.Errorf("GET %s says %q, want it to say %q", c.path, fe["error"], c.says)
		}
	}
}

// TestOutOfRangeNumbers: an integer too large for its field is refused
// with the field's code and a message that says it is out of range, not
// that it is not a positive integer.
func TestOutOfRangeNumbers(t *testing.T) {
	h := newHarness(t, "sqlite")
	const huge = "12345678901234567890123"
	for _, c := range []struct {
		name, method, path string
		body               any
		code, says         string
	}{
		{"path user", "GET", "/api/participants/captcha-status/" + huge, nil, "INVALID_USER_ID", "out of range 1..9223372036854775807"},
		{"path user just over", "GET", "/api/participants/history/9223372036854775808", nil, "INVALID_USER_ID", "out of range 1..9223372036854775807"},
		{"path giveaway", "GET", "/api/participants/winner-status/5/" + huge, nil, "INVALID_GIVEAWAY_ID", "out of range 1..9223372036854775807"},
		{"path giveaway list", "GET", "/api/participants/" + huge, nil, "INVALID_GIVEAWAY_ID", "out of range 1..9223372036854775807"},
		{"body user", "POST", "/api/participants/register", `{"giveaway_id": 1, "user_id": ` + huge + `}`, "INVALID_USER_ID", "out of range 1..9223372036854775807"},
		{"body account", "POST", "/api/participants/verify-subscription", `{"user_id": 1, "account_id": ` + huge + `}`, "INVALID_ACCOUNT_ID", "out of range 1..9223372036854775807"},
		{"body id list", "PUT", "/api/participants/update-delivery-status", `{"participant_ids": [1, ` + huge + `]}`, "INVALID_PARTICIPANT_IDS", "out of range 1..9223372036854775807"},
		{"query page", "GET", "/api/participants/1?page=" + huge, nil, "INVALID_PAGE", "out of range"},
		{"query limit", "GET", "/api/participants/1?limit=" + huge, nil, "INVALID_LIMIT", "out of range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do(c.method, c.path, c.body).expect(t, http.StatusBadRequest, c.code)
			fe := r.body["validation_errors"].([]any)[0].(map[string]any)
			msg, _ := fe["error"].(string)
			if !strings.Contains(msg, c.says) || strings.HasPrefix(c.says, "out of range 1..") && strings.Contains(msg, "positive integer") {
				t.Errorf("%s %s says %q, want it to say %q", c.method, c.path, msg, c.says)
			}
		})
	}
	// A negative or zero id is still "not a positive integer".
	r := h.do("GET", "/api/participants/captcha-status/-5", nil).expect(t, http.StatusBadRequest, "INVALID_USER_ID")
	if fe := r.body["validation_errors"].([]any)[0].(map[string]any); !strings.Contains(fe["error"].(string), "positive integer") {
		t.Errorf("a negative id says %q", fe["error"])
	}
}
