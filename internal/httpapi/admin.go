package httpapi

import "net/http"

// handleAdminStats serves GET /admin/stats: platform-wide totals.
func (s *Server) handleAdminStats(w http.ResponseWriter, r *http.Request) {
	st, err := s.svc.AdminStats(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	type stats struct {
		Participants      int64 `json:"participants"`
		Users             int64 `json:"users"`
		CaptchaCompleted  int64 `json:"captcha_completed_users"`
		Giveaways         int64 `json:"giveaways"`
		Drawn             int64 `json:"drawn_giveaways"`
		PendingChallenges int64 `json:"pending_captcha_challenges"`
		StaleChallenges   int64 `json:"stale_captcha_challenges"`
	}
	writeJSON(w, http.StatusOK, struct {
		Success bool  `json:"success"`
		Stats   stats `json:"stats"`
	}{true, stats(st)})
}

// handleAdminCleanup serves POST /admin/cleanup: delete stale captcha
// challenges now instead of at the next background run.
func (s *Server) handleAdminCleanup(w http.ResponseWriter, r *http.Request) {
	n, err := s.svc.Cleanup(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Success           bool `json:"success"`
		DeletedChallenges int  `json:"deleted_challenges"`
	}{true, n})
}
