package idempotency

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dealercare/dealercare/pkg/postgres"
)

// Schema is the gateway's PostgreSQL schema.
const Schema = "gateway"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded, versioned migrations of Schema.
func Migrations() (fs.FS, error) {
	return fs.Sub(migrationFiles, "migrations")
}

// table is schema-qualified so the Store works whatever the pool's
// search_path.
const table = Schema + ".idempotency_keys"

// State is the state of a stored key.
type State string

// States of a key.
const (
	StateInFlight State = "in_flight" // claimed, the request is running
	StateDone     State = "done"      // the response is stored
)

// ErrLeaseLost is returned by Complete and Abandon when the entry's claim no
// longer holds the key: its lease ran out and a retry took the key over, or
// the row expired and was swept.
var ErrLeaseLost = errors.New("idempotency: claim on the key was lost")

// DB is satisfied by *pgxpool.Pool (connected as the service role). Every
// Store method is one statement, so no transaction is needed.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store keeps idempotency keys in PostgreSQL.
//
// The table is not dealer data (see the migration), so the Store uses no
// row-level-security scope: it runs single statements on the pool, each
// filtered by the caller that leads the primary key.
type Store struct {
	db DB
	// Log receives the sweeper's failures; nil means slog.Default().
	Log *slog.Logger
}

// NewStore returns a Store over db.
func NewStore(db DB) *Store { return &Store{db: db} }

// Response is what a completed request answered.
type Response struct {
	Status int
	// Header holds only the replayed headers (see ReplayedHeaders).
	Header http.Header
	// Body is nil when BodyOmitted.
	Body []byte
	// BodyOmitted is set when the body exceeded the middleware's cap: the
	// client got it, the Store did not keep it.
	BodyOmitted bool
}

// Entry is one stored key.
type Entry struct {
	Caller      string
	Key         string
	Fingerprint []byte
	State       State
	// Response is set when State is StateDone.
	Response  Response
	CreatedAt time.Time
	ExpiresAt time.Time
	// LeaseExpiresAt is set when State is StateInFlight.
	LeaseExpiresAt time.Time

	// lease is set only on the Entry returned to the Begin that claimed
	// the key; it fences Complete and Abandon.
	lease []byte
}

// Claimed reports whether the Begin that returned e claimed the key, i.e.
// its caller must run the request and then Complete or Abandon.
func (e Entry) Claimed() bool { return e.lease != nil }

// BeginParams describes a request about to run under a key.
type BeginParams struct {
	Caller      string
	Key         string
	Fingerprint []byte // 32 bytes, see Fingerprint
	Now         time.Time
	// TTL is how long the key is remembered from Now.
	TTL time.Duration
	// LeaseTimeout is how long an unfinished claim blocks retries.
	LeaseTimeout time.Duration
}

func (p BeginParams) validate() error {
	switch {
	case p.Caller == "":
		return errors.New("empty caller")
	case validateKey([]string{p.Key}) != "":
		return fmt.Errorf("invalid key %q", p.Key)
	case len(p.Fingerprint) != 32:
		return fmt.Errorf("fingerprint has %d bytes, want 32", len(p.Fingerprint))
	case p.Now.IsZero():
		return errors.New("zero Now")
	case p.TTL <= 0 || p.LeaseTimeout <= 0:
		return errors.New("TTL and LeaseTimeout must be positive")
	case p.LeaseTimeout > p.TTL:
		return errors.New("LeaseTimeout must not exceed TTL")
	}
	return nil
}

// beginAttempts bounds Begin's retries when the row it conflicted with is
// deleted (Abandon, Sweep) before it could read it.
const beginAttempts = 5

// Begin claims (caller, key) for a new request, atomically: it inserts an
// in_flight row and returns it claimed (Entry.Claimed), or returns the
// existing row unclaimed. An existing row is replaced, and the new one
// claimed, when it has expired (ExpiresAt <= Now) or when it is in_flight
// with the same fingerprint and its lease has run out (the gateway that
// claimed it died). Comparing the fingerprint and the state of an unclaimed
// entry is the caller's business.
func (s *Store) Begin(ctx context.Context, p BeginParams) (Entry, error) {
	if err := p.validate(); err != nil {
		return Entry{}, fmt.Errorf("idempotency: begin: %w", err)
	}
	lease := make([]byte, 16)
	_, _ = rand.Read(lease) // Never fails since Go 1.24.
	now := p.Now.UTC()
	claim := Entry{
		Caller: p.Caller, Key: p.Key, Fingerprint: p.Fingerprint, State: StateInFlight,
		CreatedAt: now, ExpiresAt: now.Add(p.TTL), LeaseExpiresAt: now.Add(p.LeaseTimeout),
		lease: lease,
	}
	for range beginAttempts {
		// ON CONFLICT DO UPDATE ... WHERE is ON CONFLICT DO NOTHING for a
		// live row, and replaces a dead one in the same atomic statement.
		// RETURNING yields a row only when this call inserted or replaced.
		tag, err := s.db.Exec(ctx, `
INSERT INTO `+table+` AS k
    (caller, idempotency_key, fingerprint, state, lease, lease_expires_at, created_at, expires_at)
VALUES ($1, $2, $3, 'in_flight', $4, $5, $6, $7)
ON CONFLICT (caller, idempotency_key) DO UPDATE SET
    fingerprint = EXCLUDED.fingerprint, state = 'in_flight', lease = EXCLUDED.lease,
    lease_expires_at = EXCLUDED.lease_expires_at, response_status = NULL,
    response_headers = NULL, response_body = NULL, response_body_omitted = false,
    created_at = EXCLUDED.created_at, completed_at = NULL, expires_at = EXCLUDED.expires_at
WHERE k.expires_at <= EXCLUDED.created_at
   OR (k.state = 'in_flight' AND k.lease_expires_at <= EXCLUDED.created_at
       AND k.fingerprint = EXCLUDED.fingerprint)`,
			p.Caller, p.Key, p.Fingerprint, lease, claim.LeaseExpiresAt, claim.CreatedAt, claim.ExpiresAt)
		if err != nil {
			return Entry{}, fmt.Errorf("idempotency: begin: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return claim, nil
		}
		// A separate statement: in READ COMMITTED it takes a new snapshot,
		// which sees the row the INSERT conflicted with even if it was
		// committed after the INSERT's snapshot.
		e, err := s.get(ctx, p.Caller, p.Key)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // Abandoned or swept in between: try to claim again.
		}
		if err != nil {
			return Entry{}, fmt.Errorf("idempotency: begin: %w", err)
		}
		return e, nil
	}
	return Entry{}, fmt.Errorf("idempotency: begin: key kept disappearing after %d attempts", beginAttempts)
}

// get reads a row; pgx.ErrNoRows when there is none.
func (s *Store) get(ctx context.Context, caller, key string) (Entry, error) {
	e := Entry{Caller: caller, Key: key}
	var (
		state          string
		status         *int32
		headers        []byte
		leaseExpiresAt *time.Time
	)
	err := s.db.QueryRow(ctx, `
SELECT fingerprint, state, lease_expires_at, response_status, response_headers, response_body,
       response_body_omitted, created_at, expires_at
FROM `+table+`
WHERE caller = $1 AND idempotency_key = $2`, caller, key).Scan(
		&e.Fingerprint, &state, &leaseExpiresAt, &status, &headers, &e.Response.Body,
		&e.Response.BodyOmitted, &e.CreatedAt, &e.ExpiresAt)
	if err != nil {
		return Entry{}, err
	}
	e.State = State(state)
	if leaseExpiresAt != nil {
		e.LeaseExpiresAt = *leaseExpiresAt
	}
	if status != nil {
		e.Response.Status = int(*status)
	}
	if headers != nil {
		if err := json.Unmarshal(headers, &e.Response.Header); err != nil {
			return Entry{}, fmt.Errorf("decode stored headers: %w", err)
		}
	}
	return e, nil
}

// Complete stores the response of a claimed entry and marks it done, at
// now. It returns ErrLeaseLost when the claim no longer holds the key.
func (s *Store) Complete(ctx context.Context, e Entry, r Response, now time.Time) error {
	if !e.Claimed() {
		return errors.New("idempotency: complete: entry was not claimed")
	}
	if r.Status < 100 || r.Status > 599 {
		return fmt.Errorf("idempotency: complete: invalid status %d", r.Status)
	}
	body := r.Body
	if r.BodyOmitted {
		body = nil
	} else if body == nil {
		body = []byte{} // NULL means omitted.
	}
	headers, err := json.Marshal(r.Header)
	if err != nil {
		return fmt.Errorf("idempotency: complete: encode headers: %w", err)
	}
	tag, err := s.db.Exec(ctx, `
UPDATE `+table+`
SET state = 'done', lease_expires_at = NULL, response_status = $4, response_headers = $5,
    response_body = $6, response_body_omitted = $7, completed_at = $8
WHERE caller = $1 AND idempotency_key = $2 AND lease = $3 AND state = 'in_flight'`,
		e.Caller, e.Key, e.lease, r.Status, headers, body, r.BodyOmitted, now.UTC())
	if err != nil {
		return fmt.Errorf("idempotency: complete: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrLeaseLost
	}
	return nil
}

// Abandon deletes a claimed entry's in_flight row, so a retry runs the
// request again. It is for failures the client should retry (5xx, a
// panic). It returns ErrLeaseLost when the claim no longer holds the key.
func (s *Store) Abandon(ctx context.Context, e Entry) error {
	if !e.Claimed() {
		return errors.New("idempotency: abandon: entry was not claimed")
	}
	tag, err := s.db.Exec(ctx, `
DELETE FROM `+table+`
WHERE caller = $1 AND idempotency_key = $2 AND lease = $3 AND state = 'in_flight'`,
		e.Caller, e.Key, e.lease)
	if err != nil {
		return fmt.Errorf("idempotency: abandon: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrLeaseLost
	}
	return nil
}

// sweepBatch bounds the rows one DELETE removes, so a large backlog is
// cleared in short transactions that hold few locks.
const sweepBatch = 5000

// Sweep deletes the rows that expired at or before now and returns how
// many. Several gateways may sweep at once.
func (s *Store) Sweep(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.db.Exec(ctx, `
DELETE FROM `+table+`
WHERE ctid IN (SELECT ctid FROM `+table+` WHERE expires_at <= $1 LIMIT $2)`, now.UTC(), sweepBatch)
		if err != nil {
			return total, fmt.Errorf("idempotency: sweep: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < sweepBatch {
			return total, nil
		}
	}
}

// RunSweeper sweeps at once and then every interval until ctx is done,
// and returns nil then. Failures are logged and retried at the next tick:
// expired rows are already ignored by Begin, so a late sweep only costs
// disk.
func (s *Store) RunSweeper(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("idempotency: sweep interval must be positive, got %s", interval)
	}
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.Sweep(ctx, time.Now())
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.ErrorContext(ctx, "idempotency sweep failed", "error", err)
		case n > 0:
			log.DebugContext(ctx, "idempotency keys swept", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Migrate applies Schema's migrations as the owner (ownerURL, see
// postgres.WithRole) and grants appRole what the Store needs.
func Migrate(ctx context.Context, ownerURL, appRole string) error {
	fsys, err := Migrations()
	if err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, ownerURL, Schema, appRole, fsys); err != nil {
		return fmt.Errorf("migrate schema %s: %w", Schema, err)
	}
	return nil
}
