// Package programtest runs a program.Process (a service's Main) inside a
// test: opened at once, run in the background, closed when the test ends.
package programtest

import (
	"context"
	"testing"

	"github.com/dealercare/dealercare/pkg/program"
)

// Serve opens p, runs it until the test's cleanup and then closes it; a
// failed Open fails the test, and so does Run returning an error.
func Serve(t testing.TB, p program.Process) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		if err := p.Close(); err != nil {
			t.Logf("close: %v", err)
		}
	})
}
