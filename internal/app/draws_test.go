package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/telegive/participant-service/internal/app"
	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/drand/drandtest"
	"github.com/telegive/participant-service/internal/testenv"
	"github.com/telegive/participant-service/internal/witness/witnesstest"
	"github.com/telegive/participant-service/pkg/draw"
	"github.com/telegive/participant-service/pkg/drawlog"
)

// backends are the databases the app tests run on: the embedded SQLite
// database, and a Postgres schema of its own.
func backends(t *testing.T) map[string]func() []string {
	return map[string]func() []string{
		"sqlite":   func() []string { return nil },
		"postgres": func() []string { return []string{"DATABASE_URL=" + testenv.PostgresSchema(t)} },
	}
}

// call sends a JSON request and decodes the JSON answer.
func call(t *testing.T, method, url string, body any) (int, http.Header, map[string]any, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m, raw
}

// enter registers a user through the captcha.
func enter(t *testing.T, base string, giveawayID, userID int64) {
	t.Helper()
	status, _, m, raw := call(t, "POST", base+"/api/participants/register", map[string]any{"giveaway_id": giveawayID, "user_id": userID})
	if status == http.StatusCreated {
		return
	}
	if status != http.StatusOK || m["requires_captcha"] != true {
		t.Fatalf("register %d: %d %s", userID, status, raw)
	}
	status, _, m, raw = call(t, "POST", base+"/api/participants/validate-captcha", map[string]any{"giveaway_id": giveawayID, "user_id": userID,
		"answer": testenv.SolveCaptcha(t, m["captcha_question"].(string))})
	if status != http.StatusOK || m["captcha_completed"] != true {
		t.Fatalf("captcha of %d: %d %s", userID, status, raw)
	}
}

func drawOf(t *testing.T, raw []byte) draw.Record {
	t.Helper()
	var b struct {
		Draw draw.Record `json:"draw"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("undecodable draw: %v: %s", err, raw)
	}
	return b.Draw
}

// TestEmbeddedDefaultDrawsV1WithAWarning: with no configuration and no
// relay within reach, DRAW_PROTOCOL=auto starts quickly, says loudly that
// draws trust the operator's seed, and registers and draws as v1; the
// answer, the record, /health and the metrics all say v1 and no public
// randomness.
func TestEmbeddedDefaultDrawsV1WithAWarning(t *testing.T) {
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logs := &testenv.Logs{}
			start := time.Now()
			// The service's default protocol (test services start on v1
			// otherwise) and relays, but unreachable: no test depends on
			// the network.
			a := testenv.StartServiceWithLogs(t, logs, append(env(), "DRAW_PROTOCOL=auto", "BEACON_RELAYS=http://127.0.0.1:1,http://127.0.0.1:2")...)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("start-up took %v with unreachable relays", took)
			}
			if !strings.Contains(logs.String(), "DRAW_PROTOCOL=auto chose telegive-draw-v1") ||
				!strings.Contains(logs.String(), "not from public randomness") || !strings.Contains(logs.String(), "Set DRAW_PROTOCOL=v2") {
				t.Fatalf("no warning that draws trust the operator's seed:\n%s", logs.String())
			}
			enter(t, a.URL, 5, 501)
			enter(t, a.URL, 5, 502)
			status, _, m, raw := call(t, "POST", a.URL+"/api/participants/5/select-winners", map[string]any{"winner_count": 1})
			if status != http.StatusOK || m["protocol"] != draw.Version || m["public_randomness"] != false || m["selection_method"] != draw.Version {
				t.Fatalf("select-winners: %d %s", status, raw)
			}
			if rec := drawOf(t, raw); rec.Version != draw.Version || rec.Status != draw.StatusDrawn || draw.Verify(rec, draw.VerifyOptions{}) != nil {
				t.Fatalf("record: %s", raw)
			}
			_, _, h, raw := call(t, "GET", a.URL+"/health", nil)
			beacon, _ := h["checks"].(map[string]any)["drand_beacon"].(map[string]any)
			details, _ := beacon["details"].(map[string]any)
			if details["protocol"] != config.ProtocolV1 || details["public_randomness"] != false || details["draw_version"] != draw.Version {
				t.Fatalf("/health: %s", raw)
			}
			metrics := scrapeText(t, "http://"+a.MetricsAddr()+"/metrics")
			if !strings.Contains(metrics, `participant_draw_protocol_info{protocol="v1",public_randomness="false"} 1`) {
				t.Fatalf("no protocol metric:\n%s", grep(metrics, "draw_protocol"))
			}
		})
	}
}

// TestV2FromConfiguration: a deployment configured for v2 on another chain
// (resolved from its relay), with witnesses and a signing key, answers
// BEACON_UNAVAILABLE within BEACON_WAIT while its relay is down, although
// DRAW_TIMEOUT is minutes, and the background loop then draws on the
// frozen round; the record verifies with the pinned keys, the log's
// checkpoint is cosigned, and /health shows the relay and the witnesses.
func TestV2FromConfiguration(t *testing.T) {
	for name, env := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			chain := drandtest.NewChain(t, time.Second, time.Now().Add(-time.Hour))
			relay := chain.Relay(t, drandtest.Live)
			skey, vkey, err := note.GenerateKey(rand.Reader, config.DefaultLogOrigin)
			if err != nil {
				t.Fatal(err)
			}
			w1 := witnesstest.New(t, "witness.example/one", config.DefaultLogOrigin, vkey)
			w2 := witnesstest.New(t, "witness.example/two", config.DefaultLogOrigin, vkey)
			logs := &testenv.Logs{}
			a := testenv.StartServiceWithLogs(t, logs, append(env(),
				"DRAW_PROTOCOL=v2", "BEACON_CHAIN_HASH="+chain.Info.HashHex(), "BEACON_RELAYS="+relay.URL, "BEACON_DELAY=6",
				"BEACON_TIMEOUT=1", "BEACON_WAIT=9", "UPSTREAM_BREAKER_OPEN=1",
				"WITNESS_URLS="+w1.URL()+","+w2.URL(), "WITNESS_KEYS="+w1.VerifierKey()+","+w2.VerifierKey(), "WITNESS_TIMEOUT=1",
				"LOG_SIGNING_KEY="+skey, "LOG_CHECKPOINT_INTERVAL=1")...)
			for u := int64(1); u <= 4; u++ {
				enter(t, a.URL, 9, u)
			}
			relay.SetAvailable(false)
			start := time.Now()
			status, header, m, raw := call(t, "POST", a.URL+"/api/participants/9/select-winners", map[string]any{"winner_count": 2})
			took := time.Since(start)
			if status != http.StatusServiceUnavailable || m["error_code"] != "BEACON_UNAVAILABLE" || header.Get("Retry-After") == "" {
				t.Fatalf("with the relay down: %d %v %s", status, header, raw)
			}
			if took > 10*time.Second {
				t.Fatalf("BEACON_UNAVAILABLE after %v, past BEACON_WAIT (9s)", took)
			}
			_, _, _, raw = call(t, "GET", a.URL+"/api/participants/9/draw", nil)
			frozen := drawOf(t, raw)
			if frozen.Status != draw.StatusFrozen {
				t.Fatalf("frozen draw: %s\n%s", raw, logs.String())
			}
			_, _, h, hraw := call(t, "GET", a.URL+"/health", nil)
			checks := h["checks"].(map[string]any)
			beacon := checks["drand_beacon"].(map[string]any)["details"].(map[string]any)
			if beacon["protocol"] != config.ProtocolV2 || beacon["chain_hash"] != chain.Info.HashHex() || beacon["relays"].(map[string]any)[relay.URL] == nil {
				t.Fatalf("/health drand_beacon: %s", hraw)
			}
			if ws := checks["witnesses"].(map[string]any); ws["status"] != "ok" {
				t.Fatalf("/health witnesses: %s", hraw)
			}

			// Back up: the background loop draws on the frozen round.
			relay.SetAvailable(true)
			var rec draw.Record
			deadline := time.Now().Add(20 * time.Second)
			for {
				_, _, _, raw = call(t, "GET", a.URL+"/api/participants/9/draw", nil)
				if rec = drawOf(t, raw); rec.Status == draw.StatusDrawn {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("never drawn after the relay came back: %s\n%s", raw, logs.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
			if rec.BeaconRound != frozen.BeaconRound || len(rec.Winners) != 2 || !rec.FreezeAttested {
				t.Fatalf("drawn on round %d, frozen on %d: %s", rec.BeaconRound, frozen.BeaconRound, raw)
			}
			logKey, err := drawlog.NewLogVerifier(vkey)
			if err != nil {
				t.Fatal(err)
			}
			opts := draw.VerifyOptions{Chain: &chain.Info, LogKey: logKey, Witnesses: []note.Verifier{w1.Verifier(), w2.Verifier()},
				LogEntries: logEntries(t, a.URL)}
			if err := draw.Verify(rec, opts); err != nil {
				t.Fatalf("the record does not verify: %v\n%s", err, raw)
			}
			// The checkpoint loop keeps the served checkpoint covering the
			// whole log, cosigned.
			deadline = time.Now().Add(10 * time.Second)
			for {
				_, _, _, cp := call(t, "GET", a.URL+"/api/participants/log/checkpoint", nil)
				c, n, err := drawlog.VerifyCheckpoint(string(cp), logKey)
				if err != nil {
					t.Fatalf("checkpoint: %v\n%s", err, cp)
				}
				_, cosErr := drawlog.VerifyCosignatures(n, opts.Witnesses, 2)
				if c.Size == uint64(len(opts.LogEntries)) && cosErr == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the checkpoint (size %d, %v) never covered the log's %d entries with cosignatures", c.Size, cosErr, len(opts.LogEntries))
				}
				time.Sleep(200 * time.Millisecond)
			}
			metrics := scrapeText(t, "http://"+a.MetricsAddr()+"/metrics")
			if strings.Contains(metrics, `participant_draw_attestations_total{kind="freeze",result="attested"} 0`) {
				t.Errorf("no attested freeze counted:\n%s", grep(metrics, "attestations"))
			}
			for _, want := range []string{
				`participant_draw_protocol_info{protocol="v2",public_randomness="true"} 1`,
				`participant_draw_attestations_total{kind="freeze",result="unattested"} 0`,
				`participant_beacon_fetch_attempts_total{outcome="error",relay="` + relay.URL + `"}`,
				`participant_log_checkpoint_age_seconds 0`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("metrics lack %s:\n%s", want, grep(metrics, "participant_"))
				}
			}
		})
	}
}

// logEntries reads the whole draw log.
func logEntries(t *testing.T, base string) map[uint64][]byte {
	t.Helper()
	out := map[uint64][]byte{}
	_, _, m, raw := call(t, "GET", base+"/api/participants/log/entries?start=0&end=1000", nil)
	list, ok := m["entries"].([]any)
	if !ok {
		t.Fatalf("entries: %s", raw)
	}
	for _, e := range list {
		em := e.(map[string]any)
		data, err := base64.StdEncoding.DecodeString(em["data"].(string))
		if err != nil {
			t.Fatal(err)
		}
		out[uint64(em["index"].(float64))] = data
	}
	return out
}

func scrapeText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// grep returns the lines of s that contain sub.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestLogKeygen: log-keygen prints a signing key that LOG_SIGNING_KEY
// takes, and its verifier key; the origin names both.
func TestLogKeygen(t *testing.T) {
	for _, c := range []struct {
		args   []string
		origin string
	}{
		{nil, config.DefaultLogOrigin},
		{[]string{"--origin", "example.org/log"}, "example.org/log"},
	} {
		var out, errs bytes.Buffer
		if err := app.Run(context.Background(), append([]string{"participant-service", "log-keygen"}, c.args...), nil, &out, &errs); err != nil {
			t.Fatalf("%v: %v (%s)", c.args, err, errs.String())
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "PRIVATE+KEY+"+c.origin+"+") || !strings.HasPrefix(lines[1], c.origin+"+") {
			t.Fatalf("%v printed %q", c.args, out.String())
		}
		cfg, err := config.Load([]string{"LOG_SIGNING_KEY=" + lines[0], "LOG_ORIGIN=" + c.origin})
		if err != nil {
			t.Fatalf("LOG_SIGNING_KEY refuses the printed key: %v", err)
		}
		if cfg.Draws.LogVerifierKey() != lines[1] {
			t.Fatalf("the verifier key printed is not the signing key's: %q, %q", lines[1], cfg.Draws.LogVerifierKey())
		}
	}
	for _, args := range [][]string{{"--origin", "a b"}, {"--origin", "a+b"}, {"extra"}, {"--bits", "4096"}} {
		err := app.Run(context.Background(), append([]string{"participant-service", "log-keygen"}, args...), nil, io.Discard, io.Discard)
		if !errors.Is(err, app.ErrUsage) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}
