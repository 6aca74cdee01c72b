package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/participant"
)

// maxParallelLookups bounds the getChatMember calls one check makes at
// once. A giveaway requires at most ten chats; four at a time keep a
// check with cold caches near one round trip for the usual one to three
// chats without letting one registration burst a bot's Telegram limits.
const maxParallelLookups = 4

var _ participant.Memberships = (*Subscriptions)(nil)

// AccountChannel returns the account's channel from the channel service,
// through the cache.
func (s *Subscriptions) AccountChannel(ctx context.Context, accountID int64) (participant.Channel, error) {
	ch, err := s.channel(ctx, accountID)
	if err != nil {
		return participant.Channel{}, err
	}
	return participant.Channel{ID: ch.TelegramID, Title: ch.Title, Username: ch.Username}, nil
}

// CheckMemberships asks Telegram, with the account's bot, about the user
// in each chat that has no cached answer. See participant.Memberships.
func (s *Subscriptions) CheckMemberships(ctx context.Context, accountID, userID int64, chats []participant.ChatRef) ([]participant.Membership, error) {
	return s.memberships(ctx, accountID, userID, chats, true)
}

// RecheckMemberships asks Telegram about every chat, and refreshes the
// cache with the answers.
func (s *Subscriptions) RecheckMemberships(ctx context.Context, accountID, userID int64, chats []participant.ChatRef) ([]participant.Membership, error) {
	return s.memberships(ctx, accountID, userID, chats, false)
}

func (s *Subscriptions) memberships(ctx context.Context, accountID, userID int64, chats []participant.ChatRef, useCache bool) ([]participant.Membership, error) {
	for _, c := range chats {
		if !c.Valid() {
			return nil, participant.Errorf(participant.CodeValidation, "%q is not a chat id or public @username.", c.String())
		}
	}
	out := make([]participant.Membership, len(chats))
	// One lookup per chat however often it is named, so a rule listing a
	// chat twice costs one call.
	first := make(map[string]int, len(chats))
	var lookups []int
	for i, c := range chats {
		if _, ok := first[chatKey(c)]; !ok {
			first[chatKey(c)] = i
			lookups = append(lookups, i)
		}
	}
	// The cached answers in one round trip: a check of three chats with a
	// warm cache then costs what a check of one does.
	rest := lookups
	if useCache && s.opts.Cache != nil {
		rest = s.cachedMemberships(ctx, accountID, userID, chats, lookups, out)
	}
	// The token is asked for once, and only when some chat is not cached.
	token := sync.OnceValues(func() (string, error) { return s.botToken(ctx, accountID) })
	sem := make(chan struct{}, maxParallelLookups)
	var wg sync.WaitGroup
	if len(rest) > 1 && s.telegram.State() != "closed" {
		// A half-open breaker lets one trial call through and refuses
		// the others while it runs, which would report the other chats
		// unknown just as Telegram came back: the trial goes alone, and
		// the rest follow once its answer has closed the breaker.
		i := rest[0]
		rest = rest[1:]
		out[i] = s.membership(ctx, accountID, userID, chats[i], useCache, token)
	}
	for _, i := range rest {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = s.membership(ctx, accountID, userID, chats[i], useCache, token)
		}()
	}
	wg.Wait()
	for i, c := range chats {
		if j := first[chatKey(c)]; j != i {
			out[i] = out[j]
			out[i].Chat = c
		}
	}
	return out, membershipsError(out, lookups)
}

// cachedMemberships fills out with the cached answers of the lookups, read
// in one call, and returns the lookups that have none. A cache that fails
// reads as empty.
func (s *Subscriptions) cachedMemberships(ctx context.Context, accountID, userID int64, chats []participant.ChatRef, lookups []int, out []participant.Membership) []int {
	keys := make([]string, len(lookups))
	for j, i := range lookups {
		keys[j] = membershipKey(accountID, chats[i], userID)
	}
	values, err := cache.GetMany(ctx, s.opts.Cache, keys)
	if err != nil || len(values) != len(keys) {
		return lookups
	}
	var rest []int
	for j, i := range lookups {
		var c cachedMembership
		if values[j] != nil && json.Unmarshal(values[j], &c) == nil && c.Status != "" {
			out[i] = membershipOf(chats[i], c.Status, c.IsMember, c.CheckedAt)
			continue
		}
		rest = append(rest, i)
	}
	return rest
}

// membership is one chat's answer from Telegram, the cache (read before,
// by cachedMemberships) kept up to date with it.
func (s *Subscriptions) membership(ctx context.Context, accountID, userID int64, chat participant.ChatRef, useCache bool, token func() (string, error)) participant.Membership {
	key := membershipKey(accountID, chat, userID)
	if wait := s.floodWait(accountID); wait > 0 {
		return participant.Membership{Chat: chat, Err: &participant.ChatError{Chat: chat, Failure: participant.FailureUnavailable,
			RetryAfter: wait, Err: serviceError{"telegram", rateLimited{wait}}}}
	}
	tok, err := token()
	if err != nil {
		return participant.Membership{Chat: chat, Err: tokenFailure(chat, err)}
	}
	status, isMember, premium, err := s.chatMember(ctx, tok, chat, userID)
	if errors.Is(err, errTokenRejected) && s.secrets.Cache != nil {
		// The token was revoked or rotated: ask the auth service again
		// next time instead of for the rest of the TTL.
		_ = s.secrets.Cache.Delete(ctx, botTokenKey(accountID))
	}
	var rl rateLimited
	if errors.As(err, &rl) && rl.after > 0 {
		s.holdFloods(accountID, rl.after)
	}
	if err != nil {
		return participant.Membership{Chat: chat, Err: err}
	}
	m := membershipOf(chat, status, isMember, s.now().UTC().Truncate(time.Microsecond))
	m.IsPremium = premium
	if !m.IsMember && !useCache && s.opts.Cache != nil {
		// A re-check that finds the user gone drops the answer that let
		// them in, so registration stops trusting it too.
		_ = s.opts.Cache.Delete(ctx, key)
	}
	// Only members (administrators and creators among them) are cached:
	// a user told to join a chat must be let in as soon as they have, so
	// "not a member" is asked again every time. A member who leaves is
	// still let in for up to the TTL, which a registration can live with
	// and the draw's re-check does not (it reads no cached answer).
	// Administrators are cached too: their status changes as seldom as
	// membership does, and caching it is what keeps a check of several
	// chats with a warm cache free of Telegram calls.
	if m.IsMember && s.opts.Cache != nil {
		if b, err := json.Marshal(cachedMembership{Status: m.Status, IsMember: true, CheckedAt: m.CheckedAt}); err == nil {
			_ = s.opts.Cache.Set(ctx, key, b, s.opts.CacheTTL)
		}
	}
	return m
}

// floodWait is what is left of the wait Telegram's flood control set for
// the account's bot, zero when none is running.
func (s *Subscriptions) floodWait(accountID int64) time.Duration {
	v, ok := s.floods.Load(accountID)
	if !ok {
		return 0
	}
	wait := v.(time.Time).Sub(s.now())
	if wait <= 0 {
		s.floods.CompareAndDelete(accountID, v)
		return 0
	}
	return wait
}

// holdFloods keeps the account's bot away from Telegram for d, as a 429's
// retry_after asks: flood control is per bot, and calls made during the
// wait only lengthen it. The wait is held in this process only, like the
// breaker; other replicas learn it from their own first 429.
func (s *Subscriptions) holdFloods(accountID int64, d time.Duration) {
	until := s.now().Add(d)
	for {
		v, loaded := s.floods.LoadOrStore(accountID, until)
		if !loaded || !v.(time.Time).Before(until) || s.floods.CompareAndSwap(accountID, v, until) {
			return
		}
	}
}

// cachedMembership is a membership as the shared cache holds it.
type cachedMembership struct {
	Status    participant.MemberStatus `json:"status"`
	IsMember  bool                     `json:"is_member"`
	CheckedAt time.Time                `json:"checked_at"`
}

// membershipKey caches per account, not only per chat and user: a
// membership is the same whichever bot asks, but whether the account's
// own bot can see the chat is not, and an answer another account's bot
// obtained would hide that this one's bot is not an administrator there.
func membershipKey(accountID int64, chat participant.ChatRef, userID int64) string {
	return fmt.Sprintf("membership:%d:%s:%d", accountID, chatKey(chat), userID)
}

// chatKey is the chat as the cache and duplicate check know it: Telegram
// matches usernames without regard to case.
func chatKey(c participant.ChatRef) string {
	if c.Username != "" {
		return "@" + strings.ToLower(c.Username)
	}
	return strconv.FormatInt(c.ID, 10)
}

func membershipOf(chat participant.ChatRef, status participant.MemberStatus, isMember bool, at time.Time) participant.Membership {
	return participant.Membership{
		Chat:      chat,
		Status:    status,
		IsMember:  isSubscribed(status, isMember),
		IsAdmin:   status == participant.MemberCreator || status == participant.MemberAdministrator,
		CheckedAt: at,
	}
}

// isSubscribed applies Telegram's membership states: member, administrator
// and creator are in; restricted is in only while is_member.
func isSubscribed(status participant.MemberStatus, isMember bool) bool {
	switch status {
	case participant.MemberMember, participant.MemberAdministrator, participant.MemberCreator:
		return true
	case participant.MemberRestricted:
		return isMember
	}
	return false
}

// errTokenRejected is Telegram's 401 (or 404, its answer to a token that
// is not even well formed): the bot token is no longer valid.
var errTokenRejected = errors.New("bot token rejected")

// chatMember calls getChatMember, and returns the member's status,
// is_member, and the is_premium of the ChatMember's user (nil when the
// answer omits it). The token is part of the URL, so no
// error from here includes the URL or Telegram's body verbatim; errors
// are *participant.ChatError, naming the chat. Telegram's "user not
// found" and "member not found" are answers, not errors: the user is not
// in the chat.
func (s *Subscriptions) chatMember(ctx context.Context, token string, chat participant.ChatRef, userID int64) (participant.MemberStatus, bool, *bool, error) {
	q := url.Values{}
	q.Set("chat_id", chat.String())
	q.Set("user_id", strconv.FormatInt(userID, 10))
	resp, err := s.telegram.get(ctx, "/bot"+url.PathEscape(token)+"/getChatMember?"+q.Encode())
	if err != nil {
		return "", false, nil, &participant.ChatError{Chat: chat, Failure: participant.FailureUnavailable,
			RetryAfter: s.telegram.waitFor(err), Err: serviceError{"telegram", err}}
	}
	var body struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
		Result      struct {
			Status   participant.MemberStatus `json:"status"`
			IsMember bool                     `json:"is_member"`
			User     struct {
				IsPremium *bool `json:"is_premium"`
			} `json:"user"`
		} `json:"result"`
	}
	if err := resp.decode(&body); err != nil {
		return "", false, nil, &participant.ChatError{Chat: chat, Failure: participant.FailureUnavailable, Err: serviceError{"telegram", err}}
	}
	if body.OK {
		switch body.Result.Status {
		case participant.MemberCreator, participant.MemberAdministrator, participant.MemberMember,
			participant.MemberRestricted, participant.MemberLeft, participant.MemberKicked:
			return body.Result.Status, body.Result.IsMember, body.Result.User.IsPremium, nil
		}
		// A status Telegram adds later must not silently fail (or pass)
		// a user: it is reported as unknown until it is understood.
		return "", false, nil, &participant.ChatError{Chat: chat, Failure: participant.FailureUnavailable,
			Err: serviceError{"telegram", fmt.Errorf("unexpected member status %q", truncate(string(body.Result.Status), 32))}}
	}
	failure := participant.FailureUnavailable
	var cause error = fmt.Errorf("status %d", resp.status)
	desc := strings.ToLower(body.Description)
	switch {
	case resp.status == http.StatusBadRequest && (strings.Contains(desc, "user not found") ||
		strings.Contains(desc, "member not found") || strings.Contains(desc, "participant_id_invalid")):
		return participant.MemberLeft, false, nil, nil
	case resp.status == http.StatusUnauthorized || resp.status == http.StatusNotFound:
		failure, cause = participant.FailureBotToken, errTokenRejected
	case resp.status == http.StatusBadRequest && strings.Contains(desc, "chat not found"):
		failure = participant.FailureChatNotFound
	case resp.status == http.StatusForbidden, resp.status == http.StatusBadRequest &&
		(strings.Contains(desc, "admin") || strings.Contains(desc, "inaccessible") || strings.Contains(desc, "not enough rights")):
		failure = participant.FailureBotNotAdmin
	}
	if failure != participant.FailureUnavailable && failure != participant.FailureBotToken {
		// Telegram's description says what is wrong with the chat; it
		// never holds the token.
		cause = fmt.Errorf("status %d: %s", resp.status, truncate(body.Description, 200))
	}
	return "", false, nil, &participant.ChatError{Chat: chat, Failure: failure, Err: serviceError{"telegram", cause}}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// tokenFailure is a chat's error when the bot token could not be had:
// missing (the account's bot is not configured) or the auth service
// unavailable.
func tokenFailure(chat participant.ChatRef, err error) error {
	f := participant.FailureUnavailable
	var e *participant.Error
	if errors.As(err, &e) {
		if e.Code == participant.CodeBotTokenMissing {
			f = participant.FailureBotToken
		}
		return &participant.ChatError{Chat: chat, Failure: f, RetryAfter: e.RetryAfter, Err: err}
	}
	return &participant.ChatError{Chat: chat, Failure: f, Err: err}
}

// membershipsError is the call's error: nil when every lookup has a
// definite answer, else the domain error of the most serious failure.
// Failures the owner must fix come before an unavailable Telegram, since
// retrying cannot mend them; among unavailable ones, the longest wait.
func membershipsError(out []participant.Membership, lookups []int) error {
	var worst *participant.ChatError
	rank := func(e *participant.ChatError) int {
		if e.Failure == participant.FailureUnavailable {
			return 0
		}
		return 1
	}
	for _, i := range lookups {
		var e *participant.ChatError
		if !errors.As(out[i].Err, &e) {
			continue
		}
		if worst == nil || rank(e) > rank(worst) || rank(e) == rank(worst) && e.RetryAfter > worst.RetryAfter {
			worst = e
		}
	}
	if worst == nil {
		return nil
	}
	return membershipError(worst)
}

// membershipError is the domain error for one chat's failure. Messages
// are safe to show a Telegram user: they name the chat, never the token.
func membershipError(e *participant.ChatError) error {
	switch e.Failure {
	case participant.FailureChatNotFound:
		return &participant.Error{Code: participant.CodeChannelNotFound,
			Message: fmt.Sprintf("The giveaway's bot cannot find the chat %s.", e.Chat), Err: e}
	case participant.FailureBotNotAdmin:
		return &participant.Error{Code: participant.CodeTelegramAPI,
			Message: fmt.Sprintf("The giveaway's bot cannot see the members of %s: it must be an administrator there.", e.Chat), Err: e}
	case participant.FailureBotToken:
		var de *participant.Error
		if errors.As(e.Err, &de) {
			return &participant.Error{Code: de.Code, Message: de.Message, Err: e}
		}
		return &participant.Error{Code: participant.CodeTelegramAPI,
			Message: "Telegram refused the giveaway's bot. Please try again later.", Err: e}
	}
	var de *participant.Error
	if errors.As(e.Err, &de) {
		// The auth service was unavailable.
		return &participant.Error{Code: de.Code, Message: de.Message, RetryAfter: de.RetryAfter, Err: e}
	}
	if e.RetryAfter > 0 {
		// An open breaker or Telegram's flood control: the caller is told
		// when to come back.
		return &participant.Error{Code: participant.CodeServiceUnavailable,
			Message: "Telegram cannot be asked right now. Please try again shortly.", RetryAfter: e.RetryAfter, Err: e}
	}
	return &participant.Error{Code: participant.CodeTelegramAPI,
		Message: "Telegram could not confirm the subscription right now. Please try again shortly.", Err: e}
}
