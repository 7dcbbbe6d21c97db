package outbox

import (
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dealercare/dealercare/pkg/postgres"
)

// TableName is the outbox table's name in every service schema. [Add]
// finds it through the search_path, as the service's other queries do.
const TableName = "outbox_events"

// TableSQL returns the statements that create the outbox table, its indexes
// and its tenant policy. Migrations are plain SQL files: paste the output of
// TableSQL("") (reproduced in the package documentation) into a service's
// migration; it runs with search_path set to the service's schema. A
// non-empty schema qualifies the table instead, for tests and tools.
func TableSQL(schema string) string {
	t := TableName // a plain lowercase identifier needs no quotes
	policy := postgres.TenantPolicySQL(TableName)
	policy = strings.ReplaceAll(policy, pgx.Identifier{TableName}.Sanitize(), TableName)
	if schema != "" {
		t = pgx.Identifier{schema, TableName}.Sanitize()
		policy = postgres.TenantPolicySQL(schema + "." + TableName)
	}
	return `CREATE TABLE ` + t + ` (
    dealer_id       text        NOT NULL,
    id              uuid        NOT NULL,
    kind            text        NOT NULL,
    workflow_id     text        NOT NULL,
    workflow_type   text        NOT NULL,
    task_queue      text        NOT NULL,
    signal_name     text        NOT NULL,
    payload         jsonb       NOT NULL,
    start_input     jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    PRIMARY KEY (dealer_id, id)
);
-- The relay's queue: undelivered events, due ones first.
CREATE INDEX outbox_events_pending_idx ON ` + t + ` (next_attempt_at, created_at)
    WHERE delivered_at IS NULL;
-- Purging delivered events after the retention period.
CREATE INDEX outbox_events_delivered_idx ON ` + t + ` (delivered_at)
    WHERE delivered_at IS NOT NULL;
` + policy
}
