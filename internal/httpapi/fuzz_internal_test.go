package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/gorilla/mux"

	"github.com/telegive/participant-service/internal/participant"
)

// These fuzz targets drive the body and parameter readers directly, without
// a database, so the fuzzer explores them at full speed. fuzz_test.go sends
// the same kinds of input through the whole handler.

var (
	fuzzIntRE    = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
	fuzzAnswerRE = regexp.MustCompile(`^-?[0-9]{1,18}$`)
)

// fuzzInt is the oracle for a JSON integer: the exact token shape, no
// fraction or exponent, within int64.
func fuzzInt(raw json.RawMessage) (int64, bool) {
	s := strings.TrimSpace(string(raw))
	if !fuzzIntRE.MatchString(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// firstMessage is the message of an error's first field.
func firstMessage(err error) string {
	var e *participant.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return e.Fields[0].Message
	}
	return ""
}

// fieldErrors returns the codes a reader recorded.
func fieldErrors(b *body) []participant.Code {
	var codes []participant.Code
	var e *participant.Error
	if errors.As(b.err(), &e) {
		for _, f := range e.Fields {
			codes = append(codes, f.Code)
		}
	}
	return codes
}

// expectCodes fails unless the reader recorded exactly the given codes.
func expectCodes(t *testing.T, what string, b *body, want ...participant.Code) {
	t.Helper()
	got := fieldErrors(b)
	if len(got) != len(want) || len(want) == 1 && got[0] != want[0] {
		t.Fatalf("%s recorded %v, want %v", what, got, want)
	}
}

// FuzzBodyReaders decodes a fuzzed body and reads every field it has with
// every reader, checking each against an oracle of what docs/api.md allows.
func FuzzBodyReaders(f *testing.F) {
	for _, s := range []string{
		`{"user_id": 5, "answer": " 7 ", "ids": [1, 2], "at": "2026-01-02T03:04:05Z", "ok": true}`,
		`{"user_id": 1.0, "answer": 1e3, "ids": [0], "at": "", "ok": "yes"}`,
		`{"user_id": null, "user_id": 9223372036854775807, "answer": "-0", "ids": []}`,
		``, ` `, `null`, `[]`, `{`,
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, emptyOK bool) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(data))
		b, err := decodeBody(r, emptyOK)
		var obj map[string]json.RawMessage
		isObject := json.Unmarshal(data, &obj) == nil && obj != nil
		blank := len(bytes.TrimSpace(data)) == 0
		if err != nil {
			if isObject || emptyOK && blank || participant.ErrorCode(err) != participant.CodeInvalidJSON {
				t.Fatalf("decodeBody(%q, %v) refused it: %v", data, emptyOK, err)
			}
			return
		}
		if !isObject && !(emptyOK && blank) {
			t.Fatalf("decodeBody(%q, %v) accepted something that is not a JSON object", data, emptyOK)
		}
		for key, raw := range b.raw {
			present := strings.TrimSpace(string(raw)) != "null"
			fresh := func() *body { return &body{raw: b.raw} }
			upper := participant.Code(strings.ToUpper(key))

			// id: a JSON integer of at least 1; MISSING_ when null and
			// required.
			rd := fresh()
			n := rd.id(key, true)
			want, ok := fuzzInt(raw)
			switch {
			case !present:
				expectCodes(t, "id("+key+") of null", rd, "MISSING_"+upper)
			case ok && want >= 1:
				if n != want {
					t.Fatalf("id(%s) of %s = %d, want %d", key, raw, n, want)
				}
				expectCodes(t, "id("+key+")", rd)
			default:
				if n != 0 {
					t.Fatalf("id(%s) of %s = %d for a refused value", key, raw, n)
				}
				expectCodes(t, "id("+key+") of "+string(raw), rd, "INVALID_"+upper)
				// An integer beyond int64 is out of range, not "not a
				// positive integer".
				tooLarge := fuzzIntRE.MatchString(strings.TrimSpace(string(raw))) && !ok
				if msg := firstMessage(rd.err()); tooLarge != strings.Contains(msg, "out of range 1..9223372036854775807") {
					t.Fatalf("id(%s) of %s says %q", key, raw, msg)
				}
			}

			// count: 1..2^31, absent 0, refused -1.
			rd = fresh()
			c := rd.count(key)
			switch {
			case !present:
				if c != 0 {
					t.Fatalf("count(%s) of null = %d", key, c)
				}
			case ok && want >= 1 && want <= 1<<31:
				if int64(c) != want {
					t.Fatalf("count(%s) of %s = %d", key, raw, c)
				}
			default:
				if c != -1 {
					t.Fatalf("count(%s) of %s = %d, want -1", key, raw, c)
				}
				expectCodes(t, "count("+key+")", rd, "INVALID_"+upper)
			}

			// str: a JSON string; null is "".
			rd = fresh()
			s := rd.str(key)
			var ws string
			isString := json.Unmarshal(raw, &ws) == nil
			if !present {
				ws, isString = "", true
			}
			if s != ws || !isString != (len(fieldErrors(rd)) == 1) {
				t.Fatalf("str(%s) of %s = %q with %v, want %q (string: %v)", key, raw, s, fieldErrors(rd), ws, isString)
			}

			// boolean: the literals true and false only.
			rd = fresh()
			v := rd.boolean(key, true)
			lit := strings.TrimSpace(string(raw))
			if present && lit != "true" && lit != "false" {
				expectCodes(t, "boolean("+key+")", rd, "INVALID_"+upper)
			} else if v != (lit != "false") {
				t.Fatalf("boolean(%s) of %s = %v", key, raw, v)
			}

			// ids: an array of JSON integers of at least 1.
			rd = fresh()
			ids := rd.ids(key, "MISSING_X")
			var elems []json.RawMessage
			allIDs := json.Unmarshal(raw, &elems) == nil
			for _, e := range elems {
				if n, ok := fuzzInt(e); !ok || n < 1 {
					allIDs = false
				}
			}
			switch {
			case !present:
				expectCodes(t, "ids("+key+") of null", rd, "MISSING_X")
			case allIDs:
				if len(ids) != len(elems) {
					t.Fatalf("ids(%s) of %s = %v", key, raw, ids)
				}
				for i, e := range elems {
					if n, _ := fuzzInt(e); ids[i] != n {
						t.Fatalf("ids(%s) of %s = %v", key, raw, ids)
					}
				}
			default:
				expectCodes(t, "ids("+key+") of "+string(raw), rd, "INVALID_"+upper)
			}

			// timestamp: an RFC 3339 string whose UTC year is 1..9999 (the
			// ones that can be stored and written back); "" and null are
			// none.
			rd = fresh()
			at := rd.timestamp(key)
			wantAt, tsErr := time.Parse(time.RFC3339Nano, ws)
			if y := wantAt.UTC().Year(); tsErr == nil && (y < 1 || y > 9999) {
				tsErr = errors.New("year out of range")
			}
			switch {
			case !isString || ws != "" && tsErr != nil:
				if at != nil {
					t.Fatalf("timestamp(%s) of %s accepted %v", key, raw, at)
				}
				expectCodes(t, "timestamp("+key+")", rd, "INVALID_"+upper)
			case ws == "":
				if at != nil || len(fieldErrors(rd)) != 0 {
					t.Fatalf("timestamp(%s) of %s = %v", key, raw, at)
				}
			default:
				if at == nil || !at.Equal(wantAt) {
					t.Fatalf("timestamp(%s) of %s = %v, want %v", key, raw, at, wantAt)
				}
			}

			// answer: a JSON integer, or a string of digits with
			// surrounding spaces.
			rd = fresh()
			got, gotOK := rd.answer(key)
			var wantAns int64
			wantOK := false
			if present && isString {
				core := strings.TrimFunc(ws, unicode.IsSpace)
				if fuzzAnswerRE.MatchString(core) {
					wantAns, _ = strconv.ParseInt(core, 10, 64)
					wantOK = true
				}
			} else if present {
				wantAns, wantOK = fuzzInt(raw)
			}
			if gotOK != wantOK || gotOK && got != wantAns {
				t.Fatalf("answer(%s) of %s = %d, %v; want %d, %v", key, raw, got, gotOK, wantAns, wantOK)
			}
		}
	})
}

// FuzzPathAndQuery reads a fuzzed value as a path id and as a query
// integer: a path id is a positive decimal int64, a query integer a
// non-negative int (absent means the default); a number too large for
// either is said to be out of range.
func FuzzPathAndQuery(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "+5", "007", "9223372036854775807", "9223372036854775808", "1.5", "1e3", "٣", " 1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := httptest.NewRequest("GET", "/?"+url.Values{"page": {s}}.Encode(), nil)
		r = mux.SetURLVars(r, map[string]string{"giveaway_id": s})

		n, err := pathID(r, "giveaway_id")
		want, perr := strconv.ParseInt(s, 10, 64)
		if ok := perr == nil && want >= 1; ok != (err == nil) || ok && n != want {
			t.Fatalf("pathID(%q) = %d, %v", s, n, err)
		}
		if err != nil && participant.ErrorCode(err) != "INVALID_GIVEAWAY_ID" {
			t.Fatalf("pathID(%q) failed with %v, want INVALID_GIVEAWAY_ID", s, err)
		}
		// An integer too large for an int64 is said to be out of range,
		// anything else not to be a positive integer.
		if err != nil && errors.Is(perr, strconv.ErrRange) != strings.Contains(firstMessage(err), "out of range 1..9223372036854775807") {
			t.Fatalf("pathID(%q) says %q", s, firstMessage(err))
		}

		var v participant.Validation
		q := queryInt(r, "page", 7, &v, "page must be a positive integer")
		wq, qerr := strconv.Atoi(s)
		switch {
		case s == "":
			if q != 7 || v.Failed() {
				t.Fatalf("queryInt of an absent value = %d, %v", q, v.Err())
			}
		case qerr != nil || wq < 0:
			if q != 7 || participant.ErrorCode(v.Err()) != "INVALID_PAGE" {
				t.Fatalf("queryInt(%q) = %d, %v; want the default and INVALID_PAGE", s, q, v.Err())
			}
			if msg := firstMessage(v.Err()); !strings.HasSuffix(msg, "page must be a positive integer") ||
				errors.Is(qerr, strconv.ErrRange) != strings.Contains(msg, "out of range") {
				t.Fatalf("queryInt(%q) says %q", s, msg)
			}
		default:
			if q != wq || v.Failed() {
				t.Fatalf("queryInt(%q) = %d, %v; want %d", s, q, v.Err(), wq)
			}
		}
	})
}
