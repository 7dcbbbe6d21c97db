// Package temporaltest gives integration tests the address of a real
// Temporal server (the dev server `make test` starts).
package temporaltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Environment variables read by Address.
const (
	EnvAddress            = "DEALERCARE_TEST_TEMPORAL_ADDRESS"
	EnvRequireIntegration = "DEALERCARE_REQUIRE_INTEGRATION"
)

// Address returns the Temporal frontend address for tests. Without one the
// test skips, unless DEALERCARE_REQUIRE_INTEGRATION=1 makes it fail.
func Address(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(EnvAddress)
	if addr == "" {
		if os.Getenv(EnvRequireIntegration) == "1" {
			t.Fatalf("%s is not set but %s=1: run the tests with `make test`", EnvAddress, EnvRequireIntegration)
		}
		t.Skipf("%s not set; `make test` starts a Temporal dev server", EnvAddress)
	}
	return addr
}

// Namespace registers a namespace of the test's own on the server at addr
// and returns its name, once the server answers for it. A test whose
// worker polls a task queue other modules' tests also start workflows on
// (they leave them there when nothing of theirs polls it) runs in its own
// namespace, so that worker gets only this test's workflows.
func Namespace(t testing.TB, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "test-" + hex.EncodeToString(b)
	if _, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: name, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatalf("register namespace %s: %v", name, err)
	}
	for {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: name})
		if err == nil {
			return name
		}
		select {
		case <-ctx.Done():
			t.Fatalf("namespace %s: %v", name, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
