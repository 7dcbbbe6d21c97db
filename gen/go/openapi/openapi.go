// Package openapi embeds the merged OpenAPI document that protoc-gen-openapiv2
// writes beside this file. This file is the only hand-written one under gen/.
package openapi

import _ "embed"

// Document is the merged OpenAPI v2 document of every dealercare API.
//
//go:embed dealercare.swagger.json
var Document []byte
