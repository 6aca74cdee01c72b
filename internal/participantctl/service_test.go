package participantctl_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/app"
	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/participant"
	"github.com/telegive/participant-service/internal/participantctl"
	"github.com/telegive/participant-service/internal/store"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/client"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// deployment is the real participant service drawing telegive-draw-v2:
// a stand-in drand chain with a 1 s period behind a live relay, two
// stand-in witnesses, and a log signing key made by log-keygen, on SQLite
// or on a Postgres schema of its own. It keeps a handle on the service's
// database, through which the tests tamper with it as an operator could.
type deployment struct {
	t         *testing.T
	backend   string
	chain     *drandtest.Chain
	chainFile string
	logKey    string
	witnesses []*witnesstest.Witness
	env       []string
	services  []*testenv.Service
	// db is the service's database, opened beside the service.
	db *store.Store
	// c calls the first instance.
	c *client.Client
}

// beaconDelay is the deployments' BEACON_DELAY in seconds. A witness
// timeout of 1 s allows 4, which leaves the freeze a second or two to be
// cosigned 3 s before its round: too little for a test machine running
// several services at once.
const beaconDelay = 7

func newDeployment(t *testing.T, backend string) *deployment {
	t.Helper()
	return newDeploymentWith(t, backend)
}

// newDeploymentWith is newDeployment with more of the service's
// environment (KEY=value), such as the upstream services it calls.
func newDeploymentWith(t *testing.T, backend string, env ...string) *deployment {
	t.Helper()
	d := &deployment{t: t, backend: backend, chain: drandtest.NewChain(t, time.Second, time.Now().Add(-time.Hour))}
	relay := d.chain.Relay(t, drandtest.Live)
	info, err := json.Marshal(d.chain.Info)
	if err != nil {
		t.Fatal(err)
	}
	d.chainFile = filepath.Join(t.TempDir(), "chain-info.json")
	if err := os.WriteFile(d.chainFile, info, 0o600); err != nil {
		t.Fatal(err)
	}

	var out, errs bytes.Buffer
	if err := app.Run(context.Background(), []string{"participant-service", "log-keygen"}, nil, &out, &errs); err != nil {
		t.Fatalf("log-keygen: %v: %s", err, errs.String())
	}
	keys := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(keys) != 2 {
		t.Fatalf("log-keygen printed %q", out.String())
	}
	signingKey := keys[0]
	d.logKey = keys[1]
	var urls, wkeys []string
	for _, name := range []string{"witness.example/one", "witness.example/two"} {
		w := witnesstest.New(t, name, config.DefaultLogOrigin, d.logKey)
		d.witnesses = append(d.witnesses, w)
		urls, wkeys = append(urls, w.URL()), append(wkeys, w.VerifierKey())
	}

	opts := store.Options{PoolSize: 4}
	if backend == "postgres" {
		opts.PostgresURL = testenv.PostgresSchema(t)
		d.env = append(d.env, "DATABASE_URL="+opts.PostgresURL)
	} else {
		opts.SQLitePath = testenv.SQLitePath(t)
		d.env = append(d.env, "SQLITE_PATH="+opts.SQLitePath)
	}
	d.env = append(d.env,
		"DRAW_PROTOCOL=v2", "BEACON_CHAIN_HASH="+d.chain.Info.HashHex(), "BEACON_RELAYS="+relay.URL,
		fmt.Sprintf("BEACON_DELAY=%d", beaconDelay), "BEACON_TIMEOUT=1",
		"WITNESS_URLS="+strings.Join(urls, ","), "WITNESS_KEYS="+strings.Join(wkeys, ","), "WITNESS_TIMEOUT=1",
		"LOG_SIGNING_KEY="+signingKey, "LOG_CHECKPOINT_INTERVAL=1",
		// The tests read the public endpoints far more often than a
		// person would, all from one address.
		"PUBLIC_RATE_LIMIT=100000 per minute", "API_RATE_LIMIT=100000 per hour", "USER_RATE_LIMIT=10000 per minute")
	d.env = append(d.env, env...)
	d.start()
	d.c = d.client(0)
	// The service has migrated the database by now.
	if d.db, err = store.Open(context.Background(), opts); err != nil {
		t.Fatalf("open the service's database: %v", err)
	}
	t.Cleanup(func() { d.db.Close() })
	return d
}

// start starts one more instance of the service on the deployment's
// database.
func (d *deployment) start() *testenv.Service {
	d.t.Helper()
	s := testenv.StartService(d.t, d.env...)
	d.services = append(d.services, s)
	return s
}

func (d *deployment) client(i int) *client.Client {
	d.t.Helper()
	c, err := client.New(d.services[i].URL, client.WithTimeout(time.Minute))
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

func (d *deployment) url() string { return d.services[0].URL }

// enter registers users in a giveaway through c, solving the captcha of
// those who have not passed it yet.
func (d *deployment) enter(c *client.Client, giveawayID int64, users ...int64) {
	d.t.Helper()
	ctx := context.Background()
	for _, u := range users {
		res, err := c.Register(ctx, client.RegisterRequest{GiveawayID: giveawayID, UserID: u})
		if err != nil {
			d.t.Fatalf("register %d in %d: %v", u, giveawayID, err)
		}
		if !res.RequiresCaptcha {
			continue
		}
		ok, err := c.ValidateCaptcha(ctx, client.ValidateRequest{GiveawayID: giveawayID, UserID: u,
			Answer: testenv.SolveCaptcha(d.t, res.Challenge.Question), SessionID: res.Challenge.SessionID})
		if err != nil || !ok.CaptchaCompleted || !ok.ParticipationConfirmed {
			d.t.Fatalf("captcha of %d in %d: %+v %v", u, giveawayID, ok, err)
		}
	}
}

// drawAndRedraw enters users 1..n (offset by 100*giveawayID) in the
// giveaway, draws k winners, and has winner 2 disqualified for fraud.
func (d *deployment) drawAndRedraw(giveawayID int64, n, k int) draw.Record {
	d.t.Helper()
	ctx := context.Background()
	var users []int64
	for i := 1; i <= n; i++ {
		users = append(users, 100*giveawayID+int64(i))
	}
	d.enter(d.c, giveawayID, users...)
	sel, err := d.c.SelectWinners(ctx, giveawayID, client.SelectRequest{WinnerCount: k})
	if err != nil {
		d.t.Fatalf("select-winners %d: %v", giveawayID, err)
	}
	if sel.Draw.Version != draw.VersionV2 || sel.Draw.Status != draw.StatusDrawn || !sel.Draw.FreezeAttested || len(sel.Draw.Winners) != k {
		d.t.Fatalf("select-winners %d: %+v", giveawayID, sel.Draw)
	}
	gone := sel.Draw.Winners[1].UserID
	if _, err := d.c.Redraw(ctx, giveawayID, []int64{gone}, string(draw.ReasonFraud)); err != nil {
		d.t.Fatalf("redraw %d: %v", giveawayID, err)
	}
	rec, err := d.c.Draw(ctx, giveawayID)
	if err != nil {
		d.t.Fatal(err)
	}
	if len(rec.Replacements) != 1 || rec.Replacements[0].Disqualified[0].UserID != gone || rec.Replacements[0].RequestAttestation == nil {
		d.t.Fatalf("after the redraw of %d: %+v", giveawayID, rec)
	}
	return rec
}

// covered waits until the served checkpoint covers the whole log with
// both witnesses' cosignatures, and returns its size.
func (d *deployment) covered() uint64 {
	d.t.Helper()
	ctx := context.Background()
	logKey, err := drawlog.NewLogVerifier(d.logKey)
	if err != nil {
		d.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		head, err := d.db.LogHead(ctx)
		if err != nil {
			d.t.Fatal(err)
		}
		text, err := d.c.LogCheckpoint(ctx)
		if err != nil {
			d.t.Fatal(err)
		}
		cp, n, err := drawlog.VerifyCheckpoint(text, logKey)
		if err != nil {
			d.t.Fatalf("the served checkpoint: %v\n%s", err, text)
		}
		_, cosErr := drawlog.VerifyCosignatures(n, d.witnessVerifiers(), 2)
		if cp.Size == head.Size && cosErr == nil {
			return cp.Size
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("the served checkpoint (size %d, %v) never covered the log's %d entries with both cosignatures", cp.Size, cosErr, head.Size)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *deployment) witnessVerifiers() []note.Verifier {
	var out []note.Verifier
	for _, w := range d.witnesses {
		out = append(out, w.Verifier())
	}
	return out
}

// pins are the flags that pin the deployment's chain and witnesses.
func (d *deployment) pins() []string {
	return []string{"--chain-info", d.chainFile, "--witness-key", d.witnesses[0].VerifierKey(), "--witness-key", d.witnesses[1].VerifierKey()}
}

func (d *deployment) verify(giveawayID int64, pinned bool, extra ...string) (int, string, string) {
	d.t.Helper()
	args := []string{"verify-draw", "--giveaway", fmt.Sprint(giveawayID), "--chain-info", d.chainFile}
	if pinned {
		args = append(append(args, "--log-key", d.logKey), d.pins()[2:]...)
	}
	return run(d.t, "", append(append(args, extra...), d.url())...)
}

func (d *deployment) monitor(state string) (int, string, string) {
	d.t.Helper()
	// The service serves each checkpoint a moment before the witnesses
	// cosign it.
	args := append([]string{"monitor", "--once", "--state", state, "--key", d.logKey, "--cosign-wait", "10s"}, d.pins()...)
	return run(d.t, "", append(args, d.url())...)
}

// mustMonitor runs a monitor pass that must find no fault.
func (d *deployment) mustMonitor(state string) string {
	d.t.Helper()
	code, out, errOut := d.monitor(state)
	if code != participantctl.ExitOK {
		d.t.Fatalf("monitor: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	return out
}

// entries reads the whole log from the database.
func (d *deployment) entries() []participant.LogEntry {
	d.t.Helper()
	head, err := d.db.LogHead(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	var out []participant.LogEntry
	for start := uint64(0); start < head.Size; start += participant.MaxLogEntries {
		es, err := d.db.LogEntries(context.Background(), start, min(start+participant.MaxLogEntries, head.Size))
		if err != nil {
			d.t.Fatal(err)
		}
		out = append(out, es...)
	}
	return out
}

// exec runs SQL against the service's database.
func (d *deployment) exec(query string, args ...any) {
	d.t.Helper()
	if _, err := d.db.DB().ExecContext(context.Background(), query, args...); err != nil {
		d.t.Fatalf("%s: %v", query, err)
	}
}

// rehash rewrites the stored tree, every perfect subtree and the head,
// from the entries in the database, as an operator rewriting the log
// would so that its proofs stay self-consistent.
func (d *deployment) rehash() {
	d.t.Helper()
	es := d.entries()
	r := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	type node struct {
		level uint
		index uint64
		hash  []byte
	}
	var nodes []node
	for _, e := range es {
		if err := r.Append(rfc6962.DefaultHasher.HashLeaf(e.Data), func(id compact.NodeID, h []byte) {
			nodes = append(nodes, node{id.Level, id.Index, bytes.Clone(h)})
		}); err != nil {
			d.t.Fatal(err)
		}
	}
	d.exec("DELETE FROM log_nodes")
	for _, n := range nodes {
		d.exec("INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)", n.level, int64(n.index), n.hash)
	}
	d.exec("UPDATE log_head SET size = ?, compact = ? WHERE id = 1", int64(r.End()), bytes.Join(r.Hashes(), nil))
}

// servedCheckpoint is the checkpoint the service serves.
func (d *deployment) servedCheckpoint() drawlog.Checkpoint {
	d.t.Helper()
	text, err := d.c.LogCheckpoint(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	n, err := drawlog.OpenNote(text)
	if err != nil {
		d.t.Fatal(err)
	}
	cp, err := drawlog.ParseCheckpoint(n.Text)
	if err != nil {
		d.t.Fatal(err)
	}
	return cp
}

// servedSize is the size of the checkpoint the service serves.
func (d *deployment) servedSize() uint64 { return d.servedCheckpoint().Size }

// logEntryOf returns the giveaway's last log entry of the type.
func (d *deployment) logEntryOf(giveawayID int64, typ drawlog.Type) participant.LogEntry {
	d.t.Helper()
	es, err := d.db.GiveawayLog(context.Background(), giveawayID)
	if err != nil {
		d.t.Fatal(err)
	}
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Type == typ {
			return es[i]
		}
	}
	d.t.Fatalf("giveaway %d has no %s entry", giveawayID, typ)
	return participant.LogEntry{}
}

// healthOf returns the status of one of the checks /health reports.
func (d *deployment) healthOf(check string) string {
	d.t.Helper()
	resp, err := http.Get(d.url() + "/health")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct {
		Checks map[string]struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		d.t.Fatal(err)
	}
	c, ok := h.Checks[check]
	if !ok {
		d.t.Fatalf("/health reports no %s check: %+v", check, h.Checks)
	}
	return c.Status
}

// metric returns the value of one series, written as the exposition
// format writes it (name{labels} in order), on the first instance's
// metrics endpoint.
func (d *deployment) metric(series string) float64 {
	d.t.Helper()
	resp, err := http.Get("http://" + d.services[0].MetricsAddr() + "/metrics")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				d.t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	d.t.Fatalf("the metrics have no series %s", series)
	return 0
}

// eventually retries cond every 100 ms for up to 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestV2AgainstTheService draws and redraws a v2 giveaway on the real
// service, then verifies it with participantctl: with the log key and the
// witnesses pinned it is verified and named v2; with the keys taken from
// the service it is not fully verified; and the monitor follows the log
// through the draw and through later events.
func TestV2AgainstTheService(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t, backend)
			rec := d.drawAndRedraw(5, 8, 3)
			size := d.covered()

			code, out, errOut := d.verify(5, true)
			if code != participantctl.ExitOK {
				t.Fatalf("verify-draw with pinned keys: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			for _, want := range []string{
				"verified: giveaway 5 (telegive-draw-v2), 8 entrants holding 8 tickets, 3 winners, 1 redraw round(s)\n",
				"  chain        " + d.chain.Info.HashHex() + " (not quicknet",
				"  log key      " + d.logKey + "\n",
				fmt.Sprintf("  ok  beacon_round (round %d is the first at or after frozen_at + beacon_delay %d s)\n", rec.BeaconRound, beaconDelay),
				"  ok  attestation (the freeze entry, log index 1, ",
				"  ok  log (5 log entries match the record byte for byte",
				fmt.Sprintf("  ok  log_checkpoint (the latest checkpoint, size %d, is signed by the log key; cosigned by 2 of 2 witnesses, quorum 2)\n", size),
				"  ok  log_inclusion (5 of the giveaway's log entries are in that checkpoint)\n",
				"  ok  log_consistency (2 attesting checkpoint(s) are prefixes of the latest)\n",
				fmt.Sprintf("    disqualified user %d: fraud\n", rec.Replacements[0].Disqualified[0].UserID),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("verify-draw's output lacks %q", want)
				}
			}
			// Only the entrant list is left to the auditor, as in v1.
			if strings.Count(out, "not checked") != 1 || !strings.Contains(out, "  not checked  entrants: ") || strings.Contains(out, "not pinned") {
				t.Errorf("verified, yet more than the entrant list was not checked")
			}
			if t.Failed() {
				t.Fatalf("stdout:\n%s", out)
			}
			code, out, errOut = d.verify(5, true, "--entrants", "server")
			if code != participantctl.ExitOK || strings.Contains(out, "not checked") ||
				!strings.Contains(out, "  ok  entrants (root, count and tickets of 8 entrants recomputed from the list)\n") {
				t.Fatalf("verify-draw --entrants server: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}

			code, out, errOut = d.verify(5, false)
			if code != participantctl.ExitPartial || !strings.HasPrefix(out, "NOT FULLY VERIFIED: giveaway 5 (telegive-draw-v2)") ||
				!strings.Contains(out, "  not pinned   log key "+d.logKey+" was taken from the service (/log/key)") ||
				!strings.Contains(out, "  not pinned   the service gave witness keys "+d.witnesses[0].VerifierKey()+", "+d.witnesses[1].VerifierKey()+" and quorum 2 (/log/key)") {
				t.Fatalf("verify-draw without pinned keys: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitPartial, out, errOut)
			}

			state := filepath.Join(t.TempDir(), "monitor.json")
			out = d.mustMonitor(state)
			if !strings.Contains(out, fmt.Sprintf("ok  checkpoint of size %d, root ", size)) ||
				!strings.Contains(out, "cosigned by 2 of 2 witnesses (quorum 2)") ||
				!strings.Contains(out, "records checked: giveaway 5 (telegive-draw-v2)\n") {
				t.Fatalf("monitor's first pass:\n%s", out)
			}

			// More events: another giveaway drawn. The monitor goes on
			// from its state and checks the new draw only.
			d.drawAndRedraw(6, 5, 2)
			size2 := d.covered()
			out = d.mustMonitor(state)
			if !strings.Contains(out, fmt.Sprintf("ok  checkpoint of size %d, root ", size2)) ||
				!strings.Contains(out, fmt.Sprintf("; consistent with size %d verified before", size)) ||
				!strings.Contains(out, "records checked: giveaway 6 (telegive-draw-v2)\n") {
				t.Fatalf("monitor's second pass:\n%s", out)
			}
		})
	}
}

// tampering is one way an operator with the database rewrites history.
type tampering struct {
	name string
	// do tampers with the deployment's database, in which giveaway 5
	// was drawn and redrawn: commit, freeze, draw, redraw-request and
	// redraw at log indexes 0 to 4.
	do func(d *deployment)
	// fault is the monitor's name for it, and detail how the fault's
	// reason starts.
	fault, detail string
	// fresh runs the monitor from no state: a record changed in place
	// leaves the log as it was, and a monitor that checked the record
	// before does not fetch it again until its giveaway has new entries.
	fresh bool
	// verify is the giveaway verify-draw checks afterwards, and failed
	// the check it names, or "" when the record still verifies.
	verify int64
	failed string
}

var tamperings = []tampering{
	{name: "rewritten entry", fault: "log-rewritten", detail: "the checkpoint of size ", verify: 5, failed: "log", do: func(d *deployment) {
		d.rewriteDraw(5)
	}},
	{name: "removed entries", fault: "log-shrunk", detail: "the checkpoint has ", verify: 5, failed: "log", do: func(d *deployment) {
		// Giveaway 5's redraw request and redraw are gone, and with them
		// every checkpoint that covered them.
		es := d.entries()
		keep := len(es) - 2
		d.exec("DELETE FROM log_entries WHERE idx >= ?", keep)
		d.rehash()
		d.exec("DELETE FROM log_cosignatures WHERE tree_size > ?", keep)
		d.exec("DELETE FROM log_checkpoints WHERE tree_size > ?", keep)
	}},
	// verify-draw checks the entries the record names, which are still
	// sound; only a reader of the whole log, the monitor, sees the second
	// freeze.
	{name: "second freeze", fault: "rules", detail: "giveaway 5, entry 5: rule one-freeze: ", verify: 5, do: func(d *deployment) {
		// Giveaway 5 frozen again, appended by the service's own store
		// code: the tree and the checkpoints are sound, only the rule is
		// broken.
		d.appendAgain(5, drawlog.TypeFreeze)
		d.covered()
	}},
	{name: "changed winner", fault: "record", detail: "giveaway 5: fails its proof check: ", fresh: true, verify: 5, failed: "proof", do: func(d *deployment) {
		d.changeWinner(5)
	}},
	{name: "bad beacon", fault: "beacon", detail: "giveaway 5: beacon_signature is not round ", fresh: true, verify: 5, failed: "beacon", do: func(d *deployment) {
		d.forgeBeacon(5)
	}},
	// The record gives another reason for the redraw than its
	// redraw-request entry, which the witnesses attested, does.
	{name: "record differs from its log", fault: "record", detail: "giveaway 5: fails its replacements check: round 1: request attestation: the redraw-request entry rebuilt from the record ", fresh: true, verify: 5, failed: "replacements", do: func(d *deployment) {
		d.editRecord(5, func(rec map[string]any) {
			rec["replacements"].([]any)[0].(map[string]any)["disqualified"].([]any)[0].(map[string]any)["reason"] = string(draw.ReasonDeclined)
		})
	}},
}

// rewriteDraw makes the giveaway's draw entry name other winners and
// rehashes the tree over it; then the log grows, so that the service signs
// a new checkpoint over the rewritten tree and submits it to the
// witnesses. The witnesses' cosignatures are dropped too: the service
// serves the latest checkpoint they cosigned while there is one, so only
// with none left does it serve the one it signs alone. It returns the
// size of the checkpoint served before.
func (d *deployment) rewriteDraw(giveawayID int64) uint64 {
	d.t.Helper()
	size := d.servedSize()
	e := d.logEntryOf(giveawayID, drawlog.TypeDraw)
	d.exec("UPDATE log_entries SET data = ? WHERE idx = ?", otherWinners(d.t, e.Data), int64(e.Index))
	d.rehash()
	d.exec("DELETE FROM log_cosignatures")
	d.enter(d.c, 7, 701)
	eventually(d.t, "a checkpoint over the rewritten log", func() bool { return d.servedSize() > size })
	return size
}

// otherWinners returns a draw entry with its first two winners swapped.
func otherWinners(t *testing.T, data []byte) []byte {
	t.Helper()
	e, err := drawlog.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	dr := e.(drawlog.Draw)
	dr.Winners[0], dr.Winners[1] = dr.Winners[1], dr.Winners[0]
	b, err := drawlog.Marshal(dr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// appendAgain appends a copy of the giveaway's last entry of the type,
// chained after its last entry, through the store, as the service appends.
func (d *deployment) appendAgain(giveawayID int64, typ drawlog.Type) {
	d.t.Helper()
	ctx := context.Background()
	es, err := d.db.GiveawayLog(ctx, giveawayID)
	if err != nil {
		d.t.Fatal(err)
	}
	last := es[len(es)-1].Index
	head := drawlog.Header{GiveawayID: giveawayID, Seq: uint64(len(es)), Prev: &last}
	e, err := drawlog.Parse(d.logEntryOf(giveawayID, typ).Data)
	if err != nil {
		d.t.Fatal(err)
	}
	switch f := e.(type) {
	case drawlog.Freeze:
		f.Header = head
		e = f
	default:
		d.t.Fatalf("appendAgain: %s entries are not handled", typ)
	}
	data, err := drawlog.Marshal(e)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.db.InTx(ctx, func(q participant.Queries) error {
		_, err := q.AppendLog(ctx, participant.LogAppend{GiveawayID: giveawayID, Type: typ, Seq: head.Seq, Data: data})
		return err
	}); err != nil {
		d.t.Fatal(err)
	}
}

// editRecord rewrites the giveaway's stored draw record, as JSON, in the
// database.
func (d *deployment) editRecord(giveawayID int64, edit func(rec map[string]any)) {
	d.t.Helper()
	var raw string
	if err := d.db.DB().QueryRowContext(context.Background(), "SELECT record FROM draws WHERE giveaway_id = ?", giveawayID).Scan(&raw); err != nil {
		d.t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		d.t.Fatal(err)
	}
	edit(rec)
	b, err := json.Marshal(rec)
	if err != nil {
		d.t.Fatal(err)
	}
	d.exec("UPDATE draws SET record = ? WHERE giveaway_id = ?", string(b), giveawayID)
}

// changeWinner makes the giveaway's stored record name, as its first
// winner, an entrant who did not win.
func (d *deployment) changeWinner(giveawayID int64) {
	d.t.Helper()
	var other int64
	d.editRecord(giveawayID, func(rec map[string]any) {
		other = notWon(rec, giveawayID)
		rec["winners"].([]any)[0].(map[string]any)["user_id"] = other
	})
	if got, err := d.c.Draw(context.Background(), giveawayID); err != nil || got.Winners[0].UserID != other {
		d.t.Fatalf("the service does not serve the changed record: %v %+v", err, got.Winners)
	}
}

// notWon returns the first of the giveaway's entrants (100*giveawayID+1
// on) whom the record never chose.
func notWon(rec map[string]any, giveawayID int64) int64 {
	won := map[float64]bool{}
	for _, w := range rec["winners"].([]any) {
		won[w.(map[string]any)["user_id"].(float64)] = true
	}
	for _, rd := range rec["replacements"].([]any) {
		for _, p := range rd.(map[string]any)["replacements"].([]any) {
			won[p.(map[string]any)["user_id"].(float64)] = true
		}
	}
	u := 100*giveawayID + 1
	for won[float64(u)] {
		u++
	}
	return u
}

// forgeBeacon replaces the giveaway's beacon signature with one of its
// round made by another key, as a lying relay or operator would give.
func (d *deployment) forgeBeacon(giveawayID int64) {
	d.t.Helper()
	var round uint64
	d.editRecord(giveawayID, func(rec map[string]any) {
		round = uint64(rec["beacon_round"].(float64))
		rec["beacon_signature"] = hex.EncodeToString(d.chain.SignWithOtherKey(round))
	})
	got, err := d.c.Draw(context.Background(), giveawayID)
	if err != nil || got.BeaconRound != round || bytes.Equal(got.BeaconSignature, d.chain.Sign(round)) {
		d.t.Fatalf("the service does not serve the forged beacon: %v", err)
	}
}

// TestMonitorFindsATamperedDatabase tampers with the real service's
// database after a clean monitor pass, each way an operator might rewrite
// history, and shows that the next pass exits 1 naming the fault.
func TestMonitorFindsATamperedDatabase(t *testing.T) {
	for _, backend := range testenv.Backends {
		for _, tc := range tamperings {
			t.Run(backend+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				d := newDeployment(t, backend)
				d.drawAndRedraw(5, 6, 2)
				d.covered()
				state := filepath.Join(t.TempDir(), "monitor.json")
				d.mustMonitor(state)

				tc.do(d)
				if tc.fresh {
					state = filepath.Join(t.TempDir(), "fresh.json")
				}
				var code int
				var out, errOut string
				eventually(t, "the monitor to find the fault", func() bool {
					code, out, errOut = d.monitor(state)
					return code != participantctl.ExitOK
				})
				// The fault, on one line, is the pass's last.
				if code != participantctl.ExitFailed || !strings.HasPrefix(lastLine(out), "FAULT "+tc.fault+": "+tc.detail) {
					t.Fatalf("monitor: exit %d, want %d with FAULT %s: %s\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitFailed, tc.fault, tc.detail, out, errOut)
				}

				fault := lastLine(out)
				code, out, errOut = d.verify(tc.verify, true)
				switch {
				case tc.failed == "" && (code != participantctl.ExitOK || !strings.HasPrefix(out, "verified: ")):
					t.Fatalf("verify-draw of giveaway %d: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", tc.verify, code, out, errOut)
				case tc.failed != "" && (code != participantctl.ExitFailed || !strings.HasPrefix(out, "FAILED "+tc.failed+": ") || strings.Count(out, "\n") != 1):
					t.Fatalf("verify-draw of giveaway %d: exit %d, want %d with FAILED %s on one line\nstdout:\n%s\nstderr:\n%s", tc.verify, code, participantctl.ExitFailed, tc.failed, out, errOut)
				}
				t.Logf("monitor: %s\nverify-draw: %s", fault, strings.SplitN(out, "\n", 2)[0])
			})
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestWitnessesRefuseAForkedLog rewrites a drawn giveaway's entry in the
// database and rehashes the tree, so that the service signs a checkpoint
// of a log that does not extend the one the witnesses cosigned. Both
// witnesses refuse it (the consistency proof fails, 422), keep the tree
// they cosigned, and the service serves the checkpoint with no
// cosignature; its health and metrics say the witnesses refused, and a
// monitor that never saw the log before, pinning the witnesses, rejects
// it.
func TestWitnessesRefuseAForkedLog(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t, backend)
			d.drawAndRedraw(5, 6, 2)
			size := d.covered()
			cp := d.servedCheckpoint()
			for _, w := range d.witnesses {
				if s, r := w.Latest(config.DefaultLogOrigin); s != size || r != cp.Root {
					t.Fatalf("witness %s holds size %d root %s, want the served checkpoint's %d %s", w.Name(), s, r, size, cp.Root)
				}
			}
			if got := d.healthOf("witnesses"); got != "ok" {
				t.Fatalf("witnesses' health before the fork is %q, want ok", got)
			}
			refusedBefore := d.metric(`participant_witness_requests_total{outcome="bad_proof",witness="witness.example/one"}`)

			d.rewriteDraw(5)
			forked := d.servedCheckpoint()
			for _, w := range d.witnesses {
				eventually(t, "witness "+w.Name()+" to refuse the forked checkpoint", func() bool { return refused(w, forked.Size) })
				if s, r := w.Latest(config.DefaultLogOrigin); s != size || r != cp.Root {
					t.Errorf("witness %s moved to size %d root %s after the fork, want the tree it cosigned, %d %s", w.Name(), s, r, size, cp.Root)
				}
			}
			text, err := d.c.LogCheckpoint(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n, err := drawlog.OpenNote(text)
			if err != nil {
				t.Fatal(err)
			}
			if cosigs, err := drawlog.VerifyCosignatures(n, d.witnessVerifiers(), 1); err == nil {
				t.Errorf("the forked checkpoint of size %d is served with %d cosignatures", forked.Size, len(cosigs))
			}

			eventually(t, "the witnesses' health to go down", func() bool { return d.healthOf("witnesses") == "down" })
			if got := d.metric(`participant_witness_requests_total{outcome="bad_proof",witness="witness.example/one"}`); got <= refusedBefore {
				t.Errorf("bad_proof answers of witness one: %v, want more than the %v before the fork", got, refusedBefore)
			}
			if got := d.metric(`participant_witness_cosign_total{result="short"}`); got < 1 {
				t.Errorf("checkpoints short of the quorum: %v, want at least 1", got)
			}

			code, out, errOut := d.monitor(filepath.Join(t.TempDir(), "fresh.json"))
			if code != participantctl.ExitFailed || !strings.Contains(out, fmt.Sprintf("FAULT witnesses: the checkpoint of size %d: ", forked.Size)) {
				t.Fatalf("a fresh monitor of the forked log: exit %d, want %d with FAULT witnesses\nstdout:\n%s\nstderr:\n%s", code, participantctl.ExitFailed, out, errOut)
			}
		})
	}
}

// refused reports whether the witness answered a submission of a
// checkpoint of the size with 422: its consistency proof did not verify.
func refused(w *witnesstest.Witness, size uint64) bool {
	for _, r := range w.Requests() {
		n, err := drawlog.OpenNote(r.Checkpoint)
		if err != nil {
			continue
		}
		cp, err := drawlog.ParseCheckpoint(n.Text)
		if err == nil && cp.Size == size && r.Status == http.StatusUnprocessableEntity {
			return true
		}
	}
	return false
}

// as returns the deployment reporting to t, for a subtest, calling
// instance i.
func (d *deployment) as(t *testing.T, i int) *deployment {
	c := *d
	c.t = t
	c.c = c.client(i)
	return &c
}

// seenCheckpoint is a checkpoint as one instance served it.
type seenCheckpoint struct {
	drawlog.Checkpoint
	instance int
}

// watchCheckpoints fetches every instance's checkpoint, checks its
// signature, and runs a monitor pass, every 200 ms until stopped; it
// returns the checkpoints seen and the number of monitor passes, all of
// which must find no fault.
func (d *deployment) watchCheckpoints(state string) (stop func() ([]seenCheckpoint, int)) {
	logKey, err := drawlog.NewLogVerifier(d.logKey)
	if err != nil {
		d.t.Fatal(err)
	}
	clients := make([]*client.Client, len(d.services))
	for i := range clients {
		clients[i] = d.client(i)
	}
	done, finished := make(chan struct{}), make(chan struct{})
	var seen []seenCheckpoint
	passes := 0
	go func() {
		defer close(finished)
		for {
			for i, c := range clients {
				text, err := c.LogCheckpoint(context.Background())
				if err != nil {
					d.t.Errorf("instance %d's checkpoint: %v", i, err)
					return
				}
				cp, _, err := drawlog.VerifyCheckpoint(text, logKey)
				if err != nil {
					d.t.Errorf("instance %d's checkpoint: %v\n%s", i, err, text)
					return
				}
				seen = append(seen, seenCheckpoint{cp, i})
			}
			code, out, errOut := d.monitor(state)
			if code != participantctl.ExitOK {
				d.t.Errorf("monitor pass %d during the run: exit %d\nstdout:\n%s\nstderr:\n%s", passes+1, code, out, errOut)
				return
			}
			passes++
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() ([]seenCheckpoint, int) {
		close(done)
		<-finished
		return seen, passes
	}
}

// TestCheckpointsStayConsistentThroughABusyRun draws and redraws several
// giveaways at once, through two instances on Postgres, while every
// instance's checkpoint is read and the monitor makes pass after pass:
// every pass finds no fault, and every checkpoint seen is consistent with
// every other (same root at the same size, an RFC 6962 consistency proof
// between two sizes).
func TestCheckpointsStayConsistentThroughABusyRun(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t, backend)
			if backend == "postgres" {
				d.start()
			}
			state := filepath.Join(t.TempDir(), "monitor.json")
			stop := d.watchCheckpoints(state)
			t.Run("draws", func(t *testing.T) {
				for id := int64(10); id < 14; id++ {
					t.Run(fmt.Sprint(id), func(t *testing.T) {
						t.Parallel()
						g := d.as(t, int(id)%len(d.services))
						rec := g.drawAndRedraw(id, 7, 3)
						if id == 10 {
							// A second round, on the replacement.
							g.redrawAgain(id, rec.Replacements[0].Replacements[0].UserID)
						}
					})
				}
			})
			seen, passes := stop()
			if t.Failed() {
				t.FailNow()
			}
			size := d.covered()
			out := d.mustMonitor(state)
			if !strings.Contains(out, fmt.Sprintf("ok  checkpoint of size %d, root ", size)) {
				t.Fatalf("the last monitor pass:\n%s", out)
			}
			seen = append(seen, seenCheckpoint{d.servedCheckpoint(), 0})
			sizes := map[uint64]bool{}
			for _, s := range seen {
				sizes[s.Size] = true
			}
			// 4 giveaways make 20 entries, and the second redraw 2 more.
			if size != 22 || len(sizes) < 5 || passes < 5 {
				t.Fatalf("the log has %d entries, want 22; %d checkpoint sizes seen over %d monitor passes, want at least 5 of each", size, len(sizes), passes)
			}
			d.allConsistent(seen)
			t.Logf("%d checkpoints of %d sizes seen, %d monitor passes, all consistent", len(seen), len(sizes), passes)
		})
	}
}

// redrawAgain disqualifies the user in a second redraw round.
func (d *deployment) redrawAgain(giveawayID, user int64) {
	d.t.Helper()
	ctx := context.Background()
	if _, err := d.c.Redraw(ctx, giveawayID, []int64{user}, string(draw.ReasonFraud)); err != nil {
		d.t.Fatalf("second redraw of %d: %v", giveawayID, err)
	}
	rec, err := d.c.Draw(ctx, giveawayID)
	if err != nil || len(rec.Replacements) != 2 || rec.Replacements[1].Disqualified[0].UserID != user {
		d.t.Fatalf("after the second redraw of %d: %v %+v", giveawayID, err, rec.Replacements)
	}
}

// allConsistent checks every checkpoint against every other: at the same
// size the roots are equal, and the service proves each smaller one (but
// the empty one) a prefix of each larger one.
func (d *deployment) allConsistent(seen []seenCheckpoint) {
	d.t.Helper()
	bySize := map[uint64]seenCheckpoint{}
	for _, s := range seen {
		if first, ok := bySize[s.Size]; ok && first.Root != s.Root {
			d.t.Fatalf("two checkpoints of size %d: root %s from instance %d, %s from instance %d", s.Size, first.Root, first.instance, s.Root, s.instance)
		}
		bySize[s.Size] = s
	}
	var cps []seenCheckpoint
	for _, s := range bySize {
		cps = append(cps, s)
	}
	slices.SortFunc(cps, func(a, b seenCheckpoint) int { return cmp.Compare(a.Size, b.Size) })
	for i, a := range cps {
		if a.Size == 0 {
			// The empty tree, a prefix of every other, has one root.
			if a.Root != drawlog.EmptyRoot {
				d.t.Errorf("the checkpoint of size 0 (instance %d) has root %s, not the empty tree's", a.instance, a.Root)
			}
			continue
		}
		for _, b := range cps[i+1:] {
			proof, err := d.c.LogConsistencyProof(context.Background(), a.Size, b.Size)
			if err != nil {
				d.t.Fatal(err)
			}
			if err := drawlog.VerifyConsistency(a.Size, b.Size, proof, a.Root, b.Root); err != nil {
				d.t.Errorf("the checkpoint of size %d (instance %d) is not a prefix of the one of size %d (instance %d): %v", a.Size, a.instance, b.Size, b.instance, err)
			}
		}
	}
}
