package upstream

import (
	"context"
	"fmt"
	"net/http"
	"sync"
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
	// floods holds, per account, when Telegram's flood control lets the
	// account's bot call again.
	floods sync.Map
	now    func() time.Time
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

// CheckSubscription resolves the account's channel and asks about it as
// CheckMemberships does, so the same cache and breaker serve both: only
// positive answers are cached, and a user told to subscribe first is let
// in as soon as they have.
func (s *Subscriptions) CheckSubscription(ctx context.Context, userID, accountID int64) (participant.Subscription, error) {
	ch, err := s.channel(ctx, accountID)
	if err != nil {
		return participant.Subscription{}, err
	}
	ms, err := s.CheckMemberships(ctx, accountID, userID, []participant.ChatRef{participant.ChatByID(ch.TelegramID)})
	if err != nil {
		return participant.Subscription{}, err
	}
	return participant.Subscription{
		Subscribed: ms[0].IsMember,
		Status:     string(ms[0].Status),
		Channel:    participant.Channel{ID: ch.TelegramID, Title: ch.Title, Username: ch.Username},
		VerifiedAt: ms[0].CheckedAt,
	}, nil
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
