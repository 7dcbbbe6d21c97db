package idempotency_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/gateway/idempotency"
)

func params(clk *clock, caller, key, body string) idempotency.BeginParams {
	fp := sha256.Sum256([]byte(body))
	return idempotency.BeginParams{
		Caller: caller, Key: key, Fingerprint: fp[:], Now: clk.Now(),
		TTL: 24 * time.Hour, LeaseTimeout: time.Minute,
	}
}

func TestTableIsNotDealerData(t *testing.T) {
	_, db := newStore(t)
	// Keys belong to callers, not dealers: no dealer_id, so no tenant
	// policy is required, and the service role reaches them directly.
	if err := postgres.VerifyTenantTables(context.Background(), db.Pool, idempotency.Schema); err != nil {
		t.Fatal(err)
	}
}

func TestBeginClaimsOnce(t *testing.T) {
	store, _ := newStore(t)
	clk := newClock()
	ctx := context.Background()
	p := params(clk, "alice", "k", "body")

	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed int
	)
	for range n {
		wg.Go(func() {
			e, err := store.Begin(ctx, p)
			if err != nil {
				t.Error(err)
				return
			}
			if e.Claimed() {
				mu.Lock()
				claimed++
				mu.Unlock()
			} else if e.State != idempotency.StateInFlight || !bytes.Equal(e.Fingerprint, p.Fingerprint) {
				t.Errorf("unclaimed entry %+v, want the in-flight claim", e)
			}
		})
	}
	wg.Wait()
	if claimed != 1 {
		t.Errorf("%d of %d concurrent Begins claimed the key, want 1", claimed, n)
	}
}

func TestCompleteStoresTheResponse(t *testing.T) {
	store, _ := newStore(t)
	clk := newClock()
	ctx := context.Background()
	p := params(clk, "alice", "k", "body")
	e, err := store.Begin(ctx, p)
	if err != nil || !e.Claimed() {
		t.Fatalf("Begin = %+v, %v", e, err)
	}
	want := idempotency.Response{
		Status: http.StatusCreated,
		Header: http.Header{"Content-Type": {"application/json"}, "Location": {"/v1/x/1"}},
		Body:   []byte{0, 1, 2, 0xff},
	}
	if err := store.Complete(ctx, e, want, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := store.Complete(ctx, e, want, clk.Now()); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("second Complete = %v, want ErrLeaseLost", err)
	}
	got, err := store.Begin(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Claimed() || got.State != idempotency.StateDone {
		t.Fatalf("Begin after Complete: claimed %v state %s", got.Claimed(), got.State)
	}
	if got.Response.Status != want.Status || !bytes.Equal(got.Response.Body, want.Body) ||
		got.Response.Header.Get("Location") != "/v1/x/1" || got.Response.Header.Get("Content-Type") != "application/json" {
		t.Errorf("stored %+v, want %+v", got.Response, want)
	}
	if !got.CreatedAt.Equal(clk.Now()) || !got.ExpiresAt.Equal(clk.Now().Add(p.TTL)) {
		t.Errorf("created %s expires %s, want %s + %s", got.CreatedAt, got.ExpiresAt, clk.Now(), p.TTL)
	}

	// An empty body is stored as empty, not as omitted.
	p2 := params(clk, "alice", "empty", "")
	e2, _ := store.Begin(ctx, p2)
	if err := store.Complete(ctx, e2, idempotency.Response{Status: http.StatusNoContent}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	got2, _ := store.Begin(ctx, p2)
	if got2.Response.BodyOmitted || got2.Response.Body == nil || len(got2.Response.Body) != 0 {
		t.Errorf("empty body stored as %+v", got2.Response)
	}
}

func TestStaleLeaseIsTakenOverBySameRequestOnly(t *testing.T) {
	store, _ := newStore(t)
	clk := newClock()
	ctx := context.Background()
	stale, err := store.Begin(ctx, params(clk, "alice", "k", "body"))
	if err != nil || !stale.Claimed() {
		t.Fatalf("Begin = %+v, %v", stale, err)
	}

	clk.Advance(30 * time.Second) // within the lease
	if e, _ := store.Begin(ctx, params(clk, "alice", "k", "body")); e.Claimed() || e.State != idempotency.StateInFlight {
		t.Errorf("within the lease: claimed %v state %s, want the in-flight entry", e.Claimed(), e.State)
	}

	clk.Advance(time.Minute) // the claiming gateway died
	if e, _ := store.Begin(ctx, params(clk, "alice", "k", "other body")); e.Claimed() {
		t.Error("a different request took over a stale lease")
	}
	successor, err := store.Begin(ctx, params(clk, "alice", "k", "body"))
	if err != nil || !successor.Claimed() {
		t.Fatalf("retry after the lease: %+v, %v; want a new claim", successor, err)
	}

	// The stale claim can no longer touch the key.
	if err := store.Complete(ctx, stale, idempotency.Response{Status: 200}, clk.Now()); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("stale Complete = %v, want ErrLeaseLost", err)
	}
	if err := store.Abandon(ctx, stale); !errors.Is(err, idempotency.ErrLeaseLost) {
		t.Errorf("stale Abandon = %v, want ErrLeaseLost", err)
	}
	if err := store.Complete(ctx, successor, idempotency.Response{Status: 201, Body: []byte("ok")}, clk.Now()); err != nil {
		t.Errorf("successor Complete = %v", err)
	}
	// A completed key is never taken over before it expires.
	clk.Advance(time.Hour)
	if e, _ := store.Begin(ctx, params(clk, "alice", "k", "body")); e.Claimed() || string(e.Response.Body) != "ok" {
		t.Errorf("completed key: claimed %v body %q", e.Claimed(), e.Response.Body)
	}
}

func TestAbandonFreesTheKey(t *testing.T) {
	store, db := newStore(t)
	clk := newClock()
	ctx := context.Background()
	e, _ := store.Begin(ctx, params(clk, "alice", "k", "body"))
	if err := store.Abandon(ctx, e); err != nil {
		t.Fatal(err)
	}
	if n := rowCount(t, db); n != 0 {
		t.Errorf("%d rows after Abandon, want 0", n)
	}
	if e, _ := store.Begin(ctx, params(clk, "alice", "k", "other body")); !e.Claimed() {
		t.Error("key not free after Abandon")
	}
}

func TestBeginRejectsBadParams(t *testing.T) {
	store := idempotency.NewStore(nil) // Checked before any statement.
	clk := newClock()
	good := params(clk, "alice", "k", "b")
	for name, mutate := range map[string]func(*idempotency.BeginParams){
		"no caller":       func(p *idempotency.BeginParams) { p.Caller = "" },
		"bad key":         func(p *idempotency.BeginParams) { p.Key = "a\nb" },
		"short print":     func(p *idempotency.BeginParams) { p.Fingerprint = p.Fingerprint[:8] },
		"no clock":        func(p *idempotency.BeginParams) { p.Now = time.Time{} },
		"no TTL":          func(p *idempotency.BeginParams) { p.TTL = 0 },
		"lease above TTL": func(p *idempotency.BeginParams) { p.LeaseTimeout = 2 * p.TTL },
	} {
		p := good
		mutate(&p)
		if _, err := store.Begin(context.Background(), p); err == nil {
			t.Errorf("%s: Begin accepted %+v", name, p)
		}
	}
}

func TestRunSweeperDeletesExpiredKeys(t *testing.T) {
	store, db := newStore(t)
	ctx := context.Background()
	past := &clock{t: time.Now().Add(-2 * time.Hour)}
	for _, key := range []string{"a", "b", "c"} {
		p := params(past, "alice", key, key)
		p.TTL, p.LeaseTimeout = time.Hour, time.Minute
		if _, err := store.Begin(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	live := params(&clock{t: time.Now()}, "alice", "live", "x")
	if _, err := store.Begin(ctx, live); err != nil {
		t.Fatal(err)
	}

	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- store.RunSweeper(sctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for rowCount(t, db) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d rows left, want only the live one", rowCount(t, db))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunSweeper = %v, want nil after cancel", err)
	}
	if err := store.RunSweeper(ctx, 0); err == nil {
		t.Error("RunSweeper accepted a zero interval")
	}
}
