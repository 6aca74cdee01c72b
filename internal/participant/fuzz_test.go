package participant_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/telegive/participant-service/internal/participant"
)

// The fuzz targets below check the input rules of the participant domain
// against oracles written independently of the code: a regular expression
// for the captcha answer, rune-by-rune checks for names. Seeds are in
// testdata/fuzz/<target>; `go test` runs them, `go test -fuzz` explores.

// answerRE is the documented shape of a captcha answer once surrounding
// white space is removed: an optional minus and at most 18 ASCII digits (so
// that every accepted value fits in an int64 whatever its digits).
var answerRE = regexp.MustCompile(`^-?[0-9]{1,18}$`)

// FuzzParseAnswer: ParseAnswer accepts exactly an optional minus and ASCII
// digits with surrounding white space, returns their value, and the value
// it returns reads back the same however it is padded.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{"12", " 7 ", "-3", "007", "", " ", "-", "+5", "1.5", "1e3", "٣", "１２", "12\x00", "\t\n42\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := participant.ParseAnswer(s)
		core := strings.TrimFunc(s, unicode.IsSpace)
		want := answerRE.MatchString(core)
		if ok != want {
			t.Fatalf("ParseAnswer(%q) ok = %v, want %v (trimmed %q)", s, ok, want, core)
		}
		if !ok {
			if n != 0 {
				t.Fatalf("ParseAnswer(%q) refused the input but returned %d", s, n)
			}
			return
		}
		wantN, err := strconv.ParseInt(core, 10, 64)
		if err != nil || n != wantN {
			t.Fatalf("ParseAnswer(%q) = %d, want %d (%v)", s, n, wantN, err)
		}
		// The canonical form of the value, bare or padded, reads back as
		// the same value: the bot may send the number it got either way.
		canon := strconv.FormatInt(n, 10)
		for _, padded := range []string{canon, " " + canon + " ", "\t" + canon + "\n"} {
			if m, ok := participant.ParseAnswer(padded); !ok || m != n {
				t.Fatalf("ParseAnswer(%q) = %d, %v after ParseAnswer(%q) = %d", padded, m, ok, s, n)
			}
		}
	})
}

// usernameRE is Telegram's username alphabet and length.
var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{5,32}$`)

// FuzzNormalizeUsername: an accepted username is blank or a valid Telegram
// username taken from the input, and normalising it again changes nothing.
func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"@alice_1", "  bob_the_builder  ", "", "@", "@@alice", "abcd", "héllo_world", "alice\x00bob", "ａｌｉｃｅ_1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := participant.NormalizeUsername(s)
		if !ok {
			return
		}
		if out != "" && !usernameRE.MatchString(out) {
			t.Fatalf("NormalizeUsername(%q) accepted %q, which is not a Telegram username", s, out)
		}
		if !strings.Contains(s, out) {
			t.Fatalf("NormalizeUsername(%q) = %q, which is not part of the input", s, out)
		}
		// "None" only for white space around at most one @.
		if out == "" && strings.TrimFunc(strings.Replace(s, "@", "", 1), unicode.IsSpace) != "" {
			t.Fatalf("NormalizeUsername(%q) turned a non-blank username into none", s)
		}
		if again, ok := participant.NormalizeUsername(out); !ok || again != out {
			t.Fatalf("not idempotent: NormalizeUsername(%q) = %q, %v after %q", out, again, ok, s)
		}
		if again, ok := participant.NormalizeUsername("@" + out); !ok || again != out {
			t.Fatalf("NormalizeUsername(%q) = %q, %v; the leading @ should be dropped", "@"+out, again, ok)
		}
	})
}

// FuzzNormalizeName: a name is accepted exactly when, trimmed, it is valid
// UTF-8 of at most 100 runes without control characters; an accepted name
// is that trimmed text and normalises to itself.
func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"Alice", " 🎉 Ünïcödé 名前 ", "a\x00b", "line\nbreak", "\u202eevil", "\xff\xfe", strings.Repeat("ж", 100), strings.Repeat("ж", 101)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, ok := participant.NormalizeName(s)
		core := strings.TrimFunc(s, unicode.IsSpace)
		valid := utf8.ValidString(core) && utf8.RuneCountInString(core) <= participant.MaxNameLength &&
			strings.IndexFunc(core, unicode.IsControl) < 0
		if ok != valid {
			t.Fatalf("NormalizeName(%q) ok = %v, want %v", s, ok, valid)
		}
		if !ok {
			return
		}
		if out != core {
			t.Fatalf("NormalizeName(%q) = %q, want the trimmed input %q", s, out, core)
		}
		// What Postgres and SQLite store must be valid UTF-8 without NUL;
		// these follow from the checks above but are what matters.
		if !utf8.ValidString(out) || strings.ContainsRune(out, 0) || utf8.RuneCountInString(out) > participant.MaxNameLength {
			t.Fatalf("NormalizeName(%q) accepted %q", s, out)
		}
		if again, ok := participant.NormalizeName(out); !ok || again != out {
			t.Fatalf("not idempotent: NormalizeName(%q) = %q, %v", out, again, ok)
		}
	})
}
