// Package temporaltest gives integration tests the address of a real
// Temporal server (the dev server `make test` starts).
package temporaltest

import (
	"os"
	"testing"
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
