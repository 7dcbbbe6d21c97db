package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/gen/go/openapi"
	"github.com/go-openapi/loads"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/validate"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/schema_validation"
)

// The served document is valid OpenAPI 3.1 (libopenapi-validator checks it
// against the specification's schema) and keeps the conventions clients
// rely on: one path per resource, an operationId and a tag on every
// operation, every error in the Status shape, the Idempotency-Key header on
// every mutating call, the bearer scheme.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	d, err := libopenapi.NewDocument(openapi.Document)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(d)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("document: %s: %s %v", e.Message, e.Reason, e.SchemaValidationErrors)
		}
	}

	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas         map[string]map[string]any `json:"schemas"`
			SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	if s := doc.Components.SecuritySchemes["bearer"]; s["type"] != "http" || s["scheme"] != "bearer" {
		t.Errorf("bearer scheme = %v", s)
	}
	shapes := map[string]string{}
	ids := map[string]string{}
	param := regexp.MustCompile(`\{[^}]*\}`)
	for path, ops := range doc.Paths {
		shape := param.ReplaceAllString(path, "{}")
		if other, dup := shapes[shape]; dup {
			t.Errorf("%s and %s differ only in a parameter's name", path, other)
		}
		shapes[shape] = path
		if strings.Contains(path, ".") {
			t.Errorf("%s: a parameter name with a dot", path)
		}
		for method, op := range ops {
			where := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if !regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`).MatchString(id) {
				t.Errorf("%s: operationId %q is not a method name", where, id)
			}
			if other, dup := ids[id]; dup {
				t.Errorf("%s and %s share operationId %q", where, other, id)
			}
			ids[id] = where
			if tags, _ := op["tags"].([]any); len(tags) != 1 {
				t.Errorf("%s: tags %v", where, op["tags"])
			}
			if op["summary"] == nil && op["description"] == nil {
				t.Errorf("%s has no description", where)
			}
			responses, _ := op["responses"].(map[string]any)
			for _, code := range []string{"400", "401", "403", "404", "409", "429", "500", "503", "default"} {
				r, _ := responses[code].(map[string]any)
				if r == nil || !strings.HasPrefix(r["$ref"].(string), "#/components/responses/") {
					t.Errorf("%s: no %s response", where, code)
				}
			}
			mutating := method != "get"
			hasKey := false
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				hasKey = hasKey || p.(map[string]any)["$ref"] == "#/components/parameters/IdempotencyKey"
			}
			if hasKey != mutating {
				t.Errorf("%s: Idempotency-Key header %v, want %v", where, hasKey, mutating)
			}
			if _, ok := responses["422"]; ok != mutating {
				t.Errorf("%s: 422 response %v, want %v", where, ok, mutating)
			}
		}
	}
	if len(doc.Paths) < 40 {
		t.Errorf("only %d paths", len(doc.Paths))
	}
	for _, main := range []string{"Customer", "Vehicle", "RepairOrder", "Complaint", "CallbackTask", "Dealer", "Sale", "Import", "KpiTable"} {
		if ex, _ := doc.Components.Schemas[main]["examples"].([]any); len(ex) == 0 {
			t.Errorf("schema %s has no example", main)
		}
	}
}

// Every example in the document is a valid instance of its schema, with
// no property the schema does not declare.
func TestOpenAPIExamplesMatchTheirSchemas(t *testing.T) {
	d, err := libopenapi.NewDocument(openapi.Document)
	if err != nil {
		t.Fatal(err)
	}
	model, err := d.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapi.Document, &raw); err != nil {
		t.Fatal(err)
	}
	sv := schema_validation.NewSchemaValidator()
	n := 0
	for name, proxy := range model.Model.Components.Schemas.FromOldest() {
		s := proxy.Schema()
		for i, ex := range s.Examples {
			var v any
			if err := ex.Decode(&v); err != nil {
				t.Fatalf("%s example %d: %v", name, i, err)
			}
			n++
			if ok, errs := sv.ValidateSchemaObject(s, v); !ok {
				for _, e := range errs {
					t.Errorf("%s example %d: %s %v", name, i, e.Reason, e.SchemaValidationErrors)
				}
			}
			for _, p := range undeclared(raw.Components.Schemas, raw.Components.Schemas[name], v, name) {
				t.Errorf("%s example %d: undeclared property %s", name, i, p)
			}
		}
	}
	if n < 6 {
		t.Errorf("only %d examples", n)
	}
}

// undeclared lists the properties of v that schema s does not declare.
func undeclared(schemas map[string]map[string]any, s map[string]any, v any, at string) []string {
	if ref, ok := s["$ref"].(string); ok {
		return undeclared(schemas, schemas[strings.TrimPrefix(ref, "#/components/schemas/")], v, at)
	}
	for _, alt := range append(asList(s["anyOf"]), asList(s["oneOf"])...) {
		if out := undeclared(schemas, alt.(map[string]any), v, at); len(out) == 0 {
			return nil
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if props == nil {
			return nil
		}
		var out []string
		for k, pv := range v {
			ps, ok := props[k].(map[string]any)
			if !ok {
				out = append(out, at+"."+k)
				continue
			}
			out = append(out, undeclared(schemas, ps, pv, at+"."+k)...)
		}
		return out
	case []any:
		items, _ := s["items"].(map[string]any)
		var out []string
		for _, it := range v {
			out = append(out, undeclared(schemas, items, it, at+"[]")...)
		}
		return out
	}
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

// The Swagger 2.0 document stays valid for tools that need 2.0, and both
// documents are served.
func TestSwaggerDocumentIsValid(t *testing.T) {
	doc, err := loads.Analyzed(json.RawMessage(openapi.Swagger), "2.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Spec(doc, strfmt.Default); err != nil {
		t.Fatalf("Swagger document invalid: %v", err)
	}
	g := start(t)
	for path, want := range map[string]string{"/openapi.json": `"openapi": "3.1.0"`, "/openapi/v2.json": `"swagger": "2.0"`} {
		resp, err := http.Get(g.url + path)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b.String(), want) {
			t.Errorf("GET %s: %d, want a body with %s", path, resp.StatusCode, want)
		}
	}
}
