package deploytest_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	goredis "github.com/redis/go-redis/v9"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/telegive/participant-service/internal/config"
	"github.com/telegive/participant-service/internal/redis"
	"github.com/telegive/participant-service/internal/telemetry"
)

// scaleOutValues is the documented example of the service on CloudNativePG
// through its Pooler, on Redis Sentinel, autoscaled for the burst
// (docs/scale-out.md).
var scaleOutValues = valueSet{name: "scale-out", files: []string{"ci/scale-out-values.yaml"}}

// The URLs the example's comments describe, standing in for its Secrets.
const (
	poolerURL   = "postgresql://app:pw@participant-db-pooler-rw.telegive.svc:5432/app?sslmode=require"
	replicasURL = "postgresql://app:pw@participant-db-ro.telegive.svc:5432/app?sslmode=require"
	sentinelURL = "redis://:pw@redis-node-0.redis-headless.telegive.svc:26379/0"
)

// secretRef is the Secret and key an env var is read from, "" when it is
// not read from a Secret.
func secretRef(c corev1.Container, name string) (secret, key string) {
	e, ok := envVar(c, name)
	if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		return "", ""
	}
	return e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key
}

func configMapData(t *testing.T, r *render) map[string]string {
	t.Helper()
	for _, o := range r.byKind("ConfigMap") {
		if c := o.obj.(*corev1.ConfigMap); c.Name == "participant-service" {
			return c.Data
		}
	}
	t.Fatal("no ConfigMap participant-service")
	return nil
}

// The scale-out example: the pods reach the database through the Pooler's
// URL, the migration Job the primary through the operator's Secret, and
// the service accepts the settings as a Sentinel deployment.
func TestScaleOutDatabaseAndRedis(t *testing.T) {
	t.Parallel()
	r := rendered(t, scaleOutValues)
	d := one[appsv1.Deployment](t, r, "Deployment")
	j := one[batchv1.Job](t, r, "Job")
	for _, c := range []struct {
		what        string
		container   corev1.Container
		secret, key string
	}{
		{"the pods", container(t, d.Spec.Template.Spec, "participant-service"), "participant-db-pooler-app", "uri"},
		{"the migration Job", container(t, j.Spec.Template.Spec, "migrate"), "participant-db-app", "uri"},
	} {
		if s, k := secretRef(c.container, "DATABASE_URL"); s != c.secret || k != c.key {
			t.Errorf("%s read DATABASE_URL from %s/%s, want %s/%s", c.what, s, k, c.secret, c.key)
		}
		if s, k := secretRef(c.container, "REDIS_URL"); s != "participant-service-env" || k != "REDIS_URL" {
			t.Errorf("%s read REDIS_URL from %s/%s, want the release's Secret", c.what, s, k)
		}
	}

	if s, k := secretRef(container(t, d.Spec.Template.Spec, "participant-service"), "DATABASE_READ_URL"); s != "participant-db-ro-app" || k != "uri" {
		t.Errorf("the pods read DATABASE_READ_URL from %s/%s, want participant-db-ro-app/uri", s, k)
	}
	if _, ok := envVar(container(t, j.Spec.Template.Spec, "migrate"), "DATABASE_READ_URL"); ok {
		t.Error("the migration Job gets DATABASE_READ_URL; migrations are the primary's")
	}

	data := configMapData(t, r)
	env := []string{"DATABASE_URL=" + poolerURL, "DATABASE_READ_URL=" + replicasURL, "REDIS_URL=" + sentinelURL}
	for _, k := range slices.Sorted(maps.Keys(data)) {
		env = append(env, k+"="+data[k])
	}
	cfg, err := config.Load(env)
	if err != nil {
		t.Fatalf("the service refuses the example's settings: %v", err)
	}
	if db := cfg.Database; db.ReplicaURL != replicasURL || db.ReplicaMaxLag.D() != 5*time.Second || db.ReplicaPoolSize*12 > 2*200 {
		t.Errorf("read replica settings %+v, want the replicas within 5 s, their connections within two replicas' max_connections", db)
	}
	if cfg.Redis.MasterName != "mymaster" || len(cfg.Redis.Addrs) != 2 || !cfg.Redis.Required {
		t.Errorf("Redis settings %+v, want Sentinel mode with two further Sentinels, required", cfg.Redis)
	}
	if got := redisKind(t, cfg.Redis); got != "sentinel" {
		t.Errorf("the example's Redis client is %s, want sentinel", got)
	}
	// The variant docs/scale-out.md and the example's comment give.
	cluster, err := config.Load([]string{"REDIS_URL=redis://:pw@redis-cluster.telegive.svc:6379/0", "REDIS_CLUSTER=true"})
	if err != nil {
		t.Fatal(err)
	}
	if got := redisKind(t, cluster.Redis); got != "cluster" {
		t.Errorf("the Cluster variant's Redis client is %s, want cluster", got)
	}
}

// redisKind opens the client the service would (without connecting) and
// names its kind.
func redisKind(t *testing.T, r config.Redis) string {
	t.Helper()
	c, err := redis.Open(redis.Options{URL: r.URL, Addrs: r.Addrs, MasterName: r.MasterName, Cluster: r.Cluster})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	switch u := c.Universal().(type) {
	case *goredis.ClusterClient:
		return "cluster"
	case *goredis.Client:
		// go-redis's Sentinel client is a Client that dials whichever
		// node the Sentinels name master, under this placeholder address.
		if u.Options().Addr == "FailoverClient" {
			return "sentinel"
		}
		return "single"
	}
	return "unknown"
}

// The HPA and the PDB of the example, sized for the burst: scale up at
// once on CPU and on requests in flight (a metric the service exports,
// targeted well below MAX_IN_FLIGHT), down slowly, and a drain takes one
// pod at a time.
func TestScaleOutAutoscaling(t *testing.T) {
	t.Parallel()
	r := rendered(t, scaleOutValues)
	hpa := one[autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler")
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 3 || hpa.Spec.MaxReplicas < 3**hpa.Spec.MinReplicas {
		t.Errorf("replicas min %v max %d, want at least 3 and room to triple", deref(hpa.Spec.MinReplicas), hpa.Spec.MaxReplicas)
	}
	var cpu, inFlight bool
	for _, m := range hpa.Spec.Metrics {
		switch {
		case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource.Name == corev1.ResourceCPU:
			cpu = true
		case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods.Metric.Name == "participant_http_requests_in_flight":
			inFlight = true
			maxInFlight, err := strconv.ParseInt(configMapData(t, r)["MAX_IN_FLIGHT"], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			if v := m.Pods.Target.AverageValue; v == nil || v.Value() <= 0 || v.Value() > maxInFlight/2 {
				t.Errorf("in-flight target %v, want at most half of MAX_IN_FLIGHT (%d)", v, maxInFlight)
			}
		}
	}
	if !cpu || !inFlight {
		t.Errorf("HPA metrics %+v, want CPU and participant_http_requests_in_flight per pod", hpa.Spec.Metrics)
	}
	if !exported(t, "participant_http_requests_in_flight") {
		t.Error("the service exports no participant_http_requests_in_flight for the HPA to follow")
	}
	checkBurstBehavior(t, hpa.Spec.Behavior)

	pdb := one[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget")
	if pdb.Spec.MinAvailable != nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PDB %+v, want maxUnavailable 1 (whatever the HPA scaled to)", pdb.Spec)
	}
}

// The defaults scale up without stabilisation too.
func TestDefaultAutoscalingScalesUpAtOnce(t *testing.T) {
	t.Parallel()
	r := rendered(t, valueSet{name: "autoscaled", sets: []string{"autoscaling.enabled=true"}})
	hpa := one[autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler")
	checkBurstBehavior(t, hpa.Spec.Behavior)
	pdb := one[policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget")
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("default PDB %+v, want maxUnavailable 1", pdb.Spec)
	}
}

func checkBurstBehavior(t *testing.T, b *autoscalingv2.HorizontalPodAutoscalerBehavior) {
	t.Helper()
	if b == nil || b.ScaleUp == nil || b.ScaleDown == nil {
		t.Fatalf("HPA behavior %+v, want both directions set", b)
	}
	if w := b.ScaleUp.StabilizationWindowSeconds; w == nil || *w != 0 {
		t.Errorf("scale-up stabilisation %v s, want 0", deref(w))
	}
	doubles := false
	for _, p := range b.ScaleUp.Policies {
		if p.Type == autoscalingv2.PercentScalingPolicy && p.Value >= 100 && p.PeriodSeconds <= 15 {
			doubles = true
		}
	}
	if !doubles || b.ScaleUp.SelectPolicy == nil || *b.ScaleUp.SelectPolicy != autoscalingv2.MaxChangePolicySelect {
		t.Errorf("scale-up policies %+v (select %v), want doubling every 15 s at most, the largest policy winning", b.ScaleUp.Policies, b.ScaleUp.SelectPolicy)
	}
	if w := b.ScaleDown.StabilizationWindowSeconds; w == nil || *w < 300 {
		t.Errorf("scale-down stabilisation %v s, want at least 300", deref(w))
	}
}

// exported tells whether the service's metrics registry has the family.
func exported(t *testing.T, name string) bool {
	t.Helper()
	families, err := telemetry.NewMetrics("test", "", 0).Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(families, func(f *dto.MetricFamily) bool { return f.GetName() == name })
}

// DATABASE_URL's Secret: the release's by default, secrets.databaseUrlFrom
// for the pods and the Job, migrations.databaseUrlFrom for the Job alone.
func TestDatabaseURLFrom(t *testing.T) {
	t.Parallel()
	cases := []struct {
		values    valueSet
		pods, job [2]string
	}{
		{defaultValues, [2]string{"participant-service", "DATABASE_URL"}, [2]string{"participant-service", "DATABASE_URL"}},
		{valueSet{name: "pods-from", sets: []string{"secrets.databaseUrlFrom.name=db-app", "secrets.databaseUrlFrom.key=uri"}},
			[2]string{"db-app", "uri"}, [2]string{"db-app", "uri"}},
		{valueSet{name: "job-from", sets: []string{"migrations.databaseUrlFrom.name=db-app", "migrations.databaseUrlFrom.key=uri"}},
			[2]string{"participant-service", "DATABASE_URL"}, [2]string{"db-app", "uri"}},
	}
	for _, c := range cases {
		t.Run(c.values.name, func(t *testing.T) {
			t.Parallel()
			r := rendered(t, c.values)
			d := one[appsv1.Deployment](t, r, "Deployment")
			j := one[batchv1.Job](t, r, "Job")
			if s, k := secretRef(container(t, d.Spec.Template.Spec, "participant-service"), "DATABASE_URL"); [2]string{s, k} != c.pods {
				t.Errorf("the pods read DATABASE_URL from %s/%s, want %v", s, k, c.pods)
			}
			if s, k := secretRef(container(t, j.Spec.Template.Spec, "migrate"), "DATABASE_URL"); [2]string{s, k} != c.job {
				t.Errorf("the Job reads DATABASE_URL from %s/%s, want %v", s, k, c.job)
			}
		})
	}
}

// DATABASE_READ_URL's Secret: the release's, optional, by default (a
// Secret without the key starts the pods, reading everything from the
// primary); secrets.databaseReadUrlFrom, required, when set. The migration
// Job never gets it.
func TestDatabaseReadURLFrom(t *testing.T) {
	t.Parallel()
	cases := []struct {
		values   valueSet
		ref      [2]string
		optional bool
	}{
		{defaultValues, [2]string{"participant-service", "DATABASE_READ_URL"}, true},
		{valueSet{name: "read-from", sets: []string{"secrets.databaseReadUrlFrom.name=db-ro", "secrets.databaseReadUrlFrom.key=uri"}},
			[2]string{"db-ro", "uri"}, false},
		{valueSet{name: "read-key", sets: []string{"secrets.databaseReadUrlFrom.key=ro-uri"}},
			[2]string{"participant-service", "ro-uri"}, false},
	}
	for _, c := range cases {
		t.Run(c.values.name, func(t *testing.T) {
			t.Parallel()
			r := rendered(t, c.values)
			pod := container(t, one[appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec, "participant-service")
			if s, k := secretRef(pod, "DATABASE_READ_URL"); [2]string{s, k} != c.ref {
				t.Errorf("the pods read DATABASE_READ_URL from %s/%s, want %v", s, k, c.ref)
			}
			e, _ := envVar(pod, "DATABASE_READ_URL")
			if got := e.ValueFrom.SecretKeyRef.Optional != nil && *e.ValueFrom.SecretKeyRef.Optional; got != c.optional {
				t.Errorf("DATABASE_READ_URL optional %v, want %v", got, c.optional)
			}
			job := container(t, one[batchv1.Job](t, r, "Job").Spec.Template.Spec, "migrate")
			if _, ok := envVar(job, "DATABASE_READ_URL"); ok {
				t.Error("the migration Job gets DATABASE_READ_URL")
			}
		})
	}
}

// The CloudNativePG Cluster and Pooler of docs/scale-out.md: the Pooler
// pools transactions in front of the Cluster's primary, takes every client
// connection of the example's pods at their most, gives a migrating or
// log-locking pod the two server connections it needs, and all its server
// connections fit the Cluster's max_connections.
func TestScaleOutDocManifests(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "scale-out.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(raw), "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("docs/scale-out.md has no yaml block")
	}
	var (
		cluster cnpgCluster
		pooler  cnpgPooler
	)
	for _, doc := range strings.Split(block, "\n---\n") {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		if head.APIVersion != "postgresql.cnpg.io/v1" {
			t.Fatalf("a %s of %s in the doc, want postgresql.cnpg.io/v1", head.Kind, head.APIVersion)
		}
		var into any = &cluster
		if head.Kind == "Pooler" {
			into = &pooler
		}
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Fatalf("%s: %v", head.Kind, err)
		}
	}
	if cluster.Metadata.Name == "" || pooler.Spec.Cluster.Name != cluster.Metadata.Name || pooler.Spec.Type != "rw" {
		t.Errorf("the Pooler fronts %q (%s), want the Cluster %q's primary", pooler.Spec.Cluster.Name, pooler.Spec.Type, cluster.Metadata.Name)
	}
	if pooler.Spec.PgBouncer.PoolMode != "transaction" {
		t.Errorf("pool mode %q, want transaction", pooler.Spec.PgBouncer.PoolMode)
	}

	var values struct {
		Config      map[string]any
		Autoscaling struct{ MaxReplicas int }
	}
	v, err := os.ReadFile(filepath.Join(chartDir(t), "ci", "scale-out-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(v, &values); err != nil {
		t.Fatal(err)
	}
	poolSize, err := strconv.Atoi(fmt.Sprint(values.Config["DATABASE_POOL_SIZE"]))
	if err != nil {
		t.Fatal(err)
	}
	param := func(m map[string]string, name string) int {
		n, err := strconv.Atoi(m[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return n
	}
	pb := pooler.Spec.PgBouncer.Parameters
	if clients, want := param(pb, "max_client_conn"), values.Autoscaling.MaxReplicas*poolSize+2; clients < want {
		t.Errorf("max_client_conn %d, want at least maxReplicas x DATABASE_POOL_SIZE + 2 = %d", clients, want)
	}
	servers := param(pb, "default_pool_size")
	if servers < 2 {
		t.Errorf("default_pool_size %d, want 2 or more", servers)
	}
	if total, max := pooler.Spec.Instances*servers, param(cluster.Spec.PostgreSQL.Parameters, "max_connections"); total >= max {
		t.Errorf("%d Pooler pods x default_pool_size %d = %d server connections, want fewer than max_connections %d", pooler.Spec.Instances, servers, total, max)
	}
}

// cnpgCluster and cnpgPooler hold the fields of CloudNativePG's Cluster
// and Pooler that docs/scale-out.md sets; strict decoding refuses others.
type cnpgCluster struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Instances int `json:"instances"`
		Bootstrap struct {
			InitDB struct {
				Database string `json:"database"`
				Owner    string `json:"owner"`
			} `json:"initdb"`
		} `json:"bootstrap"`
		PostgreSQL struct {
			Parameters map[string]string `json:"parameters"`
		} `json:"postgresql"`
		Storage struct {
			Size string `json:"size"`
		} `json:"storage"`
	} `json:"spec"`
}

type cnpgPooler struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Cluster struct {
			Name string `json:"name"`
		} `json:"cluster"`
		Instances int    `json:"instances"`
		Type      string `json:"type"`
		PgBouncer struct {
			PoolMode   string            `json:"poolMode"`
			Parameters map[string]string `json:"parameters"`
		} `json:"pgbouncer"`
	} `json:"spec"`
}
