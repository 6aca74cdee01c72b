package deploytest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// kubeconform validates the renders against the Kubernetes JSON schemas
// (strict: unknown fields fail). It fetches the schemas over the network,
// into a cache that makes later runs offline; where they cannot be fetched
// (no network, as on the CI machine of this repository) the test skips
// with the reason, since the strict typed decoding above already covers
// unknown fields. KUBECONFORM_SCHEMA_LOCATION may name a local mirror.
// The prometheus-operator kinds have no schema there and are skipped
// (-ignore-missing-schemas); they are decoded into their Go types above.
func TestKubeconform(t *testing.T) {
	t.Parallel()
	kubeconform := tool(t, "kubeconform")
	cache := filepath.Join(os.TempDir(), "deploytest-kubeconform-cache")
	if dir, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(dir, "kubeconform")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	// The schemas of the newest Kubernetes ("master", kubeconform's default):
	// a pinned version may be missing from the schema repository, and every
	// object would then be skipped as schema-less.
	baseArgs := []string{"-strict", "-summary", "-ignore-missing-schemas", "-output", "json", "-cache", cache}
	if loc := os.Getenv("KUBECONFORM_SCHEMA_LOCATION"); loc != "" {
		baseArgs = append(baseArgs, "-schema-location", loc)
	}
	// One small probe first: without network each kind costs kubeconform
	// three seconds of retries, so find out once.
	probe := filepath.Join(t.TempDir(), "probe.yaml")
	if err := os.WriteFile(probe, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := run(filepath.Dir(probe), kubeconform, append(baseArgs, probe)...); strings.Contains(out, "failed downloading schema") {
		t.Skip("kubeconform cannot download the Kubernetes schemas (no network?); " +
			"set KUBECONFORM_SCHEMA_LOCATION to a local mirror to run it offline")
	}
	for _, v := range []valueSet{defaultValues, productionValues, otelSidecarValues, scaleOutValues} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), v.name+".yaml")
			if err := os.WriteFile(file, []byte(rendered(t, v).raw), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, err := run(filepath.Dir(file), kubeconform, append(slices.Clone(baseArgs), file)...)
			var res struct {
				Resources []struct {
					Kind, Name, Status, Msg string
				} `json:"resources"`
				Summary struct {
					Valid, Invalid, Errors, Skipped int
				} `json:"summary"`
			}
			if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
				t.Fatalf("kubeconform: %v (%v)\n%s\n%s", err, jerr, out, errOut)
			}
			unreachable := 0
			for _, r := range res.Resources {
				if r.Status == "statusError" && strings.Contains(r.Msg, "failed downloading schema") {
					unreachable++
					continue
				}
				if r.Status == "statusInvalid" || r.Status == "statusError" {
					t.Errorf("%s %s: %s", r.Kind, r.Name, r.Msg)
				}
			}
			if unreachable > 0 && !t.Failed() {
				t.Skipf("kubeconform could not download the schemas of %d objects (no network?); "+
					"set KUBECONFORM_SCHEMA_LOCATION to a local mirror to run it offline", unreachable)
			}
			if res.Summary.Valid == 0 {
				t.Errorf("kubeconform validated nothing: %+v", res.Summary)
			}
			t.Logf("kubeconform: %+v", res.Summary)
		})
	}
}
