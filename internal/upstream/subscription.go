package upstream

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/telegive/participant-service/internal/participant"
)

// Subscriptions checks channel membership: the channel service names the
// account's channel, the auth service holds the account's bot token, and
// Telegram's getChatMember answers.
type Subscriptions struct {
	opts Options
	http *http.Client
	now  func() time.Time
}

// NewSubscriptions returns a subscription checker.
func NewSubscriptions(o Options) *Subscriptions {
	return &Subscriptions{opts: o, http: o.client(), now: time.Now}
}

var _ participant.Subscriptions = (*Subscriptions)(nil)

// channel is the account's channel as the channel service describes it.
type channel struct {
	TelegramID int64
	Username   string
	Title      string
}

// CheckSubscription resolves the channel and bot token and asks Telegram.
func (s *Subscriptions) CheckSubscription(ctx context.Context, userID, accountID int64) (participant.Subscription, error) {
	ch, err := s.channel(ctx, accountID)
	if err != nil {
		return participant.Subscription{}, err
	}
	token, err := s.botToken(ctx, accountID)
	if err != nil {
		return participant.Subscription{}, err
	}
	status, member, err := s.chatMember(ctx, token, ch.TelegramID, userID)
	if err != nil {
		return participant.Subscription{}, err
	}
	return participant.Subscription{
		Subscribed: subscribed(status, member),
		Status:     status,
		Channel:    participant.Channel{ID: ch.TelegramID, Title: ch.Title, Username: ch.Username},
		VerifiedAt: s.now().UTC().Truncate(time.Microsecond),
	}, nil
}

// subscribed applies Telegram's membership states: member, administrator
// and creator are in; restricted is in only while is_member.
func subscribed(status string, isMember bool) bool {
	switch status {
	case "member", "administrator", "creator":
		return true
	case "restricted":
		return isMember
	}
	return false
}

func (s *Subscriptions) channel(ctx context.Context, accountID int64) (channel, error) {
	u := strings.TrimSuffix(s.opts.ChannelURL, "/") + "/api/channels/account/" + strconv.FormatInt(accountID, 10)
	resp, err := get(ctx, s.http, s.opts.Timeout, u, s.opts.header(true))
	if err != nil {
		return channel{}, unavailable("channel", err)
	}
	var body struct {
		Success bool `json:"success"`
		Channel *struct {
			TelegramID      int64  `json:"telegram_id"`
			ChannelUsername string `json:"channel_username"`
			ChannelTitle    string `json:"channel_title"`
		} `json:"channel"`
	}
	decodeErr := resp.decode(&body)
	if resp.status == http.StatusNotFound || decodeErr == nil && resp.status == http.StatusOK && (body.Channel == nil || body.Channel.TelegramID == 0) {
		return channel{}, participant.Errorf(participant.CodeChannelNotFound, "The giveaway's channel could not be found.")
	}
	if decodeErr != nil || resp.status != http.StatusOK || !body.Success {
		return channel{}, unavailable("channel", decodeErr)
	}
	return channel{TelegramID: body.Channel.TelegramID, Username: body.Channel.ChannelUsername, Title: body.Channel.ChannelTitle}, nil
}

func (s *Subscriptions) botToken(ctx context.Context, accountID int64) (string, error) {
	u := strings.TrimSuffix(s.opts.AuthURL, "/") + "/api/auth/bot-token/" + strconv.FormatInt(accountID, 10)
	resp, err := get(ctx, s.http, s.opts.Timeout, u, s.opts.header(true))
	if err != nil {
		return "", unavailable("auth", err)
	}
	var body struct {
		Success  bool   `json:"success"`
		BotToken string `json:"bot_token"`
	}
	decodeErr := resp.decode(&body)
	if resp.status == http.StatusNotFound || decodeErr == nil && resp.status == http.StatusOK && body.BotToken == "" {
		return "", participant.Errorf(participant.CodeBotTokenMissing, "The giveaway's bot is not configured.")
	}
	if decodeErr != nil || resp.status != http.StatusOK || !body.Success {
		return "", unavailable("auth", decodeErr)
	}
	return body.BotToken, nil
}

// chatMember calls getChatMember. The token is part of the URL, so no
// error from here may include the URL or the body verbatim.
func (s *Subscriptions) chatMember(ctx context.Context, token string, chatID, userID int64) (string, bool, error) {
	q := url.Values{}
	q.Set("chat_id", strconv.FormatInt(chatID, 10))
	q.Set("user_id", strconv.FormatInt(userID, 10))
	u := strings.TrimSuffix(s.opts.TelegramAPIBase, "/") + "/bot" + url.PathEscape(token) + "/getChatMember?" + q.Encode()
	resp, err := get(ctx, s.http, s.opts.Timeout, u, http.Header{})
	if err != nil {
		return "", false, telegramError(err)
	}
	var body struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
		Result      struct {
			Status   string `json:"status"`
			IsMember bool   `json:"is_member"`
		} `json:"result"`
	}
	if err := resp.decode(&body); err != nil {
		return "", false, telegramError(err)
	}
	if !body.OK {
		// Telegram answers 400 "user not found" for a user it has never
		// seen in the chat: that user is simply not subscribed.
		if resp.status == http.StatusBadRequest && strings.Contains(strings.ToLower(body.Description), "user not found") {
			return "left", false, nil
		}
		return "", false, telegramError(serviceError{"telegram", nil})
	}
	return body.Result.Status, body.Result.IsMember, nil
}

func telegramError(cause error) error {
	return &participant.Error{
		Code:    participant.CodeTelegramAPI,
		Message: "Telegram could not confirm the subscription right now. Please try again shortly.",
		Err:     serviceError{"telegram", cause},
	}
}
