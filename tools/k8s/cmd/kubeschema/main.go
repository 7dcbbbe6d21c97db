// Command kubeschema writes strict, standalone JSON schemas for kubeconform
// from the OpenAPI document of the pinned Kubernetes (k8s.io/kubernetes
// v1.36.3's api/openapi-spec/swagger.json, from the module cache), one file
// per kind named as kubeconform's {{.ResourceKind}}{{.KindSuffix}}.json
// (deployment-apps-v1.json, service-v1.json). Strict: every object that
// lists its properties admits no other, so a misspelt field fails.
//
// With -crds DIR it converts the openAPIV3Schema of each CustomResource
// Definition in DIR (*.yaml) the same way instead (servicemonitor-monitoring-v1.json).
// With -crd-module MODULE@VERSION -crd-files a,b it first copies those CRD
// files out of that module's zip (go mod download, from the module proxy)
// into DIR, so no CRD is kept in the repository.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("out", "bin/kube-schemas", "output directory")
	spec := flag.String("spec", "", "swagger.json (default: k8s.io/kubernetes's in the module cache)")
	crds := flag.String("crds", "", "convert the CRDs in this directory instead")
	crdModule := flag.String("crd-module", "", "module@version whose zip holds the CRDs (copied into -crds first)")
	crdFiles := flag.String("crd-files", "", "comma-separated paths of CRD files inside -crd-module")
	flag.Parse()
	var err error
	switch {
	case *crds != "" && *crdModule != "":
		if err = fetchCRDs(*crdModule, strings.Split(*crdFiles, ","), *crds); err == nil {
			err = convertCRDs(*crds, *out)
		}
	case *crds != "":
		err = convertCRDs(*crds, *out)
	default:
		err = run(*spec, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeschema:", err)
		os.Exit(1)
	}
}

func run(spec, out string) error {
	if spec == "" {
		dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes").Output()
		if err != nil {
			return fmt.Errorf("find k8s.io/kubernetes in the module cache: %w", err)
		}
		spec = filepath.Join(strings.TrimSpace(string(dir)), "api", "openapi-spec", "swagger.json")
	}
	b, err := os.ReadFile(spec)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", spec, err)
	}
	defs := map[string]any{}
	for name, d := range doc.Definitions {
		defs[name] = convert(d)
	}
	// A quantity is written 500m or 2 (a number in YAML).
	defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	n := 0
	for name, d := range doc.Definitions {
		gvks, _ := d["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk := g.(map[string]any)
			group, version, kind := gvk["group"].(string), gvk["version"].(string), gvk["kind"].(string)
			if strings.HasSuffix(kind, "List") || kind == "Status" || kind == "WatchEvent" || kind == "DeleteOptions" {
				continue
			}
			suffix := "-" + version
			if group != "" {
				suffix = "-" + strings.Split(group, ".")[0] + "-" + version
			}
			root := map[string]any{}
			for k, v := range defs[name].(map[string]any) {
				root[k] = v
			}
			reach := map[string]any{}
			collect(defs, root, reach)
			root["definitions"] = reach
			file := filepath.Join(out, strings.ToLower(kind)+suffix+".json")
			data, err := json.Marshal(root)
			if err != nil {
				return err
			}
			if err := os.WriteFile(file, data, 0o644); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Printf("kubeschema: %d schemas from %s into %s\n", n, spec, out)
	return nil
}

// convert makes a swagger schema a strict JSON schema: int-or-string and
// quantities accept both, and objects with properties admit no others.
func convert(v any) any {
	switch s := v.(type) {
	case map[string]any:
		if s["format"] == "int-or-string" {
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		}
		m := map[string]any{}
		for k, x := range s {
			m[k] = convert(x)
		}
		if _, ok := m["properties"]; ok {
			if _, set := m["additionalProperties"]; !set {
				m["additionalProperties"] = false
			}
		}
		return m
	case []any:
		l := make([]any, len(s))
		for i, x := range s {
			l[i] = convert(x)
		}
		return l
	}
	return v
}

// collect copies every definition v refers to, transitively, into reach.
func collect(defs map[string]any, v any, reach map[string]any) {
	switch s := v.(type) {
	case map[string]any:
		if ref, ok := s["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/definitions/")
			if _, seen := reach[name]; !seen {
				if d, ok := defs[name]; ok {
					reach[name] = d
					collect(defs, d, reach)
				}
			}
		}
		for k, x := range s {
			if k != "definitions" {
				collect(defs, x, reach)
			}
		}
	case []any:
		for _, x := range s {
			collect(defs, x, reach)
		}
	}
}
