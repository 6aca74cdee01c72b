package participant

import (
	"crypto/rand"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestNormalizeUsername(t *testing.T) {
	for _, c := range []struct {
		in, out string
		ok      bool
	}{
		{"@alice_1", "alice_1", true},
		{"  bob_the_builder  ", "bob_the_builder", true},
		{"", "", true},
		{"   ", "", true},
		{"@", "", true},
		{"abcd", "abcd", false},
		{"a23456789012345678901234567890123", "a23456789012345678901234567890123", false},
		{"héllo", "héllo", false},
		{"drop table", "drop table", false},
		{"@@alice", "@alice", false},
	} {
		got, ok := NormalizeUsername(c.in)
		if got != c.out || ok != c.ok {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q, %v", c.in, got, ok, c.out, c.ok)
		}
	}
}

func TestNormalizeName(t *testing.T) {
	long := ""
	for range 100 {
		long += "ж"
	}
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"Alice", true}, {" 🎉 Ünïcödé 名前 ", true}, {long, true}, {long + "x", false},
		{"a\x00b", false}, {"line\nbreak", false}, {"\u202eevil", true}, {"'; DROP TABLE users; --", true},
	} {
		if _, ok := NormalizeName(c.in); ok != c.ok {
			t.Errorf("NormalizeName(%q) ok = %v, want %v", c.in, ok, c.ok)
		}
	}
}

func TestParseAnswer(t *testing.T) {
	for _, c := range []struct {
		in string
		n  int64
		ok bool
	}{
		{"12", 12, true}, {" 7 ", 7, true}, {"-3", -3, true}, {"007", 7, true},
		{"", 0, false}, {" ", 0, false}, {"1.5", 0, false}, {"1e3", 0, false}, {"twelve", 0, false},
		{"1 2", 0, false}, {"+5", 0, false}, {"-", 0, false}, {"9999999999999999999", 0, false},
	} {
		n, ok := ParseAnswer(c.in)
		if n != c.n || ok != c.ok {
			t.Errorf("ParseAnswer(%q) = %d, %v; want %d, %v", c.in, n, ok, c.n, c.ok)
		}
	}
}

var questionRE = regexp.MustCompile(`^What is (\d+) ([-+×]) (\d+)\?$`)

// TestQuestions: every question is well formed, its operands are in range,
// subtraction never goes below 1, and the stored answer is right.
func TestQuestions(t *testing.T) {
	r := CaptchaRules{MinNumber: 1, MaxNumber: 10}
	ops := map[string]int{}
	for range 3000 {
		q, answer, err := r.question(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m := questionRE.FindStringSubmatch(q)
		if m == nil {
			t.Fatalf("malformed question %q", q)
		}
		a, _ := strconv.ParseInt(m[1], 10, 64)
		b, _ := strconv.ParseInt(m[3], 10, 64)
		if a < 1 || a > 10 || b < 1 || b > 10 {
			t.Fatalf("operand out of range in %q", q)
		}
		want := map[string]int64{"+": a + b, "-": a - b, "×": a * b}[m[2]]
		if answer != want || answer < 1 {
			t.Fatalf("%q: answer %d, want %d (>= 1)", q, answer, want)
		}
		ops[m[2]]++
	}
	for _, op := range []string{"+", "-", "×"} {
		if ops[op] < 800 {
			t.Fatalf("operator %s drawn %d times of 3000: %v", op, ops[op], ops)
		}
	}
}

// TestChallengeLimit: the hourly window counts issued challenges and
// resets after an hour.
func TestChallengeLimit(t *testing.T) {
	r := CaptchaRules{MinNumber: 1, MaxNumber: 10, MaxAttempts: 3, Timeout: 10 * time.Minute, PerHour: 2}
	now := time.Unix(1_000_000, 0)
	first, err := r.issue(rand.Reader, nil, Challenge{UserID: 1}, now)
	if err != nil || first.IssuedInWindow != 1 {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err := r.issue(rand.Reader, &first, Challenge{UserID: 1}, now.Add(time.Minute))
	if err != nil || second.IssuedInWindow != 2 || !second.WindowStart.Equal(now) || second.SessionID == first.SessionID {
		t.Fatalf("second: %+v %v", second, err)
	}
	_, err = r.issue(rand.Reader, &second, Challenge{UserID: 1}, now.Add(2*time.Minute))
	if e, ok := err.(*Error); !ok || e.Code != CodeTooManyAttempts || e.RetryAfter != 58*time.Minute {
		t.Fatalf("third within the hour: %v", err)
	}
	third, err := r.issue(rand.Reader, &second, Challenge{UserID: 1}, now.Add(time.Hour))
	if err != nil || third.IssuedInWindow != 1 {
		t.Fatalf("after the hour: %+v %v", third, err)
	}
}
