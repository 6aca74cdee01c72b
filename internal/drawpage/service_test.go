package drawpage_test

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite" // the service's embedded database, opened here to tamper with a record

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/api"
	"github.com/telegive/participant-service/pkg/beacon"
	"github.com/telegive/participant-service/pkg/draw"
)

// Giveaways and users seeded through the API. The user ids are above 2^32,
// as real Telegram ids are, so that 32-bit arithmetic anywhere would show.
const (
	drawnGiveaway     = 4201
	committedGiveaway = 4202
	missingGiveaway   = 4203
	bigIDGiveaway     = 4204
	firstUserID       = 6_000_000_000
	userIDStep        = 104_729
	entrantCount      = 12
	winnerCount       = 3
	unknownUserID     = 999_999_999
)

// The telegive-draw-v2 giveaways: one drawn and redrawn as it is, and two
// whose stored records are then tampered with, one in the beacon
// signature and one in the freeze's log proof.
const (
	v2Giveaway         = 4301
	v2BeaconGiveaway   = 4302
	v2LogProofGiveaway = 4303
	v2FirstUserID      = 7_000_000_000
	v2Entrants         = 10
	v2Winners          = 3
	// v2MaxTickets is v2Giveaway's rules' max_tickets; its entrants
	// hold one ticket each all the same.
	v2MaxTickets = 3
)

// The test chain's beacon delay and the witnesses' timeout: the service
// accepts a delay of at least the timeout + 3 s, since a cosignature
// counts only 3 s before the round. Four seconds for the witnesses to
// cosign keeps a freeze witnessed on a busy machine, where a second was
// seen not to be enough.
const (
	v2BeaconDelay    = 7
	v2WitnessTimeout = 4
)

// The API takes any int64 user id; these two lose their low bits as
// JavaScript numbers (2^53 + 1 and 2^63 - 1), so the page must read them
// exactly.
var bigUserIDs = []int64{9_007_199_254_740_993, 9_223_372_036_854_775_807}

// realService is the service as the browser tests see it.
type realService struct {
	// url is the service itself; pinnedURL and unpinnedURL are the test
	// deployments in front of it (see pinsProxy).
	url, pinnedURL, unpinnedURL string
	v1                          seededDraw
	v2                          seededV2
	chain                       beacon.Chain
	logKey                      string
	witnesses                   []string
}

// startRealService runs the service as a deployment that switched from
// telegive-draw-v1 to telegive-draw-v2 would: first on v1, where it draws
// the v1 giveaways, then, on the same database and log key, on v2 with a
// stand-in drand chain of a 1 s period, two stand-in witnesses (quorum 2)
// and LOG_SIGNING_KEY, where it draws the v2 giveaways. The v1 records
// stay v1, as every record ever published must keep verifying.
func startRealService(t *testing.T) realService {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, config.DefaultLogOrigin)
	if err != nil {
		t.Fatal(err)
	}
	db := testenv.SQLitePath(t)
	common := []string{"SQLITE_PATH=" + db, "LOG_SIGNING_KEY=" + skey, "LOG_CHECKPOINT_INTERVAL=1"}

	v1 := testenv.StartService(t, append(common, "DRAW_PROTOCOL=v1")...)
	out := realService{v1: seedGiveaways(t, v1.URL), logKey: vkey}
	if err := v1.Stop(); err != nil {
		t.Fatalf("stop the v1 service: %v", err)
	}

	chain := drandtest.NewChain(t, time.Second, time.Now().Add(-time.Hour))
	relay := chain.Relay(t, drandtest.Live)
	w1 := witnesstest.New(t, "witness.example/one", config.DefaultLogOrigin, vkey)
	w2 := witnesstest.New(t, "witness.example/two", config.DefaultLogOrigin, vkey)
	out.chain, out.witnesses = chain.Info, []string{w1.VerifierKey(), w2.VerifierKey()}
	svc := testenv.StartService(t, append(common,
		"DRAW_PROTOCOL=v2", "BEACON_CHAIN_HASH="+chain.Info.HashHex(), "BEACON_RELAYS="+relay.URL, fmt.Sprintf("BEACON_DELAY=%d", v2BeaconDelay),
		"WITNESS_URLS="+w1.URL()+","+w2.URL(), "WITNESS_KEYS="+w1.VerifierKey()+","+w2.VerifierKey(), "WITNESS_QUORUM=2",
		fmt.Sprintf("WITNESS_TIMEOUT=%d", v2WitnessTimeout))...)
	out.url = svc.URL
	out.v2 = seedV2(t, svc.URL+"/api/participants")
	tamperStored(t, db, chain)

	pins, err := os.ReadFile("static/pins.js")
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(svc.URL)
	if err != nil {
		t.Fatal(err)
	}
	out.pinnedURL = pinsProxy(t, target, testPins(t, string(pins), chain.Info, &pinnedLog{vkey, out.witnesses, 2}))
	out.unpinnedURL = pinsProxy(t, target, testPins(t, string(pins), chain.Info, nil))
	return out
}

// pinnedLog is a draw log's keys as a deployment pins them in pins.js.
type pinnedLog struct {
	VerifierKey string   `json:"verifierKey"`
	Witnesses   []string `json:"witnesses"`
	Quorum      int      `json:"quorum"`
}

// The lines of static/pins.js that a deployment edits to pin its chain
// and its log's keys.
const (
	pinsChainsLine = "export const PINNED_CHAINS = Object.freeze([QUICKNET]);"
	pinsLogsLine   = "export const PINNED_LOGS = Object.freeze([]);"
)

// testPins is static/pins.js as a test deployment commits it: the test
// chain pinned besides quicknet, and, when log is not nil, the log's and
// witnesses' keys.
func testPins(t *testing.T, pins string, c beacon.Chain, log *pinnedLog) string {
	t.Helper()
	chain := fmt.Sprintf("Object.freeze({\n  name: %q,\n  network: 'a stand-in drand network of the tests',\n  hash: %q,\n  publicKey: %q,\n"+
		"  genesisTime: %dn,\n  period: %dn,\n  groupHash: %q,\n  beaconId: %q,\n  scheme: %q,\n})",
		c.BeaconID, c.HashHex(), hex.EncodeToString(c.PublicKey), c.GenesisTime, int64(c.Period/time.Second),
		hex.EncodeToString(c.GroupHash), c.BeaconID, c.Scheme)
	out := strings.Replace(pins, pinsChainsLine, "export const PINNED_CHAINS = Object.freeze([QUICKNET, "+chain+"]);", 1)
	if out == pins {
		t.Fatalf("static/pins.js has no line %q", pinsChainsLine)
	}
	if log != nil {
		entry, err := json.Marshal(log)
		if err != nil {
			t.Fatal(err)
		}
		with := strings.Replace(out, pinsLogsLine, "export const PINNED_LOGS = Object.freeze(["+string(entry)+"]);", 1)
		if with == out {
			t.Fatalf("static/pins.js has no line %q", pinsLogsLine)
		}
		out = with
	}
	return out
}

// pinsProxy starts a test deployment of the service: everything is the
// service's own, through a reverse proxy, but /draws/assets/pins.js,
// which is pins, as the deployment's own pins.js would be. A test pins
// its chain this way, in a file the deployment serves, never in anything
// a link could carry.
func pinsProxy(t *testing.T, service *url.URL, pins string) string {
	t.Helper()
	proxy := httputil.NewSingleHostReverseProxy(service)
	mux := http.NewServeMux()
	mux.Handle("/", proxy)
	mux.HandleFunc("GET /draws/assets/pins.js", func(w http.ResponseWriter, r *http.Request) {
		// The service's own headers for its assets, CSP included.
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			http.Error(w, "pins.js: the service answered "+strconv.Itoa(rec.Code), http.StatusBadGateway)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.Header().Del("Last-Modified")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(pins))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

type seededDraw struct {
	winner, loser, disqualified int64
	bigWinner, bigLoser         int64
}

// seedGiveaways enters entrantCount users in drawnGiveaway, draws
// winnerCount winners, disqualifies the first in a redraw round, and enters
// one user in committedGiveaway, which is left undrawn. In bigIDGiveaway
// the two bigUserIDs enter and one of them wins.
func seedGiveaways(t *testing.T, base string) seededDraw {
	t.Helper()
	api := base + "/api/participants"
	seeded := seedDrawn(t, api)
	seeded.bigWinner, seeded.bigLoser = seedBigIDs(t, api)
	return seeded
}

// seedBigIDs enters bigUserIDs in bigIDGiveaway and draws one winner; it
// returns the winner and the other entrant.
func seedBigIDs(t *testing.T, api string) (winner, loser int64) {
	t.Helper()
	for _, u := range bigUserIDs {
		enter(t, api, bigIDGiveaway, u)
	}
	var drawn struct {
		Winners []struct {
			UserID int64 `json:"user_id"`
		} `json:"winners"`
	}
	call(t, "POST", fmt.Sprintf("%s/%d/select-winners", api, bigIDGiveaway), map[string]any{"winner_count": 1}, &drawn)
	if len(drawn.Winners) != 1 {
		t.Fatalf("select-winners: %d winners, want 1", len(drawn.Winners))
	}
	winner = drawn.Winners[0].UserID
	for _, u := range bigUserIDs {
		if u != winner {
			return winner, u
		}
	}
	t.Fatalf("winner %d is not one of the entrants %v", winner, bigUserIDs)
	return 0, 0
}

// seedDrawn seeds drawnGiveaway and committedGiveaway.
func seedDrawn(t *testing.T, api string) seededDraw {
	t.Helper()
	users := make([]int64, entrantCount)
	for i := range users {
		users[i] = firstUserID + int64(i)*userIDStep
		enter(t, api, drawnGiveaway, users[i])
	}
	enter(t, api, committedGiveaway, users[0])

	var drawn struct {
		Winners []struct {
			UserID int64 `json:"user_id"`
		} `json:"winners"`
	}
	call(t, "POST", fmt.Sprintf("%s/%d/select-winners", api, drawnGiveaway), map[string]any{"winner_count": winnerCount}, &drawn)
	if len(drawn.Winners) != winnerCount {
		t.Fatalf("select-winners: %d winners, want %d", len(drawn.Winners), winnerCount)
	}
	out := drawn.Winners[0].UserID
	var redrawn struct {
		Replacements []struct {
			UserID int64 `json:"user_id"`
		} `json:"replacements"`
	}
	call(t, "POST", fmt.Sprintf("%s/%d/redraw", api, drawnGiveaway),
		map[string]any{"disqualified_user_ids": []int64{out}, "reason": "left the channel"}, &redrawn)
	if len(redrawn.Replacements) != 1 {
		t.Fatalf("redraw: %d replacements, want 1", len(redrawn.Replacements))
	}

	won := map[int64]bool{out: true, redrawn.Replacements[0].UserID: true}
	for _, w := range drawn.Winners {
		won[w.UserID] = true
	}
	for _, u := range users {
		if !won[u] {
			return seededDraw{winner: redrawn.Replacements[0].UserID, loser: u, disqualified: out}
		}
	}
	t.Fatal("every entrant won; no loser to test with")
	return seededDraw{}
}

// seededV2 names the users of v2Giveaway.
type seededV2 struct {
	// winner won in the initial draw and kept the position; replacement
	// won in redraw round 1 in place of disqualified; loser never won.
	winner, replacement, disqualified, loser int64
}

// seedV2 enters v2Entrants users in each v2 giveaway and draws them at
// once (each draw waits for its own beacon round); then it disqualifies
// v2Giveaway's first winner as not subscribed, which waits for another
// round.
func seedV2(t *testing.T, base string) seededV2 {
	t.Helper()
	giveaways := []int64{v2Giveaway, v2BeaconGiveaway, v2LogProofGiveaway}
	// v2Giveaway commits to rules of its own, which the page checks
	// against the record's rules_sha256; the others commit to none.
	var rules api.RulesResponse
	call(t, "PUT", fmt.Sprintf("%s/%d/rules", base, v2Giveaway), map[string]any{"max_tickets": v2MaxTickets, "min_account_age_days": 0}, &rules)
	if !rules.Custom || len(rules.RulesSHA256) != 64 {
		t.Fatalf("PUT rules: %+v", rules)
	}
	for _, g := range giveaways {
		for i := range int64(v2Entrants) {
			enter(t, base, g, v2FirstUserID+(g-v2Giveaway)*1_000_000+i*userIDStep)
		}
	}
	drawn := make([]api.Selection, len(giveaways))
	var wg sync.WaitGroup
	errs := make([]error, len(giveaways))
	for i, g := range giveaways {
		wg.Go(func() {
			errs[i] = post(fmt.Sprintf("%s/%d/select-winners", base, g), map[string]any{"winner_count": v2Winners}, &drawn[i])
		})
	}
	wg.Wait()
	for i, g := range giveaways {
		if errs[i] != nil {
			t.Fatalf("select-winners of giveaway %d: %v", g, errs[i])
		}
		d := drawn[i]
		if d.Protocol != draw.VersionV2 || !d.PublicRandomness || d.Draw.Status != draw.StatusDrawn || len(d.Draw.Winners) != v2Winners ||
			!d.Draw.FreezeAttested || d.Draw.FreezeAttestation == nil || len(d.Draw.BeaconSignature) != 48 {
			t.Fatalf("giveaway %d is not a witnessed v2 draw of %d winners: %+v", g, v2Winners, d)
		}
	}
	main := drawn[0].Draw
	out := seededV2{disqualified: main.Winners[0].UserID, winner: main.Winners[1].UserID}
	var redrawn api.RedrawResult
	call(t, "POST", fmt.Sprintf("%s/%d/redraw", base, v2Giveaway),
		map[string]any{"disqualified": []map[string]any{{"user_id": out.disqualified, "reason": draw.ReasonNotSubscribed}}}, &redrawn)
	rd := redrawn.Draw.Replacements
	if len(rd) != 1 || len(rd[0].Replacements) != 1 || rd[0].Replacements[0].Empty() || rd[0].RequestAttestation == nil {
		t.Fatalf("redraw: want one attested round with one replacement: %+v", redrawn)
	}
	out.replacement = rd[0].Replacements[0].UserID
	// The rules ask for the winners to be re-checked at the draw (their
	// default), which select-winners did for the initial winners; calling
	// it again checks the operator's replacement too, so the page sees a
	// complete re-check.
	var again api.Selection
	if err := post(fmt.Sprintf("%s/%d/select-winners", base, v2Giveaway), map[string]any{"winner_count": v2Winners}, &again); err != nil {
		t.Fatalf("select-winners after the redraw: %v", err)
	}
	final := []int64{out.replacement}
	for _, w := range main.Winners[1:] {
		final = append(final, w.UserID)
	}
	if rc := again.Recheck; rc == nil || rc.Status != draw.RecheckComplete || len(rc.Unchecked) != 0 || len(rc.Disqualified) != 0 ||
		!slices.Equal(rc.Final, final) {
		t.Fatalf("the re-check after the redraw: %+v, want complete with final winners %v", rc, final)
	}
	won := map[int64]bool{out.replacement: true}
	for _, w := range main.Winners {
		won[w.UserID] = true
	}
	for i := range int64(v2Entrants) {
		if u := v2FirstUserID + i*userIDStep; !won[u] {
			out.loser = u
			return out
		}
	}
	t.Fatal("every v2 entrant won; no loser to test with")
	return out
}

// tamperStored rewrites two stored v2 records in the database, as someone
// with the database could: v2BeaconGiveaway's beacon signature becomes the
// chain's genuine signature of the next round (randomness the operator
// would have chosen by waiting a round), and the first hash of
// v2LogProofGiveaway's freeze log proof gets one bit flipped. The service
// serves what it stores.
func tamperStored(t *testing.T, path string, chain *drandtest.Chain) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	edit := func(giveaway int64, change func(*draw.Record)) {
		var raw string
		if err := db.QueryRow("SELECT record FROM draws WHERE giveaway_id = ?", giveaway).Scan(&raw); err != nil {
			t.Fatalf("read the record of giveaway %d: %v", giveaway, err)
		}
		var rec draw.Record
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			t.Fatal(err)
		}
		change(&rec)
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE draws SET record = ? WHERE giveaway_id = ?", string(b), giveaway); err != nil {
			t.Fatalf("tamper with the record of giveaway %d: %v", giveaway, err)
		}
	}
	edit(v2BeaconGiveaway, func(r *draw.Record) { r.BeaconSignature = chain.Sign(r.BeaconRound + 1) })
	edit(v2LogProofGiveaway, func(r *draw.Record) {
		if len(r.FreezeAttestation.AuditPath) == 0 {
			t.Fatalf("giveaway %d's freeze has an empty log proof, nothing to tamper with", v2LogProofGiveaway)
		}
		r.FreezeAttestation.AuditPath[0][0] ^= 1
	})
}

// enter registers a user, solving the captcha when it is their first time.
func enter(t *testing.T, api string, giveaway, user int64) {
	t.Helper()
	var reg struct {
		RequiresCaptcha bool   `json:"requires_captcha"`
		CaptchaQuestion string `json:"captcha_question"`
	}
	call(t, "POST", api+"/register", map[string]any{"giveaway_id": giveaway, "user_id": user}, &reg)
	if !reg.RequiresCaptcha {
		return
	}
	var solved struct {
		CaptchaCompleted bool `json:"captcha_completed"`
	}
	call(t, "POST", api+"/validate-captcha",
		map[string]any{"giveaway_id": giveaway, "user_id": user, "answer": testenv.SolveCaptcha(t, reg.CaptchaQuestion)}, &solved)
	if !solved.CaptchaCompleted {
		t.Fatalf("captcha %q not accepted for user %d", reg.CaptchaQuestion, user)
	}
}

// call sends a JSON request and decodes a successful answer into out.
func call(t *testing.T, method, url string, body, out any) {
	t.Helper()
	if err := send(method, url, body, out); err != nil {
		t.Fatal(err)
	}
}

// post is call's POST, safe to use from any goroutine.
func post(url string, body, out any) error { return send("POST", url, body, out) }

func send(method, url string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return fmt.Errorf("%s %s: %d, unreadable answer: %v", method, url, resp.StatusCode, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: %v in %s", method, url, err, raw)
	}
	return nil
}
