package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// fetchCRDs copies files (paths inside module's zip) into dir.
func fetchCRDs(module string, files []string, dir string) error {
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		return fmt.Errorf("go mod download %s: %w", module, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Error != "" || m.Dir == "" {
		return fmt.Errorf("go mod download %s: %v %s", module, err, m.Error)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(m.Dir, f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// convertCRDs writes a strict kubeconform schema per served version of
// every CRD in dir.
func convertCRDs(dir, out string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in %s: %v", dir, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(b, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			return fmt.Errorf("%s is a %q, not a CustomResourceDefinition", f, crd.Kind)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			raw, err := json.Marshal(v.Schema.OpenAPIV3Schema)
			if err != nil {
				return err
			}
			var s any
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
			data, err := json.Marshal(strictCRD(s))
			if err != nil {
				return err
			}
			name := strings.ToLower(crd.Spec.Names.Kind) + "-" + strings.Split(crd.Spec.Group, ".")[0] + "-" + v.Name + ".json"
			if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Printf("kubeschema: %d schemas from the CRDs in %s into %s\n", n, dir, out)
	return nil
}

// strictCRD makes a structural schema strict like convert does, keeping
// what the API server would keep: x-kubernetes-preserve-unknown-fields
// admits anything, x-kubernetes-int-or-string both.
func strictCRD(v any) any {
	switch s := v.(type) {
	case map[string]any:
		if s["x-kubernetes-int-or-string"] == true {
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		}
		m := map[string]any{}
		for k, x := range s {
			if k == "properties" {
				props := map[string]any{}
				for name, p := range x.(map[string]any) {
					props[name] = strictCRD(p)
				}
				m[k] = props
				continue
			}
			m[k] = strictCRD(x)
		}
		if _, ok := m["properties"]; ok && s["x-kubernetes-preserve-unknown-fields"] != true {
			if _, set := m["additionalProperties"]; !set {
				m["additionalProperties"] = false
			}
		}
		return m
	case []any:
		l := make([]any, len(s))
		for i, x := range s {
			l[i] = strictCRD(x)
		}
		return l
	}
	return v
}
