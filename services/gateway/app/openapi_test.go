package app_test

import (
	"encoding/json"
	"testing"

	"github.com/dealercare/dealercare/gen/go/openapi"
	"github.com/go-openapi/loads"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/validate"
)

// The served document must be a valid Swagger 2.0 (OpenAPI v2) document
// with the bearer security scheme and a description on every operation.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := loads.Analyzed(json.RawMessage(openapi.Document), "2.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Spec(doc, strfmt.Default); err != nil {
		t.Fatalf("OpenAPI document invalid: %v", err)
	}
	spec := doc.Spec()
	if _, ok := spec.SecurityDefinitions["bearer"]; !ok {
		t.Error("no bearer security definition")
	}
	for path, item := range spec.Paths.Paths {
		ops := map[string]string{}
		if item.Get != nil {
			ops["GET"] = item.Get.Description + item.Get.Summary
		}
		if item.Post != nil {
			ops["POST"] = item.Post.Description + item.Post.Summary
		}
		if item.Put != nil {
			ops["PUT"] = item.Put.Description + item.Put.Summary
		}
		if item.Patch != nil {
			ops["PATCH"] = item.Patch.Description + item.Patch.Summary
		}
		if item.Delete != nil {
			ops["DELETE"] = item.Delete.Description + item.Delete.Summary
		}
		for m, d := range ops {
			if d == "" {
				t.Errorf("%s %s has no description", m, path)
			}
		}
	}
}
