// Package e2e holds tests that run dealercare's real programs as
// processes (built from the workspace) against PostgreSQL and Temporal,
// and check what only the whole shows: one trace from the REST call to the
// callback service (TestOneTraceEndToEnd).
package e2e
