package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

// recorder answers each request with its key's number as Remaining, and
// holds its first batch until released, so that the calls made meanwhile
// queue for the next one.
type recorder struct {
	mu      sync.Mutex
	sizes   []int
	release chan struct{}
	err     error
}

func (r *recorder) AllowBatch(_ context.Context, reqs []Request) ([]Result, error) {
	r.mu.Lock()
	r.sizes = append(r.sizes, len(reqs))
	first := len(r.sizes) == 1
	r.mu.Unlock()
	if first {
		<-r.release
	}
	if r.err != nil {
		return nil, r.err
	}
	out := make([]Result, len(reqs))
	for i, q := range reqs {
		n, _ := strconv.Atoi(q.Key)
		out[i] = Result{Limit: q.Limit, Allowed: true, Remaining: n}
	}
	return out, nil
}

// TestCoalescedAnswersEachCallInSharedBatches: the calls made while a
// batch is on its way go together in the next, and each caller gets the
// answer to its own request.
func TestCoalescedAnswersEachCallInSharedBatches(t *testing.T) {
	rec := &recorder{release: make(chan struct{})}
	c := &Coalesced{Batch: rec}
	const calls = 50
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Allow(context.Background(), strconv.Itoa(i), Per(5, time.Second))
			if err != nil || !res.Allowed || res.Remaining != i || res.Limit != Per(5, time.Second) {
				errs <- errors.New("call " + strconv.Itoa(i) + " got another's answer")
			}
		}()
	}
	waitQueued(t, c, calls-1)
	close(rec.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := 0
	for _, n := range rec.sizes {
		total += n
	}
	if total != calls || len(rec.sizes) != 2 || rec.sizes[0] != 1 {
		t.Fatalf("batches %v, want the first call alone and the %d others together", rec.sizes, calls-1)
	}
}

// TestCoalescedErrorsAndCancellation: a failed batch fails each of its
// calls, and a caller that gives up returns at once.
func TestCoalescedErrorsAndCancellation(t *testing.T) {
	rec := &recorder{release: make(chan struct{}), err: errors.New("down")}
	c := &Coalesced{Batch: rec}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := c.Allow(ctx, "1", Per(1, time.Second))
		gaveUp <- err
	}()
	waitQueued(t, c, 0)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Allow(context.Background(), "2", Per(1, time.Second))
		done <- err
	}()
	waitQueued(t, c, 1)
	close(rec.release)
	if err := <-done; err == nil || err.Error() != "down" {
		t.Fatalf("call in a failed batch: %v, want down", err)
	}
}

// waitQueued waits until n calls wait behind the batch on its way.
func waitQueued(t *testing.T, c *Coalesced, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		queued, running := len(c.queue), c.running
		c.mu.Unlock()
		if running && queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}
