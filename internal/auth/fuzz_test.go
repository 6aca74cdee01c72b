package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/telegive/participant-service/internal/auth"
	"github.com/telegive/participant-service/pkg/signing"
)

// The tokens the fuzzed requests are checked against, by caller name.
var fuzzTokens = map[string]string{
	"bot":      "fuzz-bot-token-0123456789",
	"giveaway": "fuzz-giveaway-token-0123456789",
	"admin":    "fuzz-admin-token-0123456789",
	"legacy":   "fuzz-legacy-shared-secret-01",
}

// fuzzNow is the authenticator's clock in the fuzz targets.
var fuzzNow = time.Unix(1_800_000_000, 0)

// FuzzParseTokens: ParseTokens never panics; what it accepts is exactly the
// non-blank, non-comment "name:token" entries with a known name and a token
// of at least 16 characters; every accepted token then authenticates as
// its name; and an error never repeats a token.
func FuzzParseTokens(f *testing.F) {
	f.Add("bot:" + fuzzTokens["bot"] + ",giveaway:" + fuzzTokens["giveaway"])
	f.Add("# comment\nadmin: " + fuzzTokens["admin"] + " \r\n\n")
	f.Add("bot:short")
	f.Add("stranger:" + fuzzTokens["bot"])
	f.Fuzz(func(t *testing.T, s string) {
		tk, err := auth.ParseTokens(s)

		// The oracle: the entries as the format describes them.
		type entry struct{ name, secret string }
		var entries []entry
		wellFormed := true
		for _, pair := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
			pair = strings.TrimFunc(pair, unicode.IsSpace)
			if pair == "" || pair[0] == '#' {
				continue
			}
			name, secret, ok := strings.Cut(pair, ":")
			name, secret = strings.TrimFunc(name, unicode.IsSpace), strings.TrimFunc(secret, unicode.IsSpace)
			known := name == "bot" || name == "giveaway" || name == "admin" || name == "legacy"
			if !ok || !known || len(secret) < 16 {
				wellFormed = false
			}
			entries = append(entries, entry{name, secret})
		}

		if err != nil {
			if wellFormed {
				t.Fatalf("ParseTokens(%q) refused well-formed entries: %v", s, err)
			}
			// The message goes to the operator's terminal and logs: it may
			// quote a caller's name but never print a secret.
			msg := err.Error()
			for _, e := range entries {
				msg = strings.ReplaceAll(msg, strconv.Quote(e.name), "")
			}
			// Nor are the callers' names, which the message lists as the
			// names it wants: a secret spelling one cannot be told apart.
			for _, name := range []string{"bot", "giveaway", "admin", "legacy"} {
				msg = strings.ReplaceAll(msg, name, "")
			}
			for _, e := range entries {
				if len(e.secret) >= 8 && strings.Contains(msg, e.secret) {
					t.Fatalf("ParseTokens(%q): the error %q repeats the token %q", s, err, e.secret)
				}
			}
			return
		}
		if !wellFormed {
			t.Fatalf("ParseTokens(%q) accepted a malformed entry: %d tokens %v", s, tk.Len(), tk.Names())
		}
		if tk.Len() != len(entries) {
			t.Fatalf("ParseTokens(%q) = %d tokens, want %d", s, tk.Len(), len(entries))
		}
		var names []string
		for _, e := range entries {
			if !slices.Contains(names, e.name) {
				names = append(names, e.name)
			}
		}
		slices.Sort(names)
		if !slices.Equal(tk.Names(), names) {
			t.Fatalf("ParseTokens(%q).Names() = %v, want %v", s, tk.Names(), names)
		}

		a := auth.New(auth.Options{Tokens: tk, Mode: auth.ModeRequired})
		for _, e := range entries {
			c, err := a.Authenticate(context.Background(), fuzzRequest("GET", "/", e.secret), nil)
			// Several names may share a token; any of them will do, but the
			// token must be accepted.
			if err != nil || !c.Authenticated {
				t.Fatalf("ParseTokens(%q): the token of %q is refused: %v", s, e.name, err)
			}
			if !slices.ContainsFunc(entries, func(o entry) bool { return o.name == c.Name && o.secret == e.secret }) {
				t.Fatalf("ParseTokens(%q): the token of %q authenticates as %q", s, e.name, c.Name)
			}
		}
	})
}

// fuzzRequest is a request with the given token, built field by field so
// that any fuzzed URI can be used.
func fuzzRequest(method, uri, token string) *http.Request {
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		u = &url.URL{Path: "/"}
	}
	r := &http.Request{Method: method, URL: u, Header: http.Header{}, RequestURI: uri}
	if token != "" {
		r.Header.Set("X-Service-Token", token)
	}
	return r
}

// Ways FuzzAuthenticate signs a request: with the fuzzed signature, with
// the right one (lower or upper case), or with one over another body.
const (
	sigFuzzed = iota
	sigRight
	sigRightUpper
	sigOtherBody
	sigModes
)

// FuzzAuthenticate sends fuzzed credentials to an authenticator in every
// mode. A token is accepted only when it equals a configured one, and then
// as that caller; a signature only when it is the HMAC of this exact request
// within the window; and an accepted signature never twice.
func FuzzAuthenticate(f *testing.F) {
	f.Add(fuzzTokens["bot"], "1800000000", "", "POST", "/api/participants/register", []byte(`{"user_id":1}`), uint8(sigRight), false)
	f.Add(fuzzTokens["admin"], "1800000299", "", "GET", "/admin/stats?x=1", []byte(nil), uint8(sigRightUpper), true)
	f.Add(fuzzTokens["bot"]+" ", "", "", "GET", "/", []byte(nil), uint8(sigFuzzed), false)
	f.Add("", "1799999000", "00", "PUT", "/x", []byte("{}"), uint8(sigOtherBody), true)
	f.Fuzz(func(t *testing.T, token, timestamp, signature, method, uri string, body []byte, sigMode uint8, requireSignatures bool) {
		var pairs []string
		for name, secret := range fuzzTokens {
			if name != "legacy" {
				pairs = append(pairs, name+":"+secret)
			}
		}
		tokens, err := auth.LoadTokens(strings.Join(pairs, ","), "", fuzzTokens["legacy"])
		if err != nil {
			t.Fatal(err)
		}
		configured := ""
		for name, secret := range fuzzTokens {
			if token == secret {
				configured = name
			}
		}
		for _, mode := range []auth.Mode{auth.ModeRequired, auth.ModePermissive, auth.ModeOff} {
			a := auth.New(auth.Options{Tokens: tokens, Mode: mode, RequireSignatures: requireSignatures,
				Now: func() time.Time { return fuzzNow }})
			r := fuzzRequest(method, uri, token)
			ts, tsErr := strconv.ParseInt(timestamp, 10, 64)
			sig := signature
			switch sigMode % sigModes {
			case sigRight:
				sig = signing.Sign(token, r.Method, r.URL.RequestURI(), ts, body)
			case sigRightUpper:
				sig = strings.ToUpper(signing.Sign(token, r.Method, r.URL.RequestURI(), ts, body))
			case sigOtherBody:
				sig = signing.Sign(token, r.Method, r.URL.RequestURI(), ts, append([]byte("x"), body...))
			}
			r.Header.Set("X-Timestamp", timestamp)
			r.Header.Set("X-Signature", sig)

			c, err := a.Authenticate(context.Background(), r, body)
			if mode == auth.ModeOff {
				if err != nil || c.Authenticated || !c.Has(auth.ScopeAdmin) {
					t.Fatalf("mode off: caller %+v, err %v; want the anonymous caller with every scope", c, err)
				}
				continue
			}
			if err != nil && !errors.Is(err, auth.ErrRequired) && !errors.Is(err, auth.ErrInvalid) {
				t.Fatalf("%s: unexpected error %v", mode, err)
			}
			switch {
			case token == "":
				if mode == auth.ModeRequired && !errors.Is(err, auth.ErrRequired) {
					t.Fatalf("required: no token gave %+v, %v", c, err)
				}
				if mode == auth.ModePermissive && (err != nil || c.Authenticated || c.Has(auth.ScopeAdmin)) {
					t.Fatalf("permissive: no token gave %+v, %v; want anonymous without admin", c, err)
				}
				continue
			case configured == "":
				if !errors.Is(err, auth.ErrInvalid) {
					t.Fatalf("%s: the unknown token %q gave %+v, %v", mode, token, c, err)
				}
				continue
			}
			// A configured token: accepted as its caller unless the
			// signature is wrong or missing where one is needed.
			sigOK := sig != "" && tsErr == nil &&
				fuzzNow.Sub(time.Unix(ts, 0)).Abs() <= 5*time.Minute &&
				strings.EqualFold(sig, signing.Sign(token, r.Method, r.URL.RequestURI(), ts, body))
			wantSigned := sig != "" || requireSignatures
			if wantSigned && !sigOK {
				if !errors.Is(err, auth.ErrInvalid) {
					t.Fatalf("%s: a bad signature %q (timestamp %q) gave %+v, %v", mode, sig, timestamp, c, err)
				}
				continue
			}
			if err != nil || !c.Authenticated || c.Name != configured || c.Signed != wantSigned {
				t.Fatalf("%s: the %s token gave %+v, %v; want %s, signed %v", mode, configured, c, err, configured, wantSigned)
			}
			if !c.Signed {
				continue
			}
			// The same signed request again, in either case, is a replay.
			for _, again := range []string{sig, strings.ToLower(sig), strings.ToUpper(sig)} {
				r.Header.Set("X-Signature", again)
				if c, err := a.Authenticate(context.Background(), r, body); !errors.Is(err, auth.ErrInvalid) {
					t.Fatalf("%s: a replayed signature was accepted: %+v, %v", mode, c, err)
				}
			}
		}
	})
}
