package app

import (
	"context"
	"sync"
	"time"

	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/upstream"
)

// startBackground runs the background loops until the returned function
// is called, which stops them and waits for them to return. They outlive
// ctx, so that they keep running while the server drains.
func (a *App) startBackground(ctx context.Context) (stop func()) {
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var bg sync.WaitGroup
	for _, run := range a.background {
		bg.Add(1)
		go func() {
			defer bg.Done()
			run(bgCtx)
		}()
	}
	return func() {
		cancel()
		bg.Wait()
	}
}

// probeWatched probes the bot and media services, which we only watch,
// every UPSTREAM_PROBE_INTERVAL in the background, and returns the health
// checks that read the last probe.
func (a *App) probeWatched() []health.Check {
	cfg := a.cfg.Upstreams
	watched := map[string]string{}
	if cfg.BotURL != "" {
		watched["bot_service"] = cfg.BotURL
	}
	if cfg.MediaURL != "" {
		watched["media_service"] = cfg.MediaURL
	}
	if len(watched) == 0 {
		return nil
	}
	p := upstream.NewProber(watched, cfg.ProbeInterval.D(), cfg.AttemptTimeout.D())
	a.background = append(a.background, p.Run)
	var checks []health.Check
	for name := range watched {
		checks = append(checks, probeCheck(name, p))
	}
	return checks
}

// cleanLoop deletes stale captcha challenges and expired request
// signatures every CleanupInterval, in bounded batches that several
// replicas can run at once.
func (a *App) cleanLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.CleanupInterval.D())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := a.svc.Cleanup(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("captcha cleanup failed", "error", err, "deleted", n)
			continue
		}
		if n > 0 {
			a.log.Info("captcha cleanup", "deleted", n)
		}
		a.cleanSignatures(ctx)
	}
}

// cleanSignatures deletes expired request signatures, at most
// signatureBatches batches of signatureBatch per round.
func (a *App) cleanSignatures(ctx context.Context) {
	const signatureBatch, signatureBatches = 5000, 20
	total := 0
	for range signatureBatches {
		n, err := a.store.DeleteExpiredSignatures(ctx, signatureBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("signature cleanup failed", "error", err, "deleted", total)
			}
			return
		}
		if n < signatureBatch {
			break
		}
	}
	if total > 0 {
		a.log.Debug("signature cleanup", "deleted", total)
	}
}
