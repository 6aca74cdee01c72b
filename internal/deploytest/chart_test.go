package deploytest_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Ports and paths the service uses (README): the chart must agree.
const (
	apiPort     = 8004
	metricsPort = 9090
	livePath    = "/health/live"
	readyPath   = "/health/ready"
	// SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT: the grace period must exceed it.
	shutdownSeconds = 5 + 20
)

func TestHelmLintStrict(t *testing.T) {
	t.Parallel()
	helm := tool(t, "helm")
	for _, v := range []valueSet{defaultValues, productionValues, devValues, otelSidecarValues, scaleOutValues} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"lint", ".", "--strict", "--kube-version", kubeVersion, "--namespace", namespace}, v.args()...)
			out := mustRun(t, chartDir(t), helm, args...)
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Fatalf("helm lint:\n%s", out)
			}
		})
	}
}

// Every object of every render decodes strictly into its Go type (done by
// rendered) and the set of kinds is the expected one.
func TestRenderKinds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		values valueSet
		want   []string
	}{
		{defaultValues, []string{"ConfigMap", "ConfigMap", "Deployment", "Job", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"}},
		{productionValues, []string{"ConfigMap", "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "Job", "NetworkPolicy", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"}},
		{devValues, []string{"ConfigMap", "Deployment", "Job", "Secret", "Secret", "Service", "ServiceAccount"}},
		{singleReplica, []string{"ConfigMap", "ConfigMap", "Deployment", "Job", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"}},
		{otelSidecarValues, []string{"ConfigMap", "ConfigMap", "Deployment", "Job", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"}},
		{scaleOutValues, []string{"ConfigMap", "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Job", "NetworkPolicy", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceAccount", "ServiceMonitor"}},
	}
	for _, c := range cases {
		t.Run(c.values.name, func(t *testing.T) {
			t.Parallel()
			r := rendered(t, c.values)
			var got []string
			for _, o := range r.objects {
				got = append(got, o.kind)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("kinds: got %v, want %v", got, c.want)
			}
		})
	}
}

// The strict decoder refuses what the API server would drop or refuse.
func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"unknown field":  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {portz: []}\n",
		"duplicate key":  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n",
		"unknown kind":   "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"wrong version":  "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n",
		"CRD field typo": "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec: {groups: [{name: g, rules: [{alert: A, expr: up, fro: 5m}]}]}\n",
	} {
		if _, err := decodeStream(doc); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func container(t *testing.T, spec corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

func envVar(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func checkProbe(t *testing.T, what string, p *corev1.Probe, path, port string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Fatalf("%s probe: missing or not an HTTP GET", what)
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s probe path %q, want %q", what, p.HTTPGet.Path, path)
	}
	if p.HTTPGet.Port != intstr.FromString(port) {
		t.Errorf("%s probe port %v, want the named port %s", what, p.HTTPGet.Port.String(), port)
	}
	if p.PeriodSeconds <= 0 || p.FailureThreshold <= 0 || p.TimeoutSeconds <= 0 {
		t.Errorf("%s probe timings unset: %+v", what, p)
	}
}

func checkSecurity(t *testing.T, what string, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	t.Helper()
	if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", what)
	}
	if pod != nil && (pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		t.Errorf("%s: pod seccompProfile is not RuntimeDefault", what)
	}
	if c == nil {
		t.Fatalf("%s: container has no securityContext", what)
	}
	if c.RunAsNonRoot == nil || !*c.RunAsNonRoot || c.RunAsUser == nil || *c.RunAsUser == 0 {
		t.Errorf("%s: container may run as root", what)
	}
	if c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem {
		t.Errorf("%s: root filesystem is not read-only", what)
	}
	if c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation {
		t.Errorf("%s: privilege escalation allowed", what)
	}
	if c.Capabilities == nil || !slices.Contains(c.Capabilities.Drop, "ALL") || len(c.Capabilities.Add) != 0 {
		t.Errorf("%s: capabilities not dropped: %+v", what, c.Capabilities)
	}
}

// checkSecretEnv: DATABASE_URL (required) and the optional secrets come from
// secretKeyRef of the named Secret, never as plain values.
func checkSecretEnv(t *testing.T, what string, c corev1.Container, secret string) {
	t.Helper()
	for _, name := range []string{"DATABASE_URL", "REDIS_URL", "AUTH_SERVICE_TOKEN"} {
		e, ok := envVar(c, name)
		if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: %s is not read from a Secret: %+v", what, name, e)
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if ref.Name != secret || ref.Key != name {
			t.Errorf("%s: %s from %s/%s, want %s/%s", what, name, ref.Name, ref.Key, secret, name)
		}
		optional := ref.Optional != nil && *ref.Optional
		if optional != (name != "DATABASE_URL") {
			t.Errorf("%s: %s optional=%v", what, name, optional)
		}
	}
}

func TestDeployment(t *testing.T) {
	t.Parallel()
	cases := []struct {
		values         valueSet
		replicas       *int32 // nil: autoscaled
		secret, tokens string
	}{
		{defaultValues, ptr(int32(2)), "participant-service", "participant-service-tokens"},
		{productionValues, nil, "participant-service-env", "participant-service-tokens"},
		{devValues, ptr(int32(1)), "participant-service", "participant-service-tokens"},
	}
	for _, tc := range cases {
		t.Run(tc.values.name, func(t *testing.T) {
			t.Parallel()
			r := rendered(t, tc.values)
			d := one[appsv1.Deployment](t, r, "Deployment")
			if (d.Spec.Replicas == nil) != (tc.replicas == nil) || (tc.replicas != nil && *d.Spec.Replicas != *tc.replicas) {
				t.Errorf("replicas %v, want %v", deref(d.Spec.Replicas), deref(tc.replicas))
			}
			pod := d.Spec.Template.Spec
			if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds <= shutdownSeconds {
				t.Errorf("terminationGracePeriodSeconds %v must exceed SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT (%d s)",
					deref(pod.TerminationGracePeriodSeconds), shutdownSeconds)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Error("the service account token is mounted; the service never calls the API")
			}
			c := container(t, pod, "participant-service")
			if !slices.Equal(c.Args, []string{"serve"}) {
				t.Errorf("args %v, want [serve]", c.Args)
			}
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			if ports["http"] != apiPort || ports["metrics"] != metricsPort {
				t.Errorf("container ports %v, want http %d and metrics %d", ports, apiPort, metricsPort)
			}
			// The metrics port: it serves the health endpoints too, and
			// its connections never wait behind the API's bound.
			checkProbe(t, "startup", c.StartupProbe, livePath, "metrics")
			checkProbe(t, "liveness", c.LivenessProbe, livePath, "metrics")
			checkProbe(t, "readiness", c.ReadinessProbe, readyPath, "metrics")
			checkSecurity(t, "service", pod.SecurityContext, c.SecurityContext)

			if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
				t.Error("no memory limit (the memory alert compares against it)")
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[res]; !ok {
					t.Errorf("no %s request", res)
				}
			}

			want := map[string]string{"SERVICE_PORT": "8004", "METRICS_PORT": "9090", "ENABLE_METRICS": "true",
				"MIGRATE_ON_START": "false", "SERVICE_TOKENS_FILE": "/var/run/secrets/telegive/service-tokens"}
			for name, value := range want {
				if e, ok := envVar(c, name); !ok || e.Value != value {
					t.Errorf("env %s = %q, want %q", name, e.Value, value)
				}
			}
			checkSecretEnv(t, "service", c, tc.secret)
			if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil || c.EnvFrom[0].ConfigMapRef.Name != "participant-service" {
				t.Errorf("envFrom %+v, want the ConfigMap participant-service", c.EnvFrom)
			}

			// Writable /tmp and the tokens directory, nothing else.
			vols := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				vols[v.Name] = v
			}
			mounts := map[string]corev1.VolumeMount{}
			for _, m := range c.VolumeMounts {
				mounts[m.Name] = m
			}
			if v := vols["tmp"]; v.EmptyDir == nil || mounts["tmp"].MountPath != "/tmp" {
				t.Errorf("no emptyDir on /tmp: %+v %+v", v, mounts["tmp"])
			}
			if v := vols["service-tokens"]; v.Secret == nil || v.Secret.SecretName != tc.tokens {
				t.Errorf("tokens volume %+v, want Secret %s", v, tc.tokens)
			}
			if m := mounts["service-tokens"]; m.MountPath != "/var/run/secrets/telegive/service-tokens" || !m.ReadOnly {
				t.Errorf("tokens mount %+v", m)
			}

			sel := d.Spec.Selector.MatchLabels
			for k, v := range sel {
				if d.Spec.Template.Labels[k] != v {
					t.Errorf("pod template lacks selector label %s=%s", k, v)
				}
			}
			if tc.values.name != "dev" {
				if len(pod.TopologySpreadConstraints) == 0 {
					t.Fatal("no topology spread constraints")
				}
				for _, tsc := range pod.TopologySpreadConstraints {
					if tsc.LabelSelector == nil || !equalMaps(tsc.LabelSelector.MatchLabels, sel) {
						t.Errorf("topology spread on %s does not select the pods: %+v", tsc.TopologyKey, tsc.LabelSelector)
					}
				}
			}
		})
	}
}

func TestMigrationJob(t *testing.T) {
	t.Parallel()
	r := rendered(t, defaultValues)
	j := one[batchv1.Job](t, r, "Job")
	ann := j.Annotations
	if ann["helm.sh/hook"] != "pre-install,pre-upgrade" {
		t.Errorf("hook %q, want pre-install,pre-upgrade", ann["helm.sh/hook"])
	}
	if ann["helm.sh/hook-delete-policy"] != "before-hook-creation,hook-succeeded" {
		t.Errorf("hook delete policy %q", ann["helm.sh/hook-delete-policy"])
	}
	if j.Spec.BackoffLimit == nil || *j.Spec.BackoffLimit < 1 {
		t.Errorf("backoffLimit %v", deref(j.Spec.BackoffLimit))
	}
	if j.Spec.ActiveDeadlineSeconds == nil || *j.Spec.ActiveDeadlineSeconds <= 0 {
		t.Errorf("activeDeadlineSeconds %v", deref(j.Spec.ActiveDeadlineSeconds))
	}
	pod := j.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q", pod.RestartPolicy)
	}
	c := container(t, pod, "migrate")
	if !slices.Equal(c.Args, []string{"migrate"}) {
		t.Errorf("args %v, want [migrate]", c.Args)
	}
	d := one[appsv1.Deployment](t, r, "Deployment")
	if c.Image != d.Spec.Template.Spec.Containers[0].Image {
		t.Errorf("job image %s differs from the service's %s", c.Image, d.Spec.Template.Spec.Containers[0].Image)
	}
	checkSecurity(t, "migration job", pod.SecurityContext, c.SecurityContext)
	checkSecretEnv(t, "migration job", c, "participant-service")
	// The hook runs before the ConfigMap exists: settings are inlined.
	if len(c.EnvFrom) != 0 {
		t.Errorf("the hook reads envFrom %+v, which does not exist yet at pre-install", c.EnvFrom)
	}
	if e, ok := envVar(c, "DATABASE_POOL_SIZE"); !ok || e.Value != "20" {
		t.Errorf("config not inlined in the job: DATABASE_POOL_SIZE=%q", e.Value)
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("migration job has no memory limit")
	}
	if pod.ServiceAccountName != "" {
		t.Errorf("the hook uses ServiceAccount %q, created only after pre-install hooks", pod.ServiceAccountName)
	}

	// Without the hook the pods migrate themselves.
	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		r := rendered(t, valueSet{name: "no-migrations", sets: []string{"migrations.enabled=false"}})
		if n := len(r.byKind("Job")); n != 0 {
			t.Errorf("%d Jobs with migrations disabled", n)
		}
		d := one[appsv1.Deployment](t, r, "Deployment")
		if e, _ := envVar(d.Spec.Template.Spec.Containers[0], "MIGRATE_ON_START"); e.Value != "true" {
			t.Errorf("MIGRATE_ON_START=%q without the hook, want true", e.Value)
		}
	})
}

// The dev Secrets exist before the hook Job that reads them.
func TestDevSecretsPrecedeHook(t *testing.T) {
	t.Parallel()
	r := rendered(t, devValues)
	for _, o := range r.byKind("Secret") {
		s := o.obj.(*corev1.Secret)
		if s.Name != "participant-service" {
			continue
		}
		if s.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" || s.Annotations["helm.sh/hook-weight"] != "-10" {
			t.Errorf("the env Secret is not a hook ahead of the migration Job: %v", s.Annotations)
		}
		if !strings.Contains(s.StringData["DATABASE_URL"], "@postgres:5432/") || !strings.HasPrefix(s.StringData["REDIS_URL"], "redis://redis:6379") {
			t.Errorf("dev URLs do not point at k8s/overlays/dev: %v", s.StringData)
		}
		return
	}
	t.Fatal("dev values render no Secret participant-service")
}

// A PDB exists exactly when more than one replica runs or autoscaling is on.
func TestPodDisruptionBudget(t *testing.T) {
	t.Parallel()
	cases := []struct {
		values valueSet
		want   bool
	}{
		{defaultValues, true}, // replicaCount 2
		{productionValues, true},
		{devValues, false},
		{singleReplica, false},
		{valueSet{name: "single-autoscaled", sets: []string{"replicaCount=1", "autoscaling.enabled=true"}}, true},
		{valueSet{name: "pdb-off", sets: []string{"podDisruptionBudget.enabled=false"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.values.name, func(t *testing.T) {
			t.Parallel()
			r := rendered(t, tc.values)
			pdbs := r.byKind("PodDisruptionBudget")
			if (len(pdbs) == 1) != tc.want || len(pdbs) > 1 {
				t.Fatalf("%d PDBs, want present=%v", len(pdbs), tc.want)
			}
			if !tc.want {
				return
			}
			pdb := pdbs[0].obj.(*policyv1.PodDisruptionBudget)
			d := one[appsv1.Deployment](t, r, "Deployment")
			if !equalMaps(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
				t.Errorf("PDB selector %v, Deployment selector %v", pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels)
			}
			if (pdb.Spec.MinAvailable == nil) == (pdb.Spec.MaxUnavailable == nil) {
				t.Error("PDB must set exactly one of minAvailable and maxUnavailable")
			}
		})
	}
}

func TestService(t *testing.T) {
	t.Parallel()
	r := rendered(t, defaultValues)
	s := one[corev1.Service](t, r, "Service")
	d := one[appsv1.Deployment](t, r, "Deployment")
	if !equalMaps(s.Spec.Selector, d.Spec.Selector.MatchLabels) {
		t.Errorf("Service selector %v, pods %v", s.Spec.Selector, d.Spec.Selector.MatchLabels)
	}
	ports := map[string]corev1.ServicePort{}
	for _, p := range s.Spec.Ports {
		ports[p.Name] = p
	}
	if p := ports["http"]; p.Port != apiPort || p.TargetPort != intstr.FromString("http") {
		t.Errorf("http port %+v", p)
	}
	if p := ports["metrics"]; p.Port != metricsPort || p.TargetPort != intstr.FromString("metrics") {
		t.Errorf("metrics port %+v", p)
	}
	sa := one[corev1.ServiceAccount](t, r, "ServiceAccount")
	if d.Spec.Template.Spec.ServiceAccountName != sa.Name {
		t.Errorf("pods use ServiceAccount %q, chart creates %q", d.Spec.Template.Spec.ServiceAccountName, sa.Name)
	}
	cm := r.byKind("ConfigMap")
	found := false
	for _, o := range cm {
		c := o.obj.(*corev1.ConfigMap)
		if c.Name == "participant-service" {
			found = true
			for _, k := range []string{"DATABASE_URL", "REDIS_URL", "AUTH_SERVICE_TOKEN", "SERVICE_TOKENS", "SERVICE_TO_SERVICE_SECRET"} {
				if _, ok := c.Data[k]; ok {
					t.Errorf("ConfigMap holds %s, which belongs in a Secret", k)
				}
			}
		}
	}
	if !found {
		t.Error("no ConfigMap participant-service")
	}
}

func TestProductionObjects(t *testing.T) {
	t.Parallel()
	r := rendered(t, productionValues)

	ing := one[networkingv1.Ingress](t, r, "Ingress")
	if len(ing.Spec.TLS) == 0 || ing.Spec.TLS[0].SecretName == "" || len(ing.Spec.TLS[0].Hosts) == 0 {
		t.Errorf("Ingress without TLS: %+v", ing.Spec.TLS)
	}
	for _, rule := range ing.Spec.Rules {
		if !slices.Contains(ing.Spec.TLS[0].Hosts, rule.Host) {
			t.Errorf("host %s not covered by TLS", rule.Host)
		}
		for _, p := range rule.HTTP.Paths {
			if b := p.Backend.Service; b == nil || b.Name != "participant-service" || b.Port.Name != "http" {
				t.Errorf("backend %+v, want the Service's http port", p.Backend)
			}
		}
	}

	hpa := one[autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler")
	if hpa.Spec.ScaleTargetRef.Kind != "Deployment" || hpa.Spec.ScaleTargetRef.Name != "participant-service" {
		t.Errorf("HPA targets %+v", hpa.Spec.ScaleTargetRef)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas <= *hpa.Spec.MinReplicas {
		t.Errorf("HPA replicas min %v max %d", deref(hpa.Spec.MinReplicas), hpa.Spec.MaxReplicas)
	}
	if len(hpa.Spec.Metrics) == 0 {
		t.Error("HPA without metrics")
	}

	np := one[networkingv1.NetworkPolicy](t, r, "NetworkPolicy")
	d := one[appsv1.Deployment](t, r, "Deployment")
	if !equalMaps(np.Spec.PodSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("NetworkPolicy selects %v", np.Spec.PodSelector.MatchLabels)
	}
	var ingressPorts []string
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			ingressPorts = append(ingressPorts, p.Port.String())
		}
	}
	slices.Sort(ingressPorts)
	if !slices.Equal(ingressPorts, []string{"http", "metrics"}) {
		t.Errorf("NetworkPolicy ingress ports %v, want http and metrics", ingressPorts)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || len(np.Spec.Egress) < 2 {
		t.Errorf("production egress not restricted: %v %d rules", np.Spec.PolicyTypes, len(np.Spec.Egress))
	}

	// Numbers in `config` render as the service parses them.
	for _, o := range r.byKind("ConfigMap") {
		if c := o.obj.(*corev1.ConfigMap); c.Name == "participant-service" {
			if got := c.Data["MAX_REQUEST_BODY_BYTES"]; got != "1048576" {
				t.Errorf("MAX_REQUEST_BODY_BYTES rendered as %q", got)
			}
			if got := c.Data["UPSTREAM_TIMEOUT"]; got != "2.5" {
				t.Errorf("UPSTREAM_TIMEOUT rendered as %q", got)
			}
		}
	}

	// Existing Secrets only: production never renders one.
	if n := len(r.byKind("Secret")); n != 0 {
		t.Errorf("production renders %d Secrets", n)
	}
}

func TestServiceMonitor(t *testing.T) {
	t.Parallel()
	r := rendered(t, defaultValues)
	sm := one[monitoringv1.ServiceMonitor](t, r, "ServiceMonitor")
	svc := one[corev1.Service](t, r, "Service")
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, the Service has %q", k, v, svc.Labels[k])
		}
	}
	if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
		t.Errorf("namespaceSelector %v", sm.Spec.NamespaceSelector.MatchNames)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("%d endpoints", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != "metrics" || ep.Path != "/metrics" {
		t.Errorf("endpoint port %q path %q", ep.Port, ep.Path)
	}
	job := ""
	for _, rc := range ep.RelabelConfigs {
		if rc.TargetLabel == "job" && rc.Replacement != nil {
			job = *rc.Replacement
		}
	}
	if job != metricsJob {
		t.Errorf("ServiceMonitor sets job %q, the alerts select %q", job, metricsJob)
	}

	// metrics.job overrides it, for the ServiceMonitor and the rules alike.
	r2 := rendered(t, valueSet{name: "custom-job", sets: []string{"metrics.job=telegive-participants"}})
	sm2 := one[monitoringv1.ServiceMonitor](t, r2, "ServiceMonitor")
	if rc := sm2.Spec.Endpoints[0].RelabelConfigs; len(rc) == 0 || rc[0].Replacement == nil || *rc[0].Replacement != "telegive-participants" {
		t.Errorf("metrics.job not applied to the ServiceMonitor: %+v", rc)
	}
	pr := one[monitoringv1.PrometheusRule](t, r2, "PrometheusRule")
	for _, g := range pr.Spec.Groups {
		for _, rule := range g.Rules {
			if !strings.Contains(rule.Expr.String(), `job="telegive-participants"`) {
				t.Errorf("%s does not select the custom job: %s", rule.Alert, rule.Expr.String())
			}
		}
	}
}

func TestObservabilityToggles(t *testing.T) {
	t.Parallel()
	r := rendered(t, valueSet{name: "no-observability", sets: []string{
		"metrics.serviceMonitor.enabled=false", "metrics.prometheusRule.enabled=false", "metrics.grafanaDashboard.enabled=false"}})
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if n := len(r.byKind(kind)); n != 0 {
			t.Errorf("%d %s objects while disabled", n, kind)
		}
	}
	for _, o := range r.byKind("ConfigMap") {
		if o.meta.Labels["grafana_dashboard"] != "" {
			t.Error("dashboard ConfigMap rendered while disabled")
		}
	}

	// Without metrics nothing scrapes the service, and an alert on `up`
	// would fire for ever: no ServiceMonitor, no rules, no metrics port.
	r = rendered(t, valueSet{name: "no-metrics", sets: []string{"metrics.enabled=false"}})
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if n := len(r.byKind(kind)); n != 0 {
			t.Errorf("%d %s objects with metrics.enabled=false", n, kind)
		}
	}
	c := one[appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0]
	if e, _ := envVar(c, "ENABLE_METRICS"); e.Value != "false" {
		t.Errorf("ENABLE_METRICS=%q with metrics.enabled=false", e.Value)
	}
	for _, p := range one[corev1.Service](t, r, "Service").Spec.Ports {
		if p.Name == "metrics" {
			t.Error("the Service exposes the metrics port with metrics.enabled=false")
		}
	}
}

// values.schema.json refuses what would break the service or leak secrets.
func TestValuesSchemaRejects(t *testing.T) {
	t.Parallel()
	for name, set := range map[string]string{
		"secret in the ConfigMap":     "config.DATABASE_URL=postgres://x",
		"chart-managed variable":      "config.MIGRATE_ON_START=true",
		"lower-case variable":         "config.log_level=debug",
		"unknown top-level key":       "replicas=3",
		"unknown alert setting":       "metrics.prometheusRule.alerts.highErrorRate.treshold=0.1",
		"no memory limit":             "resources.limits.memory=null",
		"grace period too short":      "terminationGracePeriodSeconds=20",
		"bad severity":                "metrics.prometheusRule.alerts.serviceDown.severity=page",
		"runbook URL with an anchor":  "metrics.prometheusRule.runbookBaseUrl=https://example.com/r.md#x",
		"error threshold as percent":  "metrics.prometheusRule.alerts.highErrorRate.threshold=5",
		"bad alert duration":          "metrics.prometheusRule.alerts.memoryHigh.for=10 minutes",
		"dev secret without database": "secrets.create=true",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := helmTemplate(t, valueSet{name: name, sets: []string{set}}); err == nil {
				t.Errorf("--set %s was accepted", set)
			}
		})
	}
}

// A variable `config` may not hold is refused with the reason and the value
// to use instead, at config.<NAME>: not with a bare "'not' failed" at some
// other path of the values.
func TestConfigRefusalSaysWhy(t *testing.T) {
	t.Parallel()
	for name, want := range map[string][]string{
		"DATABASE_URL":              {"is a secret", "secrets.name", "secrets.keys.databaseUrl", "kubectl -n telegive create secret generic"},
		"REDIS_URL":                 {"is a secret", "secrets.name", "secrets.keys.redisUrl"},
		"AUTH_SERVICE_TOKEN":        {"is a secret", "secrets.name", "secrets.keys.authServiceToken"},
		"SERVICE_TO_SERVICE_SECRET": {"is a secret", "secrets.name", "secrets.keys.serviceToServiceSecret"},
		"SERVICE_TOKENS":            {"is a secret", "serviceTokens.secretName"},
		"SERVICE_TOKENS_FILE":       {"set by the chart", "serviceTokens.mountPath"},
		"SERVICE_PORT":              {"set by the chart", "containerPorts.http"},
		"PORT":                      {"set by the chart", "containerPorts.http"},
		"METRICS_PORT":              {"set by the chart", "containerPorts.metrics"},
		"ENABLE_METRICS":            {"set by the chart", "metrics.enabled"},
		"MIGRATE_ON_START":          {"set by the chart", "migrations.enabled"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := helmTemplate(t, valueSet{name: "config-" + name, sets: []string{"config." + name + "=x"}})
			if err == nil {
				t.Fatalf("--set config.%s=x was accepted", name)
			}
			msg := err.Error()
			want = append(want, "config."+name+": "+name+" ")
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("the error does not say %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "'not' failed") || strings.Contains(msg, "invalid propertyName") {
				t.Errorf("the error is the schema's bare refusal:\n%s", msg)
			}
		})
	}
}

func TestDashboardConfigMap(t *testing.T) {
	t.Parallel()
	r := rendered(t, defaultValues)
	var cm *corev1.ConfigMap
	for _, o := range r.byKind("ConfigMap") {
		if c := o.obj.(*corev1.ConfigMap); c.Labels["grafana_dashboard"] == "1" {
			cm = c
		}
	}
	if cm == nil {
		t.Fatal("no ConfigMap with the Grafana sidecar label grafana_dashboard=1")
	}
	raw, ok := cm.Data["participant-service.json"]
	if !ok {
		t.Fatalf("dashboard ConfigMap keys: %v", keys(cm.Data))
	}
	var dash map[string]any
	if err := json.Unmarshal([]byte(raw), &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	if v, _ := dash["schemaVersion"].(float64); v < 36 {
		t.Errorf("schemaVersion %v, want >= 36", dash["schemaVersion"])
	}
	checkDashboard(t, dash)
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return len(a) > 0
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestProbesWithoutMetrics: with the metrics port off, kubelet probes the
// API port.
func TestProbesWithoutMetrics(t *testing.T) {
	t.Parallel()
	r := rendered(t, valueSet{name: "no-metrics", sets: []string{"metrics.enabled=false"}})
	c := container(t, one[appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec, "participant-service")
	checkProbe(t, "startup", c.StartupProbe, livePath, "http")
	checkProbe(t, "liveness", c.LivenessProbe, livePath, "http")
	checkProbe(t, "readiness", c.ReadinessProbe, readyPath, "http")
}
