// Package loadgen is the load harness: it runs the k6 scenarios of
// loadtest/ against the service from Go, at a fixed arrival rate (open
// loop, latency measured from when each request was due, so a stalled
// service cannot hide its queueing) or with a fixed number of concurrent
// clients (closed loop), and reports throughput, latency percentiles,
// errors by code and the service's memory. It builds its test data through
// the API with the typed client, except for draws over millions of entrants,
// which it seeds with SQL.
package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/telegive/participant-service/pkg/client"
)

// Exit codes.
const (
	exitOK     = 0
	exitErrors = 1
	exitUsage  = 2
	exitFailed = 3
)

type envList []string

func (e *envList) String() string     { return strings.Join(*e, " ") }
func (e *envList) Set(s string) error { *e = append(*e, s); return nil }

// options are the command-line flags.
type options struct {
	url, spawn       string
	env              envList
	scenario         string
	rate             float64
	concurrency      int
	clients          int
	duration, warmup time.Duration
	users, giveaways int
	botToken         string
	giveawayToken    string
	entrants         int
	databaseURL      string
	jsonOut          string
	maxInFlight      int
	memoryLimit      int64
	pgbench          bool
	pgbenchScript    string
	pgbenchMode      string
	// hot and spike
	repeat                       float64
	spikeRate                    float64
	before, spikeRamp, spikeHold time.Duration
	tail                         time.Duration
	recoveryFactor               float64
	// chats
	chats   int
	rounds  int
	standIn string
}

// normalRate is the spike's rate before and after it: -rate, by default 500/s.
func (o options) normalRate() float64 {
	if o.rate > 0 {
		return o.rate
	}
	return 500
}

// Run runs the harness with args (without the program name) and returns
// the exit code: 0 when every request succeeded, 1 when some failed.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "base URL of a running service")
	fs.StringVar(&o.spawn, "spawn", "", "service binary to start (instead of -url); its RSS and start-up time are measured")
	fs.Var(&o.env, "env", "KEY=value for the spawned service (repeatable)")
	fs.StringVar(&o.scenario, "scenario", "mix", "register | status | mix | draw | hot (every registration into one giveaway) | spike (a hot giveaway's spike) | chats (registrations with 1 and with -chats required chats, warm cache)")
	fs.Float64Var(&o.rate, "rate", 0, "scenario units per second, open loop; 0 uses -concurrency; for spike the normal rate before and after (default 500)")
	fs.IntVar(&o.concurrency, "concurrency", 50, "concurrent clients, closed loop")
	fs.IntVar(&o.clients, "clients", 0, "with -rate: that many clients share the rate, each sending on its own schedule (as k6 VUs with pacing)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "measured duration")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "unmeasured load before the measurement")
	fs.IntVar(&o.users, "users", 2000, "users who pass the captcha during set-up")
	fs.IntVar(&o.giveaways, "giveaways", 100, "giveaways the load spreads over")
	fs.StringVar(&o.botToken, "bot-token", os.Getenv("BOT_TOKEN"), "bot service token (default $BOT_TOKEN)")
	fs.StringVar(&o.giveawayToken, "giveaway-token", os.Getenv("GIVEAWAY_TOKEN"), "giveaway service token (default $GIVEAWAY_TOKEN)")
	fs.IntVar(&o.entrants, "entrants", 1_000_000, "entrants to seed for the draw scenario")
	fs.StringVar(&o.databaseURL, "database-url", "", "Postgres URL the service uses, for the draw scenario's seeding and COPY timing")
	fs.StringVar(&o.jsonOut, "json", "", "also write the summary as JSON to this file")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 4000, "open loop: requests outstanding at most before counting overload")
	fs.Int64Var(&o.memoryLimit, "memory-limit", 0, "run the spawned service in a cgroup with this many bytes of memory (root, Linux)")
	fs.BoolVar(&o.pgbench, "pgbench", false, "register scenario: then run pgbench with the same transaction, clients and time, and print the ratio")
	fs.StringVar(&o.pgbenchScript, "pgbench-script", "", "a pgbench script to run instead of the service's own registration statement (register) or loadtest/pgbench/hot-register.sql (hot)")
	fs.StringVar(&o.pgbenchMode, "pgbench-mode", "prepared", "hot: pgbench's query mode (simple, extended, prepared)")
	fs.Float64Var(&o.repeat, "repeat", 0, "hot, spike: share of registrations that repeat a user already sent (answered 409)")
	fs.Float64Var(&o.spikeRate, "spike-rate", 3000, "spike: the peak arrival rate, requests per second")
	fs.DurationVar(&o.before, "before", 30*time.Second, "spike: time at the normal rate before the ramp; its worst second's p99 is the normal latency, so keep it as long as -tail: the worst of fewer seconds is a stricter bar than the tail's own noise can meet")
	fs.DurationVar(&o.spikeRamp, "ramp", time.Second, "spike: time from the normal rate (or nothing, without -before) to the peak")
	fs.DurationVar(&o.spikeHold, "hold", 30*time.Second, "spike: time at the peak")
	fs.DurationVar(&o.tail, "tail", 30*time.Second, "spike: time at the normal rate after the peak")
	fs.Float64Var(&o.recoveryFactor, "recovery-factor", 2, "spike: a tail second is back to normal when its p99 is within this many times the normal p99 (and 5 ms)")
	fs.IntVar(&o.chats, "chats", 3, "chats: the required chats compared with one")
	fs.IntVar(&o.rounds, "rounds", 4, "chats: ABBA rounds, each one -duration phase per side")
	fs.StringVar(&o.standIn, "standin", "", "serve only the chats scenario's stand-in Bot API, auth and channel services on this address until interrupted (for loadtest/scenarios/chats.js)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if o.standIn != "" {
		if err := serveStandIn(ctx, o.standIn, stdout); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return exitFailed
		}
		return exitOK
	}
	if (o.url == "") == (o.spawn == "") {
		fmt.Fprintln(stderr, "loadgen: give exactly one of -url and -spawn")
		return exitUsage
	}
	sum, err := run(ctx, o, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return exitFailed
	}
	sum.Print(stdout)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(sum, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return exitFailed
		}
	}
	if sum.Errors > 0 || (sum.Once != nil && !sum.Once.OK) {
		return exitErrors
	}
	return exitOK
}

func run(ctx context.Context, o options, stdout io.Writer) (Summary, error) {
	base := o.url
	var svc *spawned
	var stand *standIn
	env := o.env
	if o.scenario == "chats" {
		if o.spawn == "" {
			return Summary{}, errors.New("the chats scenario points the service at its own stand-in Bot API: use -spawn")
		}
		var err error
		if stand, err = startStandIn(""); err != nil {
			return Summary{}, err
		}
		defer stand.close()
		env = append(stand.env(), env...)
	}
	if o.spawn != "" {
		var err error
		if svc, err = spawn(ctx, o.spawn, env, o.memoryLimit); err != nil {
			return Summary{}, err
		}
		defer svc.shutdown()
		base = svc.url
		fmt.Fprintf(stdout, "service ready in %s at %s\n", svc.ready.Round(time.Millisecond), base)
	}
	transport := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	bot, err := client.New(base, client.WithHTTPClient(hc), client.WithServiceToken(o.botToken), client.WithRetries(0, 0))
	if err != nil {
		return Summary{}, err
	}
	gw, _ := client.New(base, client.WithHTTPClient(hc), client.WithServiceToken(o.giveawayToken), client.WithRetries(0, 0))

	var sum Summary
	switch o.scenario {
	case "draw":
		sum, err = runDraw(ctx, o, bot, gw, svc, stdout)
	case "hot", "spike":
		sum, err = runHot(ctx, o, hc, base, bot, gw, svc, stdout)
	case "chats":
		sum, err = runChats(ctx, o, hc, base, bot, gw, stand, svc, stdout)
	default:
		sum, err = runLoad(ctx, o, bot, gw, svc, stdout)
	}
	if err != nil {
		return Summary{}, err
	}
	if svc != nil {
		sum.StartupToReady = svc.ready
		if p := svc.peakRSS.Load(); p > sum.PeakRSS {
			sum.PeakRSS = p
		}
	}
	return sum, nil
}

func runLoad(ctx context.Context, o options, bot, gw *client.Client, svc *spawned, stdout io.Writer) (Summary, error) {
	w := newWorld(bot, gw, o.giveaways)
	start := time.Now()
	if err := w.prepare(ctx, o.users); err != nil {
		return Summary{}, err
	}
	fmt.Fprintf(stdout, "set-up: %d users through the captcha, %d giveaways committed, in %s\n",
		len(w.known), len(w.giveaways), time.Since(start).Round(time.Millisecond))
	scenarios := map[string]scenario{"register": w.registerScenario, "status": w.statusScenario, "mix": w.mixScenario}
	sc, ok := scenarios[o.scenario]
	if !ok {
		return Summary{}, fmt.Errorf("unknown scenario %q", o.scenario)
	}
	if o.warmup > 0 {
		drive(ctx, o, sc, newRecorder(), o.warmup)
	}
	var idle int64
	if svc != nil {
		idle, _ = svc.rss()
		svc.resetPeak()
	}
	rec := newRecorder()
	drive(ctx, o, sc, rec, o.duration)
	if o.scenario == "mix" {
		w.finish(ctx, rec)
	}
	sum := rec.summary()
	sum.IdleRSS = idle
	if svc != nil {
		sum.PeakRSS = svc.peakRSS.Load()
	}
	if o.pgbench && o.scenario == "register" {
		tps, err := pgbenchRegistrations(ctx, o, w, stdout)
		if err != nil {
			return Summary{}, err
		}
		sum.PgbenchTPS = tps
	}
	return sum, nil
}

// drive runs the scenario for d, open loop at o.rate or closed loop with
// o.concurrency clients.
func drive(ctx context.Context, o options, sc scenario, rec *recorder, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	rec.start = time.Now()
	deadline := rec.start.Add(d)
	var wg sync.WaitGroup
	switch {
	case o.rate > 0 && o.clients > 0:
		// Each client sends every clients/rate seconds, offset so that the
		// clients interleave; a slow answer delays only that client, and its
		// lateness counts against the latency.
		interval := time.Duration(float64(time.Second) * float64(o.clients) / o.rate)
		for c := range o.clients {
			wg.Go(func() {
				for i := 0; ; i++ {
					due := rec.start.Add(interval*time.Duration(i) + interval*time.Duration(c)/time.Duration(o.clients))
					if !due.Before(deadline) || ctx.Err() != nil {
						return
					}
					if wait := time.Until(due); wait > 0 {
						time.Sleep(wait)
					}
					sc(ctx, rec, due)
				}
			})
		}
	case o.rate > 0:
		interval := time.Duration(float64(time.Second) / o.rate)
		slots := make(chan struct{}, o.maxInFlight)
		for i := 0; ; i++ {
			due := rec.start.Add(time.Duration(i) * interval)
			if !due.Before(deadline) {
				break
			}
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			}
			select {
			case slots <- struct{}{}:
			default:
				rec.record("overload", time.Since(due), "OVERLOAD")
				continue
			}
			wg.Go(func() {
				defer func() { <-slots }()
				sc(ctx, rec, due)
			})
		}
	default:
		for range o.concurrency {
			wg.Go(func() {
				for time.Now().Before(deadline) && ctx.Err() == nil {
					sc(ctx, rec, time.Now())
				}
			})
		}
	}
	wg.Wait()
	rec.end = time.Now()
	if o.rate > 0 {
		// The measured window is the schedule, not the tail of stragglers;
		// how long the requests really took tells the rate served.
		rec.wall = rec.end.Sub(rec.start)
		rec.end = deadline
	}
}
