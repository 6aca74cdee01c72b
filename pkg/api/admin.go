package api

// AdminStatsResponse answers GET /admin/stats.
type AdminStatsResponse struct {
	Success bool       `json:"success"`
	Stats   AdminStats `json:"stats"`
}

// AdminStats are platform-wide totals.
type AdminStats struct {
	Participants             int64 `json:"participants"`
	Users                    int64 `json:"users"`
	CaptchaCompletedUsers    int64 `json:"captcha_completed_users"`
	Giveaways                int64 `json:"giveaways"`
	DrawnGiveaways           int64 `json:"drawn_giveaways"`
	PendingCaptchaChallenges int64 `json:"pending_captcha_challenges"`
	StaleCaptchaChallenges   int64 `json:"stale_captcha_challenges"`
}

// CleanupResponse answers POST /admin/cleanup.
type CleanupResponse struct {
	Success           bool `json:"success"`
	DeletedChallenges int  `json:"deleted_challenges"`
}
