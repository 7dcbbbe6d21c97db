//go:build tools

// Package clientgen pins oapi-codegen, which generates the Go client
// (gen/go/client) from the OpenAPI 3.1 document in `make generate`. Its
// own module, so its dependencies stay out of buf's and the services'.
package clientgen

import _ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
