package httpapi

import (
	"net/http"

	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/pkg/api"
)

// handleLive serves GET /health/live: the process serves requests. It
// touches no dependency, so a database outage never restarts pods.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Probe{Success: true, Status: "alive", Service: s.opts.ServiceName})
}

// handleReady serves GET /health/ready: 200 only when the critical
// dependencies answer and the server is not shutting down.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, api.Probe{Success: false, Status: "shutting_down", Service: s.opts.ServiceName})
		return
	}
	rep := s.health.RunCritical(r.Context())
	s.logFailures(r, rep)
	status := http.StatusOK
	state := "ready"
	if !rep.Ready {
		status, state = http.StatusServiceUnavailable, "not_ready"
	}
	writeJSON(w, status, api.Probe{Success: rep.Ready, Status: state, Service: s.opts.ServiceName, Checks: toChecks(rep.Checks)})
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
	writeJSON(w, status, api.Health{
		Success:   rep.Status != health.Unhealthy,
		Status:    string(rep.Status),
		Service:   s.opts.ServiceName,
		Version:   s.opts.Version,
		Timestamp: s.opts.Now().UTC(),
		Checks:    toChecks(rep.Checks),
	})
}

func (s *Server) logFailures(r *http.Request, rep health.Report) {
	for name, res := range rep.Checks {
		if !res.OK() {
			s.log.WarnContext(r.Context(), "health check failed", "check", name, "error", res.Cause)
		}
	}
}
