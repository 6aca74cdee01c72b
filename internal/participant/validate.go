package participant

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest first or last name accepted, in characters.
const MaxNameLength = 100

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{5,32}$`)

// NormalizeUsername strips a leading @ and surrounding spaces; a blank
// username means none. It reports whether the result is a valid Telegram
// username.
func NormalizeUsername(s string) (string, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "@")
	if s == "" {
		return "", true
	}
	return s, usernameRE.MatchString(s)
}

// NormalizeName trims a first or last name and reports whether it is
// acceptable: at most MaxNameLength characters, valid UTF-8 and free of
// control characters (Postgres cannot store NUL, and no Telegram name holds
// one).
func NormalizeName(s string) (string, bool) { return normalizeText(s, MaxNameLength) }

// normalizeText trims s and reports whether it is valid UTF-8 of at most
// max characters without control characters.
func normalizeText(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return s, false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return s, false
		}
	}
	return s, true
}

// ParseAnswer reads a captcha answer: an optionally signed decimal integer
// with surrounding spaces. It reports false for anything else, which the
// caller answers with INVALID_ANSWER_FORMAT without using an attempt.
func ParseAnswer(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || len(digits) > 18 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// ValidID reports whether n can be a user, giveaway, account or
// participant id.
func ValidID(n int64) bool { return n >= 1 }

// MaxID is the largest id: ids are int64s of at least 1.
const MaxID = math.MaxInt64

// IDOutOfRange is what a caller is told about an integer id too large to
// be one, so that a 23-digit Telegram id is not said to be "not a positive
// integer".
func IDOutOfRange(field string) string {
	return fmt.Sprintf("%s is out of range 1..%d", field, int64(MaxID))
}
