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
	return tableSQL(schema, false)
}

// LegacyTableSQL is TableSQL as it was before the backfill column and the
// per-dealer queue index: outbox migrations written then hold it, and a
// later migration of the service applies UpgradeSQL.
func LegacyTableSQL(schema string) string {
	return tableSQL(schema, true)
}

// UpgradeSQL returns the statements that bring a table created by
// LegacyTableSQL up to TableSQL's: a service whose outbox migration
// predates them pastes UpgradeSQL("") into a later migration of its own.
// Until it runs, the relay serves that table first come, first served.
func UpgradeSQL(schema string) string {
	t := table(schema)
	return `ALTER TABLE ` + t + ` ADD COLUMN backfill boolean NOT NULL DEFAULT false;
` + dealerQueueIndex(t)
}

// TraceContextSQL returns the statement that adds the trace_context column
// (TableSQL has it) to a table created without it: a service pastes
// TraceContextSQL("") into a later migration of its own. Until it runs,
// Add records no trace context and the relay starts each hand-off's trace
// afresh.
func TraceContextSQL(schema string) string {
	return `-- The W3C traceparent of the span that recorded the event, so the
-- relay's hand-off continues the request's trace.
ALTER TABLE ` + table(schema) + ` ADD COLUMN trace_context text;
`
}

func table(schema string) string {
	if schema != "" {
		return pgx.Identifier{schema, TableName}.Sanitize()
	}
	return TableName // a plain lowercase identifier needs no quotes
}

// dealerQueueIndex is the relay's queue: it walks the dealers with due
// events on it and takes each dealer's in turn (see claimFair).
func dealerQueueIndex(t string) string {
	return `-- The relay's queue: each dealer's undelivered events, live before
-- backfill, due ones first, so the relay takes turns between dealers.
CREATE INDEX outbox_events_dealer_pending_idx ON ` + t + ` (dealer_id, backfill, next_attempt_at, created_at)
    WHERE delivered_at IS NULL;
`
}

func tableSQL(schema string, legacy bool) string {
	t := table(schema)
	policy := postgres.TenantPolicySQL(TableName)
	policy = strings.ReplaceAll(policy, pgx.Identifier{TableName}.Sanitize(), TableName)
	if schema != "" {
		policy = postgres.TenantPolicySQL(schema + "." + TableName)
	}
	backfill, queue := "    backfill        boolean     NOT NULL DEFAULT false,\n    trace_context   text,\n", dealerQueueIndex(t)
	pendingComment := "-- Undelivered events, oldest first (the age of the oldest pending one).\n"
	if legacy {
		backfill, queue = "", ""
		pendingComment = "-- The relay's queue: undelivered events, due ones first.\n"
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
` + backfill + `    PRIMARY KEY (dealer_id, id)
);
` + pendingComment + `CREATE INDEX outbox_events_pending_idx ON ` + t + ` (next_attempt_at, created_at)
    WHERE delivered_at IS NULL;
` + queue + `-- Purging delivered events after the retention period.
CREATE INDEX outbox_events_delivered_idx ON ` + t + ` (delivered_at)
    WHERE delivered_at IS NOT NULL;
` + policy
}
