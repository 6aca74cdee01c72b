package participant_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/cache"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/upstream"
	"github.com/telegive/participant-service/internal/upstream/telegramtest"
)

const (
	rulesBotToken = "123456:RULES-bot-token"
	rulesAccount  = int64(9)
	chatA         = int64(-1001001) // also @chan_a, the account's channel
	chatB         = int64(-1001002) // also @chan_b
	chatNoAdmin   = int64(-1001003) // the bot is not an administrator
)

// Users dated by the account age table: old ones before 2017, and one
// newer than its last row.
const (
	inBoth        = int64(300_000_001 + iota) // member of A and B
	onlyA                                     // member of A, left B
	adminA                                    // administrator of A, member of B
	creatorB                                  // member of A, creator of B
	restrictedIn                              // restricted in A but still in it, member of B
	restrictedOut                             // restricted in A and gone, member of B
	kickedA                                   // kicked from A, member of B
	stranger                                  // in neither
	freshUser     = int64(7_000_000_001)      // member of both, too new to date
)

// statusGiveaways is the giveaway service: every giveaway of rulesAccount,
// active unless closed.
type statusGiveaways struct {
	mu     sync.Mutex
	closed map[int64]bool
}

func (g *statusGiveaways) Giveaway(_ context.Context, id int64) (participant.Giveaway, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	status := "active"
	if g.closed[id] {
		status = "finished"
	}
	return participant.Giveaway{ID: id, Status: status, AccountID: rulesAccount, WinnerCount: 1}, nil
}

func (g *statusGiveaways) Invalidate(context.Context, int64) {}

func (g *statusGiveaways) close(id int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed[id] = true
}

type rulesEnv struct {
	svc       *participant.Service
	st        participant.Store
	tg        *telegramtest.Server
	giveaways *statusGiveaways
}

// newRulesEnv is a service with the stand-in Bot API and channel and auth
// services behind upstream's checker, every test user's captcha passed.
func newRulesEnv(t testing.TB, backend string, requireSubscription bool) *rulesEnv {
	t.Helper()
	tg := telegramtest.New(t, rulesBotToken)
	tg.AddChat(chatA, "@chan_a").AddChat(chatB, "@chan_b").AddChat(chatNoAdmin, "@chan_c")
	tg.SetBotAccess("-1001003", telegramtest.BotNotAdmin)
	for user, ms := range map[int64][2]telegramtest.Member{
		inBoth:        {telegramtest.Joined, telegramtest.Joined},
		onlyA:         {telegramtest.Joined, telegramtest.Left},
		adminA:        {telegramtest.Administrator, telegramtest.Joined},
		creatorB:      {telegramtest.Joined, telegramtest.Creator},
		restrictedIn:  {telegramtest.Restricted(true), telegramtest.Joined},
		restrictedOut: {telegramtest.Restricted(false), telegramtest.Joined},
		kickedA:       {telegramtest.Kicked, telegramtest.Joined},
		freshUser:     {telegramtest.Joined, telegramtest.Joined},
	} {
		tg.SetMember("-1001001", user, ms[0]).SetMember("-1001002", user, ms[1])
	}
	accounts := telegramtest.NewAccounts(t, "svc-token")
	accounts.SetAccount(rulesAccount, telegramtest.Channel{TelegramID: chatA, Username: "chan_a", Title: "A"}, rulesBotToken)
	subs := upstream.NewSubscriptions(upstream.Options{
		ChannelURL: accounts.URL, AuthURL: accounts.URL, TelegramAPIBase: tg.URL, ServiceToken: "svc-token",
		Timeout: 500 * time.Millisecond, BreakerFailures: 100, Cache: cache.NewMemory(100_000, nil), CacheTTL: time.Minute,
	})
	st := testenv.OpenStore(t, backend)
	giveaways := &statusGiveaways{closed: map[int64]bool{}}
	svc := participant.NewService(st, giveaways, subs, participant.Options{
		RequireSubscription: requireSubscription,
		Captcha:             participant.CaptchaRules{MinNumber: 1, MaxNumber: 10, MaxAttempts: 3, Timeout: 10 * time.Minute, PerHour: 5},
	})
	ctx := context.Background()
	for _, u := range []int64{inBoth, onlyA, adminA, creatorB, restrictedIn, restrictedOut, kickedA, stranger, freshUser} {
		if err := st.CompleteCaptcha(ctx, u, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return &rulesEnv{svc: svc, st: st, tg: tg, giveaways: giveaways}
}

func (e *rulesEnv) setRules(t *testing.T, gid int64, in participant.RulesInput) {
	t.Helper()
	if _, err := e.svc.SetRules(context.Background(), gid, in); err != nil {
		t.Fatal(err)
	}
}

func (e *rulesEnv) register(user, gid int64, premium bool) (participant.RegisterResult, error) {
	return e.svc.Register(context.Background(), participant.RegisterRequest{GiveawayID: gid, UserID: user, IsPremium: &premium})
}

func (e *rulesEnv) participantID(t *testing.T, gid, user int64) int64 {
	t.Helper()
	st, err := e.st.RegistrationState(context.Background(), gid, user)
	if err != nil {
		t.Fatal(err)
	}
	return st.ParticipantID
}

func refusal(t *testing.T, err error, code participant.Code) *participant.Error {
	t.Helper()
	var e *participant.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
	return e
}

func chats(refs ...int64) []participant.ChatRef {
	out := make([]participant.ChatRef, len(refs))
	for i, id := range refs {
		out[i] = participant.ChatByID(id)
	}
	return out
}

var bothChats = participant.RulesInput{RequiredChats: []string{"-1001001", "-1001002"}}

// TestRegistrationChecksEveryChat: every required chat is asked, each
// status decides as Telegram's giveaways do, administrators and creators
// of any of them are excluded, and the refusal names the chats.
func TestRegistrationChecksEveryChat(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRulesEnv(t, backend, false)
		const gid = 101
		e.setRules(t, gid, bothChats)
		for _, c := range []struct {
			user    int64
			code    participant.Code
			missing []participant.ChatRef
			admin   []participant.ChatRef
		}{
			{user: onlyA, code: participant.CodeNotSubscribed, missing: chats(chatB)},
			{user: stranger, code: participant.CodeNotSubscribed, missing: chats(chatA, chatB)},
			{user: restrictedOut, code: participant.CodeNotSubscribed, missing: chats(chatA)},
			{user: kickedA, code: participant.CodeNotSubscribed, missing: chats(chatA)},
			{user: adminA, code: participant.CodeAdminExcluded, admin: chats(chatA)},
			{user: creatorB, code: participant.CodeAdminExcluded, admin: chats(chatB)},
		} {
			_, err := e.register(c.user, gid, false)
			r := refusal(t, err, c.code)
			if r.Rule == nil || !slices.Equal(r.Rule.MissingChats, c.missing) || !slices.Equal(r.Rule.AdminChats, c.admin) {
				t.Fatalf("user %d: refusal %+v, want missing %v, admin %v", c.user, r.Rule, c.missing, c.admin)
			}
			if e.participantID(t, gid, c.user) != 0 {
				t.Fatalf("user %d was registered", c.user)
			}
		}
		for _, user := range []int64{inBoth, restrictedIn} {
			res, err := e.register(user, gid, false)
			if err != nil || res.ParticipantID == 0 {
				t.Fatalf("user %d: %+v, %v", user, res, err)
			}
			p, err := e.st.Participant(context.Background(), gid, user)
			if err != nil || !p.SubscriptionVerified {
				t.Fatalf("user %d: participant %+v, %v; want subscription verified", user, p, err)
			}
		}
		// Admins may enter when the rules let them.
		const open = 102
		e.setRules(t, open, participant.RulesInput{RequiredChats: bothChats.RequiredChats, ExcludeAdmins: ptr(false)})
		if _, err := e.register(adminA, open, false); err != nil {
			t.Fatalf("admin with exclude_admins off: %v", err)
		}
	})
}

// TestRegistrationPremiumAndAge: the checks that need no Telegram call
// come first and spare it; the age refusal carries the estimate.
func TestRegistrationPremiumAndAge(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRulesEnv(t, backend, false)
		const gid = 111
		e.setRules(t, gid, participant.RulesInput{RequiredChats: bothChats.RequiredChats, PremiumOnly: ptr(true), MinAccountAgeDays: ptr[int64](30)})
		ctx := context.Background()
		if _, err := e.svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: inBoth}); participant.ErrorCode(err) != participant.CodePremiumRequired {
			t.Fatalf("is_premium absent: %v, want PREMIUM_REQUIRED", err)
		}
		_, err := e.register(inBoth, gid, false)
		refusal(t, err, participant.CodePremiumRequired)
		_, err = e.register(freshUser, gid, true)
		r := refusal(t, err, participant.CodeAccountTooNew)
		if r.Rule == nil || r.Rule.AccountAge == nil || r.Rule.AccountAge.Estimated || r.Rule.MinAccountAgeDays != 30 ||
			r.Rule.AccountAge.CreatedAfter.IsZero() {
			t.Fatalf("age refusal %+v", r.Rule)
		}
		if n := e.tg.Total(); n != 0 {
			t.Fatalf("%d Telegram requests for refusals that need none", n)
		}
		if res, err := e.register(inBoth, gid, true); err != nil || res.ParticipantID == 0 {
			t.Fatalf("an old premium member: %+v, %v", res, err)
		}
	})
}

// TestRegistrationMembershipCache: a second check of the same user and
// chats, by eligibility and then registration, asks Telegram nothing.
func TestRegistrationMembershipCache(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRulesEnv(t, backend, false)
		const gid = 121
		e.setRules(t, gid, bothChats)
		ctx := context.Background()
		el, err := e.svc.Eligibility(ctx, participant.EligibilityRequest{GiveawayID: gid, UserID: inBoth})
		if err != nil || !el.Eligible {
			t.Fatalf("eligibility = %+v, %v", el, err)
		}
		if _, err := e.register(inBoth, gid, false); err != nil {
			t.Fatal(err)
		}
		for _, chat := range []string{"-1001001", "-1001002"} {
			if n := e.tg.Requests(chat, inBoth); n != 1 {
				t.Fatalf("chat %s asked %d times, want once", chat, n)
			}
		}
	})
}

// TestRegistrationTelegramDown: a chat Telegram cannot answer for is
// SERVICE_UNAVAILABLE with a wait, whatever the other chats say, and
// registers no one; a misconfigured chat is CHAT_MISCONFIGURED naming it.
func TestRegistrationTelegramDown(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRulesEnv(t, backend, false)
		const gid = 131
		e.setRules(t, gid, bothChats)
		e.tg.FailChat("-1001002", telegramtest.Server50x(502))
		for _, user := range []int64{inBoth, onlyA} {
			_, err := e.register(user, gid, false)
			r := refusal(t, err, participant.CodeServiceUnavailable)
			if r.RetryAfter <= 0 {
				t.Fatalf("user %d: no Retry-After: %+v", user, r)
			}
			if e.participantID(t, gid, user) != 0 {
				t.Fatalf("user %d registered while Telegram was down", user)
			}
		}
		e.tg.Heal()
		if _, err := e.register(inBoth, gid, false); err != nil {
			t.Fatalf("after Telegram came back: %v", err)
		}

		const broken = 132
		e.setRules(t, broken, participant.RulesInput{RequiredChats: []string{"-1001001", "@chan_c"}})
		_, err := e.register(inBoth, broken, false)
		r := refusal(t, err, participant.CodeChatMisconfigured)
		if r.Rule == nil || r.Rule.Chat == nil || *r.Rule.Chat != participant.ChatByUsername("chan_c") ||
			r.Rule.Problem != participant.FailureBotNotAdmin {
			t.Fatalf("misconfigured chat: %+v", r.Rule)
		}
		const unknown = 133
		e.setRules(t, unknown, participant.RulesInput{RequiredChats: []string{"@no_such_chat"}})
		_, err = e.register(inBoth, unknown, false)
		if r := refusal(t, err, participant.CodeChatMisconfigured); r.Rule.Problem != participant.FailureChatNotFound {
			t.Fatalf("unknown chat: %+v", r.Rule)
		}
	})
}

// TestRegistrationRulesDefaultChannel: rules without required_chats check
// the account's channel when subscriptions are required, with channel_info
// as before, and no chat when they are not.
func TestRegistrationRulesDefaultChannel(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRulesEnv(t, backend, true)
		const gid = 141
		e.setRules(t, gid, participant.RulesInput{})
		e.setRules(t, gid, participant.RulesInput{MaxTickets: ptr[int64](2)})
		_, err := e.register(kickedA, gid, false)
		r := refusal(t, err, participant.CodeNotSubscribed)
		if r.Channel == nil || r.Channel.ID != chatA || !slices.Equal(r.Rule.MissingChats, chats(chatA)) {
			t.Fatalf("refusal %+v, channel %+v", r.Rule, r.Channel)
		}
		_, err = e.register(adminA, gid, false)
		refusal(t, err, participant.CodeAdminExcluded)

		off := newRulesEnv(t, backend, false)
		off.setRules(t, gid, participant.RulesInput{MaxTickets: ptr[int64](2)})
		if _, err := off.register(kickedA, gid, false); err != nil {
			t.Fatalf("no chat is required without subscriptions: %v", err)
		}
		if n := off.tg.Total(); n != 0 {
			t.Fatalf("%d Telegram requests", n)
		}
	})
}

// TestRegistrationWithoutRulesUnchanged: without a rules call nothing
// new is checked: an administrator enters, and with subscriptions off
// Telegram is never asked.
func TestRegistrationWithoutRulesUnchanged(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRulesEnv(t, backend, true)
		if _, err := e.register(adminA, 151, false); err != nil {
			t.Fatalf("an admin without rules: %v", err)
		}
		_, err := e.register(kickedA, 151, false)
		if r := refusal(t, err, participant.CodeNotSubscribed); r.Rule != nil || r.Channel == nil {
			t.Fatalf("refusal without rules: %+v", r)
		}
		off := newRulesEnv(t, backend, false)
		if _, err := off.register(stranger, 152, false); err != nil || off.tg.Total() != 0 {
			t.Fatalf("without rules or subscriptions: %v, %d Telegram requests", err, off.tg.Total())
		}
	})
}

// TestRegistrationRulesBeforeTheCaptcha: a user who never passed the
// captcha is refused by the rules before being asked it; one who may
// enter gets the captcha, and solving it registers them after checking
// the chats again.
func TestRegistrationRulesBeforeTheCaptcha(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRulesEnv(t, backend, false)
		const gid = 161
		e.setRules(t, gid, participant.RulesInput{RequiredChats: bothChats.RequiredChats, PremiumOnly: ptr(true)})
		const newcomer, outsider = 300_100_001, 300_100_002
		e.tg.SetMember("-1001001", newcomer, telegramtest.Joined).SetMember("-1001002", newcomer, telegramtest.Joined)
		if _, err := e.register(outsider, gid, true); participant.ErrorCode(err) != participant.CodeNotSubscribed {
			t.Fatalf("outsider: %v", err)
		}
		res, err := e.register(newcomer, gid, true)
		if err != nil || res.Challenge == nil {
			t.Fatalf("newcomer: %+v, %v; want the captcha", res, err)
		}
		e.tg.SetMember("-1001002", newcomer, telegramtest.Left)
		ctx := context.Background()
		v, err := e.svc.ValidateCaptcha(ctx, participant.ValidateRequest{GiveawayID: gid, UserID: newcomer, Answer: res.Challenge.Answer})
		if err != nil || !v.Completed || v.ParticipantID == 0 {
			t.Fatalf("validate (membership cached): %+v, %v", v, err)
		}
	})
}

// TestEligibilityReasons: every reason, listed together, and nothing
// registered.
func TestEligibilityReasons(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		e := newRulesEnv(t, backend, false)
		ctx := context.Background()
		const gid = 171
		e.setRules(t, gid, participant.RulesInput{RequiredChats: bothChats.RequiredChats, PremiumOnly: ptr(true), MinAccountAgeDays: ptr[int64](30)})
		check := func(user int64, premium *bool, want ...participant.Reason) participant.Eligibility {
			t.Helper()
			el, err := e.svc.Eligibility(ctx, participant.EligibilityRequest{GiveawayID: gid, UserID: user, IsPremium: premium})
			if err != nil {
				t.Fatalf("user %d: %v", user, err)
			}
			if !slices.Equal(el.Reasons, want) || el.Eligible != (len(want) == 0) {
				t.Fatalf("user %d: reasons %v (eligible %v), want %v", user, el.Reasons, el.Eligible, want)
			}
			return el
		}
		yes := ptr(true)
		check(inBoth, yes)
		el := check(freshUser, nil, participant.ReasonNotPremium, participant.ReasonAccountTooNew)
		if el.AccountAge == nil || el.AccountAge.Estimated || el.MinAccountAgeDays != 30 {
			t.Fatalf("age %+v", el.AccountAge)
		}
		el = check(onlyA, yes, participant.ReasonNotSubscribed)
		if !slices.Equal(el.MissingChats, chats(chatB)) || el.AccountAge == nil || !el.AccountAge.Estimated {
			t.Fatalf("not subscribed: %+v", el)
		}
		el = check(adminA, ptr(false), participant.ReasonAdmin, participant.ReasonNotPremium)
		if !slices.Equal(el.AdminChats, chats(chatA)) {
			t.Fatalf("admin: %+v", el)
		}
		for _, u := range []int64{inBoth, freshUser, onlyA, adminA} {
			if e.participantID(t, gid, u) != 0 {
				t.Fatalf("eligibility registered user %d", u)
			}
		}
		res, err := e.register(inBoth, gid, true)
		if err != nil {
			t.Fatal(err)
		}
		if el := check(inBoth, yes, participant.ReasonAlreadyEntered); el.ParticipantID != res.ParticipantID {
			t.Fatalf("already entered: %+v", el)
		}
		if _, err := e.svc.SelectWinners(ctx, gid, participant.SelectRequest{WinnerCount: 1}); err != nil {
			t.Fatal(err)
		}
		check(restrictedIn, yes, participant.ReasonWinnersDrawn)
		e.giveaways.close(gid)
		check(restrictedIn, yes, participant.ReasonClosed, participant.ReasonWinnersDrawn)

		// Telegram down is an error, not an answer.
		const other = 172
		e.setRules(t, other, bothChats)
		e.tg.Fail(telegramtest.Server50x(503))
		_, err = e.svc.Eligibility(ctx, participant.EligibilityRequest{GiveawayID: other, UserID: restrictedIn})
		refusal(t, err, participant.CodeServiceUnavailable)
	})
}

// TestAccountAgeTable: the table rises with ids, estimates fall between
// their rows' dates, and ids past the last row are not estimated.
func TestAccountAgeTable(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	old := participant.EstimateAccountAge(1_000_000)
	if !old.Estimated || !old.CreatedAfter.IsZero() || old.CreatedAt.Year() != 2013 || !old.OldEnough(participant.MaxAccountAgeDays, now) {
		t.Fatalf("an id before the first row: %+v", old)
	}
	mid := participant.EstimateAccountAge(600_000_000)
	lo, hi := time.Date(2017, 7, 31, 0, 0, 0, 0, time.UTC), time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC)
	if !mid.Estimated || !mid.CreatedAt.After(lo) || !mid.CreatedAt.Before(hi) ||
		!mid.CreatedAfter.Before(lo) || !mid.CreatedBefore.After(hi) {
		t.Fatalf("an id between rows: %+v", mid)
	}
	prev := time.Time{}
	for id := int64(1); id <= 1_974_255_900; id += 7_654_321 {
		a := participant.EstimateAccountAge(id)
		if a.CreatedAt.Before(prev) {
			t.Fatalf("estimate of %d (%v) before that of a smaller id (%v)", id, a.CreatedAt, prev)
		}
		prev = a.CreatedAt
	}
	fresh := participant.EstimateAccountAge(8_000_000_000)
	if fresh.Estimated || fresh.OldEnough(1, now) || !fresh.OldEnough(0, now) || fresh.CreatedAfter.Year() != 2021 {
		t.Fatalf("an id past the last row: %+v", fresh)
	}
}

// rulesChangingStore sets the giveaway's rules just before the first
// enrollment, between the registration's read of the rules and the draw
// commitment it makes.
type rulesChangingStore struct {
	participant.Store
	once   sync.Once
	change func()
}

func (s *rulesChangingStore) Enroll(ctx context.Context, p participant.NewParticipant) (participant.Enrollment, error) {
	s.once.Do(s.change)
	return s.Store.Enroll(ctx, p)
}

// TestRulesSetDuringTheFirstRegistration: rules set after the first
// registration read the defaults, but before its commit fixed them, are
// the giveaway's rules, so the registration is checked against them.
func TestRulesSetDuringTheFirstRegistration(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		st := testenv.OpenStore(t, backend)
		ctx := context.Background()
		if err := st.CompleteCaptcha(ctx, inBoth, time.Now()); err != nil {
			t.Fatal(err)
		}
		const gid = 181
		racing := &rulesChangingStore{Store: st}
		svc := participant.NewService(racing, nil, nil, participant.Options{})
		racing.change = func() {
			if _, err := svc.SetRules(ctx, gid, participant.RulesInput{PremiumOnly: ptr(true)}); err != nil {
				t.Errorf("set rules: %v", err)
			}
		}
		_, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: inBoth})
		refusal(t, err, participant.CodePremiumRequired)
		g, err := svc.GiveawayRules(ctx, gid)
		if err != nil || !g.Locked || !g.Rules.PremiumOnly {
			t.Fatalf("rules %+v, %v; want premium_only, locked", g, err)
		}
		if p, err := st.RegistrationState(ctx, gid, inBoth); err != nil || p.ParticipantID != 0 {
			t.Fatalf("registered under the old rules: %+v, %v", p, err)
		}
	})
}

// rulesLockingStore sets the giveaway's rules and commits its draw just
// after the registration read the user's state, as another registration
// that got there first would.
type rulesLockingStore struct {
	participant.Store
	once   sync.Once
	change func()
}

func (s *rulesLockingStore) RegistrationState(ctx context.Context, giveawayID, userID int64) (participant.RegistrationState, error) {
	st, err := s.Store.RegistrationState(ctx, giveawayID, userID)
	s.once.Do(s.change)
	return st, err
}

// TestRulesLockedByAnotherRegistration: rules changed and fixed by
// another registration's commit after this one read them are the rules
// this one is checked against.
func TestRulesLockedByAnotherRegistration(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		st := testenv.OpenStore(t, backend)
		ctx := context.Background()
		if err := st.CompleteCaptcha(ctx, inBoth, time.Now()); err != nil {
			t.Fatal(err)
		}
		const gid = 191
		locking := &rulesLockingStore{Store: st}
		svc := participant.NewService(locking, nil, nil, participant.Options{})
		if _, err := svc.SetRules(ctx, gid, participant.RulesInput{MaxTickets: ptr[int64](2)}); err != nil {
			t.Fatal(err)
		}
		locking.change = func() {
			if _, err := svc.SetRules(ctx, gid, participant.RulesInput{PremiumOnly: ptr(true)}); err != nil {
				t.Errorf("set rules: %v", err)
			}
			if _, err := svc.CommitDraw(ctx, gid); err != nil {
				t.Errorf("commit: %v", err)
			}
		}
		_, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: inBoth})
		refusal(t, err, participant.CodePremiumRequired)
		if p, err := st.RegistrationState(ctx, gid, inBoth); err != nil || p.ParticipantID != 0 {
			t.Fatalf("registered under the old rules: %+v, %v", p, err)
		}
	})
}

// BenchmarkRegisterRules compares registrations on SQLite: without rules
// and without subscription checks, without rules checking the account's
// channel, and with rules requiring three chats; memberships are cached
// (warmed by an eligibility call), so Telegram is not asked while timed.
func BenchmarkRegisterRules(b *testing.B) {
	three := &participant.RulesInput{RequiredChats: []string{"-1001001", "-1001002", "@chan_d"}}
	for _, c := range []struct {
		name                string
		requireSubscription bool
		rules               *participant.RulesInput
	}{
		{"no-checks", false, nil},
		{"account-channel-warm", true, nil},
		{"three-chats-warm", false, three},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := newRulesEnv(b, "sqlite", c.requireSubscription)
			e.tg.AddChat(-1001004, "@chan_d")
			ctx := context.Background()
			const gid = 201
			if c.rules != nil {
				if _, err := e.svc.SetRules(ctx, gid, *c.rules); err != nil {
					b.Fatal(err)
				}
			}
			users := make([]int64, b.N)
			for i := range users {
				users[i] = 310_000_000 + int64(i)
				for _, chat := range []string{"-1001001", "-1001002", "-1001004"} {
					e.tg.SetMember(chat, users[i], telegramtest.Joined)
				}
				if err := e.st.CompleteCaptcha(ctx, users[i], time.Now()); err != nil {
					b.Fatal(err)
				}
				if _, err := e.svc.Eligibility(ctx, participant.EligibilityRequest{GiveawayID: gid, UserID: users[i]}); err != nil {
					b.Fatal(err)
				}
			}
			asked := e.tg.Total()
			b.ResetTimer()
			for i := range b.N {
				if _, err := e.svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: users[i]}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if n := e.tg.Total() - asked; n != 0 {
				b.Fatalf("%d Telegram requests while timed", n)
			}
		})
	}
}

// rulesCountingStore counts reads of rules.
type rulesCountingStore struct {
	participant.Store
	mu    sync.Mutex
	reads int
}

func (s *rulesCountingStore) Rules(ctx context.Context, giveawayID int64) (participant.StoredRules, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	return s.Store.Rules(ctx, giveawayID)
}

func (s *rulesCountingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// TestFixedRulesAreNotReadAgain: once the commit fixed a giveaway's
// rules, registrations and eligibility checks take them from the cache,
// and still apply them.
func TestFixedRulesAreNotReadAgain(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		st := testenv.OpenStore(t, backend)
		ctx := context.Background()
		for _, u := range []int64{inBoth, onlyA, adminA} {
			if err := st.CompleteCaptcha(ctx, u, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		counting := &rulesCountingStore{Store: st}
		svc := participant.NewService(counting, nil, nil, participant.Options{})
		const gid = 211
		if _, err := svc.SetRules(ctx, gid, participant.RulesInput{PremiumOnly: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: inBoth, IsPremium: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		before := counting.count()
		if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: onlyA}); participant.ErrorCode(err) != participant.CodePremiumRequired {
			t.Fatalf("a user without premium: %v", err)
		}
		if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: adminA, IsPremium: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if el, err := svc.Eligibility(ctx, participant.EligibilityRequest{GiveawayID: gid, UserID: onlyA}); err != nil ||
			!slices.Equal(el.Reasons, []participant.Reason{participant.ReasonNotPremium}) {
			t.Fatalf("eligibility %+v, %v", el, err)
		}
		if n := counting.count() - before; n != 0 {
			t.Fatalf("fixed rules read %d more times", n)
		}
	})
}
