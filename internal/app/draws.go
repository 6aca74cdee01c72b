package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/drand"
	"github.com/telegive/participant-service/internal/health"
	"github.com/telegive/participant-service/internal/httpapi"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/telemetry"
	"github.com/telegive/participant-service/internal/witness"
	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// probeTimeout bounds the start-up probe of DRAW_PROTOCOL=auto, all relays
// at once.
const probeTimeout = 3 * time.Second

// resolveTimeout bounds the start-up resolution of a chain other than
// quicknet from the relays, when DRAW_PROTOCOL=v2 needs it.
const resolveTimeout = 15 * time.Second

// draws is the wiring of verifiable draws: the beacon source, the
// witnesses, the log's signer and the protocol new giveaways get.
type draws struct {
	// protocol is config.ProtocolV2 or config.ProtocolV1, after auto.
	protocol string
	chain    beacon.Chain // zero until resolved (a chain other than quicknet)
	relays   *drand.Client
	source   *beaconSource
	// witnesses is nil when none are configured.
	witnesses *witnessState
	signer    participant.LogSigner
}

// drawWiring builds the beacon client, decides the protocol (probing the
// relays for DRAW_PROTOCOL=auto), and builds the witness client and the
// log's signer.
func (a *App) drawWiring(ctx context.Context) (*draws, error) {
	cfg, log, m := a.cfg.Draws, a.log, a.metrics
	opts := drand.Options{
		Relays:          cfg.Relays,
		Timeout:         cfg.BeaconTimeout.D(),
		BreakerFailures: a.cfg.Upstreams.BreakerFailures,
		BreakerOpen:     a.cfg.Upstreams.BreakerOpen.D(),
		OnAttempt:       m.BeaconAttempt,
		Logger:          log.With("component", "drand"),
	}
	if cfg.Quicknet() {
		opts.Chain = beacon.Quicknet()
	} else {
		opts.ChainHash = cfg.ChainHashBytes()
	}
	relays, err := drand.New(opts)
	if err != nil {
		return nil, fmt.Errorf("BEACON_RELAYS: %w", err)
	}
	d := &draws{relays: relays}
	if cfg.Quicknet() {
		d.chain = beacon.Quicknet()
	}
	d.source = newBeaconSource(relays, cfg.BeaconWait.D(), m)
	m.WatchBeaconRelays(relayNames(relays), relays.Breakers)
	m.WatchBeaconOverdue(d.source.overdue)

	switch cfg.DrawProtocol {
	case config.ProtocolV1:
		d.protocol = config.ProtocolV1
		log.Warn("DRAW_PROTOCOL=v1: new giveaways are drawn with telegive-draw-v1, whose winners follow from the operator's seed, not from public randomness")
	case config.ProtocolV2:
		d.protocol = config.ProtocolV2
		if !cfg.Quicknet() {
			rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
			d.chain, err = relays.Chain(rctx)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("BEACON_CHAIN_HASH: the chain %s is not quicknet, whose info is pinned, and no relay of BEACON_RELAYS gave its info: %w",
					cfg.ChainHash, err)
			}
		}
	default:
		chain, err := probe(ctx, opts, relays, d.chain)
		if err != nil {
			d.protocol = config.ProtocolV1
			log.Warn("DRAW_PROTOCOL=auto chose telegive-draw-v1: no drand relay answered at start-up, so new giveaways' winners "+
				"will follow from the operator's seed, not from public randomness. Set DRAW_PROTOCOL=v2 to draw every new giveaway "+
				"from the drand beacon (a draw then answers BEACON_UNAVAILABLE until a relay answers), and check BEACON_RELAYS and "+
				"the egress to them", "relays", cfg.Relays, "chain_hash", cfg.ChainHash, "error", err)
		} else {
			d.protocol, d.chain = config.ProtocolV2, chain
		}
	}
	if d.chain.Period > 0 && cfg.BeaconDelay.D() < d.chain.Period {
		return nil, fmt.Errorf("BEACON_DELAY=%v: want whole seconds, at least one beacon period (%v on this chain)", cfg.BeaconDelay.D(), d.chain.Period)
	}
	m.DrawProtocol(d.protocol, d.protocol == config.ProtocolV2)
	log.Info("draw protocol", "protocol", d.protocol, "draw_version", d.version(), "public_randomness", d.protocol == config.ProtocolV2,
		"chain_hash", cfg.ChainHash, "relays", cfg.Relays, "beacon_delay", cfg.BeaconDelay.D().String())

	if cfg.Witnessed() {
		ws, err := witness.ParseWitnesses(cfg.WitnessURLs, cfg.WitnessKeys)
		if err != nil {
			return nil, fmt.Errorf("WITNESS_KEYS: %w", err)
		}
		d.witnesses = newWitnessState(ws, int(cfg.WitnessQuorum), cfg.WitnessTimeout.D(), m, log.With("component", "witness"))
	} else {
		log.Warn("no witnesses are configured (WITNESS_URLS): v2 records say freeze_attested false, and the time of their freeze rests on the operator's word")
	}
	if cfg.LogSigningKey != "" {
		if d.signer, err = participant.NewLogSigner(cfg.LogSigningKey); err != nil {
			return nil, fmt.Errorf("LOG_SIGNING_KEY: %w", err)
		}
		log.Info("draw log key", "origin", cfg.LogOrigin, "verifier_key", d.signer.VerifierKey())
	} else {
		log.Warn("LOG_SIGNING_KEY is not set: the draw log is signed with a key generated once and kept in the database; " +
			"verifiers cannot pin a key that a database restore can replace. Make one with `participant-service log-keygen`, " +
			"keep it in a Secret and publish its verifier key")
	}
	return d, nil
}

// version is the draw version new giveaways get.
func (d *draws) version() string {
	if d.protocol == config.ProtocolV2 {
		return draw.VersionV2
	}
	return draw.Version
}

// options are the domain's draw options.
func (d *draws) options(cfg config.Draws, m *telemetry.Metrics, log *slog.Logger) (participant.Options, error) {
	o := participant.Options{
		DrawVersion: d.version(),
		BeaconDelay: cfg.BeaconDelay.D(),
		// Every giveaway committed under v2 finishes under v2, whatever the
		// protocol of new ones: the beacon source is always there.
		Beacons: d.source,
		Log: participant.LogOptions{
			Origin: cfg.LogOrigin,
			Signer: d.signer,
			Quorum: int(cfg.WitnessQuorum),
		},
		OnAttestation: func(e participant.AttestationEvent) { m.Attestation(e.Kind, e.Attested) },
		OnRecheck:     func(e participant.RecheckEvent) { m.Recheck(e.Outcome) },
		Logger:        log,
	}
	if d.witnesses != nil {
		o.Log.Cosigner = d.witnesses
		for i, u := range cfg.WitnessURLs {
			o.Log.Witnesses = append(o.Log.Witnesses, participant.LogWitness{URL: u, Key: cfg.WitnessKeys[i]})
		}
	}
	return o, o.Validate()
}

func relayNames(c *drand.Client) []string {
	var out []string
	for name := range c.Breakers() {
		out = append(out, name)
	}
	return out
}

// probe asks every relay at once, within probeTimeout, for a recent round
// of the pinned chain (resolving the chain's info first when only its hash
// is pinned), and returns the chain once one relay gave a beacon that
// verifies. Each relay is asked through a client of its own, so the probe
// leaves the serving client's breakers as they are.
func probe(ctx context.Context, opts drand.Options, relays *drand.Client, chain beacon.Chain) (beacon.Chain, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if chain.Hash == nil {
		var err error
		if chain, err = relays.Chain(ctx); err != nil {
			return beacon.Chain{}, err
		}
	}
	opts.Chain, opts.ChainHash = chain, nil
	// A round a few periods old: every relay that follows the chain has it.
	round := max(chain.FirstRoundAtOrAfter(time.Now().Add(-3*chain.Period)), 1)
	errs := make(chan error, len(opts.Relays))
	for _, r := range opts.Relays {
		go func() {
			// One attempt per relay: its first failure ends its probe, so
			// that unreachable relays cost no more than it takes to fail.
			rctx, stop := context.WithCancel(ctx)
			defer stop()
			o := opts
			o.Relays = []string{r}
			o.OnAttempt = func(relay, outcome string, d time.Duration) {
				opts.OnAttempt(relay, outcome, d)
				if outcome != drand.OutcomeOK {
					stop()
				}
			}
			c, err := drand.New(o)
			if err == nil {
				_, err = c.Beacon(rctx, round)
			}
			errs <- err
		}()
	}
	var all []error
	for range opts.Relays {
		err := <-errs
		if err == nil {
			return chain, nil
		}
		all = append(all, err)
	}
	return beacon.Chain{}, errors.Join(all...)
}

// beaconSource is the domain's BeaconSource: the drand client, its waits
// bounded by the request's beacon deadline (BEACON_WAIT from the start of
// select-winners or redraw) and counted for the metrics.
type beaconSource struct {
	client *drand.Client
	wait   time.Duration
	m      *telemetry.Metrics
	now    func() time.Time

	mu sync.Mutex
	// awaited are the rounds asked for and not had yet: their time, and
	// when they were last asked for.
	awaited map[uint64]awaitedRound
}

type awaitedRound struct{ at, asked time.Time }

// forgetAfter is how long a round not asked for again counts as awaited:
// pending draws are retried every few seconds by every replica, so one
// that nobody asks for any more was drawn elsewhere.
const forgetAfter = 2 * time.Minute

func newBeaconSource(c *drand.Client, wait time.Duration, m *telemetry.Metrics) *beaconSource {
	return &beaconSource{client: c, wait: wait, m: m, now: time.Now, awaited: map[uint64]awaitedRound{}}
}

// Chain returns the pinned chain.
func (b *beaconSource) Chain(ctx context.Context) (beacon.Chain, error) { return b.client.Chain(ctx) }

// Wait returns round's beacon, verified, once its time has come; within a
// select-winners or redraw request no later than its beacon deadline, so
// that the caller hears BEACON_UNAVAILABLE before its own timeout.
func (b *beaconSource) Wait(ctx context.Context, round uint64) (beacon.Beacon, error) {
	chain, err := b.client.Chain(ctx)
	if err != nil {
		return beacon.Beacon{}, err
	}
	at := chain.RoundTime(round)
	if dl, ok := httpapi.BeaconDeadline(ctx); ok && b.wait > 0 {
		if dl.Before(at) {
			// The round comes after the caller stops listening: say so now.
			return beacon.Beacon{}, &drand.NotYetError{Round: round, Time: at, Err: context.DeadlineExceeded}
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	b.asked(round, at)
	b.m.WaitStarted("beacon")
	defer b.m.WaitFinished("beacon")
	got, err := b.client.Wait(ctx, round)
	if err == nil {
		b.mu.Lock()
		delete(b.awaited, round)
		b.mu.Unlock()
	}
	return got, err
}

func (b *beaconSource) asked(round uint64, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.awaited[round] = awaitedRound{at: at, asked: b.now()}
}

// overdue is how long past its time the oldest round still awaited is.
func (b *beaconSource) overdue() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	var worst time.Duration
	for r, a := range b.awaited {
		if now.Sub(a.asked) > forgetAfter {
			delete(b.awaited, r)
			continue
		}
		worst = max(worst, now.Sub(a.at))
	}
	return worst
}

// witnessState is the domain's Cosigner: the witness client, with each
// witness's last outcome kept for /health and every call counted.
type witnessState struct {
	client *witness.Client
	quorum int
	m      *telemetry.Metrics

	mu   sync.Mutex
	last map[string]witnessResult
}

type witnessResult struct {
	outcome witness.Outcome
	at      time.Time
}

func newWitnessState(ws []witness.Witness, quorum int, timeout time.Duration, m *telemetry.Metrics, log *slog.Logger) *witnessState {
	s := &witnessState{quorum: quorum, m: m, last: map[string]witnessResult{}}
	if s.quorum == 0 {
		s.quorum = len(ws)
	}
	var names []string
	for _, w := range ws {
		names = append(names, w.Verifier.Name())
	}
	m.WatchWitnesses(names)
	s.client = &witness.Client{Witnesses: ws, Quorum: quorum, Timeout: timeout, Logger: log,
		OnAttempt: func(name string, outcome witness.Outcome, _ time.Duration) {
			m.WitnessAttempt(name, string(outcome))
			if outcome == witness.OutcomeCanceled {
				return // says nothing about the witness
			}
			s.mu.Lock()
			s.last[name] = witnessResult{outcome: outcome, at: time.Now().UTC().Truncate(time.Second)}
			s.mu.Unlock()
		}}
	return s
}

// backgroundKey marks a context of the background loops, whose checkpoint
// submissions are not draws waiting on the witnesses.
type backgroundKey struct{}

func background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// Cosign submits a checkpoint to the witnesses (see witness.Client.Cosign).
func (s *witnessState) Cosign(ctx context.Context, checkpointNote string, size uint64, consistency participant.ConsistencyFunc,
	known map[string]uint64) (string, []drawlog.Cosignature, error) {
	if ctx.Value(backgroundKey{}) == nil {
		s.m.WaitStarted("witnesses")
		defer s.m.WaitFinished("witnesses")
	}
	out, cosigs, err := s.client.Cosign(ctx, checkpointNote, size, witness.ConsistencyFunc(consistency), known)
	s.m.Cosigned(err == nil)
	return out, cosigs, err
}

// KnownSizes returns the latest size each witness is known to hold.
func (s *witnessState) KnownSizes() map[string]uint64 { return s.client.KnownSizes() }

// check reports each witness's last answer without calling any: down when
// fewer than the quorum cosigned (or were merely out of step, 409) the
// last time they were asked.
func (s *witnessState) check() health.Check {
	return health.Check{Name: "witnesses", Impact: health.Degrading, Run: func(context.Context) health.Result {
		s.mu.Lock()
		defer s.mu.Unlock()
		details := map[string]any{"quorum": s.quorum}
		ws := map[string]any{}
		good, asked := 0, 0
		for _, w := range s.client.Witnesses {
			name := w.Verifier.Name()
			r, ok := s.last[name]
			if !ok {
				ws[name] = map[string]any{"url": w.URL, "last": "not asked yet"}
				continue
			}
			asked++
			if r.outcome == witness.OutcomeCosigned || r.outcome == witness.OutcomeConflict {
				good++
			}
			ws[name] = map[string]any{"url": w.URL, "last": string(r.outcome), "at": r.at}
		}
		details["witnesses"] = ws
		switch {
		case asked == 0:
			return health.Result{Status: "unknown", Details: details}
		case good < s.quorum:
			return health.Result{Status: "down", Error: fmt.Sprintf("%d of %d witnesses cosigned when last asked, the quorum is %d", good, len(s.client.Witnesses), s.quorum),
				Details: details}
		}
		return health.Result{Status: "ok", Details: details}
	}}
}

// beaconCheck reports the protocol in use and the relays' breakers without
// calling any: down when every relay's breaker is open.
func (d *draws) beaconCheck(cfg config.Draws) health.Check {
	return health.Check{Name: "drand_beacon", Impact: health.Degrading, Run: func(context.Context) health.Result {
		breakers := d.relays.Breakers()
		open := 0
		for _, st := range breakers {
			if st == "open" {
				open++
			}
		}
		details := map[string]any{
			"protocol": d.protocol, "draw_version": d.version(), "public_randomness": d.protocol == config.ProtocolV2,
			"chain_hash": cfg.ChainHash, "relays": breakers, "beacon_overdue_seconds": int(d.source.overdue().Seconds()),
		}
		if open == len(breakers) {
			return health.Result{Status: "down", Error: "every drand relay's circuit breaker is open", Details: details}
		}
		return health.Result{Status: "ok", Details: details}
	}}
}

// timedStore times the draw log's appends, which run inside the events'
// own transactions, for the metrics.
type timedStore struct {
	participant.Store
	appended func(time.Duration)
}

// InTx runs fn with queries whose appends are timed.
func (s timedStore) InTx(ctx context.Context, fn func(participant.Queries) error) error {
	return s.Store.InTx(ctx, func(q participant.Queries) error { return fn(timedQueries{Queries: q, appended: s.appended}) })
}

// AppendLog appends outside a transaction, timed.
func (s timedStore) AppendLog(ctx context.Context, entries ...participant.LogAppend) ([]uint64, error) {
	return timedQueries{Queries: s.Store, appended: s.appended}.AppendLog(ctx, entries...)
}

type timedQueries struct {
	participant.Queries
	appended func(time.Duration)
}

func (q timedQueries) AppendLog(ctx context.Context, entries ...participant.LogAppend) ([]uint64, error) {
	start := time.Now()
	idx, err := q.Queries.AppendLog(ctx, entries...)
	if err == nil {
		q.appended(time.Since(start))
	}
	return idx, err
}

// logState is what the checkpoint loop last saw of the draw log, for the
// metrics and /health.
type logState struct {
	mu sync.Mutex
	// size is the log's size, signed the size of the latest checkpoint
	// this process knows of, and uncoveredSince when the log first held
	// entries no checkpoint covered (zero while every entry is covered).
	size, signed   uint64
	uncoveredSince time.Time
	at             time.Time // of the last round of the loop
	err            error
	now            func() time.Time
}

func newLogState() *logState { return &logState{now: time.Now} }

// saw records one round of the checkpoint loop: the log's size, the size
// the latest checkpoint covers, and the round's error.
func (l *logState) saw(size, signed uint64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.at, l.err = now, err
	if err != nil {
		return
	}
	l.size, l.signed = size, signed
	switch {
	case signed >= size:
		l.uncoveredSince = time.Time{}
	case l.uncoveredSince.IsZero():
		l.uncoveredSince = now
	}
}

// grew records entries appended since the last round, which no checkpoint
// covers yet.
func (l *logState) grew(size uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if size > l.signed && l.uncoveredSince.IsZero() {
		l.uncoveredSince = l.now()
	}
	l.size = max(l.size, size)
}

// checkpointAge is how long the log has held entries no checkpoint covers.
func (l *logState) checkpointAge() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.uncoveredSince.IsZero() {
		return 0
	}
	return l.now().Sub(l.uncoveredSince)
}

// check reports the checkpoint loop's last round without calling anything.
func (l *logState) check() health.Check {
	return health.Check{Name: "draw_log", Impact: health.Degrading, Run: func(context.Context) health.Result {
		age := l.checkpointAge()
		l.mu.Lock()
		defer l.mu.Unlock()
		details := map[string]any{"entries": l.size, "checkpoint_size": l.signed, "checkpoint_age_seconds": int(age.Seconds())}
		switch {
		case l.at.IsZero():
			return health.Result{Status: "unknown", Details: details}
		case l.err != nil:
			details["checked_at"] = l.at.UTC().Truncate(time.Second)
			return health.Result{Status: "down", Error: "the last checkpoint of the draw log failed", Cause: l.err, Details: details}
		}
		return health.Result{Status: "ok", Details: details}
	}}
}
