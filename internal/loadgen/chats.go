package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telegive/participant-service/pkg/client"
)

// The chats scenario compares registrations into giveaways whose rules
// require one chat with registrations into giveaways that require -chats
// of them, all with a warm membership cache: issue 14 asks the second at
// no less than 90 % of the first's rate. Both run in the same service,
// against the same database, in alternating phases (ABBA, so that a drift
// of the machine over the run weighs on both alike), closed loop: each
// phase's rate is what the service serves flat out.

// standInToken is the bot token the stand-in auth service hands out for
// every account, and the stand-in Bot API accepts.
const standInToken = "4242:loadgen-stand-in"

// standIn plays the auth service (bot tokens), the channel service and
// the Telegram Bot API's getChatMember, answering "member" for every user
// in every chat at once, so that what the chats scenario measures is the
// service's own cost of checking several chats.
type standIn struct {
	URL      string
	srv      *http.Server
	lookups  atomic.Int64 // getChatMember calls answered
	tokens   atomic.Int64 // bot tokens handed out
	channels atomic.Int64
}

// startStandIn listens on addr (a free local port when empty).
func startStandIn(addr string) (*standIn, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &standIn{URL: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// env points a service at the stand-in.
func (s *standIn) env() []string {
	return []string{"TELEGIVE_AUTH_URL=" + s.URL, "TELEGIVE_CHANNEL_URL=" + s.URL, "TELEGRAM_API_BASE=" + s.URL}
}

func (s *standIn) close() { _ = s.srv.Close() }

// serveStandIn runs the stand-in alone on addr until ctx ends, for a
// service started by hand or the k6 script loadtest/scenarios/chats.js.
func serveStandIn(ctx context.Context, addr string, stdout io.Writer) error {
	s, err := startStandIn(addr)
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Fprintf(stdout, "stand-in Bot API, auth and channel services at %s: start the service with\n", s.URL)
	fmt.Fprintf(stdout, "  %s\n", strings.Join(s.env(), " "))
	<-ctx.Done()
	fmt.Fprintf(stdout, "answered %d getChatMember calls, %d bot tokens, %d channels\n", s.lookups.Load(), s.tokens.Load(), s.channels.Load())
	return nil
}

// ServeHTTP answers GET /api/auth/bot-token/{account},
// /api/channels/account/{account} and /bot{token}/getChatMember.
func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/api/auth/bot-token/"):
		s.tokens.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "bot_token": standInToken})
	case strings.HasPrefix(p, "/api/channels/account/"):
		s.channels.Add(1)
		id, _ := strconv.ParseInt(strings.TrimPrefix(p, "/api/channels/account/"), 10, 64)
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "channel": map[string]any{
			"telegram_id": -1_001_000_000_000 - id, "channel_username": "", "channel_title": "Load test channel"}})
	case p == "/bot"+standInToken+"/getChatMember":
		s.lookups.Add(1)
		user, err := strconv.ParseInt(r.URL.Query().Get("user_id"), 10, 64)
		if err != nil || r.URL.Query().Get("chat_id") == "" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 400, "description": "Bad Request: invalid user_id specified"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": map[string]any{
			"status": "member", "user": map[string]any{"id": user, "is_bot": false, "first_name": "Load"}}})
	default:
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 404, "description": "Not Found"})
	}
}

// chatSet is the giveaways of one side of the comparison and the chats
// their rules require. Its registrations walk every (giveaway, user) pair
// once, giveaway first, so that consecutive registrations go to different
// giveaways and none is sent twice until the pairs run out.
type chatSet struct {
	name      string
	chats     []string
	giveaways []int64
	next      atomic.Int64
}

// pair returns the next registration's giveaway and user.
func (c *chatSet) pair(users []int64) (giveaway, user int64, repeat bool) {
	k := c.next.Add(1) - 1
	n := int64(len(c.giveaways))
	round := k / n
	return c.giveaways[k%n], users[round%int64(len(users))], round >= int64(len(users))
}

// ChatsReport is the result of the chats scenario.
type ChatsReport struct {
	Chats int
	// Rate1 and RateN are registrations per second with one required chat
	// and with Chats of them, over all of each side's phases.
	Rate1, RateN float64
	// Ratio is RateN / Rate1.
	Ratio float64
	// PhaseRatios are the ratios of each ABBA round (the N-chat phases'
	// rate over the 1-chat phases' rate within the round).
	PhaseRatios []float64
	Phase       time.Duration
	// P50_1, P50N, P99_1, P99N are the registration latencies.
	P50_1, P50N, P99_1, P99N time.Duration
	// Lookups is how many getChatMember calls the stand-in answered
	// during the measurement: 0 when the cache stayed warm.
	Lookups int64
	// WarmLookups is how many it answered while the cache was warmed.
	WarmLookups int64
	// Repeats are registrations of a pair already sent (the pairs ran out).
	Repeats int64
	// CPU1 and CPUN are the spawned service's CPU time per registration
	// on each side: what a check costs the service, whatever else the
	// machine runs. CPURatio is CPU1 / CPUN (above 1 when N chats cost
	// more), comparable with Ratio.
	CPU1, CPUN time.Duration
	CPURatio   float64
}

// Print writes the report.
func (r *ChatsReport) Print(w io.Writer) {
	fmt.Fprintf(w, "registrations with 1 required chat: %.0f/s (p50 %s, p99 %s)\n", r.Rate1, ms(r.P50_1), ms(r.P99_1))
	fmt.Fprintf(w, "registrations with %d required chats: %.0f/s (p50 %s, p99 %s)\n", r.Chats, r.RateN, ms(r.P50N), ms(r.P99N))
	parts := make([]string, len(r.PhaseRatios))
	for i, x := range r.PhaseRatios {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	fmt.Fprintf(w, "ratio %d chats / 1 chat: %.3f (rounds of %s per side: %s)\n", r.Chats, r.Ratio, r.Phase, strings.Join(parts, " "))
	if r.CPU1 > 0 && r.CPUN > 0 {
		fmt.Fprintf(w, "service CPU per registration: %.0f µs with 1 chat, %.0f µs with %d chats; ratio %.3f\n",
			float64(r.CPU1.Nanoseconds())/1e3, float64(r.CPUN.Nanoseconds())/1e3, r.Chats, r.CPURatio)
	}
	fmt.Fprintf(w, "getChatMember calls: %d while warming the cache, %d during the measurement\n", r.WarmLookups, r.Lookups)
	if r.Repeats > 0 {
		fmt.Fprintf(w, "warning: %d registrations repeated a pair already sent (answered 409): raise -users or -giveaways\n", r.Repeats)
	}
}

// runChats runs the chats scenario against a service that uses stand-in
// for its upstream calls.
func runChats(ctx context.Context, o options, hc *http.Client, base string, bot, gw *client.Client, stand *standIn, svc *spawned, stdout io.Writer) (Summary, error) {
	if o.rate > 0 {
		return Summary{}, errors.New("the chats scenario measures the rate the service serves flat out: use -concurrency, not -rate")
	}
	if o.chats < 2 || o.chats > 10 {
		return Summary{}, fmt.Errorf("-chats %d: compare one chat with 2 to 10", o.chats)
	}
	if o.rounds < 1 {
		return Summary{}, fmt.Errorf("-rounds %d: at least one round", o.rounds)
	}
	w := newWorld(bot, gw, 2*max(o.giveaways/2, 1))
	half := len(w.giveaways) / 2
	one := &chatSet{name: "register_1_chat", chats: []string{strconv.FormatInt(-1_002_000_000_000-w.userBase%1_000_000, 10)}, giveaways: w.giveaways[:half]}
	many := &chatSet{name: fmt.Sprintf("register_%d_chats", o.chats), giveaways: w.giveaways[half:]}
	for i := range o.chats {
		many.chats = append(many.chats, strconv.FormatInt(-1_003_000_000_000-w.userBase%1_000_000*10-int64(i), 10))
	}
	// The rules first: committing a giveaway's draw (prepare) locks them.
	for _, set := range []*chatSet{one, many} {
		for _, g := range set.giveaways {
			if err := putRules(ctx, hc, base, o.giveawayToken, g, set.chats); err != nil {
				return Summary{}, err
			}
		}
	}
	start := time.Now()
	if err := w.prepare(ctx, o.users); err != nil {
		return Summary{}, err
	}
	fmt.Fprintf(stdout, "set-up: %d users through the captcha, %d giveaways with 1 chat and %d with %d chats, in %s\n",
		len(w.known), len(one.giveaways), len(many.giveaways), o.chats, time.Since(start).Round(time.Millisecond))

	// Warm the cache: each user checked once against each side's chats.
	start = time.Now()
	before := stand.lookups.Load()
	if err := warmMemberships(ctx, hc, base, o.botToken, w.known, one.giveaways[0], many.giveaways[0]); err != nil {
		return Summary{}, err
	}
	warm := stand.lookups.Load() - before
	if want := int64(len(w.known) * (1 + o.chats)); warm != want {
		return Summary{}, fmt.Errorf("warming the cache made %d getChatMember calls, want %d (one per user and chat)", warm, want)
	}
	fmt.Fprintf(stdout, "cache warmed: %d getChatMember calls in %s\n", warm, time.Since(start).Round(time.Millisecond))

	var repeats atomic.Int64
	scenarioOf := func(set *chatSet) scenario {
		return func(ctx context.Context, rec *recorder, due time.Time) {
			g, u, again := set.pair(w.known)
			if again {
				repeats.Add(1)
			}
			_, err := bot.Register(ctx, client.RegisterRequest{GiveawayID: g, UserID: u})
			out := outcome(err)
			switch {
			case err == nil:
				out = outcomeCreated
			case client.IsCode(err, client.CodeDuplicate):
				out = outcomeDuplicate
			}
			rec.record(set.name, time.Since(due), out)
		}
	}
	if o.warmup > 0 {
		for _, set := range []*chatSet{one, many} {
			drive(ctx, o, scenarioOf(set), newRecorder(), o.warmup/2)
		}
	}
	repeats.Store(0)
	before = stand.lookups.Load()
	all := newRecorder()
	report := &ChatsReport{Chats: o.chats, Phase: o.duration}
	var served [2]struct {
		n   int
		d   time.Duration
		cpu time.Duration
	}
	cpu := func() time.Duration {
		if svc == nil {
			return 0
		}
		return svc.cpu()
	}
	// ABBA: round r runs 1-chat then N-chat when r is even, else the other
	// way round.
	for r := range o.rounds {
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		var round [2]float64
		for _, side := range order {
			set := []*chatSet{one, many}[side]
			rec := newRecorder()
			began := cpu()
			drive(ctx, o, scenarioOf(set), rec, o.duration)
			served[side].cpu += cpu() - began
			s := rec.summary()
			round[side] = s.Throughput
			served[side].n += s.Requests
			served[side].d += s.Duration
			all.merge(rec)
			fmt.Fprintf(stdout, "round %d, %s: %.0f/s, %d errors\n", r+1, set.name, s.Throughput, s.Errors)
			if ctx.Err() != nil {
				return Summary{}, ctx.Err()
			}
		}
		report.PhaseRatios = append(report.PhaseRatios, round[1]/round[0])
	}
	report.Lookups = stand.lookups.Load() - before
	report.WarmLookups = warm
	report.Repeats = repeats.Load()
	report.Rate1 = float64(served[0].n) / served[0].d.Seconds()
	report.RateN = float64(served[1].n) / served[1].d.Seconds()
	report.Ratio = report.RateN / report.Rate1
	if served[0].cpu > 0 && served[1].cpu > 0 {
		report.CPU1 = served[0].cpu / time.Duration(served[0].n)
		report.CPUN = served[1].cpu / time.Duration(served[1].n)
		report.CPURatio = float64(report.CPU1) / float64(report.CPUN)
	}
	sum := all.summary()
	sum.Duration = served[0].d + served[1].d
	sum.Throughput = float64(sum.Requests) / sum.Duration.Seconds()
	l1, lN := sum.Ops[one.name], sum.Ops[many.name]
	report.P50_1, report.P99_1, report.P50N, report.P99N = l1.P50, l1.P99, lN.P50, lN.P99
	sum.Chats = report
	return sum, nil
}

// putRules sets a giveaway's required chats (PUT /rules, as the giveaway
// service does before entries open).
func putRules(ctx context.Context, hc *http.Client, base, token string, giveaway int64, chats []string) error {
	body, _ := json.Marshal(map[string]any{"required_chats": chats})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, fmt.Sprintf("%s/api/participants/%d/rules", base, giveaway), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Service-Token", token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("rules of giveaway %d: %w", giveaway, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("rules of giveaway %d: %s: %s", giveaway, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// warmMemberships asks the eligibility of every user in one giveaway of
// each side, which checks (and caches) each user's membership of each of
// its chats, registering nothing.
func warmMemberships(ctx context.Context, hc *http.Client, base, token string, users []int64, giveaways ...int64) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	jobs := make(chan [2]int64)
	for range 16 {
		wg.Go(func() {
			for j := range jobs {
				if err := eligible(ctx, hc, base, token, j[0], j[1]); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, g := range giveaways {
		for _, u := range users {
			jobs <- [2]int64{g, u}
		}
	}
	close(jobs)
	wg.Wait()
	return first
}

// eligible asks GET /{giveaway}/eligibility/{user} and wants the user
// eligible.
func eligible(ctx context.Context, hc *http.Client, base, token string, giveaway, user int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/participants/%d/eligibility/%d", base, giveaway, user), nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("X-Service-Token", token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("eligibility of user %d in giveaway %d: %w", user, giveaway, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	var v struct {
		Eligible bool `json:"eligible"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &v) != nil || !v.Eligible {
		return fmt.Errorf("eligibility of user %d in giveaway %d: %s: %s", user, giveaway, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}
