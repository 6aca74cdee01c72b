package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/api"
)

// handleEligibility serves GET
// /api/participants/{giveaway_id}/eligibility/{user_id}?is_premium=: whether
// the user could enter the giveaway now and every reason why not. It
// registers nothing.
func (s *Server) handleEligibility(w http.ResponseWriter, r *http.Request) {
	var v participant.Validation
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := participant.EligibilityRequest{GiveawayID: giveawayID, UserID: userID, IsPremium: queryBool(r, "is_premium", &v)}
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.svc.Eligibility(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEligibility(e))
}

// queryBool reads an optional true/false query parameter; nil when absent.
func queryBool(r *http.Request, name string, v *participant.Validation) *bool {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		v.Add(name, fieldCode("INVALID_", name), "%s must be true or false", name)
		return nil
	}
	return &b
}

func toEligibility(e participant.Eligibility) api.Eligibility {
	out := api.Eligibility{
		Success: true, GiveawayID: e.GiveawayID, UserID: e.UserID, Eligible: e.Eligible,
		Reasons: make([]string, len(e.Reasons)), ParticipantID: e.ParticipantID, Tickets: e.Tickets,
		MissingChats: chatStrings(e.MissingChats), AdminChats: chatStrings(e.AdminChats),
		RequiresCaptcha: e.RequiresCaptcha, RulesSHA256: e.RulesSHA256,
	}
	for i, r := range e.Reasons {
		out.Reasons[i] = string(r)
	}
	if e.AccountAge != nil {
		out.AccountAge = toAccountAge(*e.AccountAge, e.MinAccountAgeDays)
	}
	return out
}

func chatStrings(chats []participant.ChatRef) []string {
	if len(chats) == 0 {
		return nil
	}
	out := make([]string, len(chats))
	for i, c := range chats {
		out[i] = c.String()
	}
	return out
}

func toAccountAge(a participant.AccountAge, minDays int) *api.AccountAge {
	out := &api.AccountAge{Estimated: a.Estimated, EstimatedAgeDays: a.Days, MinAccountAgeDays: minDays,
		CreatedAfter: optTime(a.CreatedAfter), CreatedBefore: optTime(a.CreatedBefore)}
	if a.Estimated {
		out.EstimatedCreatedAt = optTime(a.CreatedAt)
	}
	return out
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// toRuleRefusal is the error body's part for a refusal by the rules; nil
// when the error is none.
func toRuleRefusal(f *participant.RuleFailure) *api.RuleRefusal {
	if f == nil {
		return nil
	}
	out := &api.RuleRefusal{MissingChats: chatStrings(f.MissingChats), AdminChats: chatStrings(f.AdminChats)}
	if f.AccountAge != nil {
		out.AccountAge = toAccountAge(*f.AccountAge, f.MinAccountAgeDays)
	}
	if f.Chat != nil {
		out.Chat = f.Chat.String()
		out.ChatProblem = "chat_not_found"
		if f.Problem == participant.FailureBotNotAdmin {
			out.ChatProblem = "bot_not_admin"
		}
	}
	return out
}
