//go:build tools

// Package temporal pins the Temporal CLI whose dev server `make run` and
// `make test` start. It lives in its own module so the server's large
// dependency graph never enters the services' build list.
package temporal

import _ "github.com/temporalio/cli/cmd/temporal"
