// Package stack starts the pieces of a local dealercare installation for
// `make run` (Run) and `make test` (TestEnv): a throwaway PostgreSQL
// cluster, a Temporal dev server and the programs `make build` puts in
// bin/. Everything it starts lives under <repo>/.run and is stopped again
// by the process that started it, or by the next run if that process died.
//
// It is a development tool for Linux and macOS: it relies on process
// groups and Unix signals.
package stack
