package postgres_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/callback/postgres"
)

// A database migrated by the previous release (every migration numbered
// below the complaint severities') takes this release's migrations.
func TestUpgradeFromThePreviousRelease(t *testing.T) {
	const severityMigration = "0051_policy_complaint_severity.sql"
	all, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	previous := fstest.MapFS{}
	entries, err := fs.ReadDir(all, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() >= severityMigration {
			continue
		}
		raw, err := fs.ReadFile(all, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		previous[e.Name()] = &fstest.MapFile{Data: raw}
	}
	if _, err := fs.Stat(all, severityMigration); err != nil {
		t.Fatalf("the release's migrations: %v", err)
	}
	db := pgtest.New(t, postgres.Schema, previous)
	if err := pg.Migrate(context.Background(), db.OwnerURL, postgres.Schema, pgtest.AppRole, all); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	p, err := postgres.NewStore(db.AppPool(t, pg.Config{})).Policy(context.Background(), postgres.DefaultScope)
	if err != nil || p.ComplaintSeverity != "medium" || len(p.ComplaintSeverityRules) != 1 {
		t.Fatalf("HQ's policy after the upgrade: %+v %v", p, err)
	}
}
