// Package openapi embeds the REST API's OpenAPI documents, which `make
// generate` writes beside this file. This file is the only hand-written one
// under gen/.
package openapi

import _ "embed"

// Document is the OpenAPI 3.1 document of every dealercare API, as the
// gateway speaks it (tools/openapi); the gateway serves it at /openapi.json.
//
//go:embed dealercare.openapi.json
var Document []byte

// Swagger is protoc-gen-openapiv2's merged Swagger 2.0 document, for tools
// that still need 2.0 (served at /openapi/v2.json). Paths that differ only
// in a parameter's name are not merged in it.
//
//go:embed dealercare.swagger.json
var Swagger []byte
