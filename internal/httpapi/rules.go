package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/api"
)

// handleRules serves GET /api/participants/{giveaway_id}/rules: the
// giveaway's rules, the defaults when none were set, with their hash.
func (s *Server) handleRules(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.svc.GiveawayRules(r.Context(), giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRules(g))
}

// handleSetRules serves PUT /api/participants/{giveaway_id}/rules, which
// replaces the rules until the giveaway's draw is committed.
func (s *Server) handleSetRules(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := decodeBody(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in := participant.RulesInput{
		RequiredChats:     b.chats("required_chats"),
		ExcludeAdmins:     b.optBool("exclude_admins"),
		PremiumOnly:       b.optBool("premium_only"),
		MinAccountAgeDays: b.optInt("min_account_age_days"),
		MaxTickets:        b.optInt("max_tickets"),
		ReferralBonus:     b.optInt("referral_bonus"),
		RecheckAtDraw:     b.optBool("recheck_at_draw"),
	}
	if err := b.err(); err != nil {
		// Like the domain's, a rules document's bad types are one
		// VALIDATION_ERROR listing each field.
		var e *participant.Error
		if errors.As(err, &e) {
			err = participant.InvalidRules(e.Fields)
		}
		s.writeError(w, r, err)
		return
	}
	g, err := s.svc.SetRules(r.Context(), giveawayID, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRules(g))
}

func toRules(g participant.GiveawayRules) api.RulesResponse {
	return api.RulesResponse{
		Success:     true,
		GiveawayID:  g.GiveawayID,
		Rules:       json.RawMessage(g.JSON),
		RulesSHA256: g.SHA256Hex(),
		Custom:      g.Custom,
		Locked:      g.Locked,
		LockedAt:    g.LockedAt,
		UpdatedAt:   g.UpdatedAt,
	}
}

// optBool reads an optional boolean; nil when absent or null.
func (b *body) optBool(field string) *bool {
	if !b.present(field) {
		return nil
	}
	v := b.boolean(field, false)
	return &v
}

// optInt reads an optional JSON integer; nil when absent or null. Its
// range is the domain's to check.
func (b *body) optInt(field string) *int64 {
	if !b.present(field) {
		return nil
	}
	n, ok := parseJSONInt(b.raw[field])
	if !ok {
		b.v.Add(field, fieldCode("INVALID_", field), "%s must be an integer", field)
		return nil
	}
	return &n
}

// chats reads a list of chats, each a JSON string ("@channel",
// "-1001234567890") or a JSON integer (a chat id); nil when absent or
// null.
func (b *body) chats(field string) []string {
	if !b.present(field) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b.raw[field], &items); err != nil {
		b.v.Add(field, fieldCode("INVALID_", field), "%s must be a list of chat ids or public @usernames", field)
		return nil
	}
	out := make([]string, 0, len(items))
	for i, raw := range items {
		s, ok := chatString(raw)
		if !ok {
			b.v.Add(field, fieldCode("INVALID_", field), "%s[%d] must be a chat id or a public @username", field, i)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// chatString is a chat as the domain reads it: an integer in decimal, a
// string as it is.
func chatString(raw json.RawMessage) (string, bool) {
	if n, ok := parseJSONInt(raw); ok {
		return strconv.FormatInt(n, 10), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}
