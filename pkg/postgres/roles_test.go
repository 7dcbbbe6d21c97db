package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/postgres"
)

func TestVerifyServiceRole(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, "svc", complaintMigrations)
	ctx := context.Background()

	if err := postgres.VerifyServiceRole(ctx, db.Pool, "svc"); err != nil {
		t.Errorf("app role rejected: %v", err)
	}
	if err := postgres.VerifyServiceRole(ctx, db.Pool); err != nil {
		t.Errorf("app role rejected with all schemas: %v", err)
	}

	// Roles made for this test only; roles are cluster-wide.
	suffix := db.Name[len(db.Name)-12:]
	tableOwner := "dctest_tableowner_" + suffix
	ownerMember := "dctest_member_" + suffix
	bypasser := "dctest_bypass_" + suffix
	admin := connect(t, db.AdminURL)
	for _, stmt := range []string{
		"CREATE ROLE " + tableOwner + " LOGIN PASSWORD 'dctest'",
		"GRANT CREATE ON SCHEMA svc TO " + tableOwner,
		"CREATE ROLE " + ownerMember + " LOGIN PASSWORD 'dctest' IN ROLE " + pgtest.OwnerRole,
		"CREATE ROLE " + bypasser + " LOGIN PASSWORD 'dctest' BYPASSRLS",
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		for _, r := range []string{tableOwner, ownerMember, bypasser} {
			// Objects owned or privileges held in this database go first.
			if _, err := admin.Exec(context.Background(), fmt.Sprintf("DROP OWNED BY %s; DROP ROLE %s", r, r)); err != nil {
				t.Errorf("drop role %s: %v", r, err)
			}
		}
		admin.Close(context.Background())
	})
	ownerConn := connect(t, loginURL(t, db, tableOwner))
	if _, err := ownerConn.Exec(ctx, "CREATE TABLE svc.private (dealer_id text)"); err != nil {
		t.Fatal(err)
	}
	ownerConn.Close(ctx)

	tests := []struct {
		name string
		url  string
		want string
	}{
		{"superuser", db.AdminURL, "is a superuser"},
		{"owner via SET ROLE by a superuser", db.OwnerURL, "is a superuser"},
		{"table owner", loginURL(t, db, tableOwner), `role "` + tableOwner + `" owns table svc.private`},
		{"member of owner", loginURL(t, db, ownerMember), `is a member of "` + pgtest.OwnerRole + `", which owns table svc.complaints`},
		{"bypassrls", loginURL(t, db, bypasser), "has BYPASSRLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, err := postgres.Open(ctx, postgres.Config{URL: tt.url, MaxConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			for _, schemas := range [][]string{{"svc"}, nil} {
				err = postgres.VerifyServiceRole(ctx, pool, schemas...)
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "DATABASE_URL") {
					t.Errorf("VerifyServiceRole(%v) = %v, want an error naming DATABASE_URL and containing %q", schemas, err, tt.want)
				}
			}
		})
	}
}

func TestEnsureRoles(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, "base", nil)
	ctx := context.Background()
	admin := connect(t, db.AdminURL)
	// Roles of this test only: the shared pgtest roles are altered under a
	// lock this test does not take.
	suffix := db.Name[len(db.Name)-12:]
	owner, app := "dctest_owner_"+suffix, "dctest_app_"+suffix
	t.Cleanup(func() {
		for _, r := range []string{app, owner} {
			if _, err := admin.Exec(context.Background(), fmt.Sprintf("DROP OWNED BY %s; DROP ROLE %s", r, r)); err != nil {
				t.Errorf("drop role %s: %v", r, err)
			}
		}
		admin.Close(context.Background())
	})

	for range 2 {
		if err := postgres.EnsureRoles(ctx, db.AdminURL, owner, app, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	type attrs struct{ Login, Super, BypassRLS bool }
	roleAttrs := func(role string) attrs {
		t.Helper()
		var a attrs
		err := admin.QueryRow(ctx, "SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", role).Scan(&a.Login, &a.Super, &a.BypassRLS)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if got := roleAttrs(app); got != (attrs{Login: true}) {
		t.Errorf("app role %+v, want LOGIN NOSUPERUSER NOBYPASSRLS", got)
	}
	if got := roleAttrs(owner); got != (attrs{}) {
		t.Errorf("owner role %+v, want NOLOGIN NOSUPERUSER NOBYPASSRLS", got)
	}

	// The roles are enough to migrate a new schema as the owner and serve
	// it as the app.
	ownerURL, err := postgres.WithRole(db.AdminURL, owner)
	if err != nil {
		t.Fatal(err)
	}
	migs := fstest.MapFS{"0001_t.sql": file("CREATE TABLE t (dealer_id text);\n" + postgres.TenantPolicySQL("t"))}
	if err := postgres.Migrate(ctx, ownerURL, "fresh", app, migs); err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Open(ctx, postgres.Config{URL: loginURLAs(t, db, app, "pw"), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.VerifyServiceRole(ctx, pool, "fresh"); err != nil {
		t.Errorf("VerifyServiceRole(app) = %v", err)
	}

	var adminName string
	if err := admin.QueryRow(ctx, "SELECT session_user").Scan(&adminName); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("GRANT %s TO %s", owner, app)); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ owner, app, want string }{
		"admin as app":        {owner, adminName, "superuser"},
		"same role":           {owner, owner, "both"},
		"app member of owner": {owner, app, "bypass row-level security"},
	} {
		err := postgres.EnsureRoles(ctx, db.AdminURL, tc.owner, tc.app, "pw")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: EnsureRoles() = %v, want an error containing %q", name, err, tc.want)
		}
	}
	if !roleAttrs(adminName).Super {
		t.Errorf("EnsureRoles demoted the admin %s", adminName)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// loginURL connects to db as role with the password these tests give it.
func loginURL(t *testing.T, db *pgtest.DB, role string) string {
	t.Helper()
	return loginURLAs(t, db, role, "dctest")
}

func loginURLAs(t *testing.T, db *pgtest.DB, role, password string) string {
	t.Helper()
	url, err := postgres.WithUser(db.AdminURL, role, password)
	if err != nil {
		t.Fatal(err)
	}
	return url
}
