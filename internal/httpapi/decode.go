package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/draw"
)

// body is a decoded JSON object whose fields are type-checked one by one,
// so that each bad field gets its own code instead of one opaque decoding
// error. Unknown fields are ignored.
type body struct {
	raw map[string]json.RawMessage
	v   participant.Validation
}

// errPayloadTooLarge is the domain form of http.MaxBytesError.
var errPayloadTooLarge = &participant.Error{Code: codePayloadTooLarge, Message: "The request body is too large."}

// decodeBody reads a JSON object. An empty body is an empty object when
// emptyOK, and INVALID_JSON otherwise.
func decodeBody(r *http.Request, emptyOK bool) (*body, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errPayloadTooLarge
		}
		return nil, participant.Errorf(participant.CodeInvalidJSON, "The request body could not be read.")
	}
	b := &body{raw: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(data)) == 0 && emptyOK {
		return b, nil
	}
	if err := json.Unmarshal(data, &b.raw); err != nil || b.raw == nil {
		return nil, participant.Errorf(participant.CodeInvalidJSON, "The request body must be a JSON object.")
	}
	return b, nil
}

func fieldCode(prefix, field string) participant.Code {
	return participant.Code(prefix + strings.ToUpper(field))
}

// present reports whether the field is given and not null.
func (b *body) present(field string) bool {
	raw, ok := b.raw[field]
	return ok && string(bytes.TrimSpace(raw)) != "null"
}

// id reads a positive int64 given as a JSON integer. Strings, floats,
// zero and negatives are refused with INVALID_<FIELD>; a missing required
// field is MISSING_<FIELD>.
func (b *body) id(field string, required bool) int64 {
	if !b.present(field) {
		if required {
			b.v.Add(field, fieldCode("MISSING_", field), "%s is required", field)
		}
		return 0
	}
	n, ok := parseJSONInt(b.raw[field])
	if !ok || n < 1 {
		msg := field + " must be a positive integer"
		if jsonIntTooLarge(b.raw[field]) {
			msg = participant.IDOutOfRange(field)
		}
		b.v.Add(field, fieldCode("INVALID_", field), "%s", msg)
		return 0
	}
	return n
}

// count reads a non-negative JSON integer; absent is 0.
func (b *body) count(field string) int {
	if !b.present(field) {
		return 0
	}
	n, ok := parseJSONInt(b.raw[field])
	if !ok || n < 1 || n > 1<<31 {
		b.v.Add(field, fieldCode("INVALID_", field), "%s must be a positive integer", field)
		return -1
	}
	return int(n)
}

// parseJSONInt accepts only a JSON number token without fraction or
// exponent that fits in int64.
func parseJSONInt(raw json.RawMessage) (int64, bool) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || strings.ContainsAny(s, ".eE\"") {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// jsonIntTooLarge reports whether raw is a JSON integer token beyond the
// range of an int64.
func jsonIntTooLarge(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	if s == "" || strings.ContainsAny(s, ".eE\"") {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return errors.Is(err, strconv.ErrRange)
}

// str reads an optional string; null and absent are "".
func (b *body) str(field string) string {
	if !b.present(field) {
		return ""
	}
	var s string
	if err := json.Unmarshal(b.raw[field], &s); err != nil {
		b.v.Add(field, fieldCode("INVALID_", field), "%s must be a string", field)
		return ""
	}
	return s
}

// boolean reads an optional boolean with a default.
func (b *body) boolean(field string, def bool) bool {
	if !b.present(field) {
		return def
	}
	var v bool
	if err := json.Unmarshal(b.raw[field], &v); err != nil {
		b.v.Add(field, fieldCode("INVALID_", field), "%s must be true or false", field)
		return def
	}
	return v
}

// ids reads a list of positive integers.
func (b *body) ids(field string, missing participant.Code) []int64 {
	if !b.present(field) {
		b.v.Add(field, missing, "%s must list at least one id", field)
		return nil
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b.raw[field], &raws); err != nil {
		b.v.Add(field, fieldCode("INVALID_", field), "%s must be a list of positive integers", field)
		return nil
	}
	out := make([]int64, 0, len(raws))
	for _, raw := range raws {
		n, ok := parseJSONInt(raw)
		if !ok || n < 1 {
			msg := field + " must be a list of positive integers"
			if jsonIntTooLarge(raw) {
				msg = fmt.Sprintf("%s holds an id out of range 1..%d", field, int64(participant.MaxID))
			}
			b.v.Add(field, fieldCode("INVALID_", field), "%s", msg)
			return nil
		}
		out = append(out, n)
	}
	return out
}

// disqualifications reads a list of {user_id, reason} objects, the reason
// optional; the domain checks the reasons.
func (b *body) disqualifications(field string) []draw.Disqualification {
	var raws []map[string]json.RawMessage
	if err := json.Unmarshal(b.raw[field], &raws); err != nil {
		b.v.Add(field, participant.CodeInvalidDisqualifiedUserIDs, "%s must be a list of {user_id, reason} objects", field)
		return nil
	}
	out := make([]draw.Disqualification, 0, len(raws))
	for _, raw := range raws {
		item := body{raw: raw}
		id := item.id("user_id", true)
		reason := item.str("reason")
		if item.err() != nil || raw == nil {
			b.v.Add(field, participant.CodeInvalidDisqualifiedUserIDs, "%s must be a list of {user_id, reason} objects with positive user ids and string reasons", field)
			return nil
		}
		out = append(out, draw.Disqualification{UserID: id, Reason: draw.Reason(reason)})
	}
	return out
}

// timestamp reads an optional RFC 3339 time.
func (b *body) timestamp(field string) *time.Time {
	s := b.str(field)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	// Years outside 1..9999 (in UTC, after the offset) parse but cannot be
	// stored or written back as RFC 3339.
	if err != nil || t.UTC().Year() < 1 || t.UTC().Year() > 9999 {
		b.v.Add(field, fieldCode("INVALID_", field), "%s must be an RFC 3339 time between the years 0001 and 9999, such as 2024-01-02T15:04:05Z", field)
		return nil
	}
	return &t
}

// answer reads a captcha answer: a JSON integer, or a string of digits with
// surrounding spaces. It reports false for any other shape.
func (b *body) answer(field string) (int64, bool) {
	if !b.present(field) {
		return 0, false
	}
	raw := bytes.TrimSpace(b.raw[field])
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false
		}
		return participant.ParseAnswer(s)
	}
	n, ok := parseJSONInt(raw)
	return n, ok
}

func (b *body) err() error { return b.v.Err() }

// pathID reads a positive integer path variable.
func pathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(pathVar(r, name), 10, 64)
	if err != nil || n < 1 {
		msg := name + " must be a positive integer"
		if errors.Is(err, strconv.ErrRange) {
			msg = participant.IDOutOfRange(name)
		}
		var v participant.Validation
		v.Add(name, fieldCode("INVALID_", name), "%s", msg)
		return 0, v.Err()
	}
	return n, nil
}

// queryInt reads an optional non-negative integer query parameter; absent
// or empty is def. A value that is not one is refused with rule, the
// message that tells the caller what the parameter takes.
func queryInt(r *http.Request, name string, def int, v *participant.Validation, rule string) int {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	switch {
	case errors.Is(err, strconv.ErrRange):
		v.Add(name, fieldCode("INVALID_", name), "%s is out of range; %s", name, rule)
		return def
	case err != nil || n < 0:
		v.Add(name, fieldCode("INVALID_", name), "%s", rule)
		return def
	}
	return n
}
