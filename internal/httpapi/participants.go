package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/draw"
)

// handleList serves GET /api/participants/{giveaway_id} and its legacy alias
// GET /api/participants/list/{giveaway_id}.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var v participant.Validation
	// Errors are reported in field order, so page's range is checked here
	// before limit is read (the service checks it again).
	page := queryInt(r, "page", 1, &v, participant.PageRule)
	if page < 1 {
		v.Add("page", participant.CodeInvalidPage, participant.PageRule)
	}
	limit := queryInt(r, "limit", 0, &v, participant.ListLimitRule)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	l, err := s.svc.List(r.Context(), giveawayID, page, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ps := make([]api.Participant, len(l.Participants))
	for i, p := range l.Participants {
		ps[i] = toParticipant(p)
	}
	writeJSON(w, http.StatusOK, api.Listing{
		Success:      true,
		GiveawayID:   giveawayID,
		Participants: ps,
		Stats: api.ListingStats{
			Total:                l.Stats.Total,
			CaptchaCompleted:     l.Stats.CaptchaCompleted,
			SubscriptionVerified: l.Stats.SubscriptionVerified,
			Winners:              l.Stats.Winners,
			Tickets:              l.Stats.Tickets,
		},
		Pagination: api.Pagination{
			Page:  l.Pagination.Page,
			Limit: l.Pagination.Limit,
			Total: l.Pagination.Total,
			Pages: l.Pagination.Pages,
		},
	})
}

// handleCount serves GET /api/participants/{giveaway_id}/count.
func (s *Server) handleCount(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.svc.Count(r.Context(), giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.CountResponse{Success: true, GiveawayID: giveawayID, Count: n, TotalParticipants: n})
}

// handleStats serves GET /api/participants/{giveaway_id}/stats.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.svc.Stats(r.Context(), giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.StatsResponse{Success: true, GiveawayID: giveawayID, Stats: api.Stats{
		TotalParticipants:                st.Total,
		CaptchaCompletedParticipants:     st.CaptchaCompleted,
		SubscriptionVerifiedParticipants: st.SubscriptionVerified,
		Winners:                          st.Winners,
		MessagesDelivered:                st.MessagesDelivered,
		TotalTickets:                     st.Tickets,
	}})
}

// handleWinners serves GET /api/participants/{giveaway_id}/winners.
func (s *Server) handleWinners(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ws, d, err := s.svc.Winners(r.Context(), giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var rec *draw.Record
	if d != nil {
		rec = &d.Record
	}
	writeJSON(w, http.StatusOK, api.WinnersResponse{Success: true, GiveawayID: giveawayID, Winners: toWinners(ws), Draw: rec})
}

// handleExport serves GET /api/participants/{giveaway_id}/export, a
// streaming export in participant-id order as NDJSON (default) or CSV
// (?format=csv). Memory stays constant whatever the giveaway's size. A
// failure after the first row aborts the connection, so a client can tell a
// cut stream from a complete one.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "ndjson"
	}
	if format != "ndjson" && format != "csv" {
		var v participant.Validation
		v.Add("format", codeInvalidFormat, "format must be ndjson or csv")
		s.writeError(w, r, v.Err())
		return
	}
	started := false
	start := func() {
		if started {
			return
		}
		started = true
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		if format == "csv" {
			h.Set("Content-Type", "text/csv; charset=utf-8")
			h.Set("Content-Disposition", "attachment; filename=giveaway-"+strconv.FormatInt(giveawayID, 10)+"-participants.csv")
		} else {
			h.Set("Content-Type", "application/x-ndjson")
		}
		w.WriteHeader(http.StatusOK)
	}
	ctl := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	cw := csv.NewWriter(w)
	rows := 0
	err = s.svc.Export(r.Context(), giveawayID, s.opts.ExportBatchSize, func(p participant.Participant) error {
		if !started {
			start()
			if format == "csv" {
				if err := cw.Write(csvHeader); err != nil {
					return err
				}
			}
		}
		rows++
		if format == "csv" {
			if err := cw.Write(csvRow(p)); err != nil {
				return err
			}
		} else if err := enc.Encode(toParticipant(p)); err != nil {
			return err
		}
		if rows%s.opts.ExportBatchSize == 0 {
			cw.Flush()
			_ = ctl.Flush()
		}
		return nil
	})
	if err != nil && !started {
		s.writeError(w, r, err)
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "export interrupted", "giveaway_id", giveawayID, "rows", rows, "error", err)
		panic(http.ErrAbortHandler)
	}
	if !started {
		start()
		if format == "csv" {
			_ = cw.Write(csvHeader)
		}
	}
	cw.Flush()
}

var csvHeader = []string{"participant_id", "giveaway_id", "user_id", "username", "first_name", "last_name",
	"participated_at", "captcha_completed", "subscription_verified", "is_winner", "winner_selected_at",
	"message_delivered", "delivery_timestamp", "delivery_attempts", "tickets", "referrer_user_id"}

func csvRow(p participant.Participant) []string {
	t := func(tp *time.Time) string {
		if tp == nil {
			return ""
		}
		return tp.Format(time.RFC3339Nano)
	}
	referrer := ""
	if p.ReferrerUserID != 0 {
		referrer = strconv.FormatInt(p.ReferrerUserID, 10)
	}
	return []string{
		strconv.FormatInt(p.ID, 10), strconv.FormatInt(p.GiveawayID, 10), strconv.FormatInt(p.UserID, 10),
		csvSafe(p.Username), csvSafe(p.FirstName), csvSafe(p.LastName),
		p.ParticipatedAt.Format(time.RFC3339Nano), strconv.FormatBool(p.CaptchaCompleted),
		strconv.FormatBool(p.SubscriptionVerified), strconv.FormatBool(p.IsWinner), t(p.WinnerSelectedAt),
		strconv.FormatBool(p.MessageDelivered), t(p.DeliveryTimestamp), strconv.Itoa(p.DeliveryAttempts),
		strconv.FormatInt(p.Tickets, 10), referrer,
	}
}

// csvSafe defuses spreadsheet formula injection in user-controlled names
// (a first name of "=HYPERLINK(...)" would run when the owner opens the
// file).
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// handleWinnerStatus serves GET /api/participants/winner-status/{user_id}/{giveaway_id}.
func (s *Server) handleWinnerStatus(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "user_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.svc.WinnerStatus(r.Context(), userID, giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var pid *int64
	if st.ParticipantID != 0 {
		pid = &st.ParticipantID
	}
	writeJSON(w, http.StatusOK, api.WinnerStatus{
		Success:          true,
		UserID:           userID,
		GiveawayID:       giveawayID,
		Participated:     st.Participated,
		IsWinner:         st.IsWinner,
		WinnerSelectedAt: st.WinnerSelectedAt,
		TotalWinners:     st.TotalWinners,
		ParticipantID:    pid,
	})
}

// handleHistory serves GET /api/participants/history/{user_id}.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	userID, err := pathID(r, "user_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var v participant.Validation
	limit := queryInt(r, "limit", 0, &v, participant.HistoryLimitRule)
	if err := v.Err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, hs, err := s.svc.History(r.Context(), userID, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	recent := make([]api.Participation, len(hs))
	for i, h := range hs {
		recent[i] = api.Participation{GiveawayID: h.GiveawayID, ParticipatedAt: h.ParticipatedAt,
			IsWinner: h.IsWinner, WinnerSelectedAt: h.WinnerSelectedAt}
	}
	writeJSON(w, http.StatusOK, api.History{Success: true, UserStats: toUserStats(u), RecentParticipations: recent})
}

// handleVerifySubscription serves POST /api/participants/verify-subscription.
func (s *Server) handleVerifySubscription(w http.ResponseWriter, r *http.Request) {
	b, err := decodeBody(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	userID, accountID := b.id("user_id", true), b.id("account_id", true)
	if err := b.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := s.svc.VerifySubscription(r.Context(), userID, accountID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.Subscription{
		Success:          true,
		UserID:           userID,
		AccountID:        accountID,
		IsSubscribed:     sub.Subscribed,
		MembershipStatus: sub.Status,
		ChannelInfo:      api.Channel(sub.Channel),
		VerifiedAt:       sub.VerifiedAt,
	})
}

// handleUpdateDelivery serves PUT /api/participants/update-delivery-status.
func (s *Server) handleUpdateDelivery(w http.ResponseWriter, r *http.Request) {
	b, err := decodeBody(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u := participant.DeliveryUpdate{
		ParticipantIDs: b.ids("participant_ids", participant.CodeMissingParticipantIDs),
		Delivered:      b.boolean("delivered", true),
		At:             b.timestamp("delivery_timestamp"),
	}
	if err := b.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.svc.UpdateDelivery(r.Context(), u)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	failed := make([]api.DeliveryFailure, len(res.Failed))
	for i, f := range res.Failed {
		failed[i] = api.DeliveryFailure{ParticipantID: f.ParticipantID, Error: f.Reason}
	}
	writeJSON(w, http.StatusOK, api.DeliveryResult{Success: true, UpdatedCount: res.Updated, FailedUpdates: failed})
}
