// Package outboxtest checks a service's outbox migration against pkg/outbox.
package outboxtest

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/postgres"
)

// CheckMigration fails t unless the migration file name of migrations is
// pkg/outbox's table pasted as plain SQL: exactly outbox.TableSQL(""),
// after its leading comment lines.
func CheckMigration(t *testing.T, migrations func() (fs.FS, error), name string) {
	t.Helper()
	fsys, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	var body []string
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if len(body) == 0 && strings.HasPrefix(line, "--") {
			continue
		}
		body = append(body, line)
	}
	// A migration written before the tenant predicate changed has the
	// legacy one; a later migration rewrites its policy.
	want := outbox.TableSQL("")
	legacy := strings.ReplaceAll(want, postgres.TenantPredicate, postgres.LegacyTenantPredicate)
	if got := strings.Join(body, ""); got != want && got != legacy {
		t.Errorf("%s differs from outbox.TableSQL(\"\"); regenerate it:\n%s", name, got)
	}
}
