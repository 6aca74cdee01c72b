package redis

import (
	"context"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// A registration into a hot giveaway charges the user's budget with
// redis_rate's GCRA script: one EVALSHA, one round trip and, on both
// sides, a write and a read system call for a command of a hundred bytes.
// At a few thousand presses a second those calls cost more than the
// scripts, so the scripts called at the same time go to Redis together:
// while a pipeline is on its way the calls made meanwhile queue, and a
// free runner sends them all as the next pipeline. Nothing waits for a
// pipeline to fill: a call that finds a runner free goes at once, alone,
// so pipelines grow only with the load.
//
// A caller never waits longer than the client's timeout, whatever is
// queued before it: a silent Redis holds the runners' pipelines until
// their read times out, and without a bound of its own a call queued
// behind them would wait two timeouts (or more) instead of one. A call
// that gave up may still be sent, as any command cut short after it was
// written may still run; for a rate limit that is one charge too many
// in an outage, never a request lost.

const (
	// maxScriptBatch bounds one pipeline's scripts.
	maxScriptBatch = 128
	// scriptRunners is how many pipelines are on their way at once, at
	// most (per client: a Cluster's pipelines are split by node by
	// go-redis).
	scriptRunners = 2
)

// batchedScripts is the go-redis client as redis_rate sees it: EVALSHA
// calls share pipelines, everything else goes straight through, and the
// NOSCRIPT fallback (EVAL, from go-redis's Script.Run) too.
type batchedScripts struct {
	goredis.UniversalClient
	// wait bounds a caller's wait for its answer.
	wait time.Duration

	mu      sync.Mutex
	queue   []*scriptCall
	running int
}

// scriptCall is one EVALSHA waiting for its answer.
type scriptCall struct {
	ctx      context.Context
	sha      string
	keys     []string
	args     []any
	deadline time.Time
	cmd      *goredis.Cmd
	done     chan struct{} // closed once cmd is set
}

func newBatchedScripts(rdb goredis.UniversalClient, wait time.Duration) *batchedScripts {
	return &batchedScripts{UniversalClient: rdb, wait: wait}
}

// EvalSha queues the script, starts a runner when fewer than
// scriptRunners run, and waits for the answer, the end of ctx, or the
// client's timeout, whichever comes first.
func (b *batchedScripts) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *goredis.Cmd {
	c := &scriptCall{ctx: ctx, sha: sha, keys: keys, args: args,
		deadline: time.Now().Add(b.wait), done: make(chan struct{})}
	if d, ok := ctx.Deadline(); ok && d.Before(c.deadline) {
		c.deadline = d
	}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	start := b.running < scriptRunners
	if start {
		b.running++
	}
	b.mu.Unlock()
	if start {
		go b.run()
	}
	timer := time.NewTimer(time.Until(c.deadline))
	defer timer.Stop()
	select {
	case <-c.done:
		return c.cmd
	case <-ctx.Done():
		return failedCmd(ctx, ctx.Err())
	case <-timer.C:
		return failedCmd(ctx, fmt.Errorf("no answer within %v: %w", b.wait, context.DeadlineExceeded))
	}
}

func failedCmd(ctx context.Context, err error) *goredis.Cmd {
	cmd := goredis.NewCmd(ctx)
	cmd.SetErr(err)
	return cmd
}

// run sends pipelines until the queue is empty.
func (b *batchedScripts) run() {
	for {
		batch := b.take()
		if batch == nil {
			return
		}
		b.send(batch)
	}
}

// take removes up to maxScriptBatch waiting calls from the queue, or
// retires the runner when there are none.
func (b *batchedScripts) take() []*scriptCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.queue), maxScriptBatch)
	if n == 0 {
		b.running--
		return nil
	}
	batch := make([]*scriptCall, n)
	copy(batch, b.queue[:n])
	rest := copy(b.queue, b.queue[n:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
	return batch
}

// send answers every call of the batch: one whose caller still waits
// by sending it, alone as a command of its own under its own context, or
// with the others as one pipeline, bounded by the client's timeout and
// cancelled by no single caller; one past its wait with an error.
func (b *batchedScripts) send(batch []*scriptCall) {
	now := time.Now()
	live := batch[:0]
	for _, c := range batch {
		if now.Before(c.deadline) && c.ctx.Err() == nil {
			live = append(live, c)
			continue
		}
		// Its caller has given up, or is about to: answered, not sent.
		c.cmd = failedCmd(c.ctx, fmt.Errorf("no answer within %v: %w", b.wait, context.DeadlineExceeded))
		close(c.done)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		c := live[0]
		c.cmd = b.UniversalClient.EvalSha(c.ctx, c.sha, c.keys, c.args...)
		close(c.done)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), b.wait)
	defer cancel()
	cmds := make([]*goredis.Cmd, len(live))
	// Each command carries its own error; the pipeline's is the first of
	// them.
	_, _ = b.UniversalClient.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, c := range live {
			cmds[i] = p.EvalSha(ctx, c.sha, c.keys, c.args...)
		}
		return nil
	})
	for i, c := range live {
		c.cmd = cmds[i]
		close(c.done)
	}
}
