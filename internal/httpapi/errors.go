package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/api"
)

// HTTP-only error codes, for failures that happen before the domain sees a
// request.
const (
	codePayloadTooLarge  participant.Code = "PAYLOAD_TOO_LARGE"
	codeRouteNotFound    participant.Code = "NOT_FOUND"
	codeMethodNotAllowed participant.Code = "METHOD_NOT_ALLOWED"
	codeAuthRequired     participant.Code = "AUTH_REQUIRED"
	codeAuthInvalid      participant.Code = "AUTH_INVALID"
	codeForbidden        participant.Code = "FORBIDDEN"
	codeRateLimited      participant.Code = "RATE_LIMITED"
	codeHTTPSRequired    participant.Code = "HTTPS_REQUIRED"
)

// codeInvalidFormat refuses an export format other than ndjson and csv, a
// choice of the HTTP layer's.
const codeInvalidFormat participant.Code = "INVALID_FORMAT"

// statusOf is the one table from error code to HTTP status. Validation
// failures (errors with field errors) are 400 whatever their code.
var statusOf = map[participant.Code]int{
	participant.CodeInvalidJSON:         http.StatusBadRequest,
	participant.CodeValidation:          http.StatusBadRequest,
	participant.CodeInvalidAnswerFormat: http.StatusBadRequest,
	participant.CodeGiveawayNotFound:    http.StatusNotFound,
	participant.CodeGiveawayNotActive:   http.StatusConflict,
	participant.CodeDuplicate:           http.StatusConflict,
	participant.CodeNotSubscribed:       http.StatusForbidden,
	participant.CodeAdminExcluded:       http.StatusForbidden,
	participant.CodePremiumRequired:     http.StatusForbidden,
	participant.CodeAccountTooNew:       http.StatusForbidden,
	participant.CodeChatMisconfigured:   http.StatusBadGateway,
	participant.CodeCaptchaNotFound:     http.StatusNotFound,
	participant.CodeCaptchaExpired:      http.StatusGone,
	participant.CodeCaptchaMismatch:     http.StatusConflict,
	participant.CodeTooManyAttempts:     http.StatusTooManyRequests,
	participant.CodeParticipantNotFound: http.StatusNotFound,
	participant.CodeUserNotFound:        http.StatusNotFound,
	participant.CodeDrawNotFound:        http.StatusNotFound,
	participant.CodeDrawNotCompleted:    http.StatusConflict,
	participant.CodeNotAWinner:          http.StatusConflict,
	participant.CodeRedrawInProgress:    http.StatusConflict,
	participant.CodeRulesLocked:         http.StatusConflict,
	participant.CodeTreeSizeNotReached:  http.StatusConflict,
	participant.CodeBeaconUnavailable:   http.StatusServiceUnavailable,
	participant.CodeChannelNotFound:     http.StatusBadGateway,
	participant.CodeBotTokenMissing:     http.StatusBadGateway,
	participant.CodeTelegramAPI:         http.StatusBadGateway,
	participant.CodeServiceUnavailable:  http.StatusServiceUnavailable,
	participant.CodeInternal:            http.StatusInternalServerError,
	codePayloadTooLarge:                 http.StatusRequestEntityTooLarge,
	codeRouteNotFound:                   http.StatusNotFound,
	codeMethodNotAllowed:                http.StatusMethodNotAllowed,
	codeAuthRequired:                    http.StatusUnauthorized,
	codeAuthInvalid:                     http.StatusUnauthorized,
	codeForbidden:                       http.StatusForbidden,
	codeRateLimited:                     http.StatusTooManyRequests,
	codeHTTPSRequired:                   http.StatusForbidden,
}

// errTryAgain answers a request that failed for want of a dependency (the
// database out of reach, the request's deadline passed): 503 with a short
// Retry-After.
var errTryAgain = &participant.Error{Code: participant.CodeServiceUnavailable,
	Message: "The service is temporarily unavailable. Please try again shortly.", RetryAfter: time.Second}

// writeError answers a failed request. Domain errors keep their code and
// safe message; anything else is logged in full and answered with a
// generic 500 that reveals nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *participant.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, participant.ErrUnavailable):
		s.log.WarnContext(r.Context(), "database unavailable", "error", err, "method", r.Method, "route", routeName(r))
		e = errTryAgain
	case errors.Is(err, context.DeadlineExceeded):
		s.log.WarnContext(r.Context(), "request timed out", "error", err, "method", r.Method, "route", routeName(r))
		e = errTryAgain
	default:
		s.log.ErrorContext(r.Context(), "request failed", "error", err, "method", r.Method, "route", routeName(r))
		e = &participant.Error{Code: participant.CodeInternal, Message: "An internal error occurred. Please try again later."}
	}
	status, ok := statusOf[e.Code]
	if len(e.Fields) > 0 {
		status, ok = http.StatusBadRequest, true
	}
	if !ok {
		s.log.ErrorContext(r.Context(), "error code without an HTTP status", "code", e.Code)
		status = http.StatusInternalServerError
	}
	if e.Err != nil {
		s.log.WarnContext(r.Context(), "request refused", "code", e.Code, "cause", e.Err)
	}
	info := infoOf(r.Context())
	info.errorCode, info.errorMessage = e.Code, e.Message
	body := api.ErrorBody{
		Message:          e.Message,
		Code:             string(e.Code),
		ValidationErrors: toFieldErrors(e.Fields),
		ParticipantID:    e.ParticipantID,
		ChannelInfo:      (*api.Channel)(e.Channel),
		RuleRefusal:      toRuleRefusal(e.Rule),
	}
	if e.RetryAfter > 0 {
		secs := int(e.RetryAfter.Seconds() + 0.999)
		body.RetryAfter = secs
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, status, body)
}

// isValidation reports whether err is a validation failure (an error with
// field errors).
func isValidation(err error) bool {
	var e *participant.Error
	return errors.As(err, &e) && len(e.Fields) > 0
}
