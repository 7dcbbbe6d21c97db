package postgres_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/complaint/postgres"
	"github.com/jackc/pgx/v5"
)

// A database with policies and complaints from before 0051: each policy
// becomes a version, each complaint takes the version in force for its
// owner, and the change feed is not stamped again.
func TestPolicyVersionMigrationUpgrades(t *testing.T) {
	ctx := context.Background()
	all, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	before := fstest.MapFS{}
	files, err := fs.Glob(all, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f >= "0051" {
			continue
		}
		b, err := fs.ReadFile(all, f)
		if err != nil {
			t.Fatal(err)
		}
		before[f] = &fstest.MapFile{Data: b}
	}
	db := pgtest.New(t, postgres.Schema, before)
	owner, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	seed := `SET search_path = complaint; SET app.all_dealers = on;
		INSERT INTO sla_policies (scope, targets, warning_ratio) VALUES
			('default', '[{"severity":"high","response_ms":3600000,"resolution_ms":7200000}]', 0.8),
			('SH002', '[{"severity":"high","response_ms":60000,"resolution_ms":120000}]', 0.5);
		INSERT INTO complaints (dealer_id, id, origin_dealer, channel, category, severity, description, state)
		VALUES ('SH001', 'a0000000-0000-0000-0000-000000000001', 'SH001', 'phone', 'parts', 'high', 'x', 'new'),
		       ('SH002', 'a0000000-0000-0000-0000-000000000002', 'SH002', 'phone', 'parts', 'high', 'x', 'new')`
	if _, err := owner.Exec(ctx, seed); err != nil {
		t.Fatal(err)
	}
	var seqBefore int64
	if err := owner.QueryRow(ctx, `SELECT max(change_seq) FROM complaints`).Scan(&seqBefore); err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx, db.OwnerURL, postgres.Schema, pgtest.AppRole, all); err != nil {
		t.Fatal(err)
	}

	s := postgres.NewStore(db.AppPool(t, pg.Config{}))
	def, err := s.Policy(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	own, err := s.Policy(ctx, "SH002")
	if err != nil {
		t.Fatal(err)
	}
	if def.Version == 0 || own.Version == 0 || def.Version == own.Version || !own.Overridden {
		t.Fatalf("versions: default %+v, SH002 %+v", def, own)
	}
	for id, want := range map[string]int64{"a0000000-0000-0000-0000-000000000001": def.Version, "a0000000-0000-0000-0000-000000000002": own.Version} {
		c, err := s.Get(ctx, pg.AllDealers(), id)
		if err != nil || c.PolicyVersion != want {
			t.Errorf("complaint %s: %+v, %v; want version %d", id, c, err, want)
		}
	}
	if p, err := s.PolicyVersion(ctx, own.Version); err != nil || p.WarningRatio != 0.5 || p.Targets[0].Response.Minutes() != 1 {
		t.Errorf("SH002's version: %+v, %v", p, err)
	}
	var seqAfter int64
	if err := owner.QueryRow(ctx, `SELECT max(change_seq) FROM complaint.complaints`).Scan(&seqAfter); err != nil {
		t.Fatal(err)
	}
	if seqAfter != seqBefore {
		t.Errorf("the backfill stamped the change feed: seq %d → %d", seqBefore, seqAfter)
	}
	// A write after the upgrade continues the numbering.
	if err := s.PutPolicy(ctx, "default", def); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Policy(ctx, "SH001"); err != nil || p.Version <= own.Version {
		t.Errorf("after a write: %+v, %v", p, err)
	}
}
