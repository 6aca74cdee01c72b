package httpapi

import (
	"net/http"
	"time"

	"github.com/telegive/participant-service/internal/health"
)

type healthJSON struct {
	Success   bool                     `json:"success"`
	Status    health.Status            `json:"status"`
	Service   string                   `json:"service"`
	Version   string                   `json:"version"`
	Timestamp time.Time                `json:"timestamp"`
	Checks    map[string]health.Result `json:"checks"`
}

// handleLive serves GET /health/live: the process serves requests. It
// touches no dependency, so a database outage never restarts pods.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "status": "alive", "service": s.opts.ServiceName})
}

// handleReady serves GET /health/ready: 200 only when the critical
// dependencies answer and the server is not shutting down.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"success": false, "status": "shutting_down", "service": s.opts.ServiceName})
		return
	}
	rep := s.health.RunCritical(r.Context())
	s.logFailures(r, rep)
	status := http.StatusOK
	state := "ready"
	if !rep.Ready {
		status, state = http.StatusServiceUnavailable, "not_ready"
	}
	writeJSON(w, status, map[string]any{"success": rep.Ready, "status": state, "service": s.opts.ServiceName, "checks": rep.Checks})
}

// handleHealth serves GET /health: every check, with the overall state.
// Upstream checks read circuit breakers; nothing here calls another
// service.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	rep := s.health.Run(r.Context())
	s.logFailures(r, rep)
	status := http.StatusOK
	if rep.Status == health.Unhealthy {
		status = http.StatusServiceUnavailable
	}
	if s.draining.Load() && rep.Status == health.Healthy {
		rep.Status = health.Degraded
	}
	writeJSON(w, status, healthJSON{
		Success:   rep.Status != health.Unhealthy,
		Status:    rep.Status,
		Service:   s.opts.ServiceName,
		Version:   s.opts.Version,
		Timestamp: s.opts.Now().UTC(),
		Checks:    rep.Checks,
	})
}

func (s *Server) logFailures(r *http.Request, rep health.Report) {
	for name, res := range rep.Checks {
		if !res.OK() {
			s.log.WarnContext(r.Context(), "health check failed", "check", name, "error", res.Cause)
		}
	}
}
