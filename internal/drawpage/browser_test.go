package drawpage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/testenv"
)

// The browser test's tools, installed by .ci/install-browser.
const (
	chromiumPath   = "/usr/bin/chromium"
	nodeTestDir    = "test"
	playwrightPath = "test/node_modules/playwright-core/package.json"
	minNodeMajor   = 20
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

// The API takes any int64 user id; these two lose their low bits as
// JavaScript numbers (2^53 + 1 and 2^63 - 1), so the page must read them
// exactly.
var bigUserIDs = []int64{9_007_199_254_740_993, 9_223_372_036_854_775_807}

// TestDrawPageInBrowser runs the real service and drives the draw page in
// headless Chromium (test/browser.test.mjs), after checking the page's
// verifiers against the protocol's test vectors (test/vectors.test.mjs,
// test/vectors-v2.test.mjs). The v2 page runs against a stand-in server
// (test/browser-v2.test.mjs): the real page handler with the v2 vectors'
// records, proofs and log keys as its API, until the service serves v2.
// Screenshots go to test-artifacts/browser at the repository root.
func TestDrawPageInBrowser(t *testing.T) {
	node := requireBrowserTools(t)
	base := testenv.StartService(t).URL
	seeded := seedGiveaways(t, base)
	v2 := startV2Fixtures(t)

	artifacts, err := filepath.Abs(filepath.Join("..", "..", "test-artifacts", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	// The run takes well under a minute; the limit only stops a hung browser.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "vectors.test.mjs", "vectors-v2.test.mjs", "browser.test.mjs", "browser-v2.test.mjs")
	cmd.Dir = nodeTestDir
	cmd.Env = append(os.Environ(),
		"DRAW_BASE_URL="+base,
		fmt.Sprintf("DRAW_GIVEAWAY_ID=%d", drawnGiveaway),
		fmt.Sprintf("DRAW_COMMITTED_GIVEAWAY_ID=%d", committedGiveaway),
		fmt.Sprintf("DRAW_MISSING_GIVEAWAY_ID=%d", missingGiveaway),
		fmt.Sprintf("DRAW_WINNER_ID=%d", seeded.winner),
		fmt.Sprintf("DRAW_LOSER_ID=%d", seeded.loser),
		fmt.Sprintf("DRAW_DISQUALIFIED_ID=%d", seeded.disqualified),
		fmt.Sprintf("DRAW_UNKNOWN_USER_ID=%d", unknownUserID),
		fmt.Sprintf("DRAW_BIG_GIVEAWAY_ID=%d", bigIDGiveaway),
		fmt.Sprintf("DRAW_BIG_WINNER_ID=%d", seeded.bigWinner),
		fmt.Sprintf("DRAW_BIG_LOSER_ID=%d", seeded.bigLoser),
		"DRAW_ARTIFACTS_DIR="+artifacts,
		"DRAW_V2_BASE_URL="+v2,
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node --test (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	if ctx.Err() != nil {
		t.Fatalf("node --test did not finish in time")
	}
	if err != nil {
		t.Fatalf("node --test failed: %v", err)
	}
	t.Logf("screenshots in %s", artifacts)
}

// requireBrowserTools returns the node binary, or skips the test naming
// what is missing; with CI=true a missing tool fails it instead, so that CI
// cannot pass without running the browser.
func requireBrowserTools(t *testing.T) string {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node")
	} else if major, err := nodeMajor(node); err != nil || major < minNodeMajor {
		missing = append(missing, fmt.Sprintf("Node.js %d or newer (%s: %d, %v)", minNodeMajor, node, major, err))
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath)
	}
	if _, err := os.Stat(playwrightPath); err != nil {
		missing = append(missing, "internal/drawpage/"+filepath.Dir(playwrightPath))
	}
	if len(missing) > 0 {
		msg := "browser test tools missing: " + strings.Join(missing, ", ") + " (run .ci/install-browser)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

func nodeMajor(node string) (int, error) {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return 0, err
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".")
	return strconv.Atoi(major)
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
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("%s %s: %d, unreadable answer: %v", method, url, resp.StatusCode, err)
	}
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("%s %s: %v in %s", method, url, err, raw)
	}
}
