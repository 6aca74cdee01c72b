package client

import "time"

// Challenge is a captcha question the user must answer.
type Challenge struct {
	Question          string    `json:"captcha_question"`
	SessionID         string    `json:"session_id"`
	AttemptsRemaining int       `json:"attempts_remaining"`
	ExpiresAt         time.Time `json:"expires_at"`
}

// RegisterRequest asks to join a giveaway.
type RegisterRequest struct {
	GiveawayID int64  `json:"giveaway_id"`
	UserID     int64  `json:"user_id"`
	Username   string `json:"username,omitempty"`
	FirstName  string `json:"first_name,omitempty"`
	LastName   string `json:"last_name,omitempty"`
}

// RegisterResult is a confirmed participation or a captcha to solve.
type RegisterResult struct {
	RequiresCaptcha        bool   `json:"requires_captcha"`
	ParticipationConfirmed bool   `json:"participation_confirmed"`
	ParticipantID          int64  `json:"participant_id"`
	Message                string `json:"message"`
	// Challenge is set when RequiresCaptcha.
	Challenge *Challenge `json:"-"`
}

// ValidateRequest answers a captcha.
type ValidateRequest struct {
	GiveawayID int64  `json:"giveaway_id"`
	UserID     int64  `json:"user_id"`
	Answer     int64  `json:"answer"`
	SessionID  string `json:"session_id,omitempty"`
}

// ValidateResult is the outcome of an answer.
type ValidateResult struct {
	CaptchaCompleted       bool   `json:"captcha_completed"`
	ParticipationConfirmed bool   `json:"participation_confirmed"`
	ParticipantID          int64  `json:"participant_id"`
	AttemptsRemaining      int    `json:"attempts_remaining"`
	Message                string `json:"message"`
	// NewChallenge is set when the answer used the last attempt.
	NewChallenge *Challenge `json:"-"`
}

// UserStats is a user's platform-wide record.
type UserStats struct {
	UserID              int64      `json:"user_id"`
	CaptchaCompleted    bool       `json:"captcha_completed"`
	CompletedAt         *time.Time `json:"completed_at"`
	TotalParticipations int64      `json:"total_participations"`
	TotalWins           int64      `json:"total_wins"`
	FirstParticipation  *time.Time `json:"first_participation"`
}

// WinnerStatus is a user's standing in a giveaway.
type WinnerStatus struct {
	Participated     bool       `json:"participated"`
	IsWinner         bool       `json:"is_winner"`
	WinnerSelectedAt *time.Time `json:"winner_selected_at"`
	TotalWinners     int        `json:"total_winners"`
	ParticipantID    *int64     `json:"participant_id"`
}

// Channel describes an account's channel.
type Channel struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	Username string `json:"username"`
}

// Subscription is the answer of a subscription check.
type Subscription struct {
	IsSubscribed     bool      `json:"is_subscribed"`
	MembershipStatus string    `json:"membership_status"`
	ChannelInfo      Channel   `json:"channel_info"`
	VerifiedAt       time.Time `json:"verified_at"`
}

// DeliveryUpdate records result-message delivery.
type DeliveryUpdate struct {
	ParticipantIDs    []int64    `json:"participant_ids"`
	Delivered         bool       `json:"delivered"`
	DeliveryTimestamp *time.Time `json:"delivery_timestamp,omitempty"`
}

// DeliveryResult is the outcome of a delivery update.
type DeliveryResult struct {
	UpdatedCount  int `json:"updated_count"`
	FailedUpdates []struct {
		ParticipantID int64  `json:"participant_id"`
		Error         string `json:"error"`
	} `json:"failed_updates"`
}

// History is a user's totals and recent participations.
type History struct {
	UserStats            UserStats `json:"user_stats"`
	RecentParticipations []struct {
		GiveawayID       int64      `json:"giveaway_id"`
		ParticipatedAt   time.Time  `json:"participated_at"`
		IsWinner         bool       `json:"is_winner"`
		WinnerSelectedAt *time.Time `json:"winner_selected_at"`
	} `json:"recent_participations"`
}

// Winner is a selected participant.
type Winner struct {
	Position         int        `json:"position"`
	UserID           int64      `json:"user_id"`
	ParticipantID    int64      `json:"participant_id"`
	Username         *string    `json:"username"`
	FirstName        *string    `json:"first_name"`
	LastName         *string    `json:"last_name"`
	WinnerSelectedAt *time.Time `json:"winner_selected_at"`
}

// Participant is one entry of a giveaway.
type Participant struct {
	ID                   int64      `json:"id"`
	GiveawayID           int64      `json:"giveaway_id"`
	UserID               int64      `json:"user_id"`
	Username             *string    `json:"username"`
	FirstName            *string    `json:"first_name"`
	LastName             *string    `json:"last_name"`
	ParticipatedAt       time.Time  `json:"participated_at"`
	CaptchaCompleted     bool       `json:"captcha_completed"`
	SubscriptionVerified bool       `json:"subscription_verified"`
	IsWinner             bool       `json:"is_winner"`
	WinnerSelectedAt     *time.Time `json:"winner_selected_at"`
	MessageDelivered     bool       `json:"message_delivered"`
	DeliveryTimestamp    *time.Time `json:"delivery_timestamp"`
	DeliveryAttempts     int        `json:"delivery_attempts"`
}

// Listing is a page of participants.
type Listing struct {
	Participants []Participant `json:"participants"`
	Stats        struct {
		Total                int64 `json:"total"`
		CaptchaCompleted     int64 `json:"captcha_completed"`
		SubscriptionVerified int64 `json:"subscription_verified"`
		Winners              int64 `json:"winners"`
	} `json:"stats"`
	Pagination struct {
		Page  int   `json:"page"`
		Limit int   `json:"limit"`
		Total int64 `json:"total"`
		Pages int64 `json:"pages"`
	} `json:"pagination"`
}

// Stats are a giveaway's participation statistics.
type Stats struct {
	TotalParticipants                int64 `json:"total_participants"`
	CaptchaCompletedParticipants     int64 `json:"captcha_completed_participants"`
	SubscriptionVerifiedParticipants int64 `json:"subscription_verified_participants"`
	Winners                          int64 `json:"winners"`
	MessagesDelivered                int64 `json:"messages_delivered"`
}

// AdminStats are platform-wide totals.
type AdminStats struct {
	Participants             int64 `json:"participants"`
	Users                    int64 `json:"users"`
	CaptchaCompletedUsers    int64 `json:"captcha_completed_users"`
	Giveaways                int64 `json:"giveaways"`
	DrawnGiveaways           int64 `json:"drawn_giveaways"`
	PendingCaptchaChallenges int64 `json:"pending_captcha_challenges"`
	StaleCaptchaChallenges   int64 `json:"stale_captcha_challenges"`
}

// Health is the service's overall state.
type Health struct {
	Status    string    `json:"status"`
	Service   string    `json:"service"`
	Version   string    `json:"version"`
	Timestamp time.Time `json:"timestamp"`
	Checks    map[string]struct {
		Status    string         `json:"status"`
		LatencyMS float64        `json:"latency_ms"`
		Error     string         `json:"error"`
		Details   map[string]any `json:"details"`
	} `json:"checks"`
}
