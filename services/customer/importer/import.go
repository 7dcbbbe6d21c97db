// Package importer loads DMS exports (CSV, UTF-8 or GBK) into a dealer's
// customer archive: customers with their vehicles, upserted by the DMS's
// own ids (SPEC: customer, bulk import).
//
// An import is created with its file and runs in the background (Runner):
// the file is first read once whole (encoding, header, row count, repeated
// ids), so a file that cannot be read fails before anything is written;
// then rows are validated with the archive's own rules and written in
// batches, each batch in one transaction together with the import's
// progress. Batches are written by several database sessions at once, one
// per lane of customers (see Runner.run). A runner that stops or dies
// mid-import leaves only whole batches behind, and the next runner resumes
// each lane after its last one.
//
// Rules of the file:
//   - Columns are found by header, in English or Chinese (see columns.go),
//     in any order; unknown columns are ignored. dms_customer_id is
//     required.
//   - A row carries a customer and, when its vin is filled, a vehicle of
//     that customer; both are written or neither is.
//   - An empty cell leaves the archive's value as it is: the DMS fills and
//     corrects the archive but never erases what the dealer's staff entered.
//   - A DMS customer id may occur on several rows (one row per vehicle is
//     the usual export). Every row's vehicle is imported; the customer's
//     fields come from the last of those rows ("later row wins"), and an
//     earlier row only creates the customer when it does not exist yet.
//     Likewise a VIN on several rows is imported from its last row. This
//     keeps re-importing a file a no-op even when its batches split a
//     customer's rows.
//   - Rejected rows are reported by row number (the header is row 1),
//     canonical column name and an English reason; the other rows go in.
package importer

import (
	"context"
	"errors"
	"time"

	"github.com/dealercare/dealercare/services/customer/archive"
)

// Import states, stored as these names.
const (
	StateRunning   = "running"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
)

// Encodings of a file.
const (
	EncodingUTF8 = "utf-8"
	EncodingGBK  = "gbk"
)

// MaxFileSize is the largest file accepted (200 MiB, as the API declares).
const MaxFileSize = 200 << 20

// Import is one upload and its progress. Every data row ends up counted in
// exactly one of Inserted, Updated, Unchanged and Failed.
type Import struct {
	ID       string
	Dealer   string
	FileName string
	// Encoding is the declared encoding ("" to detect) until the file was
	// read, then the one used.
	Encoding string
	State    string
	// TotalRows is 0 until the file was read once.
	TotalRows     int
	ProcessedRows int
	// Inserted counts rows that created a customer or a vehicle, Updated
	// rows that changed an existing one, Unchanged rows identical to the
	// archive, Failed rejected rows (see RowError).
	Inserted, Updated, Unchanged, Failed int
	// Failure says why the import failed as a whole; nothing was written.
	Failure    string
	Creator    string
	CreateTime time.Time
	FinishTime time.Time
}

// RowError is a rejected row: Row counts the header as row 1, Field is the
// canonical column name (e.g. "vin").
type RowError struct {
	Row    int
	Field  string
	Reason string
}

// Outcome is what writing a customer or vehicle did.
type Outcome int

// Outcomes, weakest first: a row's outcome is the strongest of its parts'.
const (
	Unchanged Outcome = iota
	Updated
	Inserted
)

// ExistingCustomer is a customer already in the archive, as the importer
// needs it: the ID number only by its blind index.
type ExistingCustomer struct {
	archive.Customer
	IDNumberIndex []byte
}

// CustomerWrite is the full state a customer is to have. Customer.IDNumber
// holds the clear ID number only when it changes (the store encrypts it);
// IDNumberIndex is the blind index of the ID number the customer is to
// have, nil for none.
type CustomerWrite struct {
	Customer      archive.Customer
	IDNumberIndex []byte
}

// Lease is a runner's claim on a running import: only its owner writes
// batches, until the lease expires unrenewed.
type Lease struct {
	Dealer   string
	ImportID string
	Owner    string
	Duration time.Duration
}

// Job is a claimed import with what the runner needs to (re)start it.
type Job struct {
	Lease    Lease
	FileName string
	// Encoding is the declared or, after a first run, detected encoding.
	Encoding string
	// Attempts counts failed batches in a row, for backoff.
	Attempts int
	Content  []byte
	// TimeZone is the dealer's IANA zone, for dates without one.
	TimeZone string
}

// Progress is what one batch did; the store adds it to the import in the
// batch's transaction.
type Progress struct {
	Rows                                 int // data rows processed
	LastRow                              int // row number of the batch's last record: its lane's checkpoint
	Inserted, Updated, Unchanged, Failed int
	// Done finishes the import (state succeeded, the file dropped).
	Done bool
}

// ErrLeaseLost means another runner owns the import now, or it is no
// longer running: the batch was not written.
var ErrLeaseLost = errors.New("importer: lease on the import lost")

// Store persists imports and applies their batches. Reads and writes for
// callers are scoped to the one dealer given; the runner's methods work
// across dealers.
type Store interface {
	// CreateImport stores a running import with its file.
	CreateImport(ctx context.Context, imp *Import, content []byte) (*Import, error)
	// GetImport returns ENOTFOUND for a missing id.
	GetImport(ctx context.Context, dealer, id string) (*Import, error)
	// ListImports lists imports newest first.
	ListImports(ctx context.Context, dealer string, p archive.Page) ([]Import, string, error)
	// ListImportErrors lists an import's rejected rows by row and field.
	ListImportErrors(ctx context.Context, dealer, id string, p archive.Page) ([]RowError, string, error)

	// ClaimImport leases the oldest running import that no live lease
	// holds (SELECT ... FOR UPDATE SKIP LOCKED, so replicas never claim the
	// same one); nil when there is none.
	ClaimImport(ctx context.Context, owner string, lease time.Duration) (*Job, error)
	// StartImport records what reading the file found, renews the lease
	// and returns the import's lane checkpoints: the last row each lane
	// committed (1: none yet). An import's lanes are fixed the first time
	// it starts, to lanes checkpoints at row 1; a resumed import keeps its
	// own, whatever lanes says.
	StartImport(ctx context.Context, l Lease, encoding string, totalRows, lanes int) ([]int, error)
	// FailImport finishes an import as failed; called only before any
	// batch was written.
	FailImport(ctx context.Context, l Lease, failure string) error
	// ReleaseImport gives the import up: claimable again after retryAfter
	// (at once when zero). A non-empty lastErr counts a failed attempt.
	ReleaseImport(ctx context.Context, l Lease, retryAfter time.Duration, lastErr string) error
	// ApplyBatch runs fn in one transaction scoped to the import's dealer,
	// after checking that l still holds the import and that the lane's
	// checkpoint is fromRow (ErrLeaseLost otherwise); the Progress fn
	// returns is added to the import, its LastRow becomes the lane's
	// checkpoint, and the lease is renewed, in the same transaction.
	// Batches of different lanes may run at once.
	ApplyBatch(ctx context.Context, l Lease, lane, fromRow int, fn func(BatchTx) (Progress, error)) error
	// IndexIDNumber is the blind index of a normalized ID number.
	IndexIDNumber(id string) []byte
}

// BatchTx reads and writes one dealer's archive inside a batch's
// transaction.
type BatchTx interface {
	// Customers returns, locked, the customers with these DMS ids.
	Customers(ctx context.Context, dmsIDs []string) ([]ExistingCustomer, error)
	// Vehicles returns, locked, the vehicles with these DMS ids or VINs.
	Vehicles(ctx context.Context, dmsIDs, vins []string) ([]archive.Vehicle, error)
	// WriteCustomers upserts by DMS id, changing only customers that differ,
	// and reports by DMS id those inserted or updated.
	WriteCustomers(ctx context.Context, cs []CustomerWrite) (map[string]Outcome, error)
	// WriteVehicles upserts by id, changing only vehicles that differ, and
	// reports by id those inserted or updated.
	WriteVehicles(ctx context.Context, vs []archive.Vehicle) (map[string]Outcome, error)
	// AddErrors records rejected rows.
	AddErrors(ctx context.Context, errs []RowError) error
}
