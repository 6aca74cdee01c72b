package deploytest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
)

// The alerts the checklist asks for, with their default severity.
var requiredAlerts = map[string]string{
	"ParticipantServiceDown":                  "critical",
	"ParticipantServiceDatabaseDown":          "critical",
	"ParticipantServiceHighErrorRate":         "critical",
	"ParticipantServiceLatencyCritical":       "critical",
	"ParticipantServiceLatencyHigh":           "warning",
	"ParticipantServiceUpstreamUnavailable":   "warning",
	"ParticipantServiceMemoryHigh":            "warning",
	"ParticipantServiceDatabasePoolExhausted": "warning",
	"ParticipantServiceReadReplicaUnusable":   "warning",
	"ParticipantServiceTrafficAboveLastWeek":  "warning",
	"ParticipantServiceTrafficBelowLastWeek":  "warning",
	"ParticipantServiceTrafficSpike":          "warning",
	"ParticipantServiceCaptchaCompletionLow":  "warning",
	"ParticipantServiceBeaconFetchFailing":    "warning",
	"ParticipantServiceDrawWaitingTooLong":    "critical",
	"ParticipantServiceWitnessUnavailable":    "warning",
	"ParticipantServiceWitnessQuorumMissed":   "warning",
	"ParticipantServiceDrawUnattested":        "warning",
	"ParticipantServiceLogCheckpointStale":    "warning",
}

const runbookBase = "https://github.com/telegive/participant-service/blob/main/docs/runbook.md"

func alertRules(t *testing.T, r *render) map[string]monitoringv1.Rule {
	t.Helper()
	pr := one[monitoringv1.PrometheusRule](t, r, "PrometheusRule")
	rules := map[string]monitoringv1.Rule{}
	for _, g := range pr.Spec.Groups {
		for _, rule := range g.Rules {
			if rule.Alert == "" {
				continue
			}
			if _, dup := rules[rule.Alert]; dup {
				t.Errorf("alert %s defined twice", rule.Alert)
			}
			rules[rule.Alert] = rule
		}
	}
	return rules
}

func TestPrometheusRuleAlerts(t *testing.T) {
	t.Parallel()
	anchors := runbookAnchors(t)
	known := documentedMetrics(t)
	for _, v := range []valueSet{defaultValues, productionValues} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			rules := alertRules(t, rendered(t, v))
			for name, severity := range requiredAlerts {
				rule, ok := rules[name]
				if !ok {
					t.Errorf("alert %s missing", name)
					continue
				}
				if rule.For == nil || *rule.For == "" || *rule.For == "0" {
					t.Errorf("%s: no `for`", name)
				}
				if rule.Labels["severity"] != severity {
					t.Errorf("%s: severity %q, want %q", name, rule.Labels["severity"], severity)
				}
				for _, a := range []string{"summary", "description", "runbook_url"} {
					if strings.TrimSpace(rule.Annotations[a]) == "" {
						t.Errorf("%s: annotation %s empty", name, a)
					}
				}
				base, anchor, _ := strings.Cut(rule.Annotations["runbook_url"], "#")
				if base != runbookBase {
					t.Errorf("%s: runbook_url base %q, want %q", name, base, runbookBase)
				}
				if !anchors[anchor] {
					t.Errorf("%s: runbook_url anchor #%s is not a heading of docs/runbook.md", name, anchor)
				}
				expr := rule.Expr.String()
				if !strings.Contains(expr, `job="`+metricsJob+`"`) {
					t.Errorf("%s: does not select job %q: %s", name, metricsJob, expr)
				}
				for _, m := range metricNames(expr) {
					if !known(m) {
						t.Errorf("%s uses %s, which docs/metrics.md does not list", name, m)
					}
				}
			}
			for name := range rules {
				if _, ok := requiredAlerts[name]; !ok {
					t.Errorf("alert %s is not in requiredAlerts: add it there, to the runbook and to the unit tests", name)
				}
			}
			if v.name == "production" {
				for name, rule := range rules {
					if rule.Labels["team"] != "telegive" {
						t.Errorf("%s: additionalLabels not applied: %v", name, rule.Labels)
					}
				}
			}
		})
	}
}

// Thresholds, windows, durations and severities are values.
func TestAlertThresholdsAreValues(t *testing.T) {
	t.Parallel()
	p := "metrics.prometheusRule.alerts."
	r := rendered(t, valueSet{name: "custom-thresholds",
		sets: []string{
			p + "highErrorRate.for=7m", p + "highErrorRate.severity=warning", p + "captchaCompletionLow.window=1h",
			p + "trafficSpike.factor=5", p + "databasePoolExhausted.enabled=false",
			"metrics.prometheusRule.runbookBaseUrl=https://wiki.example.com/runbook",
		},
		setJSON: []string{p + "highErrorRate.threshold=0.1", p + "latencyHigh.threshold=0.8", p + "memoryHigh.threshold=0.9"},
	})
	rules := alertRules(t, r)
	checks := []struct{ alert, want string }{
		{"ParticipantServiceHighErrorRate", "> 0.1)"},
		{"ParticipantServiceLatencyHigh", "> 0.8 and"},
		{"ParticipantServiceMemoryHigh", "> 0.9"},
		{"ParticipantServiceCaptchaCompletionLow", "[1h]"},
		{"ParticipantServiceTrafficSpike", "> 5)"},
	}
	for _, c := range checks {
		rule := rules[c.alert]
		if expr := rule.Expr.String(); !strings.Contains(expr, c.want) {
			t.Errorf("%s: %q not in %s", c.alert, c.want, expr)
		}
	}
	e := rules["ParticipantServiceHighErrorRate"]
	if e.For == nil || string(*e.For) != "7m" || e.Labels["severity"] != "warning" {
		t.Errorf("for/severity not taken from values: %v %v", deref(e.For), e.Labels)
	}
	if _, ok := rules["ParticipantServiceDatabasePoolExhausted"]; ok {
		t.Error("a disabled alert is rendered")
	}
	if u := rules["ParticipantServiceDown"].Annotations["runbook_url"]; u != "https://wiki.example.com/runbook#participantservicedown" {
		t.Errorf("runbook_url %q", u)
	}
}

// runbookAnchors returns the GitHub anchors of docs/runbook.md's headings.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		anchors[githubAnchor(strings.TrimLeft(line, "#"))] = true
	}
	return anchors
}

// githubAnchor is GitHub's heading slug: lower case, punctuation dropped,
// spaces to hyphens.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// documentedMetrics reads the metric names of docs/metrics.md (the contract
// with the code) and returns a predicate for names a query may use: those,
// their histogram series, and up, process_* and go_*.
func documentedMetrics(t *testing.T) func(string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile("`(participant_[a-z0-9_]+)`").FindAllStringSubmatch(string(b), -1) {
		names[m[1]] = true
	}
	if len(names) < 10 {
		t.Fatalf("found only %d metric names in docs/metrics.md", len(names))
	}
	return func(m string) bool {
		if m == "up" || strings.HasPrefix(m, "process_") || strings.HasPrefix(m, "go_") {
			return true
		}
		if names[m] {
			return true
		}
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if base, ok := strings.CutSuffix(m, suffix); ok && names[base] {
				return true
			}
		}
		return false
	}
}

var (
	quoted     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	identifier = regexp.MustCompile(`\b(participant_[a-z0-9_]+|process_[a-z0-9_]+|go_[a-z0-9_]+|up)\b`)
)

// metricNames lists the metric-like identifiers of a PromQL expression
// (string literals removed, so label values do not count).
func metricNames(expr string) []string {
	var out []string
	for _, m := range identifier.FindAllString(quoted.ReplaceAllString(expr, `""`), -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// checkDashboard: a datasource variable and no hard-coded datasource, the
// checklist's panels, and only documented metrics.
func checkDashboard(t *testing.T, dash map[string]any) {
	t.Helper()
	templating, _ := dash["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	hasDS := false
	for _, v := range list {
		if m, _ := v.(map[string]any); m["type"] == "datasource" && m["name"] == "datasource" && m["query"] == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		t.Error("no `datasource` template variable of type datasource (prometheus)")
	}

	known := documentedMetrics(t)
	var titles []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ds, ok := x["datasource"]; ok {
				switch d := ds.(type) {
				case string:
					if d != "${datasource}" && d != "$datasource" {
						t.Errorf("%s: hard-coded datasource %q", path, d)
					}
				case map[string]any:
					uid, _ := d["uid"].(string)
					if uid != "${datasource}" && uid != "$datasource" && uid != "-- Grafana --" {
						t.Errorf("%s: hard-coded datasource uid %q", path, uid)
					}
				}
			}
			if title, ok := x["title"].(string); ok && x["type"] != nil {
				titles = append(titles, title)
			}
			if expr, ok := x["expr"].(string); ok {
				for _, m := range metricNames(expr) {
					if !known(m) {
						t.Errorf("%s: %s is not in docs/metrics.md", path, m)
					}
				}
			}
			for k, c := range x {
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range x {
				walk(path+"["+strconv.Itoa(i)+"]", c)
			}
		}
	}
	walk("dashboard", dash)

	for _, want := range []string{
		"Request rate", "Latency", "Error rate", "DB pool use", "Redis errors", "Memory vs limit", "CPU",
		"Registrations per hour", "Captcha completion rate", "Draws", "Draw duration",
		"Dependency availability", "Circuit breakers", "Rate-limited", "Auth failures",
	} {
		if !slices.ContainsFunc(titles, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("no panel titled %q…", want)
		}
	}
}

// The dashboard in the chart is files/dashboard.json verbatim, so it can be
// edited in Grafana, exported and dropped in.
func TestDashboardFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(chartDir(t), "files", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := rendered(t, defaultValues)
	for _, o := range r.byKind("ConfigMap") {
		cm := o.obj.(*corev1.ConfigMap)
		if cm.Labels["grafana_dashboard"] == "" {
			continue
		}
		if got := cm.Data["participant-service.json"]; strings.TrimSpace(got) != strings.TrimSpace(string(b)) {
			t.Error("the dashboard ConfigMap differs from files/dashboard.json")
		}
		return
	}
	t.Fatal("no dashboard ConfigMap")
}
