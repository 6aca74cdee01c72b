package drawpage_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The browser test's tools, installed by .ci/install-browser.
const (
	chromiumPath   = "/usr/bin/chromium"
	nodeTestDir    = "test"
	playwrightPath = "test/node_modules/playwright-core/package.json"
	minNodeMajor   = 20
)

// TestDrawPageInBrowser drives the draw page in headless Chromium, after
// checking the page's verifiers against the protocol's test vectors
// (test/vectors.test.mjs, test/vectors-v2.test.mjs) and its rules module
// against the service's own rules bytes (test/rules.test.mjs). The page runs against
// the real service (startRealService), which drew v1 giveaways before it
// switched to telegive-draw-v2 and v2 giveaways after, on a stand-in drand
// chain with stand-in witnesses: test/browser.test.mjs checks the v1
// draws, test/browser-service-v2.test.mjs the v2 ones. A stand-in server
// with the v2 vectors' records as its API (startV2Fixtures) covers, in
// test/browser-v2.test.mjs, what the service's draws do not. Screenshots
// go to test-artifacts/browser at the repository root.
func TestDrawPageInBrowser(t *testing.T) {
	node := requireBrowserTools(t)
	svc := startRealService(t)
	fixtures := startV2Fixtures(t)

	artifacts, err := filepath.Abs(filepath.Join("..", "..", "test-artifacts", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}

	// The run takes a few minutes at most; the limit only stops a hung browser.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "--test-concurrency=1",
		"vectors.test.mjs", "vectors-v2.test.mjs", "rules.test.mjs", "browser.test.mjs", "browser-v2.test.mjs", "browser-service-v2.test.mjs")
	cmd.Dir = nodeTestDir
	cmd.Env = append(os.Environ(),
		"DRAW_BASE_URL="+svc.url,
		fmt.Sprintf("DRAW_GIVEAWAY_ID=%d", drawnGiveaway),
		fmt.Sprintf("DRAW_COMMITTED_GIVEAWAY_ID=%d", committedGiveaway),
		fmt.Sprintf("DRAW_MISSING_GIVEAWAY_ID=%d", missingGiveaway),
		fmt.Sprintf("DRAW_WINNER_ID=%d", svc.v1.winner),
		fmt.Sprintf("DRAW_LOSER_ID=%d", svc.v1.loser),
		fmt.Sprintf("DRAW_DISQUALIFIED_ID=%d", svc.v1.disqualified),
		fmt.Sprintf("DRAW_UNKNOWN_USER_ID=%d", unknownUserID),
		fmt.Sprintf("DRAW_BIG_GIVEAWAY_ID=%d", bigIDGiveaway),
		fmt.Sprintf("DRAW_BIG_WINNER_ID=%d", svc.v1.bigWinner),
		fmt.Sprintf("DRAW_BIG_LOSER_ID=%d", svc.v1.bigLoser),
		"DRAW_V2_SERVICE_URL="+svc.pinnedURL,
		"DRAW_V2_UNPINNED_URL="+svc.unpinnedURL,
		fmt.Sprintf("DRAW_V2_GIVEAWAY_ID=%d", v2Giveaway),
		fmt.Sprintf("DRAW_V2_BEACON_TAMPERED_ID=%d", v2BeaconGiveaway),
		fmt.Sprintf("DRAW_V2_LOG_PROOF_TAMPERED_ID=%d", v2LogProofGiveaway),
		fmt.Sprintf("DRAW_V2_WINNER_ID=%d", svc.v2.winner),
		fmt.Sprintf("DRAW_V2_REPLACEMENT_ID=%d", svc.v2.replacement),
		fmt.Sprintf("DRAW_V2_DISQUALIFIED_ID=%d", svc.v2.disqualified),
		fmt.Sprintf("DRAW_V2_LOSER_ID=%d", svc.v2.loser),
		"DRAW_V2_CHAIN_NAME="+svc.chain.BeaconID,
		"DRAW_V2_CHAIN_HASH="+svc.chain.HashHex(),
		fmt.Sprintf("DRAW_V2_CHAIN_GENESIS=%d", svc.chain.GenesisTime),
		fmt.Sprintf("DRAW_V2_BEACON_DELAY=%d", v2BeaconDelay),
		"DRAW_V2_LOG_KEY="+svc.logKey,
		"DRAW_V2_WITNESS_KEYS="+strings.Join(svc.witnesses, ","),
		"DRAW_V2_BASE_URL="+fixtures,
		"DRAW_ARTIFACTS_DIR="+artifacts,
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
