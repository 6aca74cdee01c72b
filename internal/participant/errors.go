package participant

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. Callers branch on it (the
// bot stops retrying on USER_NOT_FOUND and DUPLICATE_PARTICIPATION), so the
// values are part of the API.
type Code string

// Error codes of the API. The HTTP layer maps each to a status in one table.
const (
	CodeInvalidJSON           Code = "INVALID_JSON"
	CodeValidation            Code = "VALIDATION_ERROR"
	CodeInvalidAnswerFormat   Code = "INVALID_ANSWER_FORMAT"
	CodeMissingParticipantIDs Code = "MISSING_PARTICIPANT_IDS"
	CodeGiveawayNotFound      Code = "GIVEAWAY_NOT_FOUND"
	CodeGiveawayNotActive     Code = "GIVEAWAY_NOT_ACTIVE"
	CodeDuplicate             Code = "DUPLICATE_PARTICIPATION"
	CodeNotSubscribed         Code = "USER_NOT_SUBSCRIBED"
	CodeCaptchaNotFound       Code = "CAPTCHA_NOT_FOUND"
	CodeCaptchaExpired        Code = "CAPTCHA_EXPIRED"
	CodeCaptchaMismatch       Code = "CAPTCHA_SESSION_MISMATCH"
	CodeTooManyAttempts       Code = "TOO_MANY_ATTEMPTS"
	CodeParticipantNotFound   Code = "PARTICIPANT_NOT_FOUND"
	CodeUserNotFound          Code = "USER_NOT_FOUND"
	CodeDrawNotFound          Code = "DRAW_NOT_FOUND"
	CodeDrawNotCompleted      Code = "DRAW_NOT_COMPLETED"
	CodeNotAWinner            Code = "NOT_A_WINNER"
	// CodeBeaconUnavailable: the drand round a v2 draw or redraw waits for
	// could not be had in time; the draw stays frozen on that round and a
	// retry (after RetryAfter) completes it. The HTTP layer answers 503.
	CodeBeaconUnavailable Code = "BEACON_UNAVAILABLE"
	// CodeRedrawInProgress: another v2 redraw round of the giveaway waits
	// for its beacon; a different one can be asked for once it is drawn.
	CodeRedrawInProgress   Code = "REDRAW_IN_PROGRESS"
	CodeChannelNotFound    Code = "CHANNEL_NOT_FOUND"
	CodeBotTokenMissing    Code = "BOT_TOKEN_MISSING"
	CodeTelegramAPI        Code = "TELEGRAM_API_ERROR"
	CodeServiceUnavailable Code = "SERVICE_UNAVAILABLE"
	CodeInternal           Code = "INTERNAL_ERROR"
)

// Codes of one invalid field, named INVALID_ or MISSING_ and the field. The
// first field's code is also the error's error_code. Ids are checked by
// checkID, which derives the code from the field's name.
const (
	CodeInvalidGiveawayID          Code = "INVALID_GIVEAWAY_ID"
	CodeInvalidUserID              Code = "INVALID_USER_ID"
	CodeInvalidAccountID           Code = "INVALID_ACCOUNT_ID"
	CodeInvalidUsername            Code = "INVALID_USERNAME"
	CodeInvalidFirstName           Code = "INVALID_FIRST_NAME"
	CodeInvalidLastName            Code = "INVALID_LAST_NAME"
	CodeInvalidParticipantIDs      Code = "INVALID_PARTICIPANT_IDS"
	CodeTooManyParticipantIDs      Code = "TOO_MANY_PARTICIPANT_IDS"
	CodeInvalidWinnerCount         Code = "INVALID_WINNER_COUNT"
	CodeMissingWinnerCount         Code = "MISSING_WINNER_COUNT"
	CodeInvalidBeacon              Code = "INVALID_BEACON"
	CodeMissingDisqualifiedUserIDs Code = "MISSING_DISQUALIFIED_USER_IDS"
	CodeInvalidDisqualifiedUserIDs Code = "INVALID_DISQUALIFIED_USER_IDS"
	CodeMissingReason              Code = "MISSING_REASON"
	CodeInvalidReason              Code = "INVALID_REASON"
	CodeInvalidPage                Code = "INVALID_PAGE"
	CodeInvalidLimit               Code = "INVALID_LIMIT"
	CodeInvalidEnd                 Code = "INVALID_END"
	CodeInvalidIndex               Code = "INVALID_INDEX"
	CodeInvalidTreeSize            Code = "INVALID_TREE_SIZE"
	CodeInvalidFirst               Code = "INVALID_FIRST"
	CodeInvalidSecond              Code = "INVALID_SECOND"
)

// FieldError describes one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"error"`
	Code    Code   `json:"error_code"`
}

// Error is an error the API reports to its caller. Its Message is safe to
// show to a Telegram user: it never carries SQL, tokens or upstream URLs.
type Error struct {
	Code    Code
	Message string
	// Fields lists the invalid fields of a validation failure.
	Fields []FieldError
	// ParticipantID is set on DUPLICATE_PARTICIPATION.
	ParticipantID int64
	// RetryAfter is set when the caller should wait before trying again.
	RetryAfter time.Duration
	// Channel is set on USER_NOT_SUBSCRIBED.
	Channel *Channel
	// Rule says more about a refusal by the giveaway's rules.
	Rule *RuleFailure
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or CodeInternal when err is not an
// *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Validation collects field errors; its Err method returns nil when there
// were none.
type Validation struct {
	fields []FieldError
}

// Add records an invalid field.
func (v *Validation) Add(field string, code Code, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Failed reports whether any field was invalid.
func (v *Validation) Failed() bool { return len(v.fields) > 0 }

// Err returns the collected failures as one *Error whose code is the first
// field's code, so a caller that looks only at error_code still learns which
// field was wrong.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	first := v.fields[0]
	return &Error{Code: first.Code, Message: first.Message, Fields: v.fields}
}

// Sentinel errors that storage adapters return in domain terms.
var (
	// ErrNotFound means the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule refused the write.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable means the database could not be reached; the request
	// may succeed if retried shortly.
	ErrUnavailable = errors.New("database unavailable")
)
