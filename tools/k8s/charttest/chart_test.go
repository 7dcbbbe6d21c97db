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
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
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
			// Kubernetes' own kinds, then the prometheus-operator's
			// (ServiceMonitor, PrometheusRule) from its CRDs.
			schemas := filepath.Join(filepath.Dir(bin(t, "kubeconform")), "kube-schemas")
			crdSchemas := filepath.Join(filepath.Dir(bin(t, "kubeconform")), "crd-schemas")
			out, err = run(t, bin(t, "kubeconform"), "-strict", "-summary", "-output", "text",
				"-schema-location", schemas+"/{{ .ResourceKind }}{{ .KindSuffix }}.json",
				"-schema-location", crdSchemas+"/{{ .ResourceKind }}{{ .KindSuffix }}.json", manifest)
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
		{filepath.Join(root, "deploy", "values-prod.yaml"), "campaign.providers.secretName=", "campaign.providers.secretName is required"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "campaign.providers.smtpAddr=", "campaign.providers.smtpAddr is required"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "campaign.providers.smsURL=sms.example.com", "/campaign/providers/smsURL"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "campaign.providers.egress[0].cidrs[0]=everywhere", "/campaign/providers/egress/0/cidrs/0"},
		{filepath.Join(root, "deploy", "values-dev.yaml"), "campaign.enabled=false,gateway.targets={customer},worker.targets={customer},evaluation.targets={customer}", "campaign-provider.enabled needs campaign.enabled"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "campaign.enabled=false,gateway.targets={customer},worker.targets={customer}", "evaluation.targets names campaign, which is disabled"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "webhook.enabled=false", "gateway.targets names webhook, which is disabled"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "webhook.pii.secretName=", "webhook.pii.secretName is required"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "webhook.pii.secretName=dealercare-pii", `webhook.pii.secretName ("dealercare-pii") must differ from customer.pii.secretName`},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "webhook.extraEnv.WEBHOOK_ALLOW_LOOPBACK=true", "webhook.extraEnv.WEBHOOK_ALLOW_LOOPBACK is refused"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "webhook.subscribers.ipBlocks[0].cidr=anywhere", "/webhook/subscribers/ipBlocks/0/cidr"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "webhook.delivery.retryFor=forever", "/webhook/delivery/retryFor"},
		{filepath.Join(root, "deploy", "values-prod.yaml"), "prometheusRule.enabled=notabool", "/prometheusRule/enabled"},
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

// TestRulesCopy: the chart's PrometheusRule carries deploy/monitoring's
// alert rules; the chart can only read files inside it, so it holds a copy.
func TestRulesCopy(t *testing.T) {
	a, err := os.ReadFile(filepath.Join(root, "deploy", "monitoring", "dealercare-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(chart, "files", "dealercare-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("charts/dealercare/files/dealercare-rules.yaml differs from deploy/monitoring/dealercare-rules.yaml: cp deploy/monitoring/dealercare-rules.yaml charts/dealercare/files/")
	}
}

// TestAdmission creates every object of every deploy/ values file (hooks
// included) on a real kube-apiserver, in a namespace whose PodSecurity
// level is restricted, so admission accepts each pod template.
func TestAdmission(t *testing.T) {
	// The prometheus-operator CRDs (bin/crds, make chart-tools) are
	// created first, so the ServiceMonitor and PrometheusRule are too.
	crds := filepath.Join(filepath.Dir(bin(t, "kube-apiserver")), "crds")
	env := &envtest.Environment{
		BinaryAssetsDirectory: filepath.Dir(bin(t, "kube-apiserver")),
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
		// envtest's default of 20 s a try is too short for kube-apiserver on a
		// busy 2-core machine (five tries timed out under a load of 16).
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
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

// envVar is one variable a program's --help lists.
type envVar struct {
	required bool
	def      string // the default, "" for none
}

var helpCache sync.Map // program -> map[string]map[string]envVar

// helpVars runs a program's --help and returns, per command, the variables
// it reads with their defaults and whether each is required.
func helpVars(t *testing.T, program string) map[string]map[string]envVar {
	t.Helper()
	if v, ok := helpCache.Load(program); ok {
		return v.(map[string]map[string]envVar)
	}
	out, err := run(t, bin(t, program), "--help")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]map[string]envVar{}
	var cmd string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "environment (") {
			cmd = strings.TrimSuffix(strings.TrimPrefix(line, "environment ("), "):")
			vars[cmd] = map[string]envVar{}
			continue
		}
		if f := strings.Fields(line); cmd != "" && len(f) > 0 && strings.HasPrefix(line, "  ") {
			v := envVar{required: len(f) > 1 && f[1] == "required"}
			if len(f) > 2 && f[1] == "default" {
				v.def = f[2]
			}
			vars[cmd][f[0]] = v
		}
	}
	if len(vars["serve"]) == 0 {
		t.Fatalf("%s --help lists no variables:\n%s", program, out)
	}
	helpCache.Store(program, vars)
	return vars
}

// TestNoDrift checks every Deployment and migration Job against its
// program: each variable the chart sets is one the program reads, each it
// requires is set, none is left at a loopback default, each listen
// variable names a container port and each port is named, and the probes
// ask the right listener.
func TestNoDrift(t *testing.T) {
	for _, f := range valuesFiles(t) {
		deployments := 0
		for _, p := range drift(t, render(t, f, "dealercare"), &deployments) {
			t.Errorf("%s: %s", filepath.Base(f), p)
		}
		if deployments < 8 {
			t.Errorf("%s: %d Deployments checked", filepath.Base(f), deployments)
		}
	}
}

// drift returns the problems of a rendered manifest's Deployments and Jobs.
func drift(t *testing.T, manifest string, deployments *int) []string {
	var problems []string
	objs := objects(t, manifest)
	deployed := deployedComponents(objs)
	for _, o := range objs {
		if o.GetKind() != "Deployment" && o.GetKind() != "Job" {
			continue
		}
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
			*deployments++
			program := obj.Labels["app.kubernetes.io/component"]
			problems = append(problems, checkDeployment(program, obj.Spec.Template.Spec.Containers[0], helpVars(t, program)["serve"], deployed)...)
		case *batchv1.Job:
			ctr := obj.Spec.Template.Spec.Containers[0]
			program := filepath.Base(strings.SplitN(strings.SplitN(ctr.Image, "@", 2)[0], ":", 2)[0])
			command := "serve"
			if len(ctr.Args) > 0 {
				command = ctr.Args[0]
			}
			vars := helpVars(t, program)[command]
			if vars == nil {
				problems = append(problems, fmt.Sprintf("job %s runs %v of %s, which has no such command", obj.Name, ctr.Args, program))
			}
			_, p := checkEnv("job "+obj.Name, ctr.Env, vars)
			problems = append(problems, p...)
		}
	}
	return problems
}

// deployedComponents are the components a manifest has a Deployment of.
func deployedComponents(objs []*unstructured.Unstructured) map[string]bool {
	deployed := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			deployed[o.GetLabels()["app.kubernetes.io/component"]] = true
		}
	}
	return deployed
}

func checkEnv(where string, env []corev1.EnvVar, vars map[string]envVar) (map[string]string, []string) {
	var problems []string
	set := map[string]string{}
	for _, e := range env {
		if _, ok := vars[e.Name]; !ok {
			problems = append(problems, fmt.Sprintf("%s sets %s, which the program does not read", where, e.Name))
		}
		set[e.Name] = e.Value
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		v := vars[name]
		if _, ok := set[name]; ok {
			continue
		}
		switch {
		case v.required:
			problems = append(problems, fmt.Sprintf("%s does not set %s, which the program requires", where, name))
		case strings.Contains(v.def, "127.0.0.1") || strings.Contains(v.def, "localhost"):
			// In a pod, a loopback default listens where no one reaches it
			// or dials where nothing serves.
			problems = append(problems, fmt.Sprintf("%s does not set %s, so the program would use its loopback default %s", where, name, v.def))
		}
	}
	return set, problems
}

// listenVar tells the variables a program binds a listener to; kind is
// grpc or http (probed), or "" for a listener that is not probed.
func listenVar(name string) (kind string, ok bool) {
	switch {
	case strings.HasSuffix(name, "_GRPC_ADDR"):
		return "grpc", true
	case name == "GATEWAY_HTTP_ADDR", name == "WORKER_HEALTH_ADDR", name == "PROVIDER_HTTP_ADDR":
		return "http", true
	case name == "CAMPAIGN_RECEIPTS_ADDR", name == "PROVIDER_SMTP_ADDR":
		return "", true
	}
	return "", false
}

func checkDeployment(program string, ctr corev1.Container, vars map[string]envVar, deployed map[string]bool) []string {
	where := program
	set, problems := checkEnv(where, ctr.Env, vars)
	// A target without a default (a feature that is off unless set, like
	// evaluation's CAMPAIGN_GRPC_TARGET) must be set when the release
	// deploys that service.
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		service, ok := strings.CutSuffix(name, "_GRPC_TARGET")
		if _, isSet := set[name]; ok && !isSet && vars[name].def == "" && deployed[strings.ToLower(service)] {
			problems = append(problems, fmt.Sprintf("%s does not set %s, though the release deploys %s", where, name, strings.ToLower(service)))
		}
	}
	ports := map[int32]string{} // container port -> its name
	for _, p := range ctr.Ports {
		ports[p.ContainerPort] = p.Name
	}
	probed := map[string]int32{} // kind -> the port its listener binds
	named := map[int32]bool{}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		kind, ok := listenVar(name)
		if !ok {
			continue
		}
		v := set[name]
		n, err := strconv.Atoi(strings.TrimPrefix(v, ":"))
		if !strings.HasPrefix(v, ":") || err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s=%q does not listen on every interface (want :port)", where, name, v))
			continue
		}
		if _, ok := ports[int32(n)]; !ok {
			problems = append(problems, fmt.Sprintf("%s: %s=%q but no container port %d", where, name, v, n))
		}
		named[int32(n)] = true
		if kind != "" {
			probed[kind] = int32(n)
		}
	}
	for port := range ports {
		if !named[port] {
			problems = append(problems, fmt.Sprintf("%s: container port %d is named by no listen variable the program reads", where, port))
		}
	}
	portOf := func(p intstr.IntOrString) int32 {
		if p.Type == intstr.String {
			for n, name := range ports {
				if name == p.StrVal {
					return n
				}
			}
			return -1
		}
		return p.IntVal
	}
	for _, kind := range []string{"startup", "readiness", "liveness"} {
		p := map[string]*corev1.Probe{"startup": ctr.StartupProbe, "readiness": ctr.ReadinessProbe, "liveness": ctr.LivenessProbe}[kind]
		switch {
		case p == nil:
			problems = append(problems, fmt.Sprintf("%s: no %s probe", where, kind))
		case p.GRPC != nil:
			// Every service's grpcserver registers grpc.health.v1.
			if want, ok := probed["grpc"]; !ok || p.GRPC.Port != want {
				problems = append(problems, fmt.Sprintf("%s: %s gRPC probe on %d, but the program serves gRPC on %d", where, kind, p.GRPC.Port, want))
			}
		case p.HTTPGet != nil:
			want, ok := probed["http"]
			if got := portOf(p.HTTPGet.Port); !ok || got != want {
				problems = append(problems, fmt.Sprintf("%s: %s HTTP probe on %s, but the program serves HTTP on %d", where, kind, p.HTTPGet.Port.String(), want))
			}
			if p.HTTPGet.Path != "/livez" && p.HTTPGet.Path != "/healthz" {
				problems = append(problems, fmt.Sprintf("%s: %s probe asks %s, which the program does not serve (/livez, /healthz)", where, kind, p.HTTPGet.Path))
			}
		default:
			problems = append(problems, fmt.Sprintf("%s: %s probe is neither gRPC nor HTTP", where, kind))
		}
	}
	return problems
}

// TestDriftCaught shows the drift test failing: each case breaks one thing
// in a rendered Deployment (or, last, in a copy of the chart itself) and
// expects a problem naming it, so the check cannot quietly stop working.
func TestDriftCaught(t *testing.T) {
	dev := filepath.Join(root, "deploy", "values-dev.yaml")
	var campaign, gateway, evaluation, webhook *appsv1.Deployment
	devObjs := objects(t, render(t, dev, "dealercare"))
	deployed := deployedComponents(devObjs)
	for _, o := range devObjs {
		if o.GetKind() != "Deployment" {
			continue
		}
		d := &appsv1.Deployment{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d); err != nil {
			t.Fatal(err)
		}
		switch d.Labels["app.kubernetes.io/component"] {
		case "campaign":
			campaign = d
		case "gateway":
			gateway = d
		case "evaluation":
			evaluation = d
		case "webhook":
			webhook = d
		}
	}
	if campaign == nil || gateway == nil || evaluation == nil || webhook == nil {
		t.Fatal("values-dev.yaml renders no campaign, gateway, evaluation or webhook Deployment")
	}
	renameEnv := func(from, to string) func(*corev1.Container) {
		return func(c *corev1.Container) {
			for i := range c.Env {
				if c.Env[i].Name == from {
					c.Env[i].Name = to
				}
			}
		}
	}
	dropEnv := func(name string) func(*corev1.Container) {
		return func(c *corev1.Container) {
			c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
		}
	}
	for _, c := range []struct {
		name   string
		d      *appsv1.Deployment
		mutate func(*corev1.Container)
		want   []string
	}{
		{"unchanged", campaign, func(*corev1.Container) {}, nil},
		{"probe port", campaign, func(c *corev1.Container) { c.ReadinessProbe.GRPC.Port = 9106 },
			[]string{"campaign: readiness gRPC probe on 9106, but the program serves gRPC on 9105"}},
		{"env var renamed", campaign, renameEnv("CAMPAIGN_RECEIPTS_ADDR", "CAMPAIGN_RECEIPT_ADDR"),
			[]string{"campaign sets CAMPAIGN_RECEIPT_ADDR, which the program does not read",
				"campaign does not set CAMPAIGN_RECEIPTS_ADDR, so the program would use its loopback default 127.0.0.1:9115",
				"campaign: container port 9115 is named by no listen variable"}},
		{"required var dropped", campaign, dropEnv("AUTH_JWKS_URL"),
			[]string{"campaign does not set AUTH_JWKS_URL, which the program requires"}},
		{"target dropped", campaign, dropEnv("CALLBACK_GRPC_TARGET"),
			[]string{"campaign does not set CALLBACK_GRPC_TARGET, so the program would use its loopback default 127.0.0.1:9102"}},
		{"port dropped", campaign, func(c *corev1.Container) { c.Ports = c.Ports[:1] },
			[]string{`campaign: CAMPAIGN_RECEIPTS_ADDR=":9115" but no container port 9115`}},
		{"webhook target dropped", gateway, dropEnv("WEBHOOK_GRPC_TARGET"),
			[]string{"gateway does not set WEBHOOK_GRPC_TARGET, so the program would use its loopback default 127.0.0.1:9106"}},
		{"feed target dropped", evaluation, dropEnv("CAMPAIGN_GRPC_TARGET"),
			[]string{"evaluation does not set CAMPAIGN_GRPC_TARGET, though the release deploys campaign"}},
		{"webhook unchanged", webhook, func(*corev1.Container) {}, nil},
		{"webhook pii key dropped", webhook, dropEnv("PII_INDEX_KEY"),
			[]string{"webhook does not set PII_INDEX_KEY, which the program requires"}},
		{"webhook probe port", webhook, func(c *corev1.Container) { c.LivenessProbe.GRPC.Port = 9105 },
			[]string{"webhook: liveness gRPC probe on 9105, but the program serves gRPC on 9106"}},
		{"http probe path", gateway, func(c *corev1.Container) { c.LivenessProbe.HTTPGet.Path = "/ready" },
			[]string{"gateway: liveness probe asks /ready, which the program does not serve"}},
		{"http probe port", gateway, func(c *corev1.Container) { c.StartupProbe.HTTPGet.Port = intstr.FromInt32(8081) },
			[]string{"gateway: startup HTTP probe on 8081, but the program serves HTTP on 8080"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.d.DeepCopy()
			ctr := &d.Spec.Template.Spec.Containers[0]
			c.mutate(ctr)
			program := d.Labels["app.kubernetes.io/component"]
			got := checkDeployment(program, *ctr, helpVars(t, program)["serve"], deployed)
			if len(c.want) == 0 && len(got) > 0 {
				t.Errorf("unchanged Deployment: %v", got)
			}
			for _, w := range c.want {
				if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("want a problem containing %q, got %q", w, got)
				}
			}
		})
	}
	// The same through the chart: a copy whose campaign facts misname the
	// receipts variable renders, and the drift check refuses it.
	t.Run("chart copy", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "dealercare")
		if err := os.CopyFS(dir, os.DirFS(chart)); err != nil {
			t.Fatal(err)
		}
		helpers := filepath.Join(dir, "templates", "_helpers.tpl")
		b, err := os.ReadFile(helpers)
		if err != nil {
			t.Fatal(err)
		}
		bad := strings.Replace(string(b), "addrVar: CAMPAIGN_RECEIPTS_ADDR", "addrVar: CAMPAIGN_RECEIPT_ADDR", 1)
		if bad == string(b) {
			t.Fatal("_helpers.tpl names no CAMPAIGN_RECEIPTS_ADDR")
		}
		if err := os.WriteFile(helpers, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := run(t, bin(t, "helm"), "template", "dealercare", dir, "--kube-version", kubeVersion, "-f", dev)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		got := drift(t, out, &n)
		want := "campaign sets CAMPAIGN_RECEIPT_ADDR, which the program does not read"
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("a chart with a misnamed variable: want %q, got %q", want, got)
		}
	})
}
