package httpapi

import (
	"bufio"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/pkg/api"
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
	writeJSON(w, http.StatusOK, api.Selection{
		Success:              true,
		GiveawayID:           giveawayID,
		Winners:              toWinners(sel.Winners),
		TotalParticipants:    sel.TotalParticipants,
		WinnerCountRequested: sel.Requested,
		WinnerCountSelected:  sel.Selected,
		SelectionMethod:      sel.Method,
		SelectionTimestamp:   sel.Timestamp,
		AlreadySelected:      sel.AlreadySelected,
		Draw:                 sel.Record,
		Protocol:             sel.Record.Version,
		PublicRandomness:     sel.Record.Version == draw.VersionV2,
		Recheck:              toRecheck(sel.Recheck),
	})
}

func toRecheck(r *participant.RecheckSummary) *api.SelectionRecheck {
	if r == nil {
		return nil
	}
	out := &api.SelectionRecheck{Status: r.Status, Final: nonNilIDs(r.Final), Unchecked: nonNilIDs(r.Unchecked),
		Disqualified: make([]api.RecheckDisqualified, len(r.Disqualified))}
	if p := r.Pending; p != nil {
		out.Pending = &api.RecheckRound{Round: p.Round, BeaconRound: p.BeaconRound, BeaconAt: p.BeaconAt.UTC(),
			Disqualified: p.Disqualified}
	}
	for i, d := range r.Disqualified {
		out.Disqualified[i] = api.RecheckDisqualified{UserID: d.UserID, Position: d.Position, Reason: d.Reason}
		if d.Round > 0 {
			out.Disqualified[i].Round = &d.Round
		}
		if d.ReplacedBy != 0 {
			out.Disqualified[i].ReplacedBy = &d.ReplacedBy
		}
	}
	return out
}

func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// handleDraw serves GET /api/participants/{giveaway_id}/draw: the
// commitment before the draw, the full verifiable record after it.
func (s *Server) handleDraw(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.DrawRecord(r.Context(), giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeDraw(w, http.StatusOK, d)
}

// handleCommitDraw serves POST /api/participants/{giveaway_id}/draw/commit,
// which publishes the commitment before anyone registers.
func (s *Server) handleCommitDraw(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.svc.CommitDraw(r.Context(), giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeDraw(w, http.StatusOK, d)
}

func writeDraw(w http.ResponseWriter, status int, d participant.Draw) {
	writeJSON(w, status, api.DrawResponse{Success: true, Draw: d.PublicRecord()})
}

// handleProof serves GET /api/participants/{giveaway_id}/draw/proof/{user_id}.
func (s *Server) handleProof(w http.ResponseWriter, r *http.Request) {
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
	p, err := s.svc.Proof(r.Context(), giveawayID, userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ProofResponse{Success: true, Proof: p})
}

// handleRedraw serves POST /api/participants/{giveaway_id}/redraw.
func (s *Server) handleRedraw(w http.ResponseWriter, r *http.Request) {
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
	var req participant.RedrawRequest
	// A caller may give each user a reason of their own, in disqualified,
	// instead of (or besides) the list with one reason.
	if !b.present("disqualified") || b.present("disqualified_user_ids") {
		req.DisqualifiedUserIDs = b.ids("disqualified_user_ids", participant.CodeMissingDisqualifiedUserIDs)
	}
	req.Reason = b.str("reason")
	if b.present("disqualified") {
		req.Disqualified = b.disqualifications("disqualified")
	}
	if err := b.err(); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.svc.Redraw(r.Context(), giveawayID, req)
	switch {
	case err != nil:
		s.obs.Redraw("error")
	case res.AlreadyApplied:
		s.obs.Redraw("already_applied")
	default:
		s.obs.Redraw("redrawn")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	round := res.Round
	out := api.RedrawResult{
		Success:             true,
		GiveawayID:          giveawayID,
		DisqualifiedUserIDs: round.DisqualifiedUserIDs,
		Reason:              round.Reason,
		Replacements:        round.Replacements,
		Winners:             toWinners(res.Winners),
		AlreadyApplied:      res.AlreadyApplied,
		Draw:                res.Record,
		Disqualified:        round.Disqualified,
		Round:               round.Round,
	}
	if res.Record.Version == draw.VersionV2 {
		// The v1 fields say the same as disqualified: the ids, and the
		// reasons (one, or each distinct one, comma separated).
		out.DisqualifiedUserIDs, out.Reason = nil, ""
		var reasons []string
		for _, d := range round.Disqualified {
			out.DisqualifiedUserIDs = append(out.DisqualifiedUserIDs, d.UserID)
			if !slices.Contains(reasons, string(d.Reason)) {
				reasons = append(reasons, string(d.Reason))
			}
		}
		out.Reason = strings.Join(reasons, ", ")
	} else {
		for _, id := range round.DisqualifiedUserIDs {
			out.Disqualified = append(out.Disqualified, draw.Disqualification{UserID: id, Reason: draw.Reason(round.Reason)})
		}
	}
	if out.DisqualifiedUserIDs == nil {
		out.DisqualifiedUserIDs = []int64{}
	}
	if out.Disqualified == nil {
		out.Disqualified = []draw.Disqualification{}
	}
	if out.Replacements == nil {
		out.Replacements = []draw.Replacement{}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleEntrants serves GET /api/participants/{giveaway_id}/draw/entrants:
// the frozen entrant list in ascending order, the exact list the entrants
// root was computed over: one user id a line for telegive-draw-v1, one
// "user_id tickets" pair a line for telegive-draw-v2 (from the freeze on).
func (s *Server) handleEntrants(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.svc.EntrantList(r.Context(), giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 64<<10)
	if list.Version == draw.VersionV2 {
		if draw.WriteEntrantList(bw, list.IDs, list.Tickets) == nil {
			_ = bw.Flush()
		}
		return
	}
	ids := list.IDs
	buf := make([]byte, 0, 24)
	for _, id := range ids {
		buf = strconv.AppendInt(buf[:0], id, 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return
		}
	}
	_ = bw.Flush()
}

// handleWinnerProofs serves GET /api/participants/{giveaway_id}/draw/winner-proofs:
// an inclusion proof for every current winner, so that a verifier checks
// who won without downloading the entrant list.
func (s *Server) handleWinnerProofs(w http.ResponseWriter, r *http.Request) {
	giveawayID, err := pathID(r, "giveaway_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	proofs, err := s.svc.WinnerProofs(r.Context(), giveawayID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.WinnerProofsResponse{Success: true, Proofs: proofs})
}
