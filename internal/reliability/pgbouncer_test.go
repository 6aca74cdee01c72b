package reliability_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/migrations"
	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// pgBouncerPool is PgBouncer's default_pool_size in TestThroughPgBouncer:
// fewer server connections than the two instances' pools hold client
// connections (2 x DATABASE_POOL_SIZE), so that transactions of both share
// server connections, as many pods share one Postgres.
const pgBouncerPool = 6

// TestThroughPgBouncer runs two instances of the service on one Postgres of
// the test's own through a real PgBouncer in transaction pooling, as pods
// share a database in production: both migrate the empty database at
// once, concurrent duplicate registrations on both store each entrant
// exactly once, concurrent telegive-draw-v2 select-winners on both draw
// each giveaway once, the draw log's entries stay dense with every
// giveaway's seq and prev chain intact, and the records verify against it.
// Nothing goes through a session: every statement pgdriver sends is a
// simple query, and every lock is transaction-scoped.
func TestThroughPgBouncer(t *testing.T) {
	cluster := testenv.StartCluster(t, testenv.ClusterOptions{Database: "app"})
	bouncer := testenv.StartPgBouncer(t, cluster.URL(), testenv.PgBouncerOptions{PoolSize: pgBouncerPool})
	chain := drandtest.NewChain(t, time.Second, time.Now().Add(-time.Hour))
	relay := chain.Relay(t, drandtest.Live)
	env := []string{
		"DATABASE_URL=" + bouncer.URL(), "DATABASE_POOL_SIZE=10",
		// The test's hundreds of requests at once are to queue for the
		// pool, not be shed: the default bound is 8 per pool connection.
		"MAX_IN_FLIGHT=1000",
		"PUBLIC_RATE_LIMIT=1000000 per second",
		"DRAW_PROTOCOL=v2", "BEACON_CHAIN_HASH=" + chain.Info.HashHex(), "BEACON_RELAYS=" + relay.URL,
		"BEACON_DELAY=1", "BEACON_WAIT=15",
	}
	logs := &testenv.Logs{}

	t.Run("two instances migrate at once", func(t *testing.T) {
		for i := range 2 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				svc := startLogged(t, logs, env...)
				resp, err := http.Get(svc.URL + "/health/ready")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("readiness after migrating: %s", resp.Status)
				}
			})
		}
	})
	ms, err := migrations.Postgres()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cluster.QueryString("SELECT count(DISTINCT name) || '/' || count(*) FROM bun_migrations"), fmt.Sprintf("%d/%d", len(ms.Sorted()), len(ms.Sorted())); got != want {
		t.Fatalf("bun_migrations holds %s distinct/all names, want %s", got, want)
	}

	first := startLogged(t, logs, env...)
	instances := []*client.Client{newClient(t, first.URL), newClient(t, startLogged(t, logs, env...).URL)}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const users, giveaways, tries, winners = 30, 4, 4, 3
	base := uniqueBase()
	userIDs := make([]int64, users)
	bt := newBot(t, first.URL)
	for i := range userIDs {
		userIDs[i] = base + int64(i)
		// The captcha, once per user, through a giveaway of its own.
		if bt.join(ctx, base, userIDs[i]) == 0 {
			t.Fatalf("user %d: the captcha round failed: %v", userIDs[i], bt.failures)
		}
	}
	gids := make([]int64, giveaways)
	for g := range gids {
		gids[g] = base + 1 + int64(g)
	}

	t.Run("concurrent duplicate registrations are stored once", func(t *testing.T) {
		registerConcurrently(t, ctx, instances, gids, userIDs, tries)
		for g, gid := range gids {
			if n, err := instances[g%2].Count(ctx, gid); err != nil || n != users {
				t.Errorf("giveaway %d counts %d participants (%v), want %d", gid, n, err, users)
			}
		}
		if n := cluster.QueryString("SELECT count(*) FROM users WHERE total_participations <> $1", giveaways+1); n != "0" {
			t.Errorf("%s users have a participation count other than %d", n, giveaways+1)
		}
		var csv bytes.Buffer
		if _, err := instances[1].ExportTo(ctx, gids[0], "csv", &csv); err != nil {
			t.Fatal(err)
		}
		if lines := strings.Count(csv.String(), "\n"); lines != users+1 {
			t.Errorf("the CSV export (COPY through PgBouncer) has %d lines, want a header and %d rows", lines, users)
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("concurrent v2 draws on both instances draw once", func(t *testing.T) {
		answers := concurrently(t, giveaways, 2*3, func(g int) (client.Selection, error) {
			return instances[rand.IntN(2)].SelectWinners(ctx, gids[g], client.SelectRequest{WinnerCount: winners})
		})
		for g, as := range answers {
			fresh := 0
			for _, a := range as {
				if !a.AlreadySelected {
					fresh++
				}
				if a.Protocol != draw.VersionV2 || a.Draw.DrawSeed != as[0].Draw.DrawSeed || !slices.EqualFunc(a.Winners, as[0].Winners, sameWinner) {
					t.Errorf("giveaway %d: answers differ or are not v2: %s %v / %v", gids[g], a.Protocol, a.Winners, as[0].Winners)
				}
			}
			if len(as) != 6 || fresh != 1 {
				t.Errorf("giveaway %d: %d answers, %d of them fresh draws; want 6 and one draw", gids[g], len(as), fresh)
			}
		}
		if n := cluster.QueryString("SELECT count(*) FROM participants WHERE is_winner"); n != strconv.Itoa(giveaways*winners) {
			t.Errorf("%s winners stored, want %d", n, giveaways*winners)
		}
	})

	t.Run("the draw log stays dense and the records verify", func(t *testing.T) {
		entries := checkDenseLog(t, ctx, instances[0], gids)
		key, err := instances[1].LogKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		verifier, err := drawlog.NewLogVerifier(key.VerifierKey)
		if err != nil {
			t.Fatal(err)
		}
		for g, gid := range gids {
			c := instances[g%2]
			rec, err := c.Draw(ctx, gid)
			if err != nil {
				t.Fatal(err)
			}
			ents, tickets, err := c.EntrantTickets(ctx, gid)
			if err != nil {
				t.Fatal(err)
			}
			proofs, err := c.WinnerProofs(ctx, gid)
			if err != nil {
				t.Fatal(err)
			}
			opts := draw.VerifyOptions{Entrants: ents, Tickets: tickets, Proofs: proofs, Chain: &chain.Info, LogKey: verifier, LogEntries: entries}
			if err := draw.Verify(rec, opts); err != nil {
				t.Errorf("giveaway %d: the record does not verify: %v", gid, err)
			}
		}
	})

	if l := errorLines(logs.String()); l != "" {
		t.Errorf("the instances logged errors:\n%s", l)
	}
	report(t, figures{"pgbouncer": bouncer.Version(), "pool_mode": "transaction", "default_pool_size": pgBouncerPool,
		"instances": 2, "client_connections_max": 2 * 10, "registration_calls": giveaways * users * tries,
		"select_winners_calls": giveaways * 6, "draws": giveaways})
}

// startLogged is start with the logs written to logs.
func startLogged(t *testing.T, logs *testenv.Logs, env ...string) *testenv.Service {
	t.Helper()
	return testenv.StartServiceWithLogs(t, logs, append([]string{"API_RATE_LIMIT=1000000 per second", "USER_RATE_LIMIT=1000000 per second"}, env...)...)
}

func newClient(t *testing.T, base string) *client.Client {
	t.Helper()
	c, err := client.New(base, client.WithRetries(0, 0), client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// registerConcurrently registers every user into every giveaway tries
// times, all at once, spread over the instances, and checks that each
// (giveaway, user) was created once and every duplicate names the same
// participant.
func registerConcurrently(t *testing.T, ctx context.Context, instances []*client.Client, gids, userIDs []int64, tries int) {
	t.Helper()
	type key struct{ gid, uid int64 }
	var (
		mu      sync.Mutex
		created = map[key]int{}
		ids     = map[key][]int64{}
		wg      sync.WaitGroup
	)
	start := make(chan struct{})
	for _, gid := range gids {
		for _, uid := range userIDs {
			for i := range tries {
				wg.Go(func() {
					<-start
					res, err := instances[i%len(instances)].Register(ctx, client.RegisterRequest{GiveawayID: gid, UserID: uid})
					var e *client.Error
					id := res.ParticipantID
					switch {
					case errors.As(err, &e) && e.Code == client.CodeDuplicate:
						id = e.ParticipantID
					case err != nil:
						t.Errorf("register user %d in giveaway %d: %v", uid, gid, err)
						return
					case res.RequiresCaptcha:
						t.Errorf("register user %d in giveaway %d: asked for the captcha again", uid, gid)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					k := key{gid, uid}
					if err == nil {
						created[k]++
					}
					ids[k] = append(ids[k], id)
				})
			}
		}
	}
	close(start)
	wg.Wait()
	for _, gid := range gids {
		for _, uid := range userIDs {
			k := key{gid, uid}
			if created[k] != 1 || len(ids[k]) != tries || slices.Min(ids[k]) != slices.Max(ids[k]) || ids[k][0] == 0 {
				t.Errorf("user %d in giveaway %d: created %d times, participant ids %v; want once, one id", uid, gid, created[k], ids[k])
			}
		}
	}
}

// checkDenseLog reads the whole draw log and checks that its indices run
// densely from 0, that each giveaway's entries have seq 0, 1, ... with
// prev naming its previous entry, and that each of the giveaways given
// has a commit, a freeze and a draw entry. It returns the raw entries by
// index.
func checkDenseLog(t *testing.T, ctx context.Context, c *client.Client, gids []int64) map[uint64][]byte {
	t.Helper()
	list, err := c.LogEntries(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	entries := map[uint64][]byte{}
	last := map[int64]drawlog.Header{}
	lastIdx := map[int64]uint64{}
	types := map[int64][]drawlog.Type{}
	for i, le := range list {
		if le.Index != uint64(i) {
			t.Fatalf("log entry #%d has index %d: the log is not dense", i, le.Index)
		}
		entries[le.Index] = le.Data
		e, err := drawlog.Parse(le.Data)
		if err != nil {
			t.Fatalf("log entry %d: %v", le.Index, err)
		}
		h := e.Head()
		prev, seen := last[h.GiveawayID]
		switch {
		case !seen && (h.Seq != 0 || h.Prev != nil):
			t.Errorf("log entry %d, giveaway %d's first: seq %d, prev %v; want 0 and none", le.Index, h.GiveawayID, h.Seq, h.Prev)
		case seen && (h.Seq != prev.Seq+1 || h.Prev == nil || *h.Prev != lastIdx[h.GiveawayID]):
			t.Errorf("log entry %d of giveaway %d: seq %d, prev %v; want seq %d after entry %d", le.Index, h.GiveawayID, h.Seq, h.Prev, prev.Seq+1, lastIdx[h.GiveawayID])
		}
		last[h.GiveawayID], lastIdx[h.GiveawayID] = h, le.Index
		types[h.GiveawayID] = append(types[h.GiveawayID], e.Type())
	}
	want := []drawlog.Type{drawlog.TypeCommit, drawlog.TypeFreeze, drawlog.TypeDraw}
	for _, gid := range gids {
		if !slices.Equal(types[gid], want) {
			t.Errorf("giveaway %d's log entries are %v, want %v", gid, types[gid], want)
		}
	}
	return entries
}

// errorLines are the lines of JSON logs at level ERROR.
func errorLines(logs string) string {
	var out []string
	for l := range strings.Lines(logs) {
		if strings.Contains(l, `"level":"ERROR"`) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}
