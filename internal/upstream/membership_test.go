package upstream_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/upstream"
	"github.com/telegive/participant-service/internal/upstream/telegramtest"
)

const (
	otherBotToken = "654321:OTHER-bot-token"
	account       = int64(9)
	otherAccount  = int64(10)
	// Chats of the stand-in Bot API.
	chanA = int64(-1001001)
	chanB = int64(-1001002)
	group = int64(-1001003)
)

// Users, one per status in chanA.
const (
	creator = int64(100 + iota)
	admin
	member
	restrictedIn
	restrictedOut
	left
	kicked
	stranger
)

// bot is the stand-in Bot API, channel and auth services, and a checker
// that asks them.
type bot struct {
	tg       *telegramtest.Server
	accounts *telegramtest.Accounts
	opts     upstream.Options
	subs     *upstream.Subscriptions
}

// newBot sets up three chats (two with usernames) and a user per status
// in chanA; every user is a member of chanB and no one is in group.
// Options are changed by configure before the checker is made.
func newBot(t *testing.T, configure func(*upstream.Options)) *bot {
	t.Helper()
	tg := telegramtest.New(t, botToken, otherBotToken)
	tg.AddChat(chanA, "@Chan_A").AddChat(chanB, "chan_b").AddChat(group, "")
	for user, m := range map[int64]telegramtest.Member{
		creator: telegramtest.Creator, admin: telegramtest.Administrator, member: telegramtest.Joined,
		restrictedIn: telegramtest.Restricted(true), restrictedOut: telegramtest.Restricted(false),
		left: telegramtest.Left, kicked: telegramtest.Kicked,
	} {
		tg.SetMember("-1001001", user, m)
	}
	for user := creator; user <= stranger; user++ {
		tg.SetMember("@chan_b", user, telegramtest.Joined)
	}
	accounts := telegramtest.NewAccounts(t, "svc-token")
	accounts.SetAccount(account, telegramtest.Channel{TelegramID: chanA, Username: "chan_a", Title: "A"}, botToken)
	accounts.SetAccount(otherAccount, telegramtest.Channel{TelegramID: chanB, Username: "chan_b", Title: "B"}, otherBotToken)
	o := upstream.Options{
		ChannelURL: accounts.URL, AuthURL: accounts.URL, TelegramAPIBase: tg.URL,
		ServiceToken: "svc-token", Timeout: 500 * time.Millisecond, BreakerFailures: 100,
		Cache: cache.NewMemory(1000, nil), CacheTTL: time.Minute,
	}
	if configure != nil {
		configure(&o)
	}
	return &bot{tg: tg, accounts: accounts, opts: o, subs: upstream.NewSubscriptions(o)}
}

func (b *bot) check(t *testing.T, user int64, chats ...participant.ChatRef) ([]participant.Membership, error) {
	t.Helper()
	ms, err := b.subs.CheckMemberships(context.Background(), account, user, chats)
	if err == nil && len(ms) != len(chats) {
		t.Fatalf("%d memberships for %d chats", len(ms), len(chats))
	}
	return ms, err
}

func chatError(t *testing.T, m participant.Membership) *participant.ChatError {
	t.Helper()
	var e *participant.ChatError
	if !errors.As(m.Err, &e) {
		t.Fatalf("chat %s: err = %v, want a *participant.ChatError", m.Chat, m.Err)
	}
	if m.Status != "" || m.IsMember || m.IsAdmin {
		t.Fatalf("chat %s is unknown but reads as %+v: an unknown membership must be neither pass nor fail", m.Chat, m)
	}
	if e.Chat != m.Chat {
		t.Fatalf("the error names chat %s, the membership %s", e.Chat, m.Chat)
	}
	return e
}

// TestMembershipStatuses: every status Telegram reports, in chats named
// by id and by @username in any case, in the order asked.
func TestMembershipStatuses(t *testing.T) {
	b := newBot(t, func(o *upstream.Options) { o.Cache = nil })
	for _, c := range []struct {
		name   string
		user   int64
		status participant.MemberStatus
		in     bool
		admin  bool
	}{
		{"creator", creator, participant.MemberCreator, true, true},
		{"administrator", admin, participant.MemberAdministrator, true, true},
		{"member", member, participant.MemberMember, true, false},
		{"restricted and still in", restrictedIn, participant.MemberRestricted, true, false},
		{"restricted and gone", restrictedOut, participant.MemberRestricted, false, false},
		{"left", left, participant.MemberLeft, false, false},
		{"kicked", kicked, participant.MemberKicked, false, false},
		{"never seen", stranger, participant.MemberLeft, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			chats := []participant.ChatRef{participant.ChatByID(chanA), participant.ChatByUsername("@chan_b"),
				participant.ChatByUsername("CHAN_A"), participant.ChatByID(group)}
			ms, err := b.check(t, c.user, chats...)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range ms {
				if m.Chat != chats[i] || m.Err != nil || m.CheckedAt.IsZero() {
					t.Fatalf("membership %d = %+v, want chat %s with a definite answer", i, m, chats[i])
				}
			}
			for _, m := range []participant.Membership{ms[0], ms[2]} {
				if m.Status != c.status || m.IsMember != c.in || m.IsAdmin != c.admin {
					t.Fatalf("%s: %+v, want status %s member %v admin %v", m.Chat, m, c.status, c.in, c.admin)
				}
			}
			if !ms[1].IsMember || ms[1].Status != participant.MemberMember || ms[1].IsAdmin {
				t.Fatalf("@chan_b: %+v, want member", ms[1])
			}
			if ms[3].IsMember || ms[3].Status != participant.MemberLeft {
				t.Fatalf("group: %+v, want left", ms[3])
			}
		})
	}
}

// TestMembershipCache: only positive answers are cached, per account,
// chat and user; a chat named twice (even as id and differently cased
// username) costs one call; the bot token is asked for once.
func TestMembershipCache(t *testing.T) {
	b := newBot(t, nil)
	a, bb := participant.ChatByUsername("chan_a"), participant.ChatByID(chanB)
	for range 3 {
		ms, err := b.check(t, left, a, bb, participant.ChatByUsername("CHAN_a"))
		if err != nil || ms[0].IsMember || !ms[1].IsMember || ms[2].IsMember {
			t.Fatalf("memberships = %+v, %v", ms, err)
		}
	}
	if n := b.tg.Requests("@chan_a", left); n != 3 {
		t.Fatalf("a negative answer was asked %d times in three checks, want 3 (not cached, and @chan_a and @CHAN_a are one lookup)", n)
	}
	if n := b.tg.Requests("-1001002", left); n != 1 {
		t.Fatalf("a positive answer was asked %d times in three checks, want 1 (cached)", n)
	}
	if n := b.accounts.AuthCalls(); n != 1 {
		t.Fatalf("the bot token was asked for %d times, want 1", n)
	}

	// The user joins: the next check lets them in at once.
	b.tg.SetMember("@chan_a", left, telegramtest.Joined)
	if ms, err := b.check(t, left, a); err != nil || !ms[0].IsMember {
		t.Fatalf("after joining: %+v, %v", ms, err)
	}
	// Another user, and another account's bot, are not served this user's answer.
	if _, err := b.check(t, member, bb); err != nil {
		t.Fatal(err)
	}
	if n := b.tg.Requests("-1001002", member); n != 1 {
		t.Fatalf("another user's answer was served from the cache (%d calls)", n)
	}
	if _, err := b.subs.CheckMemberships(context.Background(), otherAccount, left, []participant.ChatRef{bb}); err != nil {
		t.Fatal(err)
	}
	if n := b.tg.Requests("-1001002", left); n != 2 {
		t.Fatalf("another account's bot was served this bot's cached answer (%d calls, want 2)", n)
	}
	// Cached answers keep the time Telegram gave them.
	first, _ := b.check(t, restrictedIn, bb)
	time.Sleep(2 * time.Millisecond)
	again, _ := b.check(t, restrictedIn, bb)
	if !again[0].CheckedAt.Equal(first[0].CheckedAt) {
		t.Fatalf("a cached answer is dated %v, Telegram gave it at %v", again[0].CheckedAt, first[0].CheckedAt)
	}
}

// TestMembershipCachesRestrictedMembers: a restricted user still in the
// chat is cached as a member, one who left is asked about again.
func TestMembershipCachesRestrictedMembers(t *testing.T) {
	b := newBot(t, nil)
	for _, c := range []struct {
		user  int64
		calls int
	}{{restrictedIn, 1}, {restrictedOut, 2}, {admin, 1}, {creator, 1}, {kicked, 2}} {
		for range 2 {
			ms, err := b.check(t, c.user, participant.ChatByID(chanA))
			if err != nil || ms[0].Status == "" {
				t.Fatalf("user %d: %+v, %v", c.user, ms, err)
			}
			if ms[0].IsMember != (c.calls == 1) {
				t.Fatalf("user %d: member = %v", c.user, ms[0].IsMember)
			}
		}
		if n := b.tg.Requests("-1001001", c.user); n != c.calls {
			t.Fatalf("user %d: %d calls for two checks, want %d", c.user, n, c.calls)
		}
	}
}

// TestRecheckBypassesTheCache: the draw's re-check asks Telegram whatever
// is cached, and a member found gone is no longer let in from the cache.
func TestRecheckBypassesTheCache(t *testing.T) {
	b := newBot(t, nil)
	ctx := context.Background()
	chats := []participant.ChatRef{participant.ChatByID(chanA), participant.ChatByUsername("chan_b")}
	if ms, err := b.check(t, member, chats...); err != nil || !ms[0].IsMember || !ms[1].IsMember {
		t.Fatalf("check: %+v, %v", ms, err)
	}
	b.tg.SetMember("-1001001", member, telegramtest.Left)
	if ms, err := b.check(t, member, chats...); err != nil || !ms[0].IsMember {
		t.Fatalf("the cached answer was not used: %+v, %v", ms, err)
	}
	ms, err := b.subs.RecheckMemberships(ctx, account, member, chats)
	if err != nil || ms[0].IsMember || ms[0].Status != participant.MemberLeft || !ms[1].IsMember {
		t.Fatalf("recheck: %+v, %v", ms, err)
	}
	if a, bb := b.tg.Requests("-1001001", member), b.tg.Requests("@chan_b", member); a != 2 || bb != 2 {
		t.Fatalf("Telegram was asked %d and %d times, want 2 each (the recheck asks about every chat)", a, bb)
	}
	if ms, err := b.check(t, member, chats...); err != nil || ms[0].IsMember {
		t.Fatalf("after the recheck found the user gone, the check still lets them in: %+v, %v", ms, err)
	}
	if n := b.tg.Requests("@chan_b", member); n != 2 {
		t.Fatalf("the recheck's positive answer was not cached (%d calls)", n)
	}
}

// TestMembershipFailuresAreUnknown: a chat whose membership cannot be
// learned is reported as unknown, with its reason, while the other chats
// keep their definite answers; the call's error is the most serious one.
func TestMembershipFailuresAreUnknown(t *testing.T) {
	for _, c := range []struct {
		name    string
		setup   func(*bot)
		failure participant.MembershipFailure
		code    participant.Code
	}{
		{"chat not found", func(*bot) {}, participant.FailureChatNotFound, participant.CodeChannelNotFound},
		{"bot not admin", func(b *bot) { b.tg.SetBotAccess("-1001999", telegramtest.BotNotAdmin) }, participant.FailureBotNotAdmin, participant.CodeTelegramAPI},
		{"bot not member", func(b *bot) { b.tg.SetBotAccess("-1001999", telegramtest.BotNotMember) }, participant.FailureBotNotAdmin, participant.CodeTelegramAPI},
		{"bot kicked", func(b *bot) { b.tg.SetBotAccess("-1001999", telegramtest.BotKicked) }, participant.FailureBotNotAdmin, participant.CodeTelegramAPI},
		{"server error", func(b *bot) { b.tg.FailChat("-1001999", telegramtest.Server50x(502)) }, participant.FailureUnavailable, participant.CodeTelegramAPI},
		{"too slow", func(b *bot) { b.tg.FailChat("-1001999", telegramtest.Slow(2*time.Second)) }, participant.FailureUnavailable, participant.CodeTelegramAPI},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBot(t, func(o *upstream.Options) { o.Timeout = 200 * time.Millisecond })
			if c.name != "chat not found" {
				b.tg.AddChat(-1001999, "broken_chat").SetMember("-1001999", member, telegramtest.Joined)
			}
			c.setup(b)
			bad := participant.ChatByID(-1001999)
			ms, err := b.check(t, member, participant.ChatByID(chanA), bad, participant.ChatByID(group))
			if len(ms) != 3 {
				t.Fatalf("%d memberships, want every chat: %v", len(ms), err)
			}
			if !ms[0].IsMember || ms[0].Err != nil || ms[2].IsMember || ms[2].Err != nil || ms[2].Status != participant.MemberLeft {
				t.Fatalf("the healthy chats lost their answers: %+v", ms)
			}
			if e := chatError(t, ms[1]); e.Failure != c.failure {
				t.Fatalf("failure = %s, want %s", e.Failure, c.failure)
			}
			if got := participant.ErrorCode(err); got != c.code {
				t.Fatalf("error = %v (%s), want %s", err, got, c.code)
			}
			msg := message(err)
			if strings.Contains(msg, botToken) || strings.Contains(err.Error(), botToken) || strings.Contains(msg, "http") {
				t.Fatalf("the error leaks the token or a URL: %q / %v", msg, err)
			}
			if c.failure != participant.FailureUnavailable && !strings.Contains(msg, "-1001999") {
				t.Fatalf("the message %q does not name the chat the owner must fix", msg)
			}
		})
	}
}

// TestMembershipErrorRanking: a chat the owner must fix outranks an
// unavailable Telegram, and the longest wait is the one reported.
func TestMembershipErrorRanking(t *testing.T) {
	b := newBot(t, nil)
	b.tg.FailChat("-1001001", telegramtest.TooManyRequests(3))
	b.tg.FailChat("@chan_b", telegramtest.TooManyRequests(9))
	_, err := b.check(t, member, participant.ChatByID(chanA), participant.ChatByUsername("chan_b"))
	var e *participant.Error
	if !errors.As(err, &e) || e.Code != participant.CodeServiceUnavailable || e.RetryAfter != 9*time.Second {
		t.Fatalf("error = %#v, want SERVICE_UNAVAILABLE after 9s", err)
	}
	b = newBot(t, nil)
	b.tg.FailChat("-1001001", telegramtest.Server50x(503))
	_, err = b.check(t, member, participant.ChatByID(chanA), participant.ChatByID(-1001404))
	if participant.ErrorCode(err) != participant.CodeChannelNotFound || !strings.Contains(message(err), "-1001404") {
		t.Fatalf("error = %v, want the missing chat named", err)
	}
}

// TestMembershipTooManyRequests: a 429 is not retried at once, its
// retry_after is passed on, and the bot leaves Telegram alone until it
// has passed.
func TestMembershipTooManyRequests(t *testing.T) {
	b := newBot(t, func(o *upstream.Options) { o.Retries = 3 })
	b.tg.Fail(telegramtest.Fault{Status: 429, RetryAfter: 1, Times: 1})
	ms, err := b.check(t, member, participant.ChatByUsername("chan_b"))
	if n := b.tg.Total(); n != 1 {
		t.Fatalf("a 429 was retried at once: %d requests", n)
	}
	if e := chatError(t, ms[0]); e.Failure != participant.FailureUnavailable || e.RetryAfter != time.Second {
		t.Fatalf("chat error = %+v, want unavailable for 1s", e)
	}
	var de *participant.Error
	if !errors.As(err, &de) || de.Code != participant.CodeServiceUnavailable || de.RetryAfter != time.Second {
		t.Fatalf("error = %#v, want SERVICE_UNAVAILABLE with a Retry-After of 1s", err)
	}
	// Within the wait, the bot does not call (flood control is per bot:
	// calling on prolongs it), even about other chats and users.
	ms, err = b.check(t, admin, participant.ChatByID(chanA))
	if n := b.tg.Total(); n != 1 {
		t.Fatalf("Telegram was called %d times within its retry_after", n)
	}
	if e := chatError(t, ms[0]); e.Failure != participant.FailureUnavailable || e.RetryAfter <= 0 || e.RetryAfter > time.Second {
		t.Fatalf("chat error = %+v, want unavailable for the rest of the wait", e)
	}
	if participant.ErrorCode(err) != participant.CodeServiceUnavailable {
		t.Fatalf("error = %v", err)
	}
	// Another account's bot is not held back.
	if _, err := b.subs.CheckMemberships(context.Background(), otherAccount, admin, []participant.ChatRef{participant.ChatByID(chanA)}); err != nil {
		t.Fatalf("another bot: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if ms, err := b.check(t, admin, participant.ChatByID(chanA)); err != nil || !ms[0].IsAdmin {
		t.Fatalf("after the wait: %+v, %v", ms, err)
	}
}

// TestMembershipOneBreaker: failures about any chat count towards the one
// Telegram breaker; once open, every chat is unknown at once, with the
// open period as the wait, and Telegram is not called.
func TestMembershipOneBreaker(t *testing.T) {
	b := newBot(t, func(o *upstream.Options) {
		o.BreakerFailures, o.BreakerOpen, o.Retries = 3, 300*time.Millisecond, 0
	})
	b.tg.Fail(telegramtest.Server50x(502))
	// A failure about each of three chats, for three users: one breaker
	// counts them all.
	for i, c := range []participant.ChatRef{participant.ChatByID(chanA), participant.ChatByUsername("chan_b"), participant.ChatByID(group)} {
		ms, _ := b.check(t, creator+int64(i), c)
		if e := chatError(t, ms[0]); e.Failure != participant.FailureUnavailable || e.RetryAfter != 0 {
			t.Fatalf("chat %s: %+v", c, e)
		}
	}
	if got := b.subs.Breakers()["telegram"]; got != "open" {
		t.Fatalf("telegram breaker = %s after 3 failures", got)
	}
	before := b.tg.Total()
	ms, err := b.check(t, admin, participant.ChatByID(group), participant.ChatByUsername("chan_b"))
	if b.tg.Total() != before {
		t.Fatal("an open breaker let a call through")
	}
	for _, m := range ms {
		if e := chatError(t, m); e.Failure != participant.FailureUnavailable || e.RetryAfter != 300*time.Millisecond {
			t.Fatalf("chat %s: %+v, want unavailable for the open period", m.Chat, e)
		}
	}
	var de *participant.Error
	if !errors.As(err, &de) || de.Code != participant.CodeServiceUnavailable || de.RetryAfter != 300*time.Millisecond {
		t.Fatalf("error = %#v", err)
	}
	b.tg.Heal()
	time.Sleep(350 * time.Millisecond)
	if got := b.subs.Breakers()["telegram"]; got != "half-open" {
		t.Fatalf("telegram breaker = %s after the open period", got)
	}
	// Half-open, the breaker lets one trial call through and refuses
	// others meanwhile: a check of several cold chats still gets every
	// answer, the trial's success closing the breaker for the rest.
	b.tg.Fail(telegramtest.Slow(20 * time.Millisecond))
	ms, err = b.check(t, admin, participant.ChatByID(chanA), participant.ChatByID(group), participant.ChatByUsername("chan_b"))
	if err != nil || !ms[0].IsAdmin || ms[1].IsMember || ms[1].Status != participant.MemberLeft || !ms[2].IsMember {
		t.Fatalf("after the open period: %+v, %v", ms, err)
	}
	if got := b.subs.Breakers()["telegram"]; got != "closed" {
		t.Fatalf("telegram breaker = %s after a success", got)
	}
}

// TestMembershipBotToken: without a bot, or with one Telegram refuses,
// every chat is unknown and the error says so.
func TestMembershipBotToken(t *testing.T) {
	b := newBot(t, nil)
	b.accounts.SetAccount(account, telegramtest.Channel{TelegramID: chanA}, "")
	ms, err := b.check(t, member, participant.ChatByID(chanA), participant.ChatByID(chanB))
	if participant.ErrorCode(err) != participant.CodeBotTokenMissing || b.tg.Total() != 0 {
		t.Fatalf("error = %v after %d Telegram calls", err, b.tg.Total())
	}
	for _, m := range ms {
		if e := chatError(t, m); e.Failure != participant.FailureBotToken {
			t.Fatalf("chat %s: %s", m.Chat, e.Failure)
		}
	}
	b.accounts.SetAccount(account, telegramtest.Channel{TelegramID: chanA}, "999:revoked")
	b = &bot{tg: b.tg, accounts: b.accounts, subs: upstream.NewSubscriptions(b.opts)}
	ms, err = b.check(t, member, participant.ChatByID(chanA))
	if participant.ErrorCode(err) != participant.CodeTelegramAPI || b.tg.BadTokens() != 1 {
		t.Fatalf("error = %v, bad tokens %d", err, b.tg.BadTokens())
	}
	if e := chatError(t, ms[0]); e.Failure != participant.FailureBotToken {
		t.Fatalf("failure = %s", e.Failure)
	}
	if strings.Contains(err.Error(), "999:revoked") {
		t.Fatalf("the error leaks the token: %v", err)
	}
}

// TestMembershipRefusesBadChats: a chat that is neither a group id nor a
// username is a validation error, before any call.
func TestMembershipRefusesBadChats(t *testing.T) {
	b := newBot(t, nil)
	for _, c := range []participant.ChatRef{{ID: 42}, {}, {Username: "ab"}, {ID: -1, Username: "chan_a"}, {Username: "has space"}} {
		if _, err := b.check(t, member, participant.ChatByID(chanA), c); participant.ErrorCode(err) != participant.CodeValidation {
			t.Fatalf("chat %+v: error = %v, want VALIDATION_ERROR", c, err)
		}
	}
	if b.tg.Total() != 0 || b.accounts.AuthCalls() != 0 {
		t.Fatal("a refused check called out")
	}
}

// TestMembershipBoundsParallelCalls: ten cold chats are asked about at
// most four at a time, and in about three round trips, not ten.
func TestMembershipBoundsParallelCalls(t *testing.T) {
	b := newBot(t, nil)
	var chats []participant.ChatRef
	for i := range int64(10) {
		id := -1002000 - i
		b.tg.AddChat(id, "").SetMember(participant.ChatByID(id).String(), member, telegramtest.Joined)
		chats = append(chats, participant.ChatByID(id))
	}
	b.tg.Fail(telegramtest.Slow(50 * time.Millisecond))
	start := time.Now()
	ms, err := b.check(t, member, chats...)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if !m.IsMember {
			t.Fatalf("%+v", m)
		}
	}
	if n := b.tg.MaxInFlight(); n > 4 || n < 2 {
		t.Fatalf("%d calls at once, want 2 to 4", n)
	}
	if elapsed > 400*time.Millisecond {
		t.Fatalf("ten chats took %v", elapsed)
	}
}

// TestCheckSubscriptionSharesTheMembershipCache: the one-channel check
// and the rules' check of the same chat share their cached answers.
func TestCheckSubscriptionSharesTheMembershipCache(t *testing.T) {
	b := newBot(t, nil)
	sub, err := b.subs.CheckSubscription(context.Background(), member, account)
	if err != nil || !sub.Subscribed || sub.Channel.ID != chanA {
		t.Fatalf("subscription = %+v, %v", sub, err)
	}
	if ms, err := b.check(t, member, participant.ChatByID(chanA)); err != nil || !ms[0].IsMember {
		t.Fatalf("%+v, %v", ms, err)
	}
	if n := b.tg.Requests("-1001001", member); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

// message is the text a caller would be shown.
func message(err error) string {
	var e *participant.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
