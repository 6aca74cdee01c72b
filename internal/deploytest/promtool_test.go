package deploytest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// writeRulesFile writes the PrometheusRule's spec (a Prometheus rules file:
// `groups:`) of a render to a temporary file.
func writeRulesFile(t *testing.T, r *render) string {
	t.Helper()
	pr := one[monitoringv1.PrometheusRule](t, r, "PrometheusRule")
	b, err := yaml.Marshal(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPromtoolCheckRules(t *testing.T) {
	t.Parallel()
	promtool := tool(t, "promtool")
	for _, v := range []valueSet{defaultValues, productionValues} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			rules := writeRulesFile(t, rendered(t, v))
			out := mustRun(t, filepath.Dir(rules), promtool, "check", "rules", rules)
			if !strings.Contains(out, fmt.Sprintf("SUCCESS: %d rules found", len(requiredAlerts))) {
				t.Errorf("promtool check rules:\n%s", out)
			}
		})
	}
}

// unitTestFiles lists charts/participant-service/tests/*.yaml.
func unitTestFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir(t), "tests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool unit tests in charts/participant-service/tests: %v", err)
	}
	return files
}

// withRuleFile rewrites a unit test file's top-level rule_files list to the
// extracted rules file, keeping everything else byte for byte.
func withRuleFile(t *testing.T, src []byte, rules string) []byte {
	t.Helper()
	lines := strings.Split(string(src), "\n")
	start := slices.Index(lines, "rule_files:")
	if start < 0 {
		t.Fatal("no top-level `rule_files:` line")
	}
	end := start + 1
	for end < len(lines) && strings.HasPrefix(lines[end], "  -") {
		end++
	}
	out := slices.Concat(lines[:start], []string{"rule_files:", "  - " + rules}, lines[end:])
	return []byte(strings.Join(out, "\n"))
}

// The promtool unit tests of the default rules: every alert fires just over
// its default threshold and stays silent just below it.
func TestPromtoolUnitTests(t *testing.T) {
	t.Parallel()
	promtool := tool(t, "promtool")
	rules := writeRulesFile(t, rendered(t, defaultValues))
	for _, file := range unitTestFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			test := filepath.Join(t.TempDir(), filepath.Base(file))
			if err := os.WriteFile(test, withRuleFile(t, src, rules), 0o644); err != nil {
				t.Fatal(err)
			}
			out := mustRun(t, filepath.Dir(test), promtool, "test", "rules", test)
			if !strings.Contains(out, "SUCCESS") {
				t.Errorf("promtool test rules:\n%s", out)
			}
		})
	}
}

// promtool's unit test file format, as far as coverage needs it.
type unitTests struct {
	Tests []struct {
		Name          string `json:"name"`
		AlertRuleTest []struct {
			Alertname string           `json:"alertname"`
			ExpAlerts []map[string]any `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// Every alert has a unit test where it fires and one where it stays silent.
func TestEveryAlertIsUnitTested(t *testing.T) {
	t.Parallel()
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, file := range unitTestFiles(t) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// Lenient: the struct holds only the fields coverage needs;
		// promtool itself checks the whole format.
		var u unitTests
		if err := yaml.Unmarshal(b, &u); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, tc := range u.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					silent[a.Alertname] = true
				}
				if _, ok := requiredAlerts[a.Alertname]; !ok {
					t.Errorf("%s: test %q checks unknown alert %s", filepath.Base(file), tc.Name, a.Alertname)
				}
			}
		}
	}
	for name := range requiredAlerts {
		if !fires[name] {
			t.Errorf("%s: no unit test shows it firing", name)
		}
		if !silent[name] {
			t.Errorf("%s: no unit test shows it silent", name)
		}
	}
}
