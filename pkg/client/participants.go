package client

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
)

// Register joins a user to a giveaway, or returns the captcha the user must
// solve first. It is not retried: its answer depends on what came before.
func (c *Client) Register(ctx context.Context, req RegisterRequest) (RegisterResult, error) {
	var out struct {
		RegisterResult
		Challenge
	}
	if err := c.do(ctx, call{method: "POST", path: "/api/participants/register", body: req}, &out); err != nil {
		return RegisterResult{}, err
	}
	res := out.RegisterResult
	if res.RequiresCaptcha {
		ch := out.Challenge
		res.Challenge = &ch
	}
	return res, nil
}

// ValidateCaptcha answers the user's captcha. It is not retried: a wrong
// answer uses an attempt.
func (c *Client) ValidateCaptcha(ctx context.Context, req ValidateRequest) (ValidateResult, error) {
	var raw json.RawMessage
	if err := c.do(ctx, call{method: "POST", path: "/api/participants/validate-captcha", body: req}, &raw); err != nil {
		return ValidateResult{}, err
	}
	var res ValidateResult
	var renewed struct {
		NewQuestion string `json:"new_question"`
		Challenge
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return ValidateResult{}, err
	}
	if err := json.Unmarshal(raw, &renewed); err != nil {
		return ValidateResult{}, err
	}
	if renewed.NewQuestion != "" {
		ch := renewed.Challenge
		ch.Question = renewed.NewQuestion
		res.NewChallenge = &ch
	}
	return res, nil
}

// CaptchaStatus returns whether the user has passed the captcha.
func (c *Client) CaptchaStatus(ctx context.Context, userID int64) (UserStats, error) {
	var out UserStats
	err := c.do(ctx, call{method: "GET", path: path("/api/participants/captcha-status/%d", userID), repeatable: true}, &out)
	return out, err
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
	body := map[string]int64{"user_id": userID, "account_id": accountID}
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
