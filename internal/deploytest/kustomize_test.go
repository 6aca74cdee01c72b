package deploytest_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// The dev overlay (k8s/overlays/dev) builds, decodes strictly and provides
// what values-dev.yaml points at: Services postgres:5432 and redis:6379, and
// the database credentials of its DATABASE_URL. kustomize is not one of the
// tools .ci/install-tools installs (GitHub's runners have it), so this test
// skips without it, in CI too.
func TestDevOverlay(t *testing.T) {
	t.Parallel()
	kustomize, err := exec.LookPath("kustomize")
	if err != nil {
		t.Skip("kustomize is not installed (go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1)")
	}
	out := mustRun(t, repoRoot(t), kustomize, "build", filepath.Join("k8s", "overlays", "dev"))
	objs, err := decodeStream(out)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]int32{}
	var creds *corev1.Secret
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *corev1.Service:
			ports[v.Name] = v.Spec.Ports[0].Port
		case *corev1.Secret:
			if strings.HasPrefix(v.Name, "postgres-credentials") {
				creds = v
			}
		case *appsv1.StatefulSet:
			if len(v.Spec.VolumeClaimTemplates) != 0 {
				t.Error("the dev Postgres claims a volume; dev uses an emptyDir")
			}
		}
	}
	if ports["postgres"] != 5432 || ports["redis"] != 6379 {
		t.Errorf("Services %v, want postgres:5432 and redis:6379", ports)
	}
	if creds == nil {
		t.Fatal("no postgres-credentials Secret")
	}
	user, pass, db := string(creds.Data["POSTGRES_USER"]), string(creds.Data["POSTGRES_PASSWORD"]), string(creds.Data["POSTGRES_DB"])
	want := "postgres://" + user + ":" + pass + "@postgres:5432/" + db + "?"
	r := rendered(t, devValues)
	for _, o := range r.byKind("Secret") {
		if s := o.obj.(*corev1.Secret); s.Name == "participant-service" {
			if !strings.HasPrefix(s.StringData["DATABASE_URL"], want) {
				t.Errorf("values-dev DATABASE_URL %q does not match the overlay's database (%s…)", s.StringData["DATABASE_URL"], want)
			}
		}
	}
	kinds := []string{}
	for _, o := range objs {
		kinds = append(kinds, o.kind)
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"Deployment", "Secret", "Service", "Service", "StatefulSet"}) {
		t.Errorf("overlay kinds %v", kinds)
	}
}
