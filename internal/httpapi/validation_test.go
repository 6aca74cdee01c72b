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
