package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/telegive/participant-service/internal/httpapi"
)

var (
	specOnce      sync.Once
	specValidator validator.Validator
	specErr       error
)

// openAPIValidator builds the validator of the embedded description once.
func openAPIValidator(t *testing.T) validator.Validator {
	t.Helper()
	specOnce.Do(func() {
		doc, err := libopenapi.NewDocument(httpapi.OpenAPI())
		if err != nil {
			specErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			specErr = fmt.Errorf("%v", errs)
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			var msgs []string
			for _, e := range verrs {
				msgs = append(msgs, e.Message+": "+e.Reason)
			}
			specErr = fmt.Errorf("the OpenAPI document is invalid: %s", strings.Join(msgs, "; "))
			return
		}
		specValidator = v
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specValidator
}

// checkAgainstSpec fails the test when a response is not what the OpenAPI
// description says. Every request the HTTP tests make passes through here,
// so the description cannot drift from the code.
func checkAgainstSpec(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	if v := specViolations(t, req, resp, body); len(v) > 0 {
		t.Errorf("%s %s answered %d, which the OpenAPI description does not allow:\n  %s\n  body: %.400s",
			req.Method, req.URL.Path, resp.StatusCode, strings.Join(v, "\n  "), body)
	}
}

// specViolations lists how a response breaks the description.
func specViolations(t *testing.T, req *http.Request, resp *http.Response, body []byte) []string {
	t.Helper()
	if req.Method == http.MethodOptions || resp.StatusCode == http.StatusNotFound && bytes.Contains(body, []byte(`"NOT_FOUND"`)) ||
		resp.StatusCode == http.StatusMethodNotAllowed {
		return nil // not an operation of the API
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := openAPIValidator(t).ValidateHttpResponse(req, resp)
	if ok {
		return nil
	}
	var msgs []string
	for _, e := range errs {
		msg := e.Message + ": " + e.Reason
		for _, se := range e.SchemaValidationErrors {
			msg += " [" + se.FieldPath + ": " + se.Reason + "]"
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

// TestSpecCatchesDrift: the validation is strict enough to notice a
// missing field, an extra field, a wrong type and an undocumented error
// shape.
func TestSpecCatchesDrift(t *testing.T) {
	req := httptest.NewRequest("POST", "/api/participants/register", strings.NewReader(`{"giveaway_id": 1, "user_id": 2}`))
	req.Header.Set("Content-Type", "application/json")
	for name, c := range map[string]struct {
		status int
		body   string
	}{
		"missing participant_id": {201, `{"success": true, "requires_captcha": false, "participation_confirmed": true, "message": "ok"}`},
		"extra field":            {201, `{"success": true, "requires_captcha": false, "participation_confirmed": true, "participant_id": 1, "message": "ok", "debug": 1}`},
		"wrong type":             {201, `{"success": true, "requires_captcha": false, "participation_confirmed": true, "participant_id": "1", "message": "ok"}`},
		"error without a code":   {409, `{"success": false, "error": "duplicate"}`},
	} {
		resp := &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {"application/json"}}}
		if v := specViolations(t, req, resp, []byte(c.body)); len(v) == 0 {
			t.Errorf("%s: the validator accepted %s", name, c.body)
		}
	}
	good := &http.Response{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}}}
	if v := specViolations(t, req, good, []byte(`{"success": true, "requires_captcha": false, "participation_confirmed": true, "participant_id": 1, "message": "ok"}`)); len(v) > 0 {
		t.Errorf("a correct answer was refused: %v", v)
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	h := newHarness(t, "sqlite")
	r := h.do("GET", "/openapi.json", nil)
	if r.status != http.StatusOK || r.body["openapi"] != "3.1.0" || r.body["paths"] == nil {
		t.Fatalf("openapi.json: %.300s", r.raw)
	}
}
