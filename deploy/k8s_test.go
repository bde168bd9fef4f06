package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
)

// renderK8s renders deploy/k8s with kustomize, as kubectl apply -k would.
func renderK8s(t *testing.T) map[string]map[string]any {
	t.Helper()
	out, err := exec.Command(testenv.LookBin(t, "kustomize"), "build", "k8s").Output()
	if err != nil {
		t.Fatalf("kustomize build deploy/k8s: %v", err)
	}
	objs := map[string]map[string]any{} // "Kind/name"
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		objs[o["kind"].(string)+"/"+get(o, "metadata", "name").(string)] = o
	}
	return objs
}

// get walks nested maps (string keys) and lists (int keys).
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// The Kubernetes manifests as the README promises them (kubeconform checks
// their shape in make test; this checks what they mean): a worker Deployment
// whose termination grace exceeds the worker's shutdown timeout, a PDB and a
// Service selecting its pods, a ServiceMonitor on the Service's metrics port,
// a migrate Job; non-root pods without privileges; resources set;
// credentials only as files of the Secret.
func TestKubernetesManifests(t *testing.T) {
	objs := renderK8s(t)
	for _, want := range []string{"Deployment/ivsbatch-worker", "PodDisruptionBudget/ivsbatch-worker", "Job/ivsbatch-migrate",
		"Service/ivsbatch-worker", "ServiceMonitor/ivsbatch-worker", "ServiceAccount/ivsbatch"} {
		if objs[want] == nil {
			t.Fatalf("no %s in the rendered manifests", want)
		}
	}
	worker := objs["Deployment/ivsbatch-worker"]
	pod := get(worker, "spec", "template", "spec")
	if grace, _ := get(pod, "terminationGracePeriodSeconds").(int); grace <= int(workerShutdownTimeout.Seconds()) {
		t.Errorf("terminationGracePeriodSeconds %d, want more than the worker's shutdown timeout %s", grace, workerShutdownTimeout)
	}
	podLabels := get(worker, "spec", "template", "metadata", "labels").(map[string]any)
	selects := func(what string, sel any) {
		for k, v := range sel.(map[string]any) {
			if podLabels[k] != v {
				t.Errorf("%s selects %s=%v, which the worker pods do not carry", what, k, v)
			}
		}
	}
	selects("the PDB", get(objs["PodDisruptionBudget/ivsbatch-worker"], "spec", "selector", "matchLabels"))
	selects("the Service", get(objs["Service/ivsbatch-worker"], "spec", "selector"))
	svcLabels := get(objs["Service/ivsbatch-worker"], "metadata", "labels").(map[string]any)
	for k, v := range get(objs["ServiceMonitor/ivsbatch-worker"], "spec", "selector", "matchLabels").(map[string]any) {
		if svcLabels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%v, which the Service does not carry", k, v)
		}
	}
	if p := get(objs["ServiceMonitor/ivsbatch-worker"], "spec", "endpoints", 0, "port"); p != get(objs["Service/ivsbatch-worker"], "spec", "ports", 0, "name") {
		t.Errorf("the ServiceMonitor scrapes port %v, not the Service's", p)
	}
	if cmd := get(objs["Job/ivsbatch-migrate"], "spec", "template", "spec", "containers", 0, "command"); !slices.Equal(toStrings(cmd), []string{"ops", "migrate"}) {
		t.Errorf("migrate Job runs %v", cmd)
	}

	secretEnv := regexp.MustCompile(`(SECRET|PASSWORD|_SK$|_KEYS?$|_INDEX_KEY$|TOKEN)`)
	for _, name := range []string{"Deployment/ivsbatch-worker", "Job/ivsbatch-migrate"} {
		pod := get(objs[name], "spec", "template", "spec")
		if get(pod, "securityContext", "runAsNonRoot") != true || get(pod, "securityContext", "runAsUser") != 10001 ||
			get(pod, "automountServiceAccountToken") != false {
			t.Errorf("%s: pod security context %v, want non-root uid 10001 and no service account token", name, get(pod, "securityContext"))
		}
		mounts := map[string]string{} // mount path → volume
		for _, c := range get(pod, "containers").([]any) {
			sc := get(c, "securityContext")
			if get(sc, "allowPrivilegeEscalation") != false || get(sc, "readOnlyRootFilesystem") != true ||
				!slices.Equal(toStrings(get(sc, "capabilities", "drop")), []string{"ALL"}) {
				t.Errorf("%s: container security context %v", name, sc)
			}
			for _, kind := range []string{"requests", "limits"} {
				if get(c, "resources", kind, "cpu") == nil || get(c, "resources", kind, "memory") == nil {
					t.Errorf("%s: no cpu and memory %s", name, kind)
				}
			}
			for _, m := range get(c, "volumeMounts").([]any) {
				mounts[get(m, "mountPath").(string)] = get(m, "name").(string)
			}
			for _, e := range get(c, "env").([]any) {
				n, _ := get(e, "name").(string)
				v, hasValue := get(e, "value").(string)
				if strings.HasSuffix(n, "_FILE") {
					dir := path.Dir(v)
					if vol := mounts[dir]; vol == "" || get(volume(pod, vol), "secret", "secretName") == nil {
						t.Errorf("%s: %s=%s is not under a mounted Secret", name, n, v)
					}
					continue
				}
				if hasValue && secretEnv.MatchString(n) {
					t.Errorf("%s: %s is a credential given as a value", name, n)
				}
				if hasValue && strings.Contains(v, "://") && regexp.MustCompile(`://[^/@]*:[^/@]*@`).MatchString(v) {
					t.Errorf("%s: %s carries a password in its URL", name, n)
				}
			}
		}
	}
}

func volume(pod any, name string) any {
	for _, v := range get(pod, "volumes").([]any) {
		if get(v, "name") == name {
			return v
		}
	}
	return nil
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
