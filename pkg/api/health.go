package api

import "time"

// Health answers GET /health: every check with the overall state
// (healthy, degraded or unhealthy). An unhealthy service answers 503 with
// the same body.
type Health struct {
	Success   bool                   `json:"success"`
	Status    string                 `json:"status"`
	Service   string                 `json:"service"`
	Version   string                 `json:"version"`
	Timestamp time.Time              `json:"timestamp"`
	Checks    map[string]CheckResult `json:"checks"`
}

// CheckResult is one dependency check.
type CheckResult struct {
	// Status is "ok", "down", "disabled" or a check-specific state.
	Status    string  `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	// Error is a short, safe description of a failure.
	Error   string         `json:"error,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// Probe answers GET /health/live (alive) and GET /health/ready (ready,
// not_ready, or shutting_down without checks). Its fields are in the
// alphabetical order the probes have always been written in.
type Probe struct {
	// Checks are the critical checks readiness ran; absent from liveness
	// and while shutting down.
	Checks  map[string]CheckResult `json:"checks,omitzero"`
	Service string                 `json:"service"`
	Status  string                 `json:"status"`
	Success bool                   `json:"success"`
}
