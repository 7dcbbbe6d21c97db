//go:build tools

// Package tools pins vegeta, the HTTP load tool `make load` drives
// (tools/chaos/cmd/load). The Makefile builds it into bin/ with GOWORK=off,
// so its dependencies stay out of the workspace's build list.
package tools

import (
	_ "github.com/tsenart/vegeta/v12"
)
