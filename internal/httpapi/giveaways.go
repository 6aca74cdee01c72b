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

// handleSelectWinners serves POST /api/participants/{giveaway_id}/select-winners
// and its legacy alias POST /api/participants/select-winners/{giveaway_id}.
func (s *Server) handleSelectWinners(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := decodeBody(r, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// selection_method is deliberately not read: the caller does not choose
	// how winners are drawn.
	req := participant.SelectRequest{WinnerCount: b.count("winner_count"), Beacon: b.str("beacon")}
	if err := b.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	start := time.Now()
	sel, err := s.svc.SelectWinners(r.Context(), giveawayID, req)
	switch {
	case err != nil:
		s.obs.Draw("error", 0, time.Since(start))
	case sel.AlreadySelected:
		s.obs.Draw("already_drawn", sel.TotalParticipants, time.Since(start))
	default:
		s.obs.Draw("drawn", sel.TotalParticipants, time.Since(start))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Success              bool         `json:"success"`
		GiveawayID           int64        `json:"giveaway_id"`
		Winners              []winnerJSON `json:"winners"`
		TotalParticipants    int64        `json:"total_participants"`
		WinnerCountRequested int          `json:"winner_count_requested"`
		WinnerCountSelected  int          `json:"winner_count_selected"`
		SelectionMethod      string       `json:"selection_method"`
		SelectionTimestamp   time.Time    `json:"selection_timestamp"`
		AlreadySelected      bool         `json:"already_selected"`
		Draw                 draw.Record  `json:"draw"`
	}{true, giveawayID, toWinnersJSON(sel.Winners), sel.TotalParticipants, sel.Requested, sel.Selected,
		sel.Method, sel.Timestamp, sel.AlreadySelected, sel.Record})
}

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
