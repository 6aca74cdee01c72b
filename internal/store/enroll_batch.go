package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telegive/participant-service/internal/participant"
)

// Registrations into a hot giveaway arrive by the thousand per second, and
// on Postgres each one costs more to send and commit than to execute (and
// to plan, were it not a function: see EnrollSQL). The enroller therefore
// coalesces the registrations that wait while earlier ones run into one
// statement and one commit: a batch runner takes every waiting
// registration, up to maxEnrollBatch, runs them together and answers each
// caller with its own row of the result. Nothing waits for a batch to fill: a registration
// that finds a runner free is sent at once, alone, so batches grow only
// with the load. At most enrollRunners batches run at a time, which
// leaves the rest of the pool to the other queries.
//
// Two runners, not more: every batch into a hot giveaway holds the same
// draw row shared and writes next to the others in the same index, so
// batches run side by side mostly wait on each other, while the
// registrations they leave queued make the next batches larger and
// cheaper per registration. Measured flat out into one giveaway, two
// runners registered 2 to 36 % more than four in five alternated pairs,
// and eight fewer than four (docs/burst.md, "Change 5"); a second runner
// keeps a batch on its way while the other's answer comes back, which
// one runner alone would not over a network round trip.

const (
	// maxEnrollBatch bounds one statement's registrations.
	maxEnrollBatch = 128
	// enrollRunners is how many batches run at once, at most.
	enrollRunners = 2
)

// enroller queues registrations for the batch runners.
type enroller struct {
	mu      sync.Mutex
	queue   []*enrollCall
	running int
	// batches and batched count the statements that carried more than
	// one registration, and their registrations; failed, those that
	// failed and were retried one registration at a time.
	batches, batched, failed atomic.Int64
}

// enrollCall is one registration waiting for its answer.
type enrollCall struct {
	ctx  context.Context
	p    participant.NewParticipant
	done chan enrollResult // buffered: a runner never blocks on a caller gone
}

type enrollResult struct {
	e   participant.Enrollment
	err error
}

// enroll queues p, starts a runner when fewer than enrollRunners run, and
// waits for p's answer or the end of ctx. A registration whose caller gave
// up may still be stored, as with any statement cut short after it was
// sent; a retry then finds it.
func (en *enroller) enroll(ctx context.Context, q queries, p participant.NewParticipant) (participant.Enrollment, error) {
	c := &enrollCall{ctx: ctx, p: p, done: make(chan enrollResult, 1)}
	en.mu.Lock()
	en.queue = append(en.queue, c)
	start := en.running < enrollRunners
	if start {
		en.running++
	}
	en.mu.Unlock()
	if start {
		go en.run(q)
	}
	select {
	case r := <-c.done:
		return r.e, r.err
	case <-ctx.Done():
		return participant.Enrollment{}, wrap("enroll", ctx.Err())
	}
}

// run sends batches until the queue is empty.
func (en *enroller) run(q queries) {
	for {
		batch := en.take()
		if batch == nil {
			return
		}
		en.enrollAll(q, batch)
	}
}

// take removes up to maxEnrollBatch waiting calls from the queue, or
// retires the runner when there are none.
func (en *enroller) take() []*enrollCall {
	en.mu.Lock()
	defer en.mu.Unlock()
	n := min(len(en.queue), maxEnrollBatch)
	if n == 0 {
		en.running--
		return nil
	}
	batch := make([]*enrollCall, n)
	copy(batch, en.queue[:n])
	rest := copy(en.queue, en.queue[n:])
	clear(en.queue[rest:])
	en.queue = en.queue[:rest]
	return batch
}

// enrollAll answers every call of the batch. Calls whose callers already
// gave up are dropped; a lone call runs under its own context; when the
// batch's statement fails (a deadlock, a constraint one of its
// rows breaks), each call is retried alone so that one registration's
// failure is not every one's.
func (en *enroller) enrollAll(q queries, batch []*enrollCall) {
	live := batch[:0]
	for _, c := range batch {
		if c.ctx.Err() == nil {
			live = append(live, c)
		}
	}
	if len(live) == 1 {
		e, err := q.Enroll(live[0].ctx, live[0].p)
		live[0].done <- enrollResult{e, err}
		return
	}
	if len(live) == 0 {
		return
	}
	en.batches.Add(1)
	en.batched.Add(int64(len(live)))
	ctx, cancel := batchContext(live)
	defer cancel()
	ps := make([]participant.NewParticipant, len(live))
	for i, c := range live {
		ps[i] = c.p
	}
	results, err := q.enrollBatch(ctx, ps)
	if err != nil {
		en.failed.Add(1)
		for _, c := range live {
			e, err := q.Enroll(c.ctx, c.p)
			c.done <- enrollResult{e, err}
		}
		return
	}
	for i, c := range live {
		c.done <- enrollResult{e: results[i]}
	}
}

// batchContext runs a batch until the last of its callers' deadlines,
// not cancelled when one caller gives up: the others still wait for it.
func batchContext(calls []*enrollCall) (context.Context, context.CancelFunc) {
	var last time.Time
	for _, c := range calls {
		d, ok := c.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.WithoutCancel(calls[0].ctx))
		}
		if d.After(last) {
			last = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(calls[0].ctx), last)
}

// batchRow is one registration of EnrollSQL's parameter.
type batchRow struct {
	I         int    `json:"i"`
	Giveaway  int64  `json:"g"`
	User      int64  `json:"u"`
	Username  string `json:"un,omitempty"`
	FirstName string `json:"fn,omitempty"`
	LastName  string `json:"ln,omitempty"`
	At        string `json:"at"`
	Verified  bool   `json:"sv"`
}

// pgTimeFormat is how a registration's time goes into EnrollSQL's JSON:
// to the microsecond, as Postgres keeps it, with its offset.
const pgTimeFormat = "2006-01-02 15:04:05.999999-07:00"

type enrollKey struct{ giveaway, user int64 }

// enrollBatch runs EnrollSQL for the registrations and returns their
// answers in order. A user registering twice into one giveaway within the
// batch is sent once; the repeat gets the answer a second statement would
// have given, the same participation not created again.
func (q queries) enrollBatch(ctx context.Context, ps []participant.NewParticipant) ([]participant.Enrollment, error) {
	first := make(map[enrollKey]int, len(ps))
	rows := make([]batchRow, 0, len(ps))
	for i, p := range ps {
		k := enrollKey{p.GiveawayID, p.UserID}
		if _, ok := first[k]; ok {
			continue
		}
		first[k] = i
		rows = append(rows, batchRow{I: i, Giveaway: k.giveaway, User: k.user,
			Username: p.Username, FirstName: p.FirstName, LastName: p.LastName,
			At: p.At.Format(pgTimeFormat), Verified: p.SubscriptionVerified})
	}
	param, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("store: enroll batch: %w", err)
	}
	out := make([]participant.Enrollment, len(ps))
	if err := q.scanBatch(ctx, string(param), out, len(rows)); err != nil {
		return nil, err
	}
	for i, p := range ps {
		j := first[enrollKey{p.GiveawayID, p.UserID}]
		if j != i {
			out[i] = out[j]
			out[i].Created = false
			continue
		}
		if e := out[i]; e.ParticipantID == 0 && e.DrawFound && !e.Drawn && !e.Frozen && e.CaptchaCompleted {
			// The function looks up what its insert did not store; only
			// a participation deleted meanwhile leaves nothing to find.
			return nil, fmt.Errorf("store: enroll: giveaway %d, user %d: no participation stored or found", p.GiveawayID, p.UserID)
		}
	}
	return out, nil
}

// scanBatch runs EnrollSQL and fills out at each row's index;
// want is the number of rows it must return.
func (q queries) scanBatch(ctx context.Context, param string, out []participant.Enrollment, want int) error {
	rows, err := q.db.QueryContext(ctx, EnrollSQL, param)
	if err != nil {
		return wrap("enroll batch", err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var (
			i                 int
			status            sql.NullString
			completed         sql.NullBool
			created, existing sql.NullInt64
		)
		if err := rows.Scan(&i, &status, &completed, &created, &existing); err != nil {
			return wrap("enroll batch", err)
		}
		out[i] = enrollment(status, completed, created, existing)
		got++
	}
	if err := rows.Err(); err != nil {
		return wrap("enroll batch", err)
	}
	if got != want {
		return fmt.Errorf("store: enroll batch: %d rows for %d registrations", got, want)
	}
	return nil
}
