package httpapi

import (
	"net/http"

	"github.com/telegive/participant-service/pkg/api"
)

// handleAdminStats serves GET /admin/stats: platform-wide totals.
func (s *Server) handleAdminStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.AdminStats(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.AdminStatsResponse{Success: true, Stats: api.AdminStats{
		Participants:             st.Participants,
		Users:                    st.Users,
		CaptchaCompletedUsers:    st.CaptchaCompleted,
		Giveaways:                st.Giveaways,
		DrawnGiveaways:           st.Drawn,
		PendingCaptchaChallenges: st.PendingChallenges,
		StaleCaptchaChallenges:   st.StaleChallenges,
	}})
}

// handleAdminCleanup serves POST /admin/cleanup: delete stale captcha
// challenges now instead of at the next background run.
func (s *Server) handleAdminCleanup(w http.ResponseWriter, r *http.Request) {
	n, err := s.svc.Cleanup(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.CleanupResponse{Success: true, DeletedChallenges: n})
}
