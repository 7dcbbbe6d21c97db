// Package charttest tests charts/dealercare with the tools make chart-tools
// builds into bin/: helm lint and template with every deploy/ values file,
// kubeconform in strict mode against Kubernetes v1.36.3's schemas, every
// rendered object created on a real kube-apiserver (etcd, envtest) in a
// PodSecurity-restricted namespace, a bad values file refused, and each
// Deployment's ports, probes and environment against what its program's
// --help says it reads.
package charttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const kubeVersion = "1.36.3"

var (
	root  = mustAbs("../../..")
	chart = filepath.Join(root, "charts", "dealercare")
)

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

func bin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("DEALERCARE_BIN")
	if dir == "" {
		dir = filepath.Join(root, "bin")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v (make chart-tools builds it)", p, err)
	}
	return p
}

// valuesFiles are deploy/values-*.yaml.
func valuesFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(root, "deploy", "values-*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("deploy/values-*.yaml: %v %v", files, err)
	}
	return files
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	var out, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return out.String(), err
}

func render(t *testing.T, values, namespace string) string {
	t.Helper()
	out, err := run(t, bin(t, "helm"), "template", "dealercare", chart, "--kube-version", kubeVersion, "--namespace", namespace, "-f", values)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func objects(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if m == nil {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

func TestLintAndKubeconform(t *testing.T) {
	for _, f := range valuesFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			out, err := run(t, bin(t, "helm"), "lint", "--strict", chart, "-f", f, "--kube-version", kubeVersion)
			if err != nil || !strings.Contains(out, "0 chart(s) failed") || strings.Contains(out, "[WARNING]") {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			manifest := filepath.Join(t.TempDir(), "rendered.yaml")
			if err := os.WriteFile(manifest, []byte(render(t, f, "dealercare")), 0o644); err != nil {
				t.Fatal(err)
			}
			schemas := filepath.Join(filepath.Dir(bin(t, "kubeconform")), "kube-schemas")
			out, err = run(t, bin(t, "kubeconform"), "-strict", "-summary", "-output", "text",
				"-schema-location", schemas+"/{{ .ResourceKind }}{{ .KindSuffix }}.json", manifest)
			if err != nil || !strings.Contains(out, "Invalid: 0, Errors: 0, Skipped: 0") {
				t.Fatalf("kubeconform: %v\n%s", err, out)
			}
			t.Log(strings.TrimSpace(out))
		})
	}
}

func TestBadValuesRefused(t *testing.T) {
	for _, c := range []struct{ file, args, want string }{
		{filepath.Join(root, "deploy", "bad-values.yaml"), "", "worker.targets names campaign, which is disabled"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "customer.replicas=-1", "/customer/replicas"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "database.maxConns=5", "database.maxConns (5) must be at least customer.import.workers × customer.import.writers + 2 (10)"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "serviceToken.secretName=", "serviceToken.secretName is required"},
	} {
		args := []string{"template", "dealercare", chart, "--kube-version", kubeVersion, "-f", c.file}
		if c.args != "" {
			args = append(args, "--set", c.args)
		}
		_, err := run(t, bin(t, "helm"), args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: want a refusal naming %q, got %v", filepath.Base(c.file), c.args, c.want, err)
		}
	}
}

// TestAdmission creates every object of every deploy/ values file (hooks
// included) on a real kube-apiserver, in a namespace whose PodSecurity
// level is restricted, so admission accepts each pod template.
func TestAdmission(t *testing.T) {
	env := &envtest.Environment{BinaryAssetsDirectory: filepath.Dir(bin(t, "kube-apiserver"))}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start kube-apiserver and etcd: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, f := range valuesFiles(t) {
		ns := "dealercare-" + strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "values-"), ".yaml")
		t.Run(ns, func(t *testing.T) {
			n := &corev1.Namespace{}
			n.Name = ns
			n.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}
			if err := c.Create(ctx, n); err != nil {
				t.Fatal(err)
			}
			// PodSecurity enforces on pods (workload objects only get
			// warnings) and no controller makes pods here, so each pod
			// template is also created as a Pod. First, one that may run as
			// root must be refused.
			bad := &corev1.Pod{}
			bad.Name, bad.Namespace = "root-check", ns
			bad.Spec.Containers = []corev1.Container{{Name: "c", Image: "x"}}
			if err := c.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "violates PodSecurity") {
				t.Fatalf("a root-capable pod in %s: %v, want a PodSecurity refusal", ns, err)
			}
			counts := map[string]int{}
			for _, o := range objects(t, render(t, f, ns)) {
				o.SetNamespace(ns)
				if err := c.Create(ctx, o, client.FieldOwner("chart-test")); err != nil {
					t.Errorf("create %s %s: %v", o.GetKind(), o.GetName(), err)
					continue
				}
				counts[o.GetKind()]++
				tmpl, found, err := unstructured.NestedMap(o.Object, "spec", "template")
				if err != nil || !found {
					continue
				}
				pod := &unstructured.Unstructured{Object: tmpl}
				pod.SetAPIVersion("v1")
				pod.SetKind("Pod")
				pod.SetName(o.GetName() + "-template")
				pod.SetNamespace(ns)
				if err := c.Create(ctx, pod); err != nil {
					t.Errorf("pod of %s %s: %v", o.GetKind(), o.GetName(), err)
					continue
				}
				counts["Pod (from a template)"]++
			}
			t.Logf("created on kube-apiserver %s: %v", kubeVersion, counts)
		})
	}
}

// helpVars runs a program's --help and returns, per command, the variables
// it reads and whether each is required.
func helpVars(t *testing.T, program string) map[string]map[string]bool {
	out, err := run(t, bin(t, program), "--help")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]map[string]bool{}
	var cmd string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "environment (") {
			cmd = strings.TrimSuffix(strings.TrimPrefix(line, "environment ("), "):")
			vars[cmd] = map[string]bool{}
			continue
		}
		if f := strings.Fields(line); cmd != "" && len(f) > 0 && strings.HasPrefix(line, "  ") {
			vars[cmd][f[0]] = len(f) > 1 && f[1] == "required"
		}
	}
	if len(vars["serve"]) == 0 {
		t.Fatalf("%s --help lists no variables:\n%s", program, out)
	}
	return vars
}

// TestNoDrift checks every Deployment and migration Job against its
// program: each variable the chart sets is one the program reads, each it
// requires is set, its listen variable names the container port, and the
// probes ask that port.
func TestNoDrift(t *testing.T) {
	for _, f := range valuesFiles(t) {
		for _, o := range objects(t, render(t, f, "dealercare")) {
			raw, err := o.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw, nil, nil)
			if err != nil {
				t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
			}
			switch obj := obj.(type) {
			case *appsv1.Deployment:
				program := obj.Labels["app.kubernetes.io/component"]
				checkDeployment(t, filepath.Base(f), program, obj.Spec.Template.Spec.Containers[0], helpVars(t, program)["serve"])
			case *batchv1.Job:
				ctr := obj.Spec.Template.Spec.Containers[0]
				program := filepath.Base(strings.SplitN(strings.SplitN(ctr.Image, "@", 2)[0], ":", 2)[0])
				command := "serve"
				if len(ctr.Args) > 0 {
					command = ctr.Args[0]
				}
				vars := helpVars(t, program)[command]
				if vars == nil {
					t.Errorf("%s: job %s runs %v of %s, which has no such command", f, obj.Name, ctr.Args, program)
				}
				checkEnv(t, filepath.Base(f)+" job "+obj.Name, ctr.Env, vars)
			}
		}
	}
}

func checkEnv(t *testing.T, where string, env []corev1.EnvVar, vars map[string]bool) map[string]string {
	set := map[string]string{}
	for _, e := range env {
		if _, ok := vars[e.Name]; !ok {
			t.Errorf("%s sets %s, which the program does not read", where, e.Name)
		}
		set[e.Name] = e.Value
	}
	for name, required := range vars {
		if _, ok := set[name]; required && !ok {
			t.Errorf("%s does not set %s, which the program requires", where, name)
		}
	}
	return set
}

func checkDeployment(t *testing.T, file, program string, ctr corev1.Container, vars map[string]bool) {
	where := file + " " + program
	set := checkEnv(t, where, ctr.Env, vars)
	if len(ctr.Ports) != 1 {
		t.Fatalf("%s: ports %v", where, ctr.Ports)
	}
	port := ctr.Ports[0].ContainerPort
	listens := 0
	for name, v := range set {
		if strings.HasSuffix(name, "_GRPC_ADDR") || name == "GATEWAY_HTTP_ADDR" || name == "WORKER_HEALTH_ADDR" {
			listens++
			if v != ":"+strconv.Itoa(int(port)) {
				t.Errorf("%s: %s=%q but the container port is %d", where, name, v, port)
			}
		}
	}
	if listens != 1 {
		t.Errorf("%s sets %d listen addresses", where, listens)
	}
	for kind, p := range map[string]*corev1.Probe{"startup": ctr.StartupProbe, "readiness": ctr.ReadinessProbe, "liveness": ctr.LivenessProbe} {
		switch {
		case p == nil:
			t.Errorf("%s: no %s probe", where, kind)
		case p.GRPC != nil:
			// Every service's grpcserver registers grpc.health.v1.
			if p.GRPC.Port != port || !strings.HasSuffix(ctrName(set), "_GRPC_ADDR") {
				t.Errorf("%s: %s gRPC probe on %d, serving gRPC on %d", where, kind, p.GRPC.Port, port)
			}
		case p.HTTPGet != nil:
			if p.HTTPGet.Port.IntValue() != int(port) || (p.HTTPGet.Path != "/livez" && p.HTTPGet.Path != "/healthz") {
				t.Errorf("%s: %s probe %s on %s", where, kind, p.HTTPGet.Path, p.HTTPGet.Port.String())
			}
		}
	}
}

// ctrName is the listen variable the container sets.
func ctrName(set map[string]string) string {
	for name := range set {
		if strings.HasSuffix(name, "_GRPC_ADDR") {
			return name
		}
	}
	return ""
}
