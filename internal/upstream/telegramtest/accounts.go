package telegramtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Channel is an account's channel as the channel service describes it.
type Channel struct {
	TelegramID int64
	Username   string
	Title      string
}

// Accounts stands in for the channel and auth services: each account's
// channel and bot token. Requests must carry the service token given to
// NewAccounts (when not empty) as X-Service-Token, as ours do.
type Accounts struct {
	// URL is the base of both services (TELEGIVE_CHANNEL_URL and
	// TELEGIVE_AUTH_URL).
	URL string

	serviceToken string
	mu           sync.Mutex
	channels     map[int64]Channel
	tokens       map[int64]string
	channelCalls int
	authCalls    int
}

// NewAccounts starts the stand-in; it stops when the test ends.
func NewAccounts(t testing.TB, serviceToken string) *Accounts {
	t.Helper()
	a := &Accounts{serviceToken: serviceToken, channels: map[int64]Channel{}, tokens: map[int64]string{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// SetAccount gives the account a channel and a bot token; an empty token
// leaves the account without a bot, and a zero channel without a channel.
func (a *Accounts) SetAccount(accountID int64, ch Channel, botToken string) *Accounts {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ch.TelegramID != 0 {
		a.channels[accountID] = ch
	} else {
		delete(a.channels, accountID)
	}
	if botToken != "" {
		a.tokens[accountID] = botToken
	} else {
		delete(a.tokens, accountID)
	}
	return a
}

// ChannelCalls and AuthCalls count the requests each service answered.
func (a *Accounts) ChannelCalls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.channelCalls
}

// AuthCalls is how many bot tokens were asked for.
func (a *Accounts) AuthCalls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.authCalls
}

// ServeHTTP answers GET /api/channels/account/{id} and
// /api/auth/bot-token/{id}.
func (a *Accounts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.serviceToken != "" && r.Header.Get("X-Service-Token") != a.serviceToken {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"success": false, "error": "unauthorized"})
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/channels/account/"); ok {
		a.channelCalls++
		id, _ := strconv.ParseInt(rest, 10, 64)
		ch, found := a.channels[id]
		if !found {
			writeJSON(w, http.StatusNotFound, map[string]any{"success": false, "error": "Channel not found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "channel": map[string]any{
			"telegram_id": ch.TelegramID, "channel_username": ch.Username, "channel_title": ch.Title}})
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/auth/bot-token/"); ok {
		a.authCalls++
		id, _ := strconv.ParseInt(rest, 10, 64)
		tok, found := a.tokens[id]
		if !found {
			writeJSON(w, http.StatusNotFound, map[string]any{"success": false, "error": "Bot token not found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "bot_token": tok})
		return
	}
	w.WriteHeader(http.StatusNotFound)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": false})
}
