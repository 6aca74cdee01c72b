package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Request is one budget to charge, as an Allow call would.
type Request struct {
	Key   string
	Limit Limit
}

// BatchLimiter charges many budgets at once, in one round trip to a
// shared store, answering each in order as Allow would.
type BatchLimiter interface {
	AllowBatch(ctx context.Context, reqs []Request) ([]Result, error)
}

// maxCoalesced bounds one batch.
const maxCoalesced = 256

// Coalesced is a Limiter that sends the Allow calls made while a batch is
// on its way as the next batch: under load every request's charges
// (the caller's budget and the user's) share round trips with those of
// the requests around it, instead of costing two round trips each. A call
// that finds no batch on its way is sent at once, alone; nothing waits
// for a batch to fill. One batch is on its way at a time, as one
// connection would carry it.
type Coalesced struct {
	Batch BatchLimiter

	mu      sync.Mutex
	queue   []*allowCall
	running bool
}

type allowCall struct {
	ctx  context.Context
	req  Request
	done chan allowResult // buffered: the sender never blocks on a caller gone
}

type allowResult struct {
	res Result
	err error
}

// Allow queues the request, sends the queue when no batch is on its way,
// and waits for the answer or the end of ctx.
func (c *Coalesced) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	call := &allowCall{ctx: ctx, req: Request{Key: key, Limit: l}, done: make(chan allowResult, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, call)
	start := !c.running
	c.running = true
	c.mu.Unlock()
	if start {
		go c.run()
	}
	select {
	case r := <-call.done:
		return r.res, r.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// run sends batches until the queue is empty.
func (c *Coalesced) run() {
	for {
		batch := c.take()
		if batch == nil {
			return
		}
		c.send(batch)
	}
}

// take removes up to maxCoalesced calls from the queue, or marks the
// sender stopped when there are none.
func (c *Coalesced) take() []*allowCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.queue), maxCoalesced)
	if n == 0 {
		c.running = false
		return nil
	}
	batch := make([]*allowCall, n)
	copy(batch, c.queue[:n])
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	return batch
}

// send charges the batch's live calls and answers each; an error answers
// every one of them.
func (c *Coalesced) send(batch []*allowCall) {
	live := batch[:0]
	for _, call := range batch {
		if call.ctx.Err() == nil {
			live = append(live, call)
		}
	}
	if len(live) == 0 {
		return
	}
	reqs := make([]Request, len(live))
	for i, call := range live {
		reqs[i] = call.req
	}
	ctx, cancel := lastDeadline(live)
	defer cancel()
	results, err := c.Batch.AllowBatch(ctx, reqs)
	for i, call := range live {
		if err != nil {
			call.done <- allowResult{err: err}
			continue
		}
		call.done <- allowResult{res: results[i]}
	}
}

// lastDeadline runs a batch until the last of its callers' deadlines, not
// cancelled when one of them gives up.
func lastDeadline(calls []*allowCall) (context.Context, context.CancelFunc) {
	var last time.Time
	for _, call := range calls {
		d, ok := call.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(calls[0].ctx))
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(calls[0].ctx), last)
}
