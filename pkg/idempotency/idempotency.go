// Package idempotency makes a service's keyed writes commit at most once
// per (dealer, caller, Idempotency-Key), whatever happens to the answer.
//
// The gateway's idempotency middleware replays a stored answer, but it
// cannot know whether a request whose answer was lost (the service was
// killed after its commit, the gateway got 503) was done: it abandons the
// key, and the client's retry reaches the service again. So the gateway
// forwards the key as gRPC metadata (MetadataKey), the Interceptor reads it
// with the caller and a hash of the request, and each service method that
// writes calls Once (or Lookup and Remember) inside its own transaction:
// the first run records which resource it wrote in the same transaction as
// the write, and a repeat finds the record and answers that resource
// without writing again.
//
// Every service that uses it has the table in Migration (its migration
// NNNN_idempotency.sql: 0082 in customer, callback and complaint, 0086 in
// evaluation), under the tenant policy. Rows live for TTL;
// Remember replaces an expired row of the same key and deletes a few
// expired rows of the dealer each time, so the table holds about one TTL of
// keyed writes without a cross-tenant sweeper.
package idempotency

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
)

// MetadataKey is the gRPC metadata the gateway forwards the request's
// Idempotency-Key header in.
const MetadataKey = "x-idempotency-key"

// HeaderKey is the REST header the key came from; errors name it.
const HeaderKey = "Idempotency-Key"

// MaxKeyLength is the longest key accepted, as at the gateway.
const MaxKeyLength = 255

// TTL is how long a record is kept: as long as the gateway remembers a key
// by default (IDEMPOTENCY_TTL), so a retry the gateway would replay or run
// again is still recognised here.
const TTL = 24 * time.Hour

// Table is the table every using service has, in its own schema.
const Table = "idempotency_records"

// sweepBatch bounds the expired rows one Remember deletes.
const sweepBatch = 20

// Request is the keyed request a context carries.
type Request struct {
	Key    string
	Caller string // the principal's subject
	Method string // the full gRPC method
	Hash   []byte // SHA-256 of the method and the deterministic request
}

type ctxKey struct{}

// NewContext returns ctx carrying r.
func NewContext(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, &r)
}

// FromContext returns the keyed request of ctx, if it has one.
func FromContext(ctx context.Context) (Request, bool) {
	r, ok := ctx.Value(ctxKey{}).(*Request)
	if !ok {
		return Request{}, false
	}
	return *r, true
}

// Hash is the request hash of method and req.
func Hash(method string, req proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(b)
	return h.Sum(nil), nil
}

// Interceptor puts the keyed request into the context of a call that
// carries MetadataKey and has an authenticated principal (so it runs after
// authentication). A call without the key is passed on untouched; a key
// that is empty, too long, not printable ASCII or sent with two values is
// refused naming Idempotency-Key.
func Interceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		values := md.Get(MetadataKey)
		if len(values) == 0 {
			return h(ctx, req)
		}
		p, ok := auth.PrincipalFromContext(ctx)
		msg, isProto := req.(proto.Message)
		if !ok || p.Subject == "" || !isProto {
			return h(ctx, req)
		}
		key, err := validKey(values)
		if err != nil {
			return nil, err
		}
		hash, err := Hash(info.FullMethod, msg)
		if err != nil {
			return nil, fmt.Errorf("idempotency: hash request: %w", err)
		}
		return h(NewContext(ctx, Request{Key: key, Caller: p.Subject, Method: info.FullMethod, Hash: hash}), req)
	}
}

func validKey(values []string) (string, error) {
	// The gateway may add the header's value and a client's own
	// Grpc-Metadata-X-Idempotency-Key; the same value twice is one key.
	k := values[0]
	for _, v := range values[1:] {
		if v != k {
			return "", apperr.Invalid(HeaderKey, fmt.Sprintf("must be sent once, got %d different values", len(values)))
		}
	}
	if len(k) == 0 || len(k) > MaxKeyLength {
		return "", apperr.Invalid(HeaderKey, fmt.Sprintf("must be 1 to %d characters long, got %d", MaxKeyLength, len(k)))
	}
	for i := range len(k) {
		if k[i] < 0x20 || k[i] > 0x7e {
			return "", apperr.Invalid(HeaderKey, fmt.Sprintf("must contain printable ASCII characters only, byte %d is 0x%02x", i, k[i]))
		}
	}
	return k, nil
}

// ErrInProgress is returned (wrapped in an apperr EUNAVAILABLE) by
// Remember when another transaction committed the same key first: this one
// must roll back, and the client's retry gets that one's resource.
var ErrInProgress = errors.New("idempotency: key taken by a concurrent request")

// Lookup returns the id of the resource an earlier run of ctx's keyed
// request recorded for dealer, and true; "" and false when there is none
// (or ctx carries no key). A record of the same key with another method or
// request is a conflict naming Idempotency-Key. Run it in the transaction
// that writes, before writing.
func Lookup(ctx context.Context, tx pgx.Tx, dealer string) (string, bool, error) {
	r, ok := FromContext(ctx)
	if !ok {
		return "", false, nil
	}
	var method, id string
	var hash []byte
	err := tx.QueryRow(ctx, `SELECT method, request_hash, result_id FROM `+Table+`
		WHERE dealer_id = $1 AND caller = $2 AND idempotency_key = $3 AND expire_time > now()`,
		dealer, r.Caller, r.Key).Scan(&method, &hash, &id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("idempotency: lookup: %w", err)
	}
	if method != r.Method || string(hash) != string(r.Hash) {
		return "", false, apperr.Errorf(apperr.ECONFLICT, "%s %q was already used with a different request", HeaderKey, r.Key).
			Zh(fmt.Sprintf("%s“%s”已用于另一个请求", HeaderKey, r.Key))
	}
	return id, true, nil
}

// Remember records, in tx, that ctx's keyed request wrote resource id of
// dealer (nothing when ctx carries no key). When a concurrent request with
// the same key has committed its record first, it returns an EUNAVAILABLE
// error wrapping ErrInProgress, and tx must roll back. It also deletes a
// few of dealer's expired records.
func Remember(ctx context.Context, tx pgx.Tx, dealer, id string) error {
	r, ok := FromContext(ctx)
	if !ok {
		return nil
	}
	// SKIP LOCKED: concurrent keyed writes of one dealer each sweep other
	// rows instead of waiting for one another's sweep to commit.
	if _, err := tx.Exec(ctx, `DELETE FROM `+Table+` WHERE ctid IN (
		SELECT ctid FROM `+Table+` WHERE dealer_id = $1 AND expire_time <= now() LIMIT $2 FOR UPDATE SKIP LOCKED)`, dealer, sweepBatch); err != nil {
		return fmt.Errorf("idempotency: sweep: %w", err)
	}
	// A live row of the key makes this a no-op (0 rows); an expired one is
	// replaced. The INSERT waits for a concurrent transaction holding the
	// key and then sees its outcome.
	tag, err := tx.Exec(ctx, `INSERT INTO `+Table+` AS r
		(dealer_id, caller, idempotency_key, method, request_hash, result_id, create_time, expire_time)
		VALUES ($1, $2, $3, $4, $5, $6, now(), now() + $7 * interval '1 second')
		ON CONFLICT (dealer_id, caller, idempotency_key) DO UPDATE SET
		    method = EXCLUDED.method, request_hash = EXCLUDED.request_hash, result_id = EXCLUDED.result_id,
		    create_time = EXCLUDED.create_time, expire_time = EXCLUDED.expire_time
		WHERE r.expire_time <= now()`,
		dealer, r.Caller, r.Key, r.Method, r.Hash, id, int64(TTL/time.Second))
	if err != nil {
		return fmt.Errorf("idempotency: remember: %w", err)
	}
	if tag.RowsAffected() == 0 {
		e := apperr.Errorf(apperr.EUNAVAILABLE, "a request with %s %q is still in progress; retry it with the same key", HeaderKey, r.Key).
			Zh(fmt.Sprintf("%s“%s”的请求仍在处理中，请用同一个键重试", HeaderKey, r.Key))
		return errors.Join(e, ErrInProgress)
	}
	return nil
}

// Once runs write in tx unless ctx's keyed request already ran for dealer:
// it returns the id write returned, or the recorded id and repeated true
// (write is not called). Without a key it just runs write. The caller
// loads the resource by id on a repeat.
func Once(ctx context.Context, tx pgx.Tx, dealer string, write func() (string, error)) (id string, repeated bool, err error) {
	id, found, err := Lookup(ctx, tx, dealer)
	if err != nil || found {
		return id, found, err
	}
	if id, err = write(); err != nil {
		return "", false, err
	}
	return id, false, Remember(ctx, tx, dealer, id)
}

// Migration is the SQL of each using service's migration that creates
// Table (NNNN_idempotency.sql); a test checks the files against it.
const Migration = `-- Idempotency records (pkg/idempotency): which resource a keyed REST
-- write made, committed with the write, so a retry whose first answer was
-- lost gets the same resource instead of a second one.
CREATE TABLE idempotency_records (
    dealer_id       text NOT NULL,
    caller          text NOT NULL,
    idempotency_key text NOT NULL,
    method          text NOT NULL,
    request_hash    bytea NOT NULL,
    result_id       text NOT NULL,
    create_time     timestamptz NOT NULL,
    expire_time     timestamptz NOT NULL,
    PRIMARY KEY (dealer_id, caller, idempotency_key)
);
CREATE INDEX idempotency_records_expire_idx ON idempotency_records (dealer_id, expire_time);
ALTER TABLE "idempotency_records" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "idempotency_records" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "idempotency_records"
    USING ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))))
    WITH CHECK ((SELECT current_setting('app.all_dealers', true) = 'on') OR dealer_id IN (SELECT unnest(string_to_array(current_setting('app.dealer_ids', true), ','))));
`
