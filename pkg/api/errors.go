package api

// ErrorBody is the answer to every failed request.
type ErrorBody struct {
	Success bool `json:"success"`
	// Message is safe to show to a Telegram user.
	Message string `json:"error"`
	// Code is the stable, machine-readable error code callers branch on.
	Code string `json:"error_code"`
	// ValidationErrors lists the invalid fields of a validation failure.
	ValidationErrors []FieldError `json:"validation_errors,omitempty"`
	// ParticipantID is set on DUPLICATE_PARTICIPATION.
	ParticipantID int64 `json:"participant_id,omitempty"`
	// RetryAfter is the number of seconds to wait, also sent as the
	// Retry-After header.
	RetryAfter int `json:"retry_after,omitempty"`
	// ChannelInfo is set on USER_NOT_SUBSCRIBED.
	ChannelInfo *Channel `json:"channel_info,omitempty"`
	// RuleRefusal's fields are set on a refusal by a giveaway's rules.
	*RuleRefusal
}

// FieldError is one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"error"`
	Code    string `json:"error_code"`
}
