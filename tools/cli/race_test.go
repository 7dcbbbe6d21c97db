//go:build race

package cli_test

// Under the race detector (make test's pass) the in-process customer
// service imports several times slower: 20,000 rows, four batches, still
// show the bar moving. `make test-cli-import` runs the 100,000
// without it.
const defaultImportRows = 20000
