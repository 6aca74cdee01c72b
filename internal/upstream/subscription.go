package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/participant"
)

// Subscriptions checks channel membership: the channel service names the
// account's channel, the auth service holds the account's bot token, and
// Telegram's getChatMember answers.
type Subscriptions struct {
	channels, auth, telegram *service
	opts                     Options
	// secrets holds the bot tokens: only in this process's memory, never
	// in the shared cache, where anyone who can read Redis could read them.
	secrets Options
	now     func() time.Time
}

// maxCachedTokens bounds the in-process bot-token cache; one entry per
// giveaway account in use.
const maxCachedTokens = 10_000

// NewSubscriptions returns a subscription checker.
func NewSubscriptions(o Options) *Subscriptions {
	o = o.withDefaults()
	secrets := o
	if o.Cache != nil {
		secrets.Cache = cache.NewMemory(maxCachedTokens, nil)
	}
	return &Subscriptions{
		channels: newService("channel", o.ChannelURL, true, o),
		auth:     newService("auth", o.AuthURL, true, o),
		telegram: newService("telegram", o.TelegramAPIBase, false, o),
		opts:     o,
		secrets:  secrets,
		now:      time.Now,
	}
}

var _ participant.Subscriptions = (*Subscriptions)(nil)

// Breakers are the states of the channel, auth and Telegram breakers.
func (s *Subscriptions) Breakers() map[string]string {
	return map[string]string{"channel": s.channels.State(), "auth": s.auth.State(), "telegram": s.telegram.State()}
}

// channel is the account's channel as the channel service describes it.
type channel struct {
	TelegramID int64  `json:"telegram_id"`
	Username   string `json:"username"`
	Title      string `json:"title"`
}

// CheckSubscription resolves the channel and bot token and asks Telegram.
// Only positive answers are cached: a user told to subscribe first must be
// let in as soon as they have.
func (s *Subscriptions) CheckSubscription(ctx context.Context, userID, accountID int64) (participant.Subscription, error) {
	key := fmt.Sprintf("subscription:%d:%d", accountID, userID)
	subscribed := func(sub participant.Subscription) bool { return sub.Subscribed }
	return cached(ctx, s.opts, key, subscribed, func() (participant.Subscription, error) {
		ch, err := s.channel(ctx, accountID)
		if err != nil {
			return participant.Subscription{}, err
		}
		token, err := s.botToken(ctx, accountID)
		if err != nil {
			return participant.Subscription{}, err
		}
		status, member, err := s.chatMember(ctx, token, ch.TelegramID, userID)
		if errors.Is(err, errTokenRejected) && s.secrets.Cache != nil {
			// The token was revoked or rotated: ask the auth service
			// again next time instead of for the rest of the TTL.
			_ = s.secrets.Cache.Delete(ctx, botTokenKey(accountID))
		}
		if err != nil {
			return participant.Subscription{}, err
		}
		return participant.Subscription{
			Subscribed: isSubscribed(status, member),
			Status:     status,
			Channel:    participant.Channel{ID: ch.TelegramID, Title: ch.Title, Username: ch.Username},
			VerifiedAt: s.now().UTC().Truncate(time.Microsecond),
		}, nil
	})
}

// isSubscribed applies Telegram's membership states: member, administrator
// and creator are in; restricted is in only while is_member.
func isSubscribed(status string, isMember bool) bool {
	switch status {
	case "member", "administrator", "creator":
		return true
	case "restricted":
		return isMember
	}
	return false
}

func (s *Subscriptions) channel(ctx context.Context, accountID int64) (channel, error) {
	return cached(ctx, s.opts, fmt.Sprintf("channel:%d", accountID), always[channel], func() (channel, error) {
		resp, err := s.channels.get(ctx, fmt.Sprintf("/api/channels/account/%d", accountID))
		if err != nil {
			return channel{}, s.channels.unavailable(err)
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
			return channel{}, s.channels.unavailable(decodeErr)
		}
		return channel{TelegramID: body.Channel.TelegramID, Username: body.Channel.ChannelUsername, Title: body.Channel.ChannelTitle}, nil
	})
}

// botToken asks the auth service for the account's bot token. The token is
// cached for as long as other answers, but in this process only, and never
// logged or returned to a caller.
func (s *Subscriptions) botToken(ctx context.Context, accountID int64) (string, error) {
	return cached(ctx, s.secrets, botTokenKey(accountID), always[string], func() (string, error) {
		resp, err := s.auth.get(ctx, fmt.Sprintf("/api/auth/bot-token/%d", accountID))
		if err != nil {
			return "", s.auth.unavailable(err)
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
			return "", s.auth.unavailable(decodeErr)
		}
		return body.BotToken, nil
	})
}

func botTokenKey(accountID int64) string { return fmt.Sprintf("bot-token:%d", accountID) }

// errTokenRejected is Telegram's 401: the bot token is no longer valid.
var errTokenRejected = errors.New("bot token rejected")

// chatMember calls getChatMember. The token is part of the URL, so no
// error from here may include the URL or the body verbatim.
func (s *Subscriptions) chatMember(ctx context.Context, token string, chatID, userID int64) (string, bool, error) {
	q := url.Values{}
	q.Set("chat_id", strconv.FormatInt(chatID, 10))
	q.Set("user_id", strconv.FormatInt(userID, 10))
	resp, err := s.telegram.get(ctx, "/bot"+url.PathEscape(token)+"/getChatMember?"+q.Encode())
	if errors.Is(err, errOpen) {
		return "", false, s.telegram.unavailable(err)
	}
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
		if resp.status == http.StatusUnauthorized {
			return "", false, telegramError(errTokenRejected)
		}
		return "", false, telegramError(fmt.Errorf("status %d", resp.status))
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
