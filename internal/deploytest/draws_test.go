package deploytest_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

var witnessValues = valueSet{name: "witnesses",
	sets: []string{"networkPolicy.enabled=true", "networkPolicy.egress.enabled=true", "drawLog.quorum=1"},
	setJSON: []string{`drawLog.witnesses=[{"url":"https://w1.example/tlog","verifierKey":"w1.example+0123abcd+BA0="},` +
		`{"url":"https://w2.example","verifierKey":"w2.example+4567cdef+BB0="}]`},
}

// The chart draws v2 by default, reads LOG_SIGNING_KEY from the Secret in
// the pods and the migration Job, and renders the witnesses as the
// variables the service reads.
func TestDrawSettings(t *testing.T) {
	t.Parallel()
	r := rendered(t, witnessValues)
	var cm *corev1.ConfigMap
	for _, o := range r.byKind("ConfigMap") {
		if c := o.obj.(*corev1.ConfigMap); c.Name == "participant-service" {
			cm = c
		}
	}
	if cm == nil {
		t.Fatal("no ConfigMap participant-service")
	}
	for k, want := range map[string]string{
		"DRAW_PROTOCOL":  "v2",
		"WITNESS_URLS":   "https://w1.example/tlog,https://w2.example",
		"WITNESS_KEYS":   "w1.example+0123abcd+BA0=,w2.example+4567cdef+BB0=",
		"WITNESS_QUORUM": "1",
	} {
		if got := cm.Data[k]; got != want {
			t.Errorf("ConfigMap %s = %q, want %q", k, got, want)
		}
	}
	signingKey := func(env []corev1.EnvVar) *corev1.EnvVar {
		for i, e := range env {
			if e.Name == "LOG_SIGNING_KEY" {
				return &env[i]
			}
		}
		return nil
	}
	d := one[appsv1.Deployment](t, r, "Deployment")
	j := one[batchv1.Job](t, r, "Job")
	for name, env := range map[string][]corev1.EnvVar{"Deployment": d.Spec.Template.Spec.Containers[0].Env, "Job": j.Spec.Template.Spec.Containers[0].Env} {
		e := signingKey(env)
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Key != "LOG_SIGNING_KEY" ||
			e.ValueFrom.SecretKeyRef.Name != "participant-service" || e.ValueFrom.SecretKeyRef.Optional == nil || !*e.ValueFrom.SecretKeyRef.Optional {
			t.Errorf("%s: LOG_SIGNING_KEY is %+v, want the optional key LOG_SIGNING_KEY of the Secret", name, e)
		}
	}
	// The Job, which cannot read the ConfigMap, gets the witnesses too:
	// the service refuses keys without URLs.
	var jobEnv []string
	for _, e := range j.Spec.Template.Spec.Containers[0].Env {
		jobEnv = append(jobEnv, e.Name+"="+e.Value)
	}
	for _, want := range []string{"WITNESS_URLS=https://w1.example/tlog,https://w2.example", "WITNESS_QUORUM=1", "DRAW_PROTOCOL=v2"} {
		if !strings.Contains(strings.Join(jobEnv, "\n"), want) {
			t.Errorf("the Job's env lacks %s: %v", want, jobEnv)
		}
	}

	// Egress: HTTPS to the relays and witnesses, outside the private ranges.
	np := one[networkingv1.NetworkPolicy](t, r, "NetworkPolicy")
	found := false
	for _, rule := range np.Spec.Egress {
		if len(rule.Ports) == 1 && rule.Ports[0].Port.IntValue() == 443 && len(rule.To) == 1 && rule.To[0].IPBlock != nil &&
			rule.To[0].IPBlock.CIDR == "0.0.0.0/0" && len(rule.To[0].IPBlock.Except) == 3 {
			found = true
		}
	}
	if !found {
		t.Errorf("no egress rule for HTTPS to the drand relays and witnesses: %+v", np.Spec.Egress)
	}

	// Without witnesses, no witness variable is rendered.
	def := rendered(t, defaultValues)
	for _, o := range def.byKind("ConfigMap") {
		if c := o.obj.(*corev1.ConfigMap); c.Name == "participant-service" {
			for _, k := range []string{"WITNESS_URLS", "WITNESS_KEYS", "WITNESS_QUORUM"} {
				if v, ok := c.Data[k]; ok {
					t.Errorf("default ConfigMap has %s=%q", k, v)
				}
			}
		}
	}
}

// The draw log's secret and the witness variables are refused in config,
// naming the value to use instead.
func TestDrawConfigRefusals(t *testing.T) {
	t.Parallel()
	for name, want := range map[string][]string{
		"LOG_SIGNING_KEY": {"is a secret", "secrets.keys.logSigningKey", "kubectl -n telegive create secret generic"},
		"WITNESS_URLS":    {"set by the chart", "drawLog.witnesses"},
		"WITNESS_KEYS":    {"set by the chart", "drawLog.witnesses"},
		"WITNESS_QUORUM":  {"set by the chart", "drawLog.quorum"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := helmTemplate(t, valueSet{name: "config-" + name, sets: []string{"config." + name + "=x"}})
			if err == nil {
				t.Fatalf("--set config.%s=x was accepted", name)
			}
			for _, w := range append(want, "config."+name+": "+name+" ") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%s", w, err)
				}
			}
		})
	}
	for _, bad := range []string{`drawLog.witnesses=[{"url":"witness.example","verifierKey":"w+0123abcd+BA0="}]`,
		`drawLog.witnesses=[{"url":"https://w.example","verifierKey":"no key"}]`, `drawLog.quorum=0`} {
		if _, err := helmTemplate(t, valueSet{name: "bad-witness", setJSON: []string{bad}}); err == nil {
			t.Errorf("--set-json %s was accepted", bad)
		}
	}
}
