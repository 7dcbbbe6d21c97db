package stack

import (
	"context"
	"fmt"

	"github.com/dealercare/dealercare/pkg/postgres"
	"github.com/jackc/pgx/v5"
)

// Database describes the database the services of `devstack run` share.
type Database struct {
	Name        string
	Owner       string // NOLOGIN owner of schemas and tables
	App         string // the role services connect as
	AppPassword string
}

// DatabaseURLs are the connection strings derived from the admin URL.
type DatabaseURLs struct {
	// Migrate acts as the owner role with the admin's credentials
	// (MIGRATE_DATABASE_URL).
	Migrate string
	// App connects as the app role (DATABASE_URL of the services).
	App string
}

// EnsureDatabase creates db.Name if missing and, through
// postgres.EnsureRoles, the owner and app roles with their grants. adminURL
// must connect as a superuser or a role with CREATEDB and CREATEROLE.
func EnsureDatabase(ctx context.Context, adminURL string, db Database) (DatabaseURLs, error) {
	if err := createDatabase(ctx, adminURL, db.Name); err != nil {
		return DatabaseURLs{}, err
	}
	dbURL, err := postgres.WithDatabase(adminURL, db.Name)
	if err != nil {
		return DatabaseURLs{}, err
	}
	if err := postgres.EnsureRoles(ctx, dbURL, db.Owner, db.App, db.AppPassword); err != nil {
		return DatabaseURLs{}, err
	}
	return db.urls(dbURL)
}

func (db Database) urls(dbURL string) (DatabaseURLs, error) {
	migrate, err := postgres.WithRole(dbURL, db.Owner)
	if err != nil {
		return DatabaseURLs{}, err
	}
	app, err := postgres.WithUser(dbURL, db.App, db.AppPassword)
	if err != nil {
		return DatabaseURLs{}, err
	}
	return DatabaseURLs{Migrate: migrate, App: app}, nil
}

// createDatabase runs CREATE DATABASE unless name exists.
func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("create database %s: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	// CREATE DATABASE takes no parameters and cannot run in a transaction.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
