package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telegive/participant-service/pkg/client"
)

// world is the test data of one run: user and giveaway ids far from any
// other run's, and the users that have passed the captcha.
type world struct {
	bot, giveaway *client.Client
	userBase      int64
	nextUser      atomic.Int64
	giveaways     []int64
	known         []int64
}

func newWorld(bot, gw *client.Client, giveaways int) *world {
	// Ids from the clock keep runs against the same database apart.
	base := time.Now().UnixNano()/1000%1_000_000_000*1000 + 1
	w := &world{bot: bot, giveaway: gw, userBase: base}
	for i := range giveaways {
		w.giveaways = append(w.giveaways, base+int64(i))
	}
	return w
}

func (w *world) newUser() int64 { return w.userBase + w.nextUser.Add(1) }

var questionRE = regexp.MustCompile(`(\d+) ([-+×]) (\d+)`)

// solve answers a captcha question as a person would.
func solve(q string) (int64, error) {
	m := questionRE.FindStringSubmatch(q)
	if m == nil {
		return 0, fmt.Errorf("unexpected captcha question %q", q)
	}
	a, _ := strconv.ParseInt(m[1], 10, 64)
	b, _ := strconv.ParseInt(m[3], 10, 64)
	switch m[2] {
	case "+":
		return a + b, nil
	case "-":
		return a - b, nil
	}
	return a * b, nil
}

// outcome names an error for the report: the service's error code, or
// "network".
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	var e *client.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "timeout"
	}
	return "network"
}

// timed runs one request and records it, measured from due.
func timed(rec *recorder, name string, due time.Time, fn func() error) error {
	err := fn()
	rec.record(name, time.Since(due), outcome(err))
	return err
}

// join registers a new user through the captcha in giveaway g: the bot's
// flow for a first-timer, two requests.
func (w *world) join(ctx context.Context, rec *recorder, due time.Time, g int64) (int64, error) {
	u := w.newUser()
	var res client.RegisterResult
	err := timed(rec, "register_new_user", due, func() (err error) {
		res, err = w.bot.Register(ctx, client.RegisterRequest{GiveawayID: g, UserID: u, Username: "load_" + strconv.FormatInt(u%1_000_000_000, 10), FirstName: "Load"})
		return err
	})
	if err != nil {
		return 0, err
	}
	if res.Challenge == nil {
		return u, nil
	}
	a, err := solve(res.Challenge.Question)
	if err != nil {
		return 0, err
	}
	err = timed(rec, "validate_captcha", time.Now(), func() error {
		_, err := w.bot.ValidateCaptcha(ctx, client.ValidateRequest{GiveawayID: g, UserID: u, Answer: a})
		return err
	})
	return u, err
}

// prepare creates users who have passed the captcha and commits the
// giveaways' draws, through the API, with some concurrency.
func (w *world) prepare(ctx context.Context, users int) error {
	setup := newRecorder()
	for _, g := range w.giveaways {
		if _, err := w.giveaway.CommitDraw(ctx, g); err != nil {
			return fmt.Errorf("commit giveaway %d: %w", g, err)
		}
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	jobs := make(chan struct{})
	for range 32 {
		wg.Go(func() {
			for range jobs {
				u, err := w.join(ctx, setup, time.Now(), w.giveaways[0]-1)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					w.known = append(w.known, u)
				}
				mu.Unlock()
			}
		})
	}
	for range users {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	if first != nil {
		return fmt.Errorf("prepare users: %w", first)
	}
	return nil
}

func (w *world) randomKnown() int64 { return w.known[rand.IntN(len(w.known))] }
func (w *world) randomGiveaway() int64 {
	return w.giveaways[rand.IntN(len(w.giveaways))]
}

// A scenario is one unit of load, recorded into rec.
type scenario func(ctx context.Context, rec *recorder, due time.Time)

// registerScenario registers a user who has passed the captcha in a
// giveaway: the registration transaction through the whole stack.
func (w *world) registerScenario(ctx context.Context, rec *recorder, due time.Time) {
	_ = timed(rec, "register", due, func() error {
		_, err := w.bot.Register(ctx, client.RegisterRequest{GiveawayID: w.randomGiveaway(), UserID: w.randomKnown()})
		if client.IsCode(err, client.CodeDuplicate) {
			return nil // a repeat pair: the service answered correctly
		}
		return err
	})
}

// statusScenario is the bot polling a user's captcha status.
func (w *world) statusScenario(ctx context.Context, rec *recorder, due time.Time) {
	_ = timed(rec, "captcha_status", due, func() error {
		_, err := w.bot.CaptchaStatus(ctx, w.randomKnown())
		return err
	})
}

// mixScenario is the traffic of a busy giveaway day: first-timers through
// the captcha, known users joining more giveaways, the bot's status polls
// and the giveaway service's reads.
func (w *world) mixScenario(ctx context.Context, rec *recorder, due time.Time) {
	switch r := rand.IntN(100); {
	case r < 35:
		_, _ = w.join(ctx, rec, due, w.randomGiveaway())
	case r < 60:
		w.registerScenario(ctx, rec, due)
	case r < 75:
		w.statusScenario(ctx, rec, due)
	case r < 88:
		_ = timed(rec, "winner_status", due, func() error {
			_, err := w.bot.WinnerStatus(ctx, w.randomKnown(), w.randomGiveaway())
			return err
		})
	case r < 95:
		_ = timed(rec, "count", due, func() error {
			_, err := w.giveaway.Count(ctx, w.randomGiveaway())
			return err
		})
	default:
		_ = timed(rec, "list", due, func() error {
			_, err := w.giveaway.ListParticipants(ctx, w.randomGiveaway(), 1, 50)
			return err
		})
	}
}

// finish draws every giveaway, as the giveaway service does when owners
// finish them, and checks that the records are public.
func (w *world) finish(ctx context.Context, rec *recorder) {
	for _, g := range w.giveaways {
		_ = timed(rec, "select_winners", time.Now(), func() error {
			_, err := w.giveaway.SelectWinners(ctx, g, client.SelectRequest{WinnerCount: 3})
			return err
		})
		_ = timed(rec, "draw_record", time.Now(), func() error {
			_, err := w.bot.Draw(ctx, g)
			return err
		})
	}
}
