package client

import (
	"context"
	"net/url"
	"strconv"

	"github.com/telegive/participant-service/pkg/api"
)

// Register joins a user to a giveaway, or returns the captcha the user must
// solve first. It is not retried: its answer depends on what came before.
func (c *Client) Register(ctx context.Context, req RegisterRequest) (RegisterResult, error) {
	// The answer is one of two shapes, told apart by requires_captcha.
	var registered api.Registered
	var asked api.CaptchaRequired
	if err := c.do(ctx, call{method: "POST", path: "/api/participants/register", body: req}, &registered, &asked); err != nil {
		return RegisterResult{}, err
	}
	res := RegisterResult{
		RequiresCaptcha:        registered.RequiresCaptcha,
		ParticipationConfirmed: registered.ParticipationConfirmed,
		ParticipantID:          registered.ParticipantID,
		Message:                registered.Message,
	}
	if res.RequiresCaptcha {
		res.Challenge = &Challenge{Question: asked.CaptchaQuestion, SessionID: asked.SessionID,
			AttemptsRemaining: asked.AttemptsRemaining, ExpiresAt: asked.ExpiresAt}
	}
	return res, nil
}

// ValidateCaptcha answers the user's captcha. It is not retried: a wrong
// answer uses an attempt.
func (c *Client) ValidateCaptcha(ctx context.Context, req ValidateRequest) (ValidateResult, error) {
	// The answer is one of three shapes: api.CaptchaSolved, api.CaptchaWrong
	// or api.CaptchaRenewed, which has every field of CaptchaWrong.
	var solved api.CaptchaSolved
	var renewed api.CaptchaRenewed
	if err := c.do(ctx, call{method: "POST", path: "/api/participants/validate-captcha", body: req}, &solved, &renewed); err != nil {
		return ValidateResult{}, err
	}
	res := ValidateResult{
		CaptchaCompleted:       solved.CaptchaCompleted,
		ParticipationConfirmed: solved.ParticipationConfirmed,
		ParticipantID:          solved.ParticipantID,
		AttemptsRemaining:      renewed.AttemptsRemaining,
		Message:                solved.Message,
	}
	if renewed.NewQuestion != "" {
		res.NewChallenge = &Challenge{Question: renewed.NewQuestion, SessionID: renewed.SessionID,
			AttemptsRemaining: renewed.AttemptsRemaining, ExpiresAt: renewed.ExpiresAt}
	}
	return res, nil
}

// CaptchaStatus returns whether the user has passed the captcha.
func (c *Client) CaptchaStatus(ctx context.Context, userID int64) (UserStats, error) {
	var out api.CaptchaStatusResponse
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/captcha-status/%d", userID), repeatable: true}, &out)
	return out.UserStats, err
}

// WinnerStatus returns whether the user took part in the giveaway and won.
func (c *Client) WinnerStatus(ctx context.Context, userID, giveawayID int64) (WinnerStatus, error) {
	var out WinnerStatus
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/winner-status/%d/%d", userID, giveawayID), repeatable: true}, &out)
	return out, err
}

// VerifySubscription asks whether the user is subscribed to the account's
// channel.
func (c *Client) VerifySubscription(ctx context.Context, userID, accountID int64) (Subscription, error) {
	var out Subscription
	body := api.VerifySubscriptionRequest{UserID: userID, AccountID: accountID}
	err := c.do(ctx, call{method: "POST", path: "/api/participants/verify-subscription", body: body, repeatable: true}, &out)
	return out, err
}

// UpdateDeliveryStatus records result-message delivery. It is not retried:
// each call counts a delivery attempt.
func (c *Client) UpdateDeliveryStatus(ctx context.Context, u DeliveryUpdate) (DeliveryResult, error) {
	var out DeliveryResult
	err := c.do(ctx, call{method: "PUT", path: "/api/participants/update-delivery-status", body: u}, &out)
	return out, err
}

// History returns a user's totals and up to limit recent participations.
func (c *Client) History(ctx context.Context, userID int64, limit int) (History, error) {
	var out History
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/history/%d", userID), query: q, repeatable: true}, &out)
	return out, err
}
