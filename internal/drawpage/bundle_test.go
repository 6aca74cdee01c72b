package drawpage_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telegive/participant-service/internal/drawpage"
)

// The committed bundle of @noble/curves and how it is rebuilt.
const (
	bundleDir     = "bundle"
	bundleFile    = "static/noble-curves.js"
	esbuildMarker = "bundle/node_modules/esbuild/package.json"
)

// TestNobleBundleIsReproducible rebuilds static/noble-curves.js from the
// versions bundle/package-lock.json pins (installed by .ci/install-browser
// with npm ci --ignore-scripts) into a temporary file and requires the
// committed file to be byte for byte the same: the page's only third-party
// code is then exactly what the lockfile names, and nobody edited it.
func TestNobleBundleIsReproducible(t *testing.T) {
	node, err := exec.LookPath("node")
	var missing []string
	if err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(esbuildMarker); err != nil {
		missing = append(missing, "internal/drawpage/"+filepath.Dir(esbuildMarker))
	}
	if len(missing) > 0 {
		msg := "bundle tools missing: " + strings.Join(missing, ", ") + " (run .ci/install-browser)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out := filepath.Join(t.TempDir(), "noble-curves.js")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "build.mjs", out)
	cmd.Dir = bundleDir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, b)
	}
	rebuilt, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(bundleFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rebuilt, committed) {
		t.Fatalf("%s (%d bytes) is not what bundle/ builds from its lockfile (%d bytes): run `npm ci --ignore-scripts && npm run build` in internal/drawpage/bundle and commit the result",
			bundleFile, len(committed), len(rebuilt))
	}
	// The banner names what went in; the lockfile pins the same.
	lock, err := os.ReadFile(filepath.Join(bundleDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"node_modules/@noble/curves": {
      "version": "2.4.0"`, `"node_modules/esbuild": {
      "version": "0.28.2"`} {
		if !bytes.Contains(lock, []byte(want)) {
			t.Errorf("package-lock.json lacks %s", want)
		}
	}
	if !bytes.HasPrefix(committed, []byte("// @noble/curves 2.4.0 (bls12-381, ed25519) with @noble/hashes 2.4.0, bundled by esbuild 0.28.2.")) {
		t.Errorf("%s does not start with its banner: %.120q", bundleFile, committed)
	}
}

// TestScriptsServedUnderTheCSP checks that the page's scripts, the bundle
// among them, are served from this origin as JavaScript with the page's
// Content-Security-Policy, which allows no other script source.
func TestScriptsServedUnderTheCSP(t *testing.T) {
	h := drawpage.Handler(http.NotFoundHandler())
	for _, name := range []string{"noble-curves.js", "verify2.js", "rules.js", "pins.js", "verify.js", "app.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/draws/assets/"+name, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", name, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", name, csp)
		}
	}
	page := httptest.NewRecorder()
	h.ServeHTTP(page, httptest.NewRequest("GET", "/draws/42", nil))
	body := page.Body.String()
	if strings.Contains(body, "<script>") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("the page has an inline script or a foreign address:\n%s", body)
	}
}
