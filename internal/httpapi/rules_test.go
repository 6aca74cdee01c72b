package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/telegive/participant-service/internal/auth"
	"github.com/telegive/participant-service/pkg/api"
)

const defaultRules = `{"exclude_admins":true,"max_tickets":1,"min_account_age_days":0,"premium_only":false,"recheck_at_draw":false,"referral_bonus":0,"required_chats":[]}`

// rulesOf decodes a rules answer and checks that rules_sha256 is the
// SHA-256 of the rules exactly as they were served.
func rulesOf(t *testing.T, r reply) api.RulesResponse {
	t.Helper()
	r.expect(t, http.StatusOK, "")
	var out api.RulesResponse
	if err := json.Unmarshal(r.raw, &out); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(out.Rules)
	if out.RulesSHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("rules_sha256 %s is not the SHA-256 of the rules served, %s", out.RulesSHA256, out.Rules)
	}
	if !bytes.Contains(r.raw, append([]byte(`"rules":`), out.Rules...)) {
		t.Fatalf("the rules are not served byte for byte: %s", r.raw)
	}
	if _, err := out.Decode(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRulesEndpoints: the defaults until rules are set, set rules served
// with their hash, and RULES_LOCKED once the giveaway's draw is committed
// by an explicit commit or by the first registration.
func TestRulesEndpoints(t *testing.T) {
	eachBackend(t, func(t *testing.T, backend string) {
		h := newHarness(t, backend)
		g := rulesOf(t, h.do("GET", "/api/participants/70/rules", nil))
		if string(g.Rules) != defaultRules || g.Custom || g.Locked || g.GiveawayID != 70 || g.UpdatedAt != nil {
			t.Fatalf("rules before any: %+v", g)
		}

		set := rulesOf(t, h.do("PUT", "/api/participants/70/rules", map[string]any{
			"required_chats": []any{"@Chan_One", -1001234567890, " -100777 "}, "max_tickets": 5,
			"exclude_admins": false, "min_account_age_days": nil, "unknown_field": 1}))
		// Rules a caller sets re-check the winners at the draw unless they
		// say otherwise; the defaults without rules do not.
		const want = `{"exclude_admins":false,"max_tickets":5,"min_account_age_days":0,"premium_only":false,"recheck_at_draw":true,"referral_bonus":0,"required_chats":["@Chan_One","-1001234567890","-100777"]}`
		if string(set.Rules) != want || !set.Custom || set.Locked || set.UpdatedAt == nil {
			t.Fatalf("set rules: %+v (%s)", set, set.Rules)
		}
		got := rulesOf(t, h.do("GET", "/api/participants/70/rules", nil))
		if string(got.Rules) != want || got.RulesSHA256 != set.RulesSHA256 {
			t.Fatalf("get after set: %s", got.Rules)
		}

		h.do("POST", "/api/participants/70/draw/commit", nil).expect(t, http.StatusOK, "")
		r := h.do("PUT", "/api/participants/70/rules", map[string]any{"max_tickets": 6}).expect(t, http.StatusConflict, "RULES_LOCKED")
		if !strings.Contains(r.str("error"), "committed") {
			t.Fatalf("the refusal does not say why: %s", r.raw)
		}
		same := rulesOf(t, h.do("PUT", "/api/participants/70/rules", map[string]any{
			"required_chats": []any{"@Chan_One", "-1001234567890", "-100777"}, "max_tickets": 5, "exclude_admins": false}))
		if !same.Locked || same.LockedAt == nil || same.RulesSHA256 != set.RulesSHA256 {
			t.Fatalf("setting the same rules after the commit: %+v", same)
		}

		// The first registration commits the draw of a giveaway without rules.
		h.join(71, 9001)
		h.do("PUT", "/api/participants/71/rules", map[string]any{"premium_only": true}).expect(t, http.StatusConflict, "RULES_LOCKED")
		locked := rulesOf(t, h.do("GET", "/api/participants/71/rules", nil))
		if string(locked.Rules) != defaultRules || locked.Custom || !locked.Locked {
			t.Fatalf("rules after the first registration: %+v", locked)
		}
		// The defaults, which re-check nothing, are what a giveaway without
		// rules has; rules left out re-check the winners, so they differ.
		rulesOf(t, h.do("PUT", "/api/participants/71/rules", map[string]any{"recheck_at_draw": false}))
		h.do("PUT", "/api/participants/71/rules", map[string]any{}).expect(t, http.StatusConflict, "RULES_LOCKED")
	})
}

// TestRulesValidation: each bad field is 400 VALIDATION_ERROR naming it.
func TestRulesValidation(t *testing.T) {
	h := newHarness(t, "sqlite")
	for _, c := range []struct {
		name, body, field, code string
	}{
		{"tickets as a string", `{"max_tickets": "5"}`, "max_tickets", "INVALID_MAX_TICKETS"},
		{"tickets as a float", `{"max_tickets": 2.5}`, "max_tickets", "INVALID_MAX_TICKETS"},
		{"too many tickets", `{"max_tickets": 101}`, "max_tickets", "INVALID_MAX_TICKETS"},
		{"no tickets", `{"max_tickets": 0}`, "max_tickets", "INVALID_MAX_TICKETS"},
		{"a bonus without tickets", `{"referral_bonus": 1}`, "referral_bonus", "INVALID_REFERRAL_BONUS"},
		{"a bonus of max_tickets", `{"referral_bonus": 5, "max_tickets": 5}`, "referral_bonus", "INVALID_REFERRAL_BONUS"},
		{"a negative bonus", `{"referral_bonus": -1, "max_tickets": 5}`, "referral_bonus", "INVALID_REFERRAL_BONUS"},
		{"age as a string", `{"min_account_age_days": "30"}`, "min_account_age_days", "INVALID_MIN_ACCOUNT_AGE_DAYS"},
		{"a negative age", `{"min_account_age_days": -1}`, "min_account_age_days", "INVALID_MIN_ACCOUNT_AGE_DAYS"},
		{"premium as a string", `{"premium_only": "yes"}`, "premium_only", "INVALID_PREMIUM_ONLY"},
		{"admins as a number", `{"exclude_admins": 1}`, "exclude_admins", "INVALID_EXCLUDE_ADMINS"},
		{"recheck as null string", `{"recheck_at_draw": "false"}`, "recheck_at_draw", "INVALID_RECHECK_AT_DRAW"},
		{"chats as a string", `{"required_chats": "@chan_one"}`, "required_chats", "INVALID_REQUIRED_CHATS"},
		{"no chats", `{"required_chats": []}`, "required_chats", "INVALID_REQUIRED_CHATS"},
		{"a chat as a bool", `{"required_chats": [true]}`, "required_chats", "INVALID_REQUIRED_CHATS"},
		{"a user id", `{"required_chats": [12345]}`, "required_chats", "INVALID_REQUIRED_CHATS"},
		{"a float chat", `{"required_chats": [-100.5]}`, "required_chats", "INVALID_REQUIRED_CHATS"},
		{"eleven chats", `{"required_chats": [-1,-2,-3,-4,-5,-6,-7,-8,-9,-10,-11]}`, "required_chats", "INVALID_REQUIRED_CHATS"},
		{"a chat twice", `{"required_chats": ["@chan_one", "@CHAN_ONE"]}`, "required_chats", "INVALID_REQUIRED_CHATS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("PUT", "/api/participants/72/rules", c.body).expect(t, http.StatusBadRequest, "VALIDATION_ERROR")
			fields, _ := r.body["validation_errors"].([]any)
			if len(fields) == 0 {
				t.Fatalf("no validation_errors: %s", r.raw)
			}
			first, _ := fields[0].(map[string]any)
			if first["field"] != c.field || first["error_code"] != c.code || !strings.Contains(r.str("error"), c.field) {
				t.Fatalf("answer %s, want %s with %s named in the error", r.raw, c.field, c.code)
			}
		})
	}
	h.do("PUT", "/api/participants/72/rules", `{"max_tickets":`).expect(t, http.StatusBadRequest, "INVALID_JSON")
	h.do("PUT", "/api/participants/72/rules", ``).expect(t, http.StatusBadRequest, "INVALID_JSON")
	h.do("PUT", "/api/participants/0/rules", `{}`).expect(t, http.StatusBadRequest, "INVALID_GIVEAWAY_ID")
	h.do("GET", "/api/participants/abc/rules", nil).expect(t, http.StatusBadRequest, "INVALID_GIVEAWAY_ID")
	// Nothing refused was stored.
	if g := rulesOf(t, h.do("GET", "/api/participants/72/rules", nil)); g.Custom {
		t.Fatalf("a refused PUT stored rules: %s", g.Rules)
	}
}

// TestRulesScopes: anyone may read the rules; only the giveaway service
// may set them.
func TestRulesScopes(t *testing.T) {
	h := newHarness(t, "sqlite", authOption(auth.ModeRequired))
	rulesOf(t, h.do("GET", "/api/participants/73/rules", nil))
	body := `{"premium_only": true}`
	h.doWith("PUT", "/api/participants/73/rules", body, nil).expect(t, http.StatusUnauthorized, "")
	h.doWith("PUT", "/api/participants/73/rules", body, map[string]string{"X-Service-Token": botToken}).expect(t, http.StatusForbidden, "")
	g := rulesOf(t, h.doWith("PUT", "/api/participants/73/rules", body, map[string]string{"X-Service-Token": giveawayToken}))
	if !g.Custom {
		t.Fatalf("%+v", g)
	}
}

// TestRulesRequestMatchesTheDocument: every field of api.RulesRequest is
// one the description takes, and a request setting all of them is valid.
func TestRulesRequestMatchesTheDocument(t *testing.T) {
	yes, no, n, bonus := true, false, 3, 2
	body := api.RulesRequest{RequiredChats: []string{"@chan_one", "-100123"}, ExcludeAdmins: &no, PremiumOnly: &yes,
		MinAccountAgeDays: &n, MaxTickets: &n, ReferralBonus: &bonus, RecheckAtDraw: &no}
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil || len(fields) != 7 {
		t.Fatalf("%s: %v", data, err)
	}
	req := httptest.NewRequest("PUT", "/api/participants/1/rules", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Service-Token", "token")
	if ok, errs := openAPIValidator(t).ValidateHttpRequest(req); !ok {
		for _, e := range errs {
			t.Errorf("%s is refused: %s: %s", data, e.Message, e.Reason)
		}
	}
	h := newHarness(t, "sqlite")
	got := rulesOf(t, h.do("PUT", "/api/participants/74/rules", data))
	rules, err := got.Decode()
	if err != nil || rules.MaxTickets != 3 || rules.ReferralBonus != 2 || rules.MinAccountAgeDays != 3 || !rules.PremiumOnly ||
		rules.ExcludeAdmins || rules.RecheckAtDraw || len(rules.RequiredChats) != 2 {
		t.Fatalf("rules = %+v, %v", rules, err)
	}
}
