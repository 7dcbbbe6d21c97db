package postgres_test

import (
	"testing"

	"github.com/dealercare/dealercare/pkg/outbox/outboxtest"
	"github.com/dealercare/dealercare/services/callback/postgres"
)

// The outbox migration is pkg/outbox's table, pasted as plain SQL.
func TestOutboxMigrationMatchesThePackage(t *testing.T) {
	outboxtest.CheckMigration(t, postgres.Migrations, "0002_outbox.sql")
	outboxtest.CheckUpgradeMigration(t, postgres.Migrations, "*_outbox_dealer_queue.sql")
}
