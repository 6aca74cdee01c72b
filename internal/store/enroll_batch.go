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
// on Postgres each one costs more to parse, plan and commit than to
// execute. The enroller therefore coalesces the registrations that wait
// while earlier ones run into one statement (enrollBatchSQL) and one
// commit: a batch runner takes every waiting registration, up to
// maxEnrollBatch, runs them together and answers each caller with its own
// row of the result. Nothing waits for a batch to fill: a registration
// that finds a runner free is sent at once, alone, so batches grow only
// with the load. At most enrollRunners batches run at a time, which
// leaves the rest of the pool to the other queries.

const (
	// maxEnrollBatch bounds one statement's registrations.
	maxEnrollBatch = 128
	// enrollRunners is how many batches run at once, at most.
	enrollRunners = 4
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
// gave up are dropped; a lone call runs the single-registration statement;
// when the batch statement fails (a deadlock, a constraint one of its
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
	results, err := q.enrollBatch(ctx, live)
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

// enrollBatchSQL registers a batch of users on Postgres in one statement:
// EnrollSQL for many rows. Its one parameter is a JSON array of the
// registrations (i, their index; g, the giveaway; u, the user; un, fn, ln,
// the optional names; at, the time; sv, subscription verified), which are
// distinct in (g, u). It holds the draw rows of the batch's giveaways
// shared, as EnrollSQL does, and locks the users' rows in user id order
// before inserting, so that two batches sharing users queue on the first
// of them instead of deadlocking on the participants' unique key or on the
// users' counts. It returns one row per registration: its index, the draw
// status, whether the user passed the captcha, the id it stored and the id
// stored before the statement began.
const enrollBatchSQL = `WITH r AS (
	SELECT * FROM jsonb_to_recordset(?::jsonb)
		AS r(i int, g bigint, u bigint, un text, fn text, ln text, at timestamptz, sv boolean)
), d AS (
	SELECT giveaway_id, status FROM draws WHERE giveaway_id IN (SELECT g FROM r) FOR KEY SHARE
), us AS (
	SELECT user_id, captcha_completed FROM users WHERE user_id IN (SELECT u FROM r)
	ORDER BY user_id FOR NO KEY UPDATE
), ins AS (
	INSERT INTO participants (giveaway_id, user_id, username, first_name, last_name, participated_at, captcha_completed, subscription_verified)
	SELECT r.g, r.u, r.un, r.fn, r.ln, r.at, TRUE, r.sv
	FROM r JOIN d ON d.giveaway_id = r.g AND d.status = 'committed'
		JOIN us ON us.user_id = r.u AND us.captcha_completed
	ORDER BY r.g, r.u
	ON CONFLICT (giveaway_id, user_id) DO NOTHING
	RETURNING id, giveaway_id, user_id, participated_at
), counted AS (
	UPDATE users SET total_participations = users.total_participations + c.n,
		first_participation = COALESCE(users.first_participation, c.first)
	FROM (SELECT user_id, count(*) AS n, min(participated_at) AS first FROM ins GROUP BY user_id) AS c
	WHERE users.user_id = c.user_id
)
SELECT r.i, d.status, us.captcha_completed, ins.id, p.id
FROM r LEFT JOIN d ON d.giveaway_id = r.g
	LEFT JOIN us ON us.user_id = r.u
	LEFT JOIN ins ON ins.giveaway_id = r.g AND ins.user_id = r.u
	LEFT JOIN participants AS p ON p.giveaway_id = r.g AND p.user_id = r.u`

// batchRow is one registration of enrollBatchSQL's parameter.
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

// pgTimeFormat is how bun sends a time to Postgres, to the microsecond,
// so that a batched registration stores the same time a lone one would.
const pgTimeFormat = "2006-01-02 15:04:05.999999-07:00"

type enrollKey struct{ giveaway, user int64 }

// enrollBatch runs enrollBatchSQL for the calls and returns their answers
// in order. A user registering twice into one giveaway within the batch is
// sent once; the repeat gets the answer a second statement would have
// given, the same participation not created again.
func (q queries) enrollBatch(ctx context.Context, calls []*enrollCall) ([]participant.Enrollment, error) {
	first := make(map[enrollKey]int, len(calls))
	rows := make([]batchRow, 0, len(calls))
	for i, c := range calls {
		k := enrollKey{c.p.GiveawayID, c.p.UserID}
		if _, ok := first[k]; ok {
			continue
		}
		first[k] = i
		rows = append(rows, batchRow{I: i, Giveaway: k.giveaway, User: k.user,
			Username: c.p.Username, FirstName: c.p.FirstName, LastName: c.p.LastName,
			At: c.p.At.Format(pgTimeFormat), Verified: c.p.SubscriptionVerified})
	}
	param, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("store: enroll batch: %w", err)
	}
	out := make([]participant.Enrollment, len(calls))
	if err := q.scanBatch(ctx, string(param), out, len(rows)); err != nil {
		return nil, err
	}
	for i, c := range calls {
		j := first[enrollKey{c.p.GiveawayID, c.p.UserID}]
		if j != i {
			out[i] = out[j]
			out[i].Created = false
			continue
		}
		if err := q.readConcurrent(ctx, c.p, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scanBatch runs the batch statement and fills out at each row's index;
// want is the number of rows it must return.
func (q queries) scanBatch(ctx context.Context, param string, out []participant.Enrollment, want int) error {
	rows, err := q.db.QueryContext(ctx, enrollBatchSQL, param)
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
