package httpapi

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/telegive/participant-service/internal/auth"
	"github.com/telegive/participant-service/internal/drawpage"
)

// apiPrefix is where the participant API lives.
const apiPrefix = "/api/participants"

// reserved are the first path segments of the static routes under
// apiPrefix; the catch-all /{giveaway_id} must not take them, or a wrong
// method on a static route would reach the listing (the route shadowing of
// the old service).
var reserved = map[string]bool{
	"register": true, "validate-captcha": true, "captcha-status": true, "winner-status": true,
	"verify-subscription": true, "update-delivery-status": true, "history": true,
	"select-winners": true, "list": true, "log": true,
}

func notReserved(r *http.Request, _ *mux.RouteMatch) bool {
	rest := strings.TrimPrefix(r.URL.Path, apiPrefix+"/")
	first, _, _ := strings.Cut(rest, "/")
	return !reserved[first]
}

func (s *Server) routes() {
	r := s.router
	// Match the path as sent: "2%2Fcount" is one segment, not "2/count",
	// as proxies and the OpenAPI description read it.
	r.UseEncodedPath()
	// mux would answer a path with an empty, "." or ".." segment with a
	// redirect to its clean form, which a client follows with a GET and no
	// body; canonicalPaths refuses such paths with a JSON 404 instead.
	r.SkipClean(true)
	// mux reports a wrong method inside subrouters as not found, so the
	// not-found handler tells the two apart itself.
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.notFound)
	r.Use(nameRoute, s.limitBodies, s.shedLoad, s.bound)

	const (
		bot      = auth.ScopeBot
		giveaway = auth.ScopeGiveaway
		admin    = auth.ScopeAdmin
	)
	get, post, put := http.MethodGet, http.MethodPost, http.MethodPut

	// Open: probes and the public draw record.
	r.HandleFunc("/health", s.handleHealth).Methods(get, http.MethodHead).Name("health")
	r.HandleFunc("/health/live", s.handleLive).Methods(get, http.MethodHead).Name("health_live")
	r.HandleFunc("/health/ready", s.handleReady).Methods(get, http.MethodHead).Name("health_ready")
	r.HandleFunc("/openapi.json", s.handleOpenAPI).Methods(get, http.MethodHead).Name("openapi")

	// The draw verification page, for participants' browsers.
	page := drawpage.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.noSuchEndpoint(w, r, "No such file.")
	}))
	r.Handle("/draws/assets/{file}", s.public(page.ServeHTTP)).Methods(get, http.MethodHead).Name("draw_page_assets")
	r.Handle("/draws/{giveaway_id:[0-9]+}", s.public(page.ServeHTTP)).Methods(get, http.MethodHead).Name("draw_page")

	r.Handle("/admin/stats", s.guard(s.handleAdminStats, admin)).Methods(get).Name("admin_stats")
	r.Handle("/admin/cleanup", s.guard(s.handleAdminCleanup, admin)).Methods(post).Name("admin_cleanup")

	api := r.PathPrefix(apiPrefix).Subrouter()
	// Bot service.
	api.Handle("/register", s.guard(s.handleRegister, bot)).Methods(post).Name("register")
	api.Handle("/validate-captcha", s.guard(s.handleValidateCaptcha, bot)).Methods(post).Name("validate_captcha")
	api.Handle("/captcha-status/{user_id}", s.guard(s.handleCaptchaStatus, bot)).Methods(get).Name("captcha_status")
	api.Handle("/winner-status/{user_id}/{giveaway_id}", s.guard(s.handleWinnerStatus, bot)).Methods(get).Name("winner_status")
	api.Handle("/verify-subscription", s.guard(s.handleVerifySubscription, bot)).Methods(post).Name("verify_subscription")
	api.Handle("/update-delivery-status", s.guard(s.handleUpdateDelivery, bot)).Methods(put).Name("update_delivery_status")
	api.Handle("/history/{user_id}", s.guard(s.handleHistory, bot, giveaway)).Methods(get).Name("history")
	// The draw log, public. "log" is reserved, so /log/... never reaches
	// the /{giveaway_id} routes (and /log is no giveaway's listing).
	api.Handle("/log/checkpoint", s.public(s.handleLogCheckpoint)).Methods(get).Name("log_checkpoint")
	api.Handle("/log/key", s.public(s.handleLogKey)).Methods(get).Name("log_key")
	api.Handle("/log/entries", s.public(s.handleLogEntries)).Methods(get).Name("log_entries")
	api.Handle("/log/proof/inclusion", s.public(s.handleLogInclusion)).Methods(get).Name("log_inclusion_proof")
	api.Handle("/log/proof/consistency", s.public(s.handleLogConsistency)).Methods(get).Name("log_consistency_proof")
	// Giveaway service; the legacy aliases come first.
	api.Handle("/select-winners/{giveaway_id}", s.guard(s.handleSelectWinners, giveaway)).Methods(post).Name("select_winners_legacy")
	api.Handle("/list/{giveaway_id}", s.guard(s.handleList, giveaway)).Methods(get).Name("list_legacy")
	g := api.NewRoute().MatcherFunc(notReserved).PathPrefix("/{giveaway_id}").Subrouter()
	g.Handle("/select-winners", s.guard(s.handleSelectWinners, giveaway)).Methods(post).Name("select_winners")
	g.Handle("/redraw", s.guard(s.handleRedraw, giveaway)).Methods(post).Name("redraw")
	g.Handle("/draw", s.public(s.handleDraw)).Methods(get).Name("draw")
	g.Handle("/draw/commit", s.guard(s.handleCommitDraw, giveaway)).Methods(post).Name("draw_commit")
	g.Handle("/draw/proof/{user_id}", s.public(s.handleProof)).Methods(get).Name("draw_proof")
	g.Handle("/draw/winner-proofs", s.public(s.handleWinnerProofs)).Methods(get).Name("draw_winner_proofs")
	g.Handle("/draw/entrants", s.guard(s.handleEntrants, giveaway)).Methods(get).Name("draw_entrants")
	g.Handle("/rules", s.public(s.handleRules)).Methods(get).Name("rules")
	g.Handle("/rules", s.guard(s.handleSetRules, giveaway)).Methods(put).Name("rules_set")
	g.Handle("/eligibility/{user_id}", s.guard(s.handleEligibility, bot, giveaway)).Methods(get).Name("eligibility")
	g.Handle("/count", s.guard(s.handleCount, giveaway)).Methods(get).Name("count")
	g.Handle("/stats", s.guard(s.handleStats, giveaway)).Methods(get).Name("stats")
	g.Handle("/winners", s.guard(s.handleWinners, giveaway)).Methods(get).Name("winners")
	g.Handle("/export", s.guard(s.handleExport, giveaway)).Methods(get).Name("export")
	g.Handle("", s.guard(s.handleList, giveaway)).Methods(get).Name("list")
}
