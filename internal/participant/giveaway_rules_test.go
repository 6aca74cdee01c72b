package participant_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/testenv"
)

func ptr[T any](v T) *T { return &v }

// TestDefaultRulesJSON: without rules, the document served and hashed is
// exactly this, so its hash is stable across releases.
func TestDefaultRulesJSON(t *testing.T) {
	const want = `{"exclude_admins":true,"max_tickets":1,"min_account_age_days":0,"premium_only":false,"recheck_at_draw":false,"referral_bonus":0,"required_chats":[]}`
	if got := string(participant.DefaultRules().JSON()); got != want {
		t.Fatalf("default rules JSON\n got %s\nwant %s", got, want)
	}
	// Rules a caller sets re-check the winners at the draw unless they
	// say otherwise, which the defaults without rules do not.
	r, err := participant.RulesInput{RecheckAtDraw: ptr(false)}.Rules()
	if err != nil || string(r.JSON()) != want {
		t.Fatalf("input with recheck_at_draw false = %s, %v; want the defaults", r.JSON(), err)
	}
	r, err = participant.RulesInput{}.Rules()
	if err != nil || !r.RecheckAtDraw || r.MaxTickets != 1 || !r.ExcludeAdmins {
		t.Fatalf("empty input = %s, %v; want the defaults with recheck_at_draw true", r.JSON(), err)
	}
}

// TestRulesInputValidation: each bad field is VALIDATION_ERROR with the
// field named, in its code and its message.
func TestRulesInputValidation(t *testing.T) {
	chats := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "@channel_" + string(rune('a'+i))
		}
		return out
	}
	for _, c := range []struct {
		name  string
		in    participant.RulesInput
		field string
		code  participant.Code
	}{
		{"no chats listed", participant.RulesInput{RequiredChats: []string{}}, "required_chats", participant.CodeInvalidRequiredChats},
		{"eleven chats", participant.RulesInput{RequiredChats: chats(11)}, "required_chats", participant.CodeInvalidRequiredChats},
		{"a user id", participant.RulesInput{RequiredChats: []string{"12345"}}, "required_chats", participant.CodeInvalidRequiredChats},
		{"a bad username", participant.RulesInput{RequiredChats: []string{"@a b"}}, "required_chats", participant.CodeInvalidRequiredChats},
		{"a short username", participant.RulesInput{RequiredChats: []string{"@abc"}}, "required_chats", participant.CodeInvalidRequiredChats},
		{"an invite link", participant.RulesInput{RequiredChats: []string{"https://t.me/+abcdef"}}, "required_chats", participant.CodeInvalidRequiredChats},
		{"a chat twice", participant.RulesInput{RequiredChats: []string{"@Chan_one", "-100123", "@chan_ONE"}}, "required_chats", participant.CodeInvalidRequiredChats},
		{"an id twice", participant.RulesInput{RequiredChats: []string{"-100123", " -100123"}}, "required_chats", participant.CodeInvalidRequiredChats},
		{"no tickets", participant.RulesInput{MaxTickets: ptr[int64](0)}, "max_tickets", participant.CodeInvalidMaxTickets},
		{"too many tickets", participant.RulesInput{MaxTickets: ptr[int64](101)}, "max_tickets", participant.CodeInvalidMaxTickets},
		{"negative age", participant.RulesInput{MinAccountAgeDays: ptr[int64](-1)}, "min_account_age_days", participant.CodeInvalidMinAccountAgeDays},
		{"too old", participant.RulesInput{MinAccountAgeDays: ptr[int64](3651)}, "min_account_age_days", participant.CodeInvalidMinAccountAgeDays},
		{"negative bonus", participant.RulesInput{ReferralBonus: ptr[int64](-1), MaxTickets: ptr[int64](5)}, "referral_bonus", participant.CodeInvalidReferralBonus},
		{"a bonus of 100", participant.RulesInput{ReferralBonus: ptr[int64](100), MaxTickets: ptr[int64](100)}, "referral_bonus", participant.CodeInvalidReferralBonus},
		{"a bonus with one ticket", participant.RulesInput{ReferralBonus: ptr[int64](1)}, "referral_bonus", participant.CodeInvalidReferralBonus},
		{"a bonus with max_tickets 1", participant.RulesInput{ReferralBonus: ptr[int64](2), MaxTickets: ptr[int64](1)}, "referral_bonus", participant.CodeInvalidReferralBonus},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.in.Rules()
			var e *participant.Error
			if !errors.As(err, &e) || e.Code != participant.CodeValidation {
				t.Fatalf("error = %v, want VALIDATION_ERROR", err)
			}
			if len(e.Fields) == 0 || e.Fields[0].Field != c.field || e.Fields[0].Code != c.code {
				t.Fatalf("fields = %+v, want %s with %s", e.Fields, c.field, c.code)
			}
			if !strings.Contains(e.Message, c.field) {
				t.Fatalf("message %q does not name %s", e.Message, c.field)
			}
		})
	}
	// Several bad fields are all listed.
	_, err := participant.RulesInput{MaxTickets: ptr[int64](0), MinAccountAgeDays: ptr[int64](-3), RequiredChats: []string{"x"}}.Rules()
	var e *participant.Error
	if !errors.As(err, &e) || len(e.Fields) != 3 {
		t.Fatalf("error = %#v, want three fields", err)
	}
}

// TestRulesInputAccepts: the limits themselves are allowed, chats keep
// their order and spelling, and the JSON is canonical and parses back.
func TestRulesInputAccepts(t *testing.T) {
	in := participant.RulesInput{
		RequiredChats:     []string{"@Chan_One", "-1001234567890", " chan_two ", "-42"},
		ExcludeAdmins:     ptr(false),
		PremiumOnly:       ptr(true),
		MinAccountAgeDays: ptr[int64](3650),
		MaxTickets:        ptr[int64](100),
		ReferralBonus:     ptr[int64](0),
		RecheckAtDraw:     ptr(false),
	}
	r, err := in.Rules()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"exclude_admins":false,"max_tickets":100,"min_account_age_days":3650,"premium_only":true,"recheck_at_draw":false,"referral_bonus":0,"required_chats":["@Chan_One","-1001234567890","@chan_two","-42"]}`
	if got := string(r.JSON()); got != want {
		t.Fatalf("JSON\n got %s\nwant %s", got, want)
	}
	back, err := participant.ParseRulesJSON(r.JSON())
	if err != nil || string(back.JSON()) != want {
		t.Fatalf("parsed back: %s, %v", back.JSON(), err)
	}
	if back.RequiredChats[1] != participant.ChatByID(-1001234567890) || back.RequiredChats[0] != participant.ChatByUsername("Chan_One") {
		t.Fatalf("chats = %+v", back.RequiredChats)
	}
	ten := make([]string, 10)
	for i := range ten {
		ten[i] = "-10" + string(rune('0'+i))
	}
	if _, err := (participant.RulesInput{RequiredChats: ten}).Rules(); err != nil {
		t.Fatalf("ten chats: %v", err)
	}
	for _, bad := range []string{`{"exclude_admins":true,"max_tickets":1,"required_chats":[],"extra":1}`, `[]`, `{"required_chats":["12"]}`} {
		if _, err := participant.ParseRulesJSON([]byte(bad)); err == nil {
			t.Fatalf("ParseRulesJSON(%s) accepted it", bad)
		}
	}
}

func rulesService(t *testing.T, backend string) (*participant.Service, participant.Store) {
	t.Helper()
	st := testenv.OpenStore(t, backend)
	return participant.NewService(st, nil, nil, participant.Options{}), st
}

// TestRulesSetAndLocked: rules are the defaults until set, replaced
// freely before the commit, their hash is over the JSON served, and once
// the draw is committed a change is RULES_LOCKED while setting the same
// rules again succeeds.
func TestRulesSetAndLocked(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		svc, _ := rulesService(t, backend)
		ctx := context.Background()
		const gid = 31
		g, err := svc.GiveawayRules(ctx, gid)
		if err != nil || g.Custom || g.Locked || string(g.JSON) != string(participant.DefaultRules().JSON()) ||
			g.SHA256 != sha256.Sum256(g.JSON) {
			t.Fatalf("rules before any = %+v, %v", g, err)
		}
		first := participant.RulesInput{RequiredChats: []string{"@chan_one", "-100777"}, MaxTickets: ptr[int64](3)}
		second := participant.RulesInput{PremiumOnly: ptr(true)}
		if _, err := svc.SetRules(ctx, gid, first); err != nil {
			t.Fatal(err)
		}
		set, err := svc.SetRules(ctx, gid, second)
		if err != nil || !set.Custom || set.Locked || !set.Rules.PremiumOnly || set.Rules.MaxTickets != 1 || set.Rules.RequiredChats != nil {
			t.Fatalf("second set = %+v, %v", set, err)
		}
		got, err := svc.GiveawayRules(ctx, gid)
		if err != nil || string(got.JSON) != string(set.JSON) || got.SHA256 != sha256.Sum256(got.JSON) || got.SHA256Hex() != set.SHA256Hex() {
			t.Fatalf("get = %+v, %v; want what was set", got, err)
		}

		if _, err := svc.CommitDraw(ctx, gid); err != nil {
			t.Fatal(err)
		}
		_, err = svc.SetRules(ctx, gid, first)
		if participant.ErrorCode(err) != participant.CodeRulesLocked {
			t.Fatalf("change after the commit: %v, want RULES_LOCKED", err)
		}
		again, err := svc.SetRules(ctx, gid, second)
		if err != nil || !again.Locked || string(again.JSON) != string(set.JSON) {
			t.Fatalf("setting the same rules after the commit = %+v, %v; want them, locked", again, err)
		}
		got, err = svc.GiveawayRules(ctx, gid)
		if err != nil || !got.Locked || got.LockedAt == nil || string(got.JSON) != string(set.JSON) {
			t.Fatalf("get after the commit = %+v, %v", got, err)
		}
	})
}

// TestRulesLockedByFirstRegistration: a registration commits the draw,
// and with it the defaults: a change after it is refused, the defaults
// again accepted.
func TestRulesLockedByFirstRegistration(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		svc, st := rulesService(t, backend)
		ctx := context.Background()
		const gid, user = 32, 5001
		if err := st.CompleteCaptcha(ctx, user, time.Now()); err != nil {
			t.Fatal(err)
		}
		res, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: user})
		if err != nil || res.ParticipantID == 0 {
			t.Fatalf("register = %+v, %v", res, err)
		}
		if _, err := svc.SetRules(ctx, gid, participant.RulesInput{MaxTickets: ptr[int64](2)}); participant.ErrorCode(err) != participant.CodeRulesLocked {
			t.Fatalf("change after the first registration: %v, want RULES_LOCKED", err)
		}
		g, err := svc.SetRules(ctx, gid, participant.RulesInput{RecheckAtDraw: ptr(false)})
		if err != nil || !g.Locked || g.Custom {
			t.Fatalf("setting the defaults again = %+v, %v", g, err)
		}
	})
}

// TestRulesRaceTheFirstRegistration: rules set while the first users
// register are either saved before the commit, and served from then on,
// or refused with RULES_LOCKED; never saved after it.
func TestRulesRaceTheFirstRegistration(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		svc, st := rulesService(t, backend)
		ctx := context.Background()
		for user := int64(1); user <= 4; user++ {
			if err := st.CompleteCaptcha(ctx, 6000+user, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		for gid := int64(40); gid < 48; gid++ {
			var wg sync.WaitGroup
			var setErr error
			wg.Add(5)
			go func() {
				defer wg.Done()
				_, setErr = svc.SetRules(ctx, gid, participant.RulesInput{MaxTickets: ptr[int64](4)})
			}()
			for user := int64(1); user <= 4; user++ {
				go func() {
					defer wg.Done()
					if _, err := svc.Register(ctx, participant.RegisterRequest{GiveawayID: gid, UserID: 6000 + user}); err != nil {
						t.Errorf("register: %v", err)
					}
				}()
			}
			wg.Wait()
			g, err := svc.GiveawayRules(ctx, gid)
			if err != nil || !g.Locked {
				t.Fatalf("giveaway %d: %+v, %v", gid, g, err)
			}
			switch {
			case setErr == nil && g.Rules.MaxTickets != 4, setErr != nil && g.Custom:
				t.Fatalf("giveaway %d: set = %v but the rules are %s", gid, setErr, g.JSON)
			case setErr != nil && participant.ErrorCode(setErr) != participant.CodeRulesLocked:
				t.Fatalf("giveaway %d: set = %v, want RULES_LOCKED or success", gid, setErr)
			}
		}
	})
}

// TestRulesInvalidGiveaway: a giveaway id below 1 is refused by both.
func TestRulesInvalidGiveaway(t *testing.T) {
	svc := participant.NewService(nil, nil, nil, participant.Options{})
	if _, err := svc.GiveawayRules(context.Background(), 0); participant.ErrorCode(err) != participant.CodeInvalidGiveawayID {
		t.Fatalf("get: %v", err)
	}
	if _, err := svc.SetRules(context.Background(), -1, participant.RulesInput{}); participant.ErrorCode(err) != participant.CodeInvalidGiveawayID {
		t.Fatalf("set: %v", err)
	}
}
