// Package outboxtest checks a service's outbox migrations against pkg/outbox.
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
// after its leading comment lines, or outbox.LegacyTableSQL("") for a
// migration written before the per-dealer queue (then a later migration
// must hold outbox.UpgradeSQL: see CheckUpgradeMigration).
func CheckMigration(t *testing.T, migrations func() (fs.FS, error), name string) {
	t.Helper()
	got := body(t, open(t, migrations), name)
	// A migration written before the tenant predicate changed has the
	// legacy one; a later migration rewrites its policy.
	for _, want := range []string{outbox.TableSQL(""), outbox.LegacyTableSQL("")} {
		legacy := strings.ReplaceAll(want, postgres.TenantPredicate, postgres.LegacyTenantPredicate)
		if got == want || got == legacy {
			return
		}
	}
	t.Errorf("%s differs from outbox.TableSQL(\"\"); regenerate it:\n%s", name, got)
}

// CheckUpgradeMigration fails t unless exactly one migration file matches
// pattern (fs.Glob, e.g. "*_outbox_dealer_queue.sql", so renumbering the
// file needs no change here) and holds outbox.UpgradeSQL("") after its
// leading comment lines.
func CheckUpgradeMigration(t *testing.T, migrations func() (fs.FS, error), pattern string) {
	t.Helper()
	fsys := open(t, migrations)
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 {
		t.Fatalf("migrations matching %s: %v, want exactly one holding outbox.UpgradeSQL(\"\")", pattern, names)
	}
	if got, want := body(t, fsys, names[0]), outbox.UpgradeSQL(""); got != want {
		t.Errorf("%s differs from outbox.UpgradeSQL(\"\"); regenerate it:\n%s", names[0], want)
	}
}

func open(t *testing.T, migrations func() (fs.FS, error)) fs.FS {
	t.Helper()
	fsys, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// body is a migration file without its leading comment lines.
func body(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if len(lines) == 0 && strings.HasPrefix(line, "--") {
			continue
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "")
}
