package deploytest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// The README's install and the runbook are what a new operator follows:
// these tests hold them to what the chart really renders.

// readmeInstall is the install the README's "Deploying" section shows.
type readmeInstall struct {
	namespace string
	release   string
	// secrets: the Secrets the README creates, each with its keys.
	secrets map[string][]string
	// values: the helm install command as a values set.
	values valueSet
	// template: the arguments of the README's helm template command.
	template []string
}

// section returns the part of a Markdown document under a "## " heading.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n## "+heading+"\n")
	if !ok {
		t.Fatalf("no section %q", heading)
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// shellCommands returns the commands of the ```sh blocks of a Markdown text,
// continuation lines joined and comments dropped, as words.
func shellCommands(md string) [][]string {
	var cmds [][]string
	in := false
	var cur strings.Builder
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			in = strings.TrimPrefix(line, "```") == "sh"
			continue
		}
		if !in {
			continue
		}
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		cmds = append(cmds, shellWords(cur.String()))
		cur.Reset()
	}
	return cmds
}

// shellWords splits a command line as the shell would for the plain
// commands of the docs: quotes group, nothing is expanded.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// flagValues returns the value of --name or -short in words (either "--name v" or
// "--name=v"), and every value when the flag repeats.
func flagValues(words []string, names ...string) []string {
	var out []string
	for i := 0; i < len(words); i++ {
		for _, n := range names {
			if words[i] == n && i+1 < len(words) {
				out = append(out, words[i+1])
			} else if v, ok := strings.CutPrefix(words[i], n+"="); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

func parseReadmeInstall(t *testing.T) readmeInstall {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	in := readmeInstall{secrets: map[string][]string{}}
	for _, words := range shellCommands(section(t, string(raw), "Deploying")) {
		switch {
		case len(words) > 4 && words[0] == "kubectl" && slices.Contains(words, "secret") && slices.Contains(words, "generic"):
			name := words[slices.Index(words, "generic")+1]
			for _, lit := range flagValues(words, "--from-literal") {
				key, _, _ := strings.Cut(lit, "=")
				in.secrets[name] = append(in.secrets[name], key)
			}
			for _, file := range flagValues(words, "--from-file") {
				key, _, _ := strings.Cut(file, "=")
				in.secrets[name] = append(in.secrets[name], key)
			}
		case len(words) > 3 && words[0] == "helm" && words[1] == "install":
			if words[3] != "charts/participant-service" {
				t.Fatalf("README installs %q, want the chart charts/participant-service", words[3])
			}
			in.release = words[2]
			in.namespace = strings.Join(flagValues(words, "--namespace", "-n"), ",")
			in.values = valueSet{
				name:      "readme-install",
				release:   in.release,
				namespace: in.namespace,
				sets:      flagValues(words, "--set"),
			}
			for _, f := range flagValues(words, "--values", "-f") {
				in.values.files = append(in.values.files, strings.TrimPrefix(f, "charts/participant-service/"))
			}
		case len(words) > 1 && words[0] == "helm" && words[1] == "template":
			in.template = words[2:]
		}
	}
	if in.release == "" || in.namespace == "" {
		t.Fatalf("the README's Deploying section has no `helm install <release> charts/participant-service --namespace <ns>`")
	}
	return in
}

// The README's install renders, and the Secrets it creates are the ones,
// with the keys, that the pods read.
func TestReadmeInstallMatchesChart(t *testing.T) {
	t.Parallel()
	in := parseReadmeInstall(t)
	r := rendered(t, in.values)
	pod := one[appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec
	svc := container(t, pod, "participant-service")

	for _, e := range svc.Env {
		ref := e.ValueFrom
		if ref == nil || ref.SecretKeyRef == nil {
			continue
		}
		keys, created := in.secrets[ref.SecretKeyRef.Name]
		if !created {
			t.Errorf("%s is read from the Secret %q, which the README does not create (it creates %v)", e.Name, ref.SecretKeyRef.Name, keys)
			continue
		}
		optional := ref.SecretKeyRef.Optional != nil && *ref.SecretKeyRef.Optional
		if !optional && !slices.Contains(keys, ref.SecretKeyRef.Key) {
			t.Errorf("the README's Secret %s lacks the required key %s", ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
		}
	}
	for _, want := range []string{"DATABASE_URL", "REDIS_URL"} {
		e, ok := envVar(svc, want)
		if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
			!slices.Contains(in.secrets[e.ValueFrom.SecretKeyRef.Name], e.ValueFrom.SecretKeyRef.Key) {
			t.Errorf("the README's install does not give the pods %s", want)
		}
	}

	var tokens string
	for _, v := range pod.Volumes {
		if v.Name == "service-tokens" && v.Secret != nil {
			tokens = v.Secret.SecretName
		}
	}
	if keys, ok := in.secrets[tokens]; !ok {
		t.Errorf("the tokens are mounted from the Secret %q, which the README does not create", tokens)
	} else {
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"admin", "bot", "giveaway"}) {
			t.Errorf("the README's tokens Secret has keys %v, want one per caller: admin, bot, giveaway", keys)
		}
	}

	// The helm template command next to it names the Kubernetes version, which
	// a helm built with plain `go install` would otherwise take as v1.20.
	if len(in.template) == 0 {
		t.Fatal("the README's Deploying section shows no helm template command")
	}
	if v := flagValues(in.template, "--kube-version"); len(v) != 1 {
		t.Errorf("the README's helm template command has no --kube-version: %v", in.template)
	}
}

// The runbook's names: the variables it sets and every job it queries are
// those the README's install produces.
func TestRunbookNamesMatchInstall(t *testing.T) {
	t.Parallel()
	in := parseReadmeInstall(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	runbook := string(raw)
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)(?:^|; )([A-Z]+)=([^\s;]+)`).FindAllStringSubmatch(runbook, -1) {
		if _, dup := vars[m[1]]; !dup {
			vars[m[1]] = m[2]
		}
	}
	expand := func(s string) string {
		return os.Expand(s, func(k string) string {
			if v, ok := vars[k]; ok {
				return v
			}
			t.Errorf("the runbook uses $%s without setting it", k)
			return ""
		})
	}
	for k, v := range vars {
		vars[k] = os.Expand(v, func(k string) string { return vars[k] })
	}
	if vars["NS"] != in.namespace || vars["RELEASE"] != in.release {
		t.Errorf("the runbook sets NS=%s RELEASE=%s; the README installs the release %s in %s",
			vars["NS"], vars["RELEASE"], in.release, in.namespace)
	}

	// With autoscaling too, so that the HPA the runbook names exists.
	v := in.values
	v.name += "-autoscaled"
	v.sets = append(slices.Clone(v.sets), "autoscaling.enabled=true")
	r := rendered(t, v)
	d := one[appsv1.Deployment](t, r, "Deployment")
	if vars["APP"] != d.Name {
		t.Errorf("the runbook's APP is %q; the install names the Deployment %q", vars["APP"], d.Name)
	}

	// kubectl references to objects: kind/$NAME or kind $NAME.
	kinds := map[string]string{"deploy": "Deployment", "svc": "Service", "hpa": "HorizontalPodAutoscaler",
		"servicemonitor": "ServiceMonitor", "job": "Job", "prometheusrule": "PrometheusRule", "configmap": "ConfigMap"}
	refs := regexp.MustCompile(`\b(deploy|svc|hpa|servicemonitor|job|prometheusrule|configmap)[/ ](\$[A-Z]+[a-z-]*)`)
	found := 0
	for _, m := range refs.FindAllStringSubmatch(runbook, -1) {
		name := expand(m[2])
		found++
		exists := false
		for _, o := range r.byKind(kinds[m[1]]) {
			exists = exists || o.name == name
		}
		if !exists {
			t.Errorf("the runbook's %s names a %s %q, which the install does not create", m[0], kinds[m[1]], name)
		}
	}
	if found < 5 {
		t.Errorf("found only %d object references in the runbook: has its format changed?", found)
	}

	// Label selectors select the API pods.
	sels := regexp.MustCompile(`-l ([\w$./=,-]+)`).FindAllStringSubmatch(runbook, -1)
	if len(sels) == 0 {
		t.Error("the runbook selects no pods by label")
	}
	for _, m := range sels {
		for _, kv := range strings.Split(expand(m[1]), ",") {
			k, val, _ := strings.Cut(kv, "=")
			if got, ok := d.Spec.Template.Labels[k]; !ok || got != val {
				t.Errorf("the runbook's selector %s: the API pods have %s=%q", m[0], k, got)
			}
		}
	}

	// helm commands take the release.
	for _, m := range regexp.MustCompile(`helm -n \$NS (\w+) (\$[A-Z]+)`).FindAllStringSubmatch(runbook, -1) {
		if got := expand(m[2]); got != in.release {
			t.Errorf("the runbook's %q names %q, not the release %q", m[0], got, in.release)
		}
	}

	// Every PromQL job is the one the ServiceMonitor sets.
	sm := one[monitoringv1.ServiceMonitor](t, r, "ServiceMonitor")
	job := ""
	for _, rc := range sm.Spec.Endpoints[0].RelabelConfigs {
		if rc.TargetLabel == "job" && rc.Replacement != nil {
			job = *rc.Replacement
		}
	}
	jobs := regexp.MustCompile(`job="([^"]*)"`).FindAllStringSubmatch(runbook, -1)
	if len(jobs) < 10 {
		t.Errorf("found only %d job selectors in the runbook: has its format changed?", len(jobs))
	}
	for _, m := range jobs {
		if m[1] != job {
			t.Errorf("the runbook queries job=%q; the install's ServiceMonitor sets job=%q", m[1], job)
			break
		}
	}
	if !strings.Contains(runbook, "`"+job+"`") {
		t.Errorf("the runbook never names the job %s as such", job)
	}

	// The Service the port-forward uses has the API port the curl calls.
	for _, o := range r.byKind("Service") {
		s := o.obj.(*corev1.Service)
		if s.Name == d.Name && !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == apiPort }) {
			t.Errorf("the Service %s has no port %d", s.Name, apiPort)
		}
	}
}
