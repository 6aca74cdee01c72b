package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"sigs.k8s.io/yaml"

	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/draw"
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

// TestRequestTypesMatchTheDocument: every field a Go caller can send with
// the request types of pkg/api is one the description names, each required
// one is among them, and a request that sets every field is valid. The
// handlers read bodies field by field, so nothing else ties the types to
// the names the service reads.
func TestRequestTypesMatchTheDocument(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	at := func(m any, keys ...string) map[string]any {
		for _, k := range keys {
			m, _ = m.(map[string]any)[k]
		}
		out, _ := m.(map[string]any)
		return out
	}
	sent := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		method, template, path string
		body                   any
	}{
		{"POST", "/api/participants/register", "/api/participants/register",
			api.RegisterRequest{GiveawayID: 1, UserID: 2, Username: "user_name", FirstName: "First", LastName: "Last",
				IsPremium: new(bool), ReferrerUserID: 3}},
		{"POST", "/api/participants/validate-captcha", "/api/participants/validate-captcha",
			api.ValidateCaptchaRequest{GiveawayID: 1, UserID: 2, Answer: 3, SessionID: "session"}},
		{"POST", "/api/participants/verify-subscription", "/api/participants/verify-subscription",
			api.VerifySubscriptionRequest{AccountID: 1, UserID: 2}},
		{"PUT", "/api/participants/update-delivery-status", "/api/participants/update-delivery-status",
			api.UpdateDeliveryRequest{ParticipantIDs: []int64{1}, Delivered: true, DeliveryTimestamp: &sent}},
		{"POST", "/api/participants/{giveaway_id}/select-winners", "/api/participants/1/select-winners",
			api.SelectWinnersRequest{WinnerCount: 3, Beacon: "ab"}},
		{"POST", "/api/participants/{giveaway_id}/redraw", "/api/participants/1/redraw",
			api.RedrawRequest{DisqualifiedUserIDs: []int64{2}, Reason: "left the channel",
				Disqualified: []draw.Disqualification{{UserID: 3, Reason: draw.ReasonFraud}}}},
	} {
		name := reflect.TypeOf(c.body).Name()
		v := reflect.ValueOf(c.body)
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				t.Fatalf("%s: the case leaves %s unset, so its name goes unchecked", name, v.Type().Field(i).Name)
			}
		}
		reqBody := at(doc, "paths", c.template, strings.ToLower(c.method), "requestBody")
		if ref, ok := reqBody["$ref"].(string); ok {
			reqBody = at(doc, "components", "requestBodies", strings.TrimPrefix(ref, "#/components/requestBodies/"))
		}
		schema := at(reqBody, "content", "application/json", "schema")
		if schema == nil {
			t.Fatalf("%s: the description has no JSON body for %s %s", name, c.method, c.template)
		}
		data, err := json.Marshal(c.body)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		if err := json.Unmarshal(data, &fields); err != nil {
			t.Fatal(err)
		}
		properties := at(schema, "properties")
		for f := range fields {
			if _, ok := properties[f]; !ok {
				t.Errorf("%s sends %q, which %s %s does not take", name, f, c.method, c.template)
			}
		}
		required, _ := schema["required"].([]any)
		for _, f := range required {
			if _, ok := fields[f.(string)]; !ok {
				t.Errorf("%s cannot send %q, which %s %s requires", name, f, c.method, c.template)
			}
		}
		req := httptest.NewRequest(c.method, c.path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Service-Token", "token")
		if ok, errs := openAPIValidator(t).ValidateHttpRequest(req); !ok {
			for _, e := range errs {
				t.Errorf("%s: %s is refused: %s: %s", name, data, e.Message, e.Reason)
			}
		}
	}
}
