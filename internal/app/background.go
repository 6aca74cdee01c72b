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

// finishInterval is how often every replica finishes the v2 draws and
// redraw rounds whose beacon round is out but whose call stopped before
// drawing.
const finishInterval = 3 * time.Second

// finishTimeout bounds one round of finishing, below the domain's lease on
// the draws it claims.
const finishTimeout = 20 * time.Second

// finishLoop finishes pending v2 draws every finishInterval.
func (a *App) finishLoop(ctx context.Context) {
	t := time.NewTicker(finishInterval)
	defer t.Stop()
	logFailure := throttled(a.log, "finishing pending draws failed")
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fctx, cancel := context.WithTimeout(background(ctx), finishTimeout)
		n, err := a.svc.FinishPendingDraws(fctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			logFailure(err)
		}
		if n > 0 {
			a.log.Info("finished pending draws", "finished", n)
		}
	}
}

// checkpointLoop signs a checkpoint of the draw log, and submits it to the
// witnesses, every LOG_CHECKPOINT_INTERVAL when the log grew, so that
// witnesses follow the log between draws and /log/checkpoint stays fresh.
func (a *App) checkpointLoop(ctx context.Context) {
	interval := a.cfg.Draws.CheckpointInterval.D()
	t := time.NewTicker(interval)
	defer t.Stop()
	logFailure := throttled(a.log, "draw log checkpoint failed")
	var published uint64
	first := true
	for {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		first = false
		cctx, cancel := context.WithTimeout(background(ctx), interval+a.cfg.Draws.WitnessTimeout.D())
		size, signed, done, err := a.publishCheckpoint(cctx, published)
		cancel()
		if ctx.Err() != nil {
			return
		}
		a.logs.saw(size, signed, err)
		a.metrics.LogSize(size)
		if err != nil {
			logFailure(err)
			continue
		}
		if done {
			published = signed
		}
	}
}

// publishCheckpoint signs and submits a checkpoint unless the log has not
// grown past published. It returns the log's size, the size the latest
// checkpoint covers, and whether that size is published for good: signed,
// and cosigned by the witnesses' quorum when there are witnesses (short of
// it, the next round submits again).
func (a *App) publishCheckpoint(ctx context.Context, published uint64) (size, signed uint64, done bool, err error) {
	head, err := a.store.LogHead(ctx)
	if err != nil {
		return 0, 0, false, err
	}
	if head.Size <= published {
		return head.Size, published, true, nil
	}
	a.logs.grew(head.Size)
	res, err := a.svc.PublishCheckpoint(ctx)
	if err != nil {
		return head.Size, published, false, err
	}
	latest, err := a.svc.LogCheckpoint(ctx)
	if err != nil {
		return head.Size, published, false, err
	}
	if a.draws.witnesses != nil && !res.Attested {
		a.log.Warn("draw log checkpoint not cosigned by the witnesses' quorum", "size", latest.Size, "reason", res.Reason)
		return head.Size, latest.Size, false, nil
	}
	return head.Size, latest.Size, true, nil
}

// backfillRetry is how long the start-up backfill of the draw log waits
// before it tries again after a failure (the schema not migrated yet, the
// database away).
const backfillRetry = 30 * time.Second

// backfillLoop logs, once, every draw older than the draw log
// (BackfillLog), retrying until it succeeds.
func (a *App) backfillLoop(ctx context.Context) {
	for {
		res, err := a.svc.BackfillLog(ctx)
		if err == nil {
			if res.Legacy+res.Commits > 0 {
				a.log.Info("draw log backfilled", "legacy", res.Legacy, "commits", res.Commits)
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("draw log backfill failed; retrying", "error", err, "retry_in", backfillRetry.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backfillRetry):
		}
	}
}
