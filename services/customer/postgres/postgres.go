// Package postgres is the customer service's PostgreSQL adapter. Every
// query runs in a transaction scoped to the caller's dealers (row-level
// security), and is also filtered by them in SQL.
package postgres

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/dealercare/dealercare/pkg/apperr"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/jackc/pgx/v5/pgconn"
)

// Schema is the customer service's PostgreSQL schema.
const Schema = "customer"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded, versioned migrations.
func Migrations() (fs.FS, error) {
	return fs.Sub(migrationFiles, "migrations")
}

// scopeOf turns a visibility into a row-level-security scope.
func scopeOf(all bool, dealers []string) pg.Scope {
	if all {
		return pg.AllDealers()
	}
	return pg.Dealers(dealers...)
}

// mapError turns constraint violations into application errors.
func mapError(err error, what string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return apperr.Errorf(apperr.ECONFLICT, "%s already exists", what).Zh(what + " 已存在")
		case "23503":
			return apperr.Errorf(apperr.EINVALID, "%s refers to a missing object", what).Zh(what + " 引用了不存在的对象")
		case "42501":
			// Row-level security refused the write: the caller's scope does
			// not include the row.
			return apperr.Errorf(apperr.ENOTFOUND, "%s not found", what).Zh(what + " 不存在")
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
