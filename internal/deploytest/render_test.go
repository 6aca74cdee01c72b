package deploytest_test

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// The release every render uses. Its name contains the chart's, so the
// fullname, and with it the default Prometheus job the alerts select, is
// "participant-service": what the promtool unit tests are written for.
const (
	releaseName = "participant-service"
	namespace   = "telegive"
	metricsJob  = "participant-service"
)

// A values set to render the chart with: files relative to the chart, then
// --set overrides.
type valueSet struct {
	name string
	// release and namespace default to releaseName and namespace.
	release, namespace string
	files              []string
	sets               []string
	// --set-json: --set types only integers and booleans, "0.1" stays a
	// string (which the schema refuses for a threshold).
	setJSON []string
}

var (
	defaultValues    = valueSet{name: "default"}
	productionValues = valueSet{name: "production", files: []string{"ci/production-values.yaml"}}
	devValues        = valueSet{name: "dev", files: []string{"values-dev.yaml"}}
	singleReplica    = valueSet{name: "single-replica", sets: []string{"replicaCount=1"}}
)

func (v valueSet) args() []string {
	var args []string
	for _, f := range v.files {
		args = append(args, "--values", f)
	}
	for _, s := range v.sets {
		args = append(args, "--set", s)
	}
	for _, s := range v.setJSON {
		args = append(args, "--set-json", s)
	}
	return args
}

// helmTemplate renders the chart; failures are returned, not fatal, so that
// tests can also check that bad values are refused.
func helmTemplate(t testing.TB, v valueSet) (string, error) {
	t.Helper()
	helm := tool(t, "helm")
	release, ns := cmp.Or(v.release, releaseName), cmp.Or(v.namespace, namespace)
	args := append([]string{"template", release, ".", "--namespace", ns, "--kube-version", kubeVersion}, v.args()...)
	out, errOut, err := run(chartDir(t), helm, args...)
	if err != nil {
		return out, fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out, nil
}

// A rendered object: its source template, its kind and the typed value.
type object struct {
	source string
	kind   string
	name   string
	meta   metav1.ObjectMeta
	obj    any
}

type render struct {
	raw     string
	objects []object
}

// byKind returns the objects of one kind.
func (r *render) byKind(kind string) []object {
	var out []object
	for _, o := range r.objects {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the only object of a kind, failing unless there is exactly one.
func one[T any](t testing.TB, r *render, kind string) *T {
	t.Helper()
	objs := r.byKind(kind)
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s, got %d", kind, len(objs))
	}
	v, ok := objs[0].obj.(*T)
	if !ok {
		t.Fatalf("%s decoded as %T", kind, objs[0].obj)
	}
	return v
}

// newTyped maps apiVersion and kind to the Go type the object must decode
// into. Every kind the chart may render is here; anything else is an error.
func newTyped(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1/StatefulSet": // k8s/ (the dev Postgres)
		return &appsv1.StatefulSet{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "networking.k8s.io/v1/Ingress":
		return &networkingv1.Ingress{}, nil
	case "networking.k8s.io/v1/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "batch/v1/Job":
		return &batchv1.Job{}, nil
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	case "monitoring.coreos.com/v1/PrometheusRule":
		return &monitoringv1.PrometheusRule{}, nil
	}
	return nil, fmt.Errorf("unexpected kind %s %s: add it to newTyped with its Go type", apiVersion, kind)
}

// decodeStream splits a multi-document YAML stream and decodes every
// document strictly (unknown or duplicate fields fail) into its type.
func decodeStream(stream string) ([]object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	var objects []object
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("splitting the YAML stream: %w", err)
		}
		source := "?"
		for _, line := range strings.Split(string(doc), "\n") {
			if s, ok := strings.CutPrefix(line, "# Source: "); ok {
				source = s
				break
			}
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("%s: not YAML: %w", source, err)
		}
		if tm.Kind == "" && tm.APIVersion == "" {
			if len(bytes.TrimSpace(stripComments(doc))) != 0 {
				return nil, fmt.Errorf("%s: a document without apiVersion and kind:\n%s", source, doc)
			}
			continue // empty document (a template that rendered nothing)
		}
		typed, err := newTyped(tm.APIVersion, tm.Kind)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if err := yaml.UnmarshalStrict(doc, typed); err != nil {
			return nil, fmt.Errorf("%s: %s is not a valid %s: %w", source, tm.Kind, tm.APIVersion, err)
		}
		meta, err := objectMeta(typed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		objects = append(objects, object{source: source, kind: tm.Kind, name: meta.Name, meta: meta, obj: typed})
	}
	return objects, nil
}

func objectMeta(obj any) (metav1.ObjectMeta, error) {
	if o, ok := obj.(metav1.Object); ok {
		return metav1.ObjectMeta{
			Name: o.GetName(), Namespace: o.GetNamespace(),
			Labels: o.GetLabels(), Annotations: o.GetAnnotations(),
		}, nil
	}
	return metav1.ObjectMeta{}, fmt.Errorf("%T has no object metadata", obj)
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) == 0 || t[0] == '#' {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// Renders are shared by the tests: helm runs once per values set.
var (
	renderMu    sync.Mutex
	renderCache = map[string]*renderOnce{}
)

type renderOnce struct {
	once sync.Once
	r    *render
	err  error
}

// rendered renders and decodes the chart with a values set, once per test
// binary, failing the test if either step fails.
func rendered(t testing.TB, v valueSet) *render {
	t.Helper()
	tool(t, "helm") // skip or fail here, not inside the shared once
	renderMu.Lock()
	ro, ok := renderCache[v.name]
	if !ok {
		ro = &renderOnce{}
		renderCache[v.name] = ro
	}
	renderMu.Unlock()
	ro.once.Do(func() {
		raw, err := helmTemplate(t, v)
		if err != nil {
			ro.err = err
			return
		}
		objs, err := decodeStream(raw)
		if err != nil {
			ro.err = fmt.Errorf("values %q: %w", v.name, err)
			return
		}
		ro.r = &render{raw: raw, objects: objs}
	})
	if ro.err != nil {
		t.Fatal(ro.err)
	}
	return ro.r
}
