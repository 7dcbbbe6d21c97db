package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// VerifyServiceRole fails start-up unless the pool's role is one row-level
// security applies to: not a superuser, without BYPASSRLS, and neither
// owning nor a member of a role owning a table in schemas (all non-system
// schemas if none are given). Both the current and the session role are
// checked, since a session may RESET ROLE back to the one it logged in as.
func VerifyServiceRole(ctx context.Context, q Querier, schemas ...string) error {
	rows, err := q.Query(ctx, `
SELECT r.rolname, r.rolsuper, r.rolbypassrls
FROM pg_roles r
WHERE r.rolname IN (current_user, session_user)`)
	if err != nil {
		return fmt.Errorf("postgres: verify service role: %w", err)
	}
	var (
		name          string
		super, bypass bool
		names         []string
		problems      []string
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &super, &bypass}, func() error {
		names = append(names, name)
		if super {
			problems = append(problems, fmt.Sprintf("role %q is a superuser", name))
		}
		if bypass {
			problems = append(problems, fmt.Sprintf("role %q has BYPASSRLS", name))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: verify service role: %w", err)
	}
	if len(names) == 0 {
		return errors.New("postgres: verify service role: current role not found in pg_roles")
	}

	rows, err = q.Query(ctx, `
SELECT format('%I.%I', n.nspname, c.relname), pg_get_userbyid(c.relowner), u.rolname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_roles u ON u.rolname IN (current_user, session_user)
WHERE c.relkind IN ('r', 'p')
  AND CASE WHEN coalesce(cardinality($1::text[]), 0) = 0 -- pgx sends a nil slice as NULL
           THEN n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
           ELSE n.nspname = ANY ($1) END
  AND NOT u.rolsuper -- already reported; superusers are members of everything
  AND pg_has_role(u.oid, c.relowner, 'MEMBER')
ORDER BY 1
LIMIT 5`, schemas)
	if err != nil {
		return fmt.Errorf("postgres: verify service role: %w", err)
	}
	var table, owner, member string
	_, err = pgx.ForEachRow(rows, []any{&table, &owner, &member}, func() error {
		if owner == member {
			problems = append(problems, fmt.Sprintf("role %q owns table %s", member, table))
		} else {
			problems = append(problems, fmt.Sprintf("role %q is a member of %q, which owns table %s", member, owner, table))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: verify service role: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("postgres: %s must connect as a service role that row-level security applies to (not superuser, no BYPASSRLS, owning no table): %s",
			EnvURL, strings.Join(problems, "; "))
	}
	return nil
}

// EnsureRoles creates, for development and tests, the owner role (NOLOGIN:
// migrations reach it through [WithRole] with the admin's credentials) and
// the app role (LOGIN with appPassword, NOSUPERUSER NOBYPASSRLS NOCREATEDB
// NOCREATEROLE), lets the admin act as the owner, lets the owner create
// schemas in the database named by adminURL, and lets the app role connect
// to it. Existing roles are brought back to these attributes and the app
// password reset; a role that is a superuser is never altered (passing the
// admin's own name by mistake is an error, not a demotion).
//
// Roles are cluster-wide but the advisory lock taken here is per database:
// callers that may run concurrently against different databases of one
// cluster must serialize themselves (pgtest does).
//
// The password travels in a CREATE/ALTER ROLE statement and may reach the
// server log; production roles are provisioned elsewhere.
func EnsureRoles(ctx context.Context, adminURL, owner, app, appPassword string) error {
	switch {
	case owner == "" || app == "":
		return errors.New("ensure roles: empty role name")
	case owner == app:
		return fmt.Errorf("ensure roles: owner and app role are both %q", owner)
	case appPassword == "":
		return errors.New("ensure roles: empty app password")
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("ensure roles: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("dealercare/ensure-roles")); err != nil {
			return fmt.Errorf("take lock: %w", err)
		}
		if err := ensureRole(ctx, tx, owner, "NOLOGIN NOSUPERUSER NOBYPASSRLS", ""); err != nil {
			return err
		}
		if err := ensureRole(ctx, tx, app, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE", appPassword); err != nil {
			return err
		}
		var appIsOwner bool
		if err := tx.QueryRow(ctx, "SELECT pg_has_role($1, $2, 'MEMBER')", app, owner).Scan(&appIsOwner); err != nil {
			return fmt.Errorf("check membership: %w", err)
		}
		if appIsOwner {
			return fmt.Errorf("app role %q is a member of owner role %q, which would let it bypass row-level security", app, owner)
		}
		// A superuser may SET ROLE to anyone; a CREATEROLE admin must be
		// granted the owner role first.
		stmts, err := collectStrings(ctx, tx, `
SELECT format('GRANT %I TO %I', $1::text, session_user)
WHERE NOT pg_has_role(session_user, $1::text, 'MEMBER')
UNION ALL
SELECT format('GRANT CREATE ON DATABASE %I TO %I', current_database(), $1::text)
UNION ALL
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), $2::text)`, owner, app)
		if err != nil {
			return fmt.Errorf("build grants: %w", err)
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("grant: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ensure roles %s, %s: %w", owner, app, err)
	}
	return nil
}

// ensureRole creates role with attrs or brings an existing one back to
// them. Utility statements take no parameters, so format() quotes names and
// the password server-side.
func ensureRole(ctx context.Context, tx pgx.Tx, role, attrs, password string) error {
	var exists, super bool
	err := tx.QueryRow(ctx, "SELECT true, rolsuper FROM pg_roles WHERE rolname = $1", role).Scan(&exists, &super)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("look up role %s: %w", role, err)
	}
	if super {
		return fmt.Errorf("role %q exists and is a superuser; refusing to alter it", role)
	}
	verb := "CREATE"
	if exists {
		verb = "ALTER"
	}
	var stmt string
	if password == "" {
		err = tx.QueryRow(ctx, "SELECT format('"+verb+" ROLE %I "+attrs+"', $1::text)", role).Scan(&stmt)
	} else {
		err = tx.QueryRow(ctx, "SELECT format('"+verb+" ROLE %I "+attrs+" PASSWORD %L', $1::text, $2::text)", role, password).Scan(&stmt)
	}
	if err != nil {
		return fmt.Errorf("build statement for role %s: %w", role, err)
	}
	if _, err := tx.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("%s role %s: %w", strings.ToLower(verb), role, err)
	}
	return nil
}

func collectStrings(ctx context.Context, q Querier, sql string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
