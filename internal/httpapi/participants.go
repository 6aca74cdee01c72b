package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/telegive/participant-service/internal/participant"
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
		v.Add("page", "INVALID_PAGE", participant.PageRule)
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
	ps := make([]participantJSON, len(l.Participants))
	for i, p := range l.Participants {
		ps[i] = toParticipantJSON(p)
	}
	type stats struct {
		Total                int64 `json:"total"`
		CaptchaCompleted     int64 `json:"captcha_completed"`
		SubscriptionVerified int64 `json:"subscription_verified"`
		Winners              int64 `json:"winners"`
	}
	type pagination struct {
		Page  int   `json:"page"`
		Limit int   `json:"limit"`
		Total int64 `json:"total"`
		Pages int64 `json:"pages"`
	}
	writeJSON(w, http.StatusOK, struct {
		Success      bool              `json:"success"`
		GiveawayID   int64             `json:"giveaway_id"`
		Participants []participantJSON `json:"participants"`
		Stats        stats             `json:"stats"`
		Pagination   pagination        `json:"pagination"`
	}{true, giveawayID, ps,
		stats{l.Stats.Total, l.Stats.CaptchaCompleted, l.Stats.SubscriptionVerified, l.Stats.Winners},
		pagination{l.Pagination.Page, l.Pagination.Limit, l.Pagination.Total, l.Pagination.Pages}})
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
	writeJSON(w, http.StatusOK, struct {
		Success           bool  `json:"success"`
		GiveawayID        int64 `json:"giveaway_id"`
		Count             int64 `json:"count"`
		TotalParticipants int64 `json:"total_participants"`
	}{true, giveawayID, n, n})
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
	writeJSON(w, http.StatusOK, struct {
		Success    bool      `json:"success"`
		GiveawayID int64     `json:"giveaway_id"`
		Stats      statsJSON `json:"stats"`
	}{true, giveawayID, statsJSON{st.Total, st.CaptchaCompleted, st.SubscriptionVerified, st.Winners, st.MessagesDelivered}})
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
	writeJSON(w, http.StatusOK, struct {
		Success    bool         `json:"success"`
		GiveawayID int64        `json:"giveaway_id"`
		Winners    []winnerJSON `json:"winners"`
		Draw       *draw.Record `json:"draw"`
	}{true, giveawayID, toWinnersJSON(ws), rec})
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
		v.Add("format", "INVALID_FORMAT", "format must be ndjson or csv")
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
		} else if err := enc.Encode(toParticipantJSON(p)); err != nil {
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
	"message_delivered", "delivery_timestamp", "delivery_attempts"}

func csvRow(p participant.Participant) []string {
	t := func(tp *time.Time) string {
		if tp == nil {
			return ""
		}
		return tp.Format(time.RFC3339Nano)
	}
	return []string{
		strconv.FormatInt(p.ID, 10), strconv.FormatInt(p.GiveawayID, 10), strconv.FormatInt(p.UserID, 10),
		csvSafe(p.Username), csvSafe(p.FirstName), csvSafe(p.LastName),
		p.ParticipatedAt.Format(time.RFC3339Nano), strconv.FormatBool(p.CaptchaCompleted),
		strconv.FormatBool(p.SubscriptionVerified), strconv.FormatBool(p.IsWinner), t(p.WinnerSelectedAt),
		strconv.FormatBool(p.MessageDelivered), t(p.DeliveryTimestamp), strconv.Itoa(p.DeliveryAttempts),
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
	writeJSON(w, http.StatusOK, struct {
		Success          bool       `json:"success"`
		UserID           int64      `json:"user_id"`
		GiveawayID       int64      `json:"giveaway_id"`
		Participated     bool       `json:"participated"`
		IsWinner         bool       `json:"is_winner"`
		WinnerSelectedAt *time.Time `json:"winner_selected_at"`
		TotalWinners     int        `json:"total_winners"`
		ParticipantID    *int64     `json:"participant_id"`
	}{true, userID, giveawayID, st.Participated, st.IsWinner, st.WinnerSelectedAt, st.TotalWinners, pid})
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
	type entry struct {
		GiveawayID       int64      `json:"giveaway_id"`
		ParticipatedAt   time.Time  `json:"participated_at"`
		IsWinner         bool       `json:"is_winner"`
		WinnerSelectedAt *time.Time `json:"winner_selected_at"`
	}
	recent := make([]entry, len(hs))
	for i, h := range hs {
		recent[i] = entry{h.GiveawayID, h.ParticipatedAt, h.IsWinner, h.WinnerSelectedAt}
	}
	writeJSON(w, http.StatusOK, struct {
		Success              bool          `json:"success"`
		UserStats            userStatsJSON `json:"user_stats"`
		RecentParticipations []entry       `json:"recent_participations"`
	}{true, toUserStatsJSON(u), recent})
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
	writeJSON(w, http.StatusOK, struct {
		Success          bool                `json:"success"`
		UserID           int64               `json:"user_id"`
		AccountID        int64               `json:"account_id"`
		IsSubscribed     bool                `json:"is_subscribed"`
		MembershipStatus string              `json:"membership_status"`
		ChannelInfo      participant.Channel `json:"channel_info"`
		VerifiedAt       time.Time           `json:"verified_at"`
	}{true, userID, accountID, sub.Subscribed, sub.Status, sub.Channel, sub.VerifiedAt})
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
	type failure struct {
		ParticipantID int64  `json:"participant_id"`
		Error         string `json:"error"`
	}
	failed := make([]failure, len(res.Failed))
	for i, f := range res.Failed {
		failed[i] = failure{f.ParticipantID, f.Reason}
	}
	writeJSON(w, http.StatusOK, struct {
		Success       bool      `json:"success"`
		UpdatedCount  int       `json:"updated_count"`
		FailedUpdates []failure `json:"failed_updates"`
	}{true, res.Updated, failed})
}
