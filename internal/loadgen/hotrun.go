package loadgen

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/telegive/participant-service/pkg/client"
)

// hotScript is loadtest/pgbench/hot-register.sql, the plain client's
// registration transaction the hot scenario is compared with (a test keeps
// the two the same).
const hotScript = `-- One registration into one hot giveaway, as a plain database client sends
-- it: read the user, insert the participant unless already there, count the
-- participation when it was inserted. Each client registers its own fresh
-- users in turn. Variables (pgbench -D): gid, the giveaway; user_base and
-- per_client, the users of client c are user_base + c * per_client + 1, 2,
-- ...; n=0, the client's counter. The users must exist and have passed the
-- captcha (see README.md).
\set n :n + 1
\set uid :user_base + :client_id * :per_client + :n
BEGIN;
SELECT captcha_completed::int AS passed FROM users WHERE user_id = :uid \gset
\if :passed
WITH ins AS (INSERT INTO participants (giveaway_id, user_id, participated_at, captcha_completed, subscription_verified) VALUES (:gid, :uid, now(), TRUE, FALSE) ON CONFLICT (giveaway_id, user_id) DO NOTHING RETURNING id) SELECT count(*) AS inserted FROM ins \gset
\if :inserted
UPDATE users SET total_participations = total_participations + 1, first_participation = COALESCE(first_participation, now()) WHERE user_id = :uid;
\endif
\endif
END;
`

// hotUsers is how many fresh users a hot or spike run needs: every
// request of the schedule, or for a closed loop as many as this machine
// could register (10,000/s), plus a margin.
func hotUsers(o options, scheduled int) int {
	secs := (o.warmup + o.duration).Seconds()
	switch {
	case o.scenario == "spike":
		return scheduled + scheduled/10 + 1000
	case o.rate > 0:
		return int(o.rate*secs*1.1) + 1000
	}
	return int(10_000*secs) + 1000
}

func openDB(dsn string) *bun.DB {
	return bun.NewDB(sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(dsn), pgdriver.WithReadTimeout(10*time.Minute))), pgdialect.New())
}

// seedUsers inserts n users who have passed the captcha, from first on.
func seedUsers(ctx context.Context, db *bun.DB, first int64, n int) error {
	_, err := db.ExecContext(ctx, `INSERT INTO users (user_id, captcha_completed, captcha_completed_at)
		SELECT g, TRUE, now() FROM generate_series(?::bigint, ?::bigint) g`, first, first+int64(n)-1)
	return err
}

// hotPool returns the users of a hot run: seeded with SQL when the harness
// has the database (each joins nothing before, so each ends with one
// participation), else passed through the captcha by the API.
func hotPool(ctx context.Context, o options, w *world, db *bun.DB, n int, stdout io.Writer) ([]int64, int64, error) {
	start := time.Now()
	if db == nil {
		if o.users < n {
			fmt.Fprintf(stdout, "warning: %d users for up to %d registrations: once they are used up the rest are answered 409 (give -database-url to seed enough)\n", o.users, n)
		}
		if err := w.prepare(ctx, o.users); err != nil {
			return nil, 0, err
		}
		fmt.Fprintf(stdout, "set-up: %d users through the captcha in %s\n", len(w.known), time.Since(start).Round(time.Millisecond))
		return w.known, 0, nil
	}
	first := w.userBase + 1
	if err := seedUsers(ctx, db, first, n); err != nil {
		return nil, 0, fmt.Errorf("seed users: %w", err)
	}
	users := make([]int64, n)
	for i := range users {
		users[i] = first + int64(i)
	}
	fmt.Fprintf(stdout, "set-up: %d users seeded in %s\n", n, time.Since(start).Round(time.Millisecond))
	return users, 1, nil
}

// runHot runs the hot scenario (closed loop, or paced) or the spike into one
// giveaway, then checks that every acknowledged registration is stored
// exactly once.
func runHot(ctx context.Context, o options, hc *http.Client, base string, bot, gw *client.Client, svc *spawned, stdout io.Writer) (Summary, error) {
	w := newWorld(bot, gw, 1)
	giveaway := w.giveaways[0]
	if _, err := gw.CommitDraw(ctx, giveaway); err != nil {
		return Summary{}, fmt.Errorf("commit giveaway %d: %w", giveaway, err)
	}
	var db *bun.DB
	if o.databaseURL != "" {
		db = openDB(o.databaseURL)
		defer db.Close()
	}
	var (
		phases []phase
		sched  []arrival
	)
	if o.scenario == "spike" {
		phases = spikePhases(o.normalRate(), o.spikeRate, o.before, o.spikeRamp, o.spikeHold, o.tail)
		sched = arrivals(phases)
	}
	users, wantParticipations, err := hotPool(ctx, o, w, db, hotUsers(o, len(sched)), stdout)
	if err != nil {
		return Summary{}, err
	}
	h := newHotTarget(hc, base, o.botToken, giveaway, users, o.repeat)
	fmt.Fprintf(stdout, "hot giveaway %d\n", giveaway)

	var sum Summary
	if o.scenario == "spike" {
		sum = runSpike(ctx, o, h, phases, sched, svc)
	} else {
		sum = runHotLoad(ctx, o, h, svc)
		if o.pgbench {
			if sum.PgbenchTPS, err = pgbenchHot(ctx, o, w, gw, db, stdout); err != nil {
				return Summary{}, err
			}
		}
	}
	if h.wrapped() {
		fmt.Fprintf(stdout, "warning: the %d fresh users were used up; later registrations repeated them\n", len(users))
	}
	check, err := verifyOnce(ctx, db, gw, giveaway, h.acks, wantParticipations)
	if err != nil {
		return Summary{}, fmt.Errorf("exactly-once check: %w", err)
	}
	sum.Once = &check
	return sum, nil
}

func runHotLoad(ctx context.Context, o options, h *hotTarget, svc *spawned) Summary {
	if o.warmup > 0 {
		drive(ctx, o, h.scenario, newRecorder(), o.warmup)
	}
	idle := resetRSS(svc)
	rec := newRecorder()
	drive(ctx, o, h.scenario, rec, o.duration)
	sum := rec.summary()
	sum.IdleRSS = idle
	if svc != nil {
		sum.PeakRSS = svc.peakRSS.Load()
	}
	return sum
}

func runSpike(ctx context.Context, o options, h *hotTarget, phases []phase, sched []arrival, svc *spawned) Summary {
	idle := resetRSS(svc)
	rec := newRecorder()
	rec.accepted[outcomeShed] = true
	rec.start = time.Now()
	events := runArrivals(ctx, sched, o.maxInFlight, func(ctx context.Context) string { return h.register(ctx, h.pick()) })
	rec.end = time.Now()
	for _, e := range events {
		rec.record("register_hot", e.Done-e.Due, e.Outcome)
	}
	sum := rec.summary()
	report := analyseSpike(phases, events, o.recoveryFactor)
	sum.Spike = &report
	sum.IdleRSS = idle
	if svc != nil {
		sum.PeakRSS = svc.peakRSS.Load()
	}
	return sum
}

func resetRSS(svc *spawned) int64 {
	if svc == nil {
		return 0
	}
	idle, _ := svc.rss()
	svc.resetPeak()
	return idle
}

// verifyOnce reads what the giveaway holds, from the database when the
// harness has it, else through the export and the count endpoint, and
// checks it against the answers.
func verifyOnce(ctx context.Context, db *bun.DB, gw *client.Client, giveaway int64, acks *ackLog, wantParticipations int64) (OnceCheck, error) {
	if db != nil {
		rows, err := storedFromDB(ctx, db, giveaway)
		if err != nil {
			return OnceCheck{}, err
		}
		n, err := gw.Count(ctx, giveaway)
		if err != nil {
			return OnceCheck{}, fmt.Errorf("count: %w", err)
		}
		c := checkOnce(acks, rows, wantParticipations, n)
		c.Source = "database and count endpoint"
		return c, nil
	}
	rows, n, err := storedFromAPI(ctx, gw, giveaway)
	if err != nil {
		return OnceCheck{}, err
	}
	c := checkOnce(acks, rows, 0, n)
	c.Source = "export and count endpoints"
	return c, nil
}

// pgbenchHot runs loadtest/pgbench/hot-register.sql with the same clients
// for the same time into a fresh giveaway, each client on fresh users
// seeded for it, and returns its transactions per second.
func pgbenchHot(ctx context.Context, o options, w *world, gw *client.Client, db *bun.DB, stdout io.Writer) (float64, error) {
	if db == nil {
		return 0, fmt.Errorf("-pgbench needs -database-url, the database the service uses")
	}
	giveaway := w.giveaways[0] + 1
	if _, err := gw.CommitDraw(ctx, giveaway); err != nil {
		return 0, fmt.Errorf("commit giveaway for pgbench: %w", err)
	}
	clients := o.concurrency
	if o.rate > 0 {
		clients = 50
	}
	secs := int(o.duration.Seconds())
	perClient := 250*secs + 1000 // room for 12,500 transactions/s at 50 clients
	userBase := w.userBase + 500_000_000
	if err := seedUsers(ctx, db, userBase+1, clients*perClient); err != nil {
		return 0, fmt.Errorf("seed pgbench users: %w", err)
	}
	script := o.pgbenchScript
	if script == "" {
		f, err := os.CreateTemp("", "hot-register-*.sql")
		if err != nil {
			return 0, err
		}
		defer os.Remove(f.Name())
		if _, err := f.WriteString(hotScript); err != nil {
			return 0, err
		}
		f.Close()
		script = f.Name()
	}
	args := []string{"-n", "-M", o.pgbenchMode, "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(secs), "-f", script,
		"-D", "gid=" + strconv.FormatInt(giveaway, 10), "-D", "user_base=" + strconv.FormatInt(userBase, 10),
		"-D", "per_client=" + strconv.Itoa(perClient), "-D", "n=0", libpqURL(o.databaseURL)}
	tps, err := runPgbench(ctx, args, stdout)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(stdout, "pgbench: %.0f transactions/s with %d clients into one giveaway (-M %s)\n", tps, clients, o.pgbenchMode)
	return tps, nil
}
