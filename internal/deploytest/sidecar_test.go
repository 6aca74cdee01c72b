package deploytest_test

import (
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// otelSidecarValues is the documented example of an OpenTelemetry Collector
// beside the service.
var otelSidecarValues = valueSet{name: "otel-sidecar", files: []string{"ci/otel-sidecar-values.yaml"}}

// extraValues adds one of each extension point.
var extraValues = valueSet{name: "extras", setJSON: []string{
	`extraContainers=[{"name":"log-shipper","image":"example.com/shipper:1.0","args":["--from=/var/shared"]}]`,
	`extraVolumes=[{"name":"shared","emptyDir":{}}]`,
	`extraVolumeMounts=[{"name":"shared","mountPath":"/var/shared"}]`,
	`podAnnotations={"sidecar.istio.io/inject":"true","example.com/team":"telegive"}`,
	`migrations.podAnnotations={"sidecar.istio.io/inject":"false"}`,
}}

func containerNames(spec corev1.PodSpec) []string {
	var names []string
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	return names
}

func volumeNames(spec corev1.PodSpec) []string {
	var names []string
	for _, v := range spec.Volumes {
		names = append(names, v.Name)
	}
	return names
}

// extraContainers, extraVolumes, extraVolumeMounts and podAnnotations reach
// the API pods, and only them: a sidecar in the migration Job would keep it
// from ever completing.
func TestExtraContainersAndVolumes(t *testing.T) {
	t.Parallel()
	r := rendered(t, extraValues)
	d := one[appsv1.Deployment](t, r, "Deployment")
	pod := d.Spec.Template.Spec
	if got := containerNames(pod); !slices.Equal(got, []string{"participant-service", "log-shipper"}) {
		t.Fatalf("containers %v, want the service first, then log-shipper", got)
	}
	shipper := container(t, pod, "log-shipper")
	if shipper.Image != "example.com/shipper:1.0" || !slices.Equal(shipper.Args, []string{"--from=/var/shared"}) {
		t.Errorf("sidecar rendered as %+v", shipper)
	}
	if got := volumeNames(pod); !slices.Equal(got, []string{"tmp", "service-tokens", "shared"}) {
		t.Errorf("volumes %v, want tmp, service-tokens, shared", got)
	}
	for _, v := range pod.Volumes {
		if v.Name == "shared" && v.EmptyDir == nil {
			t.Errorf("volume shared is not an emptyDir: %+v", v)
		}
	}
	svc := container(t, pod, "participant-service")
	var mount *corev1.VolumeMount
	for i, m := range svc.VolumeMounts {
		if m.Name == "shared" {
			mount = &svc.VolumeMounts[i]
		}
	}
	if mount == nil || mount.MountPath != "/var/shared" {
		t.Errorf("the service container does not mount shared at /var/shared: %+v", svc.VolumeMounts)
	}
	ann := d.Spec.Template.Annotations
	if ann["sidecar.istio.io/inject"] != "true" || ann["example.com/team"] != "telegive" {
		t.Errorf("pod annotations %v lack podAnnotations", ann)
	}
	if ann["checksum/config"] == "" {
		t.Errorf("podAnnotations replaced the chart's checksum/config: %v", ann)
	}

	job := one[batchv1.Job](t, r, "Job")
	jpod := job.Spec.Template.Spec
	if got := containerNames(jpod); !slices.Equal(got, []string{"migrate"}) {
		t.Errorf("migration Job containers %v, want only migrate", got)
	}
	if got := volumeNames(jpod); !slices.Equal(got, []string{"tmp"}) {
		t.Errorf("migration Job volumes %v, want only tmp", got)
	}
	if got := job.Spec.Template.Annotations; len(got) != 1 || got["sidecar.istio.io/inject"] != "false" {
		t.Errorf("migration Job pod annotations %v, want only migrations.podAnnotations", got)
	}
}

// The schema takes the extension points as lists of named objects.
func TestExtraValuesSchema(t *testing.T) {
	t.Parallel()
	for name, set := range map[string]string{
		"container without a name":    `extraContainers=[{"image":"x"}]`,
		"container without an image":  `extraContainers=[{"name":"x"}]`,
		"volume without a name":       `extraVolumes=[{"emptyDir":{}}]`,
		"mount without a path":        `extraVolumeMounts=[{"name":"x"}]`,
		"containers as a map":         `extraContainers={"name":"x","image":"y"}`,
		"non-string pod annotation":   `podAnnotations={"a":1}`,
		"non-string job annotation":   `migrations.podAnnotations={"a":true}`,
		"unknown migrations settings": `migrations.extraContainers=[]`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := helmTemplate(t, valueSet{name: name, setJSON: []string{set}}); err == nil {
				t.Errorf("--set-json %s was accepted", set)
			}
		})
	}
}

// The OpenTelemetry Collector example: the service exports OTLP to the
// collector on the pod's loopback, where the collector's receiver listens,
// and the collector runs as locked down as the service.
func TestOTelCollectorSidecarExample(t *testing.T) {
	t.Parallel()
	r := rendered(t, otelSidecarValues)
	d := one[appsv1.Deployment](t, r, "Deployment")
	pod := d.Spec.Template.Spec
	if got := containerNames(pod); !slices.Equal(got, []string{"participant-service", "otel-collector"}) {
		t.Fatalf("containers %v, want participant-service and otel-collector", got)
	}

	var cfg map[string]string
	for _, o := range r.byKind("ConfigMap") {
		if c := o.obj.(*corev1.ConfigMap); c.Name == releaseName {
			cfg = c.Data
		}
	}
	endpoint, err := url.Parse(cfg["OTEL_EXPORTER_OTLP_ENDPOINT"])
	if err != nil || endpoint.Scheme != "http" || endpoint.Port() == "" {
		t.Fatalf("OTEL_EXPORTER_OTLP_ENDPOINT %q: want http://<loopback>:<port> (%v)", cfg["OTEL_EXPORTER_OTLP_ENDPOINT"], err)
	}
	if !isLoopback(endpoint.Hostname()) {
		t.Errorf("the service exports to %s, not to the pod's loopback", endpoint.Host)
	}
	if got := cfg["OTEL_EXPORTER_OTLP_PROTOCOL"]; got != "http/protobuf" {
		t.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q, want http/protobuf (the receiver below is OTLP/HTTP)", got)
	}

	col := container(t, pod, "otel-collector")
	if !strings.HasPrefix(col.Image, "otel/opentelemetry-collector") || strings.HasSuffix(col.Image, ":latest") || !strings.Contains(col.Image, ":") {
		t.Errorf("collector image %q: want a pinned otel/opentelemetry-collector image", col.Image)
	}
	if !slices.Equal(col.Args, []string{"--config=env:OTELCOL_CONFIG"}) {
		t.Fatalf("collector args %v, want its configuration from OTELCOL_CONFIG", col.Args)
	}
	raw, ok := envVar(col, "OTELCOL_CONFIG")
	if !ok || raw.Value == "" {
		t.Fatal("the collector has no OTELCOL_CONFIG")
	}
	var conf struct {
		Receivers struct {
			OTLP struct {
				Protocols struct {
					HTTP struct {
						Endpoint string `json:"endpoint"`
					} `json:"http"`
				} `json:"protocols"`
			} `json:"otlp"`
		} `json:"receivers"`
		Exporters map[string]any `json:"exporters"`
		Service   struct {
			Pipelines map[string]struct {
				Receivers  []string `json:"receivers"`
				Processors []string `json:"processors"`
				Exporters  []string `json:"exporters"`
			} `json:"pipelines"`
		} `json:"service"`
	}
	if err := yaml.Unmarshal([]byte(raw.Value), &conf); err != nil {
		t.Fatalf("OTELCOL_CONFIG is not YAML: %v", err)
	}
	host, port, err := net.SplitHostPort(conf.Receivers.OTLP.Protocols.HTTP.Endpoint)
	if err != nil || !isLoopback(host) || port != endpoint.Port() {
		t.Errorf("the OTLP/HTTP receiver listens on %q; the service sends to %s: want the same loopback port (%v)",
			conf.Receivers.OTLP.Protocols.HTTP.Endpoint, endpoint.Host, err)
	}
	traces, ok := conf.Service.Pipelines["traces"]
	if !ok || !slices.Contains(traces.Receivers, "otlp") || len(traces.Exporters) == 0 {
		t.Errorf("traces pipeline %+v: want the otlp receiver and an exporter", traces)
	}
	for _, e := range traces.Exporters {
		if _, ok := conf.Exporters[e]; !ok {
			t.Errorf("the traces pipeline exports to %q, which is not configured", e)
		}
	}
	if !slices.Contains(traces.Processors, "memory_limiter") {
		t.Errorf("traces processors %v: want memory_limiter, so the collector stays inside its limit", traces.Processors)
	}
	if _, ok := col.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("the collector has no memory limit")
	}
	checkSecurity(t, "collector", pod.SecurityContext, col.SecurityContext)

	// The service itself is unchanged.
	svc := container(t, pod, "participant-service")
	checkSecretEnv(t, "service", svc, releaseName)
	if got := containerNames(one[batchv1.Job](t, r, "Job").Spec.Template.Spec); !slices.Equal(got, []string{"migrate"}) {
		t.Errorf("migration Job containers %v, want only migrate", got)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
