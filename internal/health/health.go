// Package health runs the service's dependency checks for the health
// endpoints: each check has its own deadline, they run in parallel, and
// none of them calls an upstream service (upstream state comes from the
// circuit breakers), so a health request stays fast when dependencies are
// slow.
package health

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Status is the overall state reported by GET /health.
type Status string

// Overall states.
const (
	Healthy   Status = "healthy"
	Degraded  Status = "degraded"
	Unhealthy Status = "unhealthy"
)

// Impact says what a failing check means for the service.
type Impact int

// Impacts of a failed check.
const (
	// Critical: the service cannot serve; it is unhealthy and not ready.
	Critical Impact = iota + 1
	// Degrading: the service serves with reduced function.
	Degrading
)

// Result is one check's answer.
type Result struct {
	Status    string  `json:"status"` // "ok", "down", "disabled" or a check-specific state
	LatencyMS float64 `json:"latency_ms"`
	// Error is a short, safe description: it never holds addresses,
	// credentials or driver text, which go to Cause for the logs.
	Error   string         `json:"error,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	Cause   error          `json:"-"`
}

// OK reports whether the result counts as passing.
func (r Result) OK() bool { return r.Status != "down" }

// Check is one named dependency check.
type Check struct {
	Name   string
	Impact Impact
	// Run returns the check's result; it must honour ctx's deadline.
	Run func(ctx context.Context) Result
}

// Checker runs a fixed set of checks.
type Checker struct {
	checks  []Check
	timeout time.Duration
}

// New returns a Checker whose checks each get at most timeout.
func New(timeout time.Duration, checks ...Check) *Checker {
	return &Checker{checks: checks, timeout: timeout}
}

// Report is the outcome of a run.
type Report struct {
	Status Status            `json:"status"`
	Checks map[string]Result `json:"checks"`
	// Ready is false when a critical check failed.
	Ready bool `json:"-"`
}

// Run runs every check in parallel and combines them.
func (c *Checker) Run(ctx context.Context) Report {
	return c.run(ctx, func(Check) bool { return true })
}

// RunCritical runs only the critical checks, for the readiness probe.
func (c *Checker) RunCritical(ctx context.Context) Report {
	return c.run(ctx, func(ch Check) bool { return ch.Impact == Critical })
}

func (c *Checker) run(ctx context.Context, include func(Check) bool) Report {
	rep := Report{Status: Healthy, Ready: true, Checks: map[string]Result{}}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, ch := range c.checks {
		if !include(ch) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			start := time.Now()
			res := ch.Run(cctx)
			if res.LatencyMS == 0 {
				res.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Checks[ch.Name] = res
			if res.OK() {
				return
			}
			if ch.Impact == Critical {
				rep.Status, rep.Ready = Unhealthy, false
			} else if rep.Status == Healthy {
				rep.Status = Degraded
			}
		}()
	}
	wg.Wait()
	return rep
}

// Func adapts an error-returning probe into a check's Run.
func Func(probe func(ctx context.Context) error) func(ctx context.Context) Result {
	return func(ctx context.Context) Result {
		if err := probe(ctx); err != nil {
			msg := "unavailable"
			if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				msg = "timed out"
			}
			return Result{Status: "down", Error: msg, Cause: err}
		}
		return Result{Status: "ok"}
	}
}
