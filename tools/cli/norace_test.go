//go:build !race

package cli_test

// The size: a 100,000-row DMS export.
const defaultImportRows = 100000
