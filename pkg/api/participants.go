package api

import (
	"time"

	"github.com/telegive/participant-service/pkg/draw"
)

// Participant is one entry of a giveaway, as listed and exported.
type Participant struct {
	ID int64 `json:"id"`
	// ParticipantID repeats ID under the old service's name.
	ParticipantID        int64      `json:"participant_id"`
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
	// Tickets is how many tickets the entrant holds in the draw: 1, plus
	// the referral bonuses earned, at most the rules' max_tickets.
	Tickets int64 `json:"tickets"`
	// ReferrerUserID is the user who invited this one; null for none.
	ReferrerUserID *int64 `json:"referrer_user_id"`
}

// Listing answers GET /api/participants/{giveaway_id}: a page of
// participants in participant-id order.
type Listing struct {
	Success      bool          `json:"success"`
	GiveawayID   int64         `json:"giveaway_id"`
	Participants []Participant `json:"participants"`
	Stats        ListingStats  `json:"stats"`
	Pagination   Pagination    `json:"pagination"`
}

// ListingStats are the giveaway's counts that come with a listing.
type ListingStats struct {
	Total                int64 `json:"total"`
	CaptchaCompleted     int64 `json:"captcha_completed"`
	SubscriptionVerified int64 `json:"subscription_verified"`
	Winners              int64 `json:"winners"`
	// Tickets is the sum of the participants' tickets.
	Tickets int64 `json:"tickets"`
}

// Pagination places a listing's page among all the participants.
type Pagination struct {
	Page  int   `json:"page"`
	Limit int   `json:"limit"`
	Total int64 `json:"total"`
	Pages int64 `json:"pages"`
}

// CountResponse answers GET /api/participants/{giveaway_id}/count.
type CountResponse struct {
	Success    bool  `json:"success"`
	GiveawayID int64 `json:"giveaway_id"`
	Count      int64 `json:"count"`
	// TotalParticipants repeats Count under the old service's name.
	TotalParticipants int64 `json:"total_participants"`
}

// StatsResponse answers GET /api/participants/{giveaway_id}/stats.
type StatsResponse struct {
	Success    bool  `json:"success"`
	GiveawayID int64 `json:"giveaway_id"`
	Stats      Stats `json:"stats"`
}

// Stats are a giveaway's participation statistics.
type Stats struct {
	TotalParticipants                int64 `json:"total_participants"`
	CaptchaCompletedParticipants     int64 `json:"captcha_completed_participants"`
	SubscriptionVerifiedParticipants int64 `json:"subscription_verified_participants"`
	Winners                          int64 `json:"winners"`
	MessagesDelivered                int64 `json:"messages_delivered"`
	// TotalTickets is the sum of the participants' tickets.
	TotalTickets int64 `json:"total_tickets"`
}

// WinnersResponse answers GET /api/participants/{giveaway_id}/winners:
// the current winners, and the draw record (null before the draw).
type WinnersResponse struct {
	Success    bool         `json:"success"`
	GiveawayID int64        `json:"giveaway_id"`
	Winners    []Winner     `json:"winners"`
	Draw       *draw.Record `json:"draw"`
}

// WinnerStatus answers GET
// /api/participants/winner-status/{user_id}/{giveaway_id}: whether the user
// took part in the giveaway and won.
type WinnerStatus struct {
	Success          bool       `json:"success"`
	UserID           int64      `json:"user_id"`
	GiveawayID       int64      `json:"giveaway_id"`
	Participated     bool       `json:"participated"`
	IsWinner         bool       `json:"is_winner"`
	WinnerSelectedAt *time.Time `json:"winner_selected_at"`
	TotalWinners     int        `json:"total_winners"`
	// ParticipantID is null when the user did not take part.
	ParticipantID *int64 `json:"participant_id"`
}

// History answers GET /api/participants/history/{user_id}: a user's totals
// and most recent participations.
type History struct {
	Success              bool            `json:"success"`
	UserStats            UserStats       `json:"user_stats"`
	RecentParticipations []Participation `json:"recent_participations"`
}

// Participation is one giveaway a user took part in.
type Participation struct {
	GiveawayID       int64      `json:"giveaway_id"`
	ParticipatedAt   time.Time  `json:"participated_at"`
	IsWinner         bool       `json:"is_winner"`
	WinnerSelectedAt *time.Time `json:"winner_selected_at"`
}

// VerifySubscriptionRequest is the body of POST
// /api/participants/verify-subscription.
type VerifySubscriptionRequest struct {
	AccountID int64 `json:"account_id"`
	UserID    int64 `json:"user_id"`
}

// Subscription answers verify-subscription: whether the user is subscribed
// to the account's channel, as Telegram says.
type Subscription struct {
	Success          bool      `json:"success"`
	UserID           int64     `json:"user_id"`
	AccountID        int64     `json:"account_id"`
	IsSubscribed     bool      `json:"is_subscribed"`
	MembershipStatus string    `json:"membership_status"`
	ChannelInfo      Channel   `json:"channel_info"`
	VerifiedAt       time.Time `json:"verified_at"`
}

// Channel describes an account's channel.
type Channel struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	Username string `json:"username"`
}

// UpdateDeliveryRequest is the body of PUT
// /api/participants/update-delivery-status: result-message delivery for up
// to 10,000 participants. The service takes an absent delivered as true.
type UpdateDeliveryRequest struct {
	ParticipantIDs    []int64    `json:"participant_ids"`
	Delivered         bool       `json:"delivered"`
	DeliveryTimestamp *time.Time `json:"delivery_timestamp,omitempty"`
}

// DeliveryResult answers update-delivery-status.
type DeliveryResult struct {
	Success       bool              `json:"success"`
	UpdatedCount  int               `json:"updated_count"`
	FailedUpdates []DeliveryFailure `json:"failed_updates"`
}

// DeliveryFailure is a participant whose delivery could not be recorded.
type DeliveryFailure struct {
	ParticipantID int64  `json:"participant_id"`
	Error         string `json:"error"`
}
