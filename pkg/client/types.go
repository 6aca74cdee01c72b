package client

import (
	"time"

	"github.com/telegive/participant-service/pkg/api"
)

// The request and answer bodies are the types of pkg/api, shared with the
// service; these names keep the client's callers compiling.
type (
	// RegisterRequest asks to join a giveaway.
	RegisterRequest = api.RegisterRequest
	// ValidateRequest answers a captcha.
	ValidateRequest = api.ValidateCaptchaRequest
	// UserStats is a user's platform-wide record.
	UserStats = api.UserStats
	// WinnerStatus is a user's standing in a giveaway.
	WinnerStatus = api.WinnerStatus
	// Channel describes an account's channel.
	Channel = api.Channel
	// Subscription is the answer of a subscription check.
	Subscription = api.Subscription
	// DeliveryUpdate records result-message delivery.
	DeliveryUpdate = api.UpdateDeliveryRequest
	// DeliveryResult is the outcome of a delivery update.
	DeliveryResult = api.DeliveryResult
	// History is a user's totals and recent participations.
	History = api.History
	// SelectRequest asks for a giveaway's winners.
	SelectRequest = api.SelectWinnersRequest
	// Selection is the result of a draw, identical on every call.
	Selection = api.Selection
	// RedrawResult is one redraw round and the winners after it.
	RedrawResult = api.RedrawResult
	// Winner is a selected participant.
	Winner = api.Winner
	// Participant is one entry of a giveaway.
	Participant = api.Participant
	// Listing is a page of participants.
	Listing = api.Listing
	// Stats are a giveaway's participation statistics.
	Stats = api.Stats
	// AdminStats are platform-wide totals.
	AdminStats = api.AdminStats
	// Health is the service's overall state.
	Health = api.Health
	// ValidationError is one invalid field of a request.
	ValidationError = api.FieldError
)

// Challenge is a captcha question the user must answer, from register's
// CaptchaRequired or validate-captcha's CaptchaRenewed.
type Challenge struct {
	Question          string
	SessionID         string
	AttemptsRemaining int
	ExpiresAt         time.Time
}

// RegisterResult is a confirmed participation or a captcha to solve.
type RegisterResult struct {
	RequiresCaptcha        bool
	ParticipationConfirmed bool
	ParticipantID          int64
	Message                string
	// Challenge is set when RequiresCaptcha.
	Challenge *Challenge
}

// ValidateResult is the outcome of an answer.
type ValidateResult struct {
	CaptchaCompleted       bool
	ParticipationConfirmed bool
	ParticipantID          int64
	AttemptsRemaining      int
	Message                string
	// NewChallenge is set when the answer used the last attempt.
	NewChallenge *Challenge
}
