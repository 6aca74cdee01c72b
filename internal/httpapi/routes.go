package httpapi

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"
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
	"select-winners": true, "list": true,
}

func notReserved(r *http.Request, _ *mux.RouteMatch) bool {
	rest := strings.TrimPrefix(r.URL.Path, apiPrefix+"/")
	first, _, _ := strings.Cut(rest, "/")
	return !reserved[first]
}

func (s *Server) routes() {
	r := s.router
	// mux reports a wrong method inside subrouters as not found, so the
	// not-found handler tells the two apart itself.
	r.NotFoundHandler = http.HandlerFunc(s.notFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.notFound)
	r.Use(nameRoute)

	r.HandleFunc("/health", s.handleHealth).Methods(http.MethodGet, http.MethodHead).Name("health")
	r.HandleFunc("/health/live", s.handleLive).Methods(http.MethodGet, http.MethodHead).Name("health_live")
	r.HandleFunc("/health/ready", s.handleReady).Methods(http.MethodGet, http.MethodHead).Name("health_ready")

	api := r.PathPrefix(apiPrefix).Subrouter()
	// Bot service.
	api.HandleFunc("/register", s.handleRegister).Methods(http.MethodPost).Name("register")
	api.HandleFunc("/validate-captcha", s.handleValidateCaptcha).Methods(http.MethodPost).Name("validate_captcha")
	api.HandleFunc("/captcha-status/{user_id}", s.handleCaptchaStatus).Methods(http.MethodGet).Name("captcha_status")
	api.HandleFunc("/winner-status/{user_id}/{giveaway_id}", s.handleWinnerStatus).Methods(http.MethodGet).Name("winner_status")
	api.HandleFunc("/verify-subscription", s.handleVerifySubscription).Methods(http.MethodPost).Name("verify_subscription")
	api.HandleFunc("/update-delivery-status", s.handleUpdateDelivery).Methods(http.MethodPut).Name("update_delivery_status")
	api.HandleFunc("/history/{user_id}", s.handleHistory).Methods(http.MethodGet).Name("history")
	// Giveaway service; the legacy aliases come first.
	api.HandleFunc("/select-winners/{giveaway_id}", s.handleSelectWinners).Methods(http.MethodPost).Name("select_winners_legacy")
	api.HandleFunc("/list/{giveaway_id}", s.handleList).Methods(http.MethodGet).Name("list_legacy")
	g := api.NewRoute().MatcherFunc(notReserved).PathPrefix("/{giveaway_id}").Subrouter()
	g.HandleFunc("/select-winners", s.handleSelectWinners).Methods(http.MethodPost).Name("select_winners")
	g.HandleFunc("/redraw", s.handleRedraw).Methods(http.MethodPost).Name("redraw")
	g.HandleFunc("/draw", s.handleDraw).Methods(http.MethodGet).Name("draw")
	g.HandleFunc("/draw/commit", s.handleCommitDraw).Methods(http.MethodPost).Name("draw_commit")
	g.HandleFunc("/draw/proof/{user_id}", s.handleProof).Methods(http.MethodGet).Name("draw_proof")
	g.HandleFunc("/draw/entrants", s.handleEntrants).Methods(http.MethodGet).Name("draw_entrants")
	g.HandleFunc("/count", s.handleCount).Methods(http.MethodGet).Name("count")
	g.HandleFunc("/stats", s.handleStats).Methods(http.MethodGet).Name("stats")
	g.HandleFunc("/winners", s.handleWinners).Methods(http.MethodGet).Name("winners")
	g.HandleFunc("/export", s.handleExport).Methods(http.MethodGet).Name("export")
	g.HandleFunc("", s.handleList).Methods(http.MethodGet).Name("list")
}
