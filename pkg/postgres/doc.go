// Package postgres holds the PostgreSQL plumbing every dealercare service
// shares: opening a traced pgx pool, applying embedded migrations, and the
// row-level-security tenancy that backs up the application's own dealer
// scoping (SPEC "Tenancy").
//
// # Roles
//
// Each service's schema involves three roles:
//
//   - an admin (superuser or CREATEROLE) that exists only in development and
//     tests, where [EnsureRoles] uses it to create the other two;
//   - the owner, a NOLOGIN role that owns the schema and its tables. Migrations
//     run as the owner by connecting as a member of it with the role set at
//     start-up (see [WithRole]), so no password is needed for the owner and
//     objects are never owned by the admin;
//   - the service (app) role the running service connects as: LOGIN,
//     NOSUPERUSER, NOBYPASSRLS, owning nothing. [Migrate] grants it DML on
//     the schema's tables; [VerifyServiceRole] refuses to start otherwise.
//
// # Tenant policy
//
// Every table holding dealer data has a text column dealer_id (the dealer
// code, first column of the primary key) and, in the migration that creates
// it, exactly this policy (the output of [TenantPolicySQL]):
//
//	ALTER TABLE complaints ENABLE ROW LEVEL SECURITY;
//	ALTER TABLE complaints FORCE ROW LEVEL SECURITY;
//	CREATE POLICY tenant_isolation ON complaints
//	    USING ((SELECT current_setting('app.all_dealers', true) = 'on')
//	           OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
//	    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on')
//	           OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
//
// The settings are read in sub-selects so that PostgreSQL evaluates them
// once per statement, not once per row (see [TenantPredicate]).
//
// FORCE makes the policy apply to the owner as well, so a migration's data
// fix sees rows only because [Migrate] turns app.all_dealers on for it. The
// settings are written by [InTx] with set_config(..., true), i.e. for one
// transaction only; a connection outside [InTx] sees no rows at all, and the
// next transaction on a pooled connection starts from nothing again.
// [VerifyTenantTables] checks that every dealer_id table carries the policy.
package postgres
