package idempotency_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dealercare/dealercare/services/gateway/idempotency"
)

// The gateway wires idempotency after authentication and inside the body
// limit; these tests use the same stack with a fake authentication.

func TestFirstCallIsStoredAndReplayedByteForByte(t *testing.T) {
	store, db := newStore(t)
	h := &counter{}
	srv := httptest.NewServer(stack(store, idempotency.Options{}, 1<<20, h))
	defer srv.Close()

	post := func() (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/dealers/D001/complaints?validate_only=false", strings.NewReader(`{"title":"noise"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(subjectHeader, "alice")
		req.Header.Set(idempotency.HeaderKey, "8e03978e-40d5-43e8-bc93-6894a57f9324")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}

	first, firstBody := post()
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("first: status %d, body %s", first.StatusCode, firstBody)
	}
	if got := first.Header.Get(idempotency.HeaderReplayed); got != "" {
		t.Errorf("first response has %s: %q", idempotency.HeaderReplayed, got)
	}
	if got := first.Header.Get("Grpc-Metadata-X-Call"); got != "1" {
		t.Errorf("first response lost the handler's own header: %q", got)
	}
	if len(h.bodies) != 1 || h.bodies[0] != `{"title":"noise"}` {
		t.Errorf("handler read bodies %q, want the request body once", h.bodies)
	}

	for i := range 3 {
		again, againBody := post()
		if again.StatusCode != first.StatusCode {
			t.Errorf("replay %d: status %d, want %d", i, again.StatusCode, first.StatusCode)
		}
		if !bytes.Equal(againBody, firstBody) {
			t.Errorf("replay %d: body\n%s\nwant\n%s", i, againBody, firstBody)
		}
		for _, name := range []string{"Content-Type", "Location", "Content-Length"} {
			if got, want := again.Header.Values(name), first.Header.Values(name); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("replay %d: %s %q, want %q", i, name, got, want)
			}
		}
		if got := again.Header.Get(idempotency.HeaderReplayed); got != "true" {
			t.Errorf("replay %d: %s %q, want true", i, idempotency.HeaderReplayed, got)
		}
		if got := again.Header.Get("Grpc-Metadata-X-Call"); got != "" {
			t.Errorf("replay %d: per-exchange header replayed: %q", i, got)
		}
	}
	if h.Calls() != 1 {
		t.Errorf("handler ran %d times, want 1", h.Calls())
	}
	if n := rowCount(t, db); n != 1 {
		t.Errorf("%d rows stored, want 1", n)
	}
}

func TestSameKeyDifferentRequestIs422(t *testing.T) {
	store, _ := newStore(t)
	h := &counter{}
	mw := stack(store, idempotency.Options{}, 1<<20, h)
	first := call{subject: "alice", key: "abc", body: `{"title":"noise"}`, target: "/v1/dealers/D001/complaints?a=1"}
	if rr := first.do(t, mw); rr.Code != http.StatusCreated {
		t.Fatalf("first: %d %s", rr.Code, rr.Body)
	}
	for name, c := range map[string]call{
		"body":   {subject: "alice", key: "abc", body: `{"title":"smell"}`, target: first.target},
		"path":   {subject: "alice", key: "abc", body: first.body, target: "/v1/dealers/D002/complaints?a=1"},
		"method": {method: http.MethodPut, subject: "alice", key: "abc", body: first.body, target: first.target},
		"query":  {subject: "alice", key: "abc", body: first.body, target: "/v1/dealers/D001/complaints?a=2"},
	} {
		t.Run(name, func(t *testing.T) {
			rr := c.do(t, mw)
			wantStatus(t, rr, http.StatusUnprocessableEntity, 3, `Idempotency-Key "abc" was already used with a different request`)
		})
	}
	if h.Calls() != 1 {
		t.Errorf("handler ran %d times, want 1", h.Calls())
	}
}

func TestQueryParameterOrderDoesNotChangeTheRequest(t *testing.T) {
	store, _ := newStore(t)
	h := &counter{}
	mw := stack(store, idempotency.Options{}, 1<<20, h)
	call{subject: "alice", key: "q", target: "/v1/x?b=2&a=1&a=0"}.do(t, mw)
	rr := call{subject: "alice", key: "q", target: "/v1/x?a=1&a=0&b=2"}.do(t, mw)
	if rr.Code != http.StatusCreated || rr.Header().Get(idempotency.HeaderReplayed) != "true" {
		t.Errorf("reordered query: %d, replayed %q; want the stored 201", rr.Code, rr.Header().Get(idempotency.HeaderReplayed))
	}
	if h.Calls() != 1 {
		t.Errorf("handler ran %d times, want 1", h.Calls())
	}
}

func TestRetryWhileInFlightIs409(t *testing.T) {
	store, _ := newStore(t)
	started, release := make(chan struct{}), make(chan struct{})
	h := &counter{}
	h.handle = func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"name":"c1"}`)
	}
	mw := stack(store, idempotency.Options{}, 1<<20, h)
	c := call{subject: "alice", key: "abc", body: `{"title":"noise"}`}

	firstDone := make(chan *httptest.ResponseRecorder)
	go func() { firstDone <- c.do(t, mw) }()
	<-started

	rr := c.do(t, mw)
	wantStatus(t, rr, http.StatusConflict, 10, `a request with Idempotency-Key "abc" is still in progress`)
	if got := rr.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	// A different request under the busy key is a client bug, not a wait.
	other := c
	other.body = `{"title":"other"}`
	wantStatus(t, other.do(t, mw), http.StatusUnprocessableEntity, 3, "different request")

	close(release)
	first := <-firstDone
	if first.Code != http.StatusCreated || first.Body.String() != `{"name":"c1"}` {
		t.Fatalf("first: %d %s", first.Code, first.Body)
	}
	again := c.do(t, mw)
	if again.Code != http.StatusCreated || again.Body.String() != `{"name":"c1"}` || again.Header().Get(idempotency.HeaderReplayed) != "true" {
		t.Errorf("retry after completion: %d %s %v, want the replayed 201", again.Code, again.Body, again.Header())
	}
	if h.Calls() != 1 {
		t.Errorf("handler ran %d times, want 1", h.Calls())
	}
}

func TestConcurrentDuplicatesRunOnce(t *testing.T) {
	store, _ := newStore(t)
	release := make(chan struct{})
	h := &counter{handle: func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.WriteHeader(http.StatusNoContent)
	}}
	mw := stack(store, idempotency.Options{}, 1<<20, h)
	c := call{method: http.MethodDelete, subject: "alice", key: "del-1", target: "/v1/dealers/D001/customers/42"}

	const n = 8
	results := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { results <- c.do(t, mw).Code })
	}
	// Every duplicate answers while the one claimer is held.
	for range n - 1 {
		if code := <-results; code != http.StatusConflict {
			t.Errorf("duplicate: %d, want 409", code)
		}
	}
	close(release)
	wg.Wait()
	if code := <-results; code != http.StatusNoContent {
		t.Errorf("claimer: %d, want 204", code)
	}
	if h.Calls() != 1 {
		t.Errorf("handler ran %d times, want 1", h.Calls())
	}
}

func TestRetryableFailuresAreNotStored(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusTooManyRequests, http.StatusRequestTimeout} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			store, db := newStore(t)
			h := &counter{}
			h.handle = func(w http.ResponseWriter, r *http.Request) {
				if h.Calls() == 1 {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					_, _ = io.WriteString(w, `{"code":14,"message":"customer service unavailable","details":[]}`)
					return
				}
				w.WriteHeader(http.StatusCreated)
				_, _ = io.WriteString(w, "created")
			}
			mw := stack(store, idempotency.Options{}, 1<<20, h)
			c := call{subject: "alice", key: "k", body: "{}"}

			if rr := c.do(t, mw); rr.Code != status || !strings.Contains(rr.Body.String(), "unavailable") {
				t.Fatalf("first: %d %s, want the handler's %d passed on", rr.Code, rr.Body, status)
			}
			if n := rowCount(t, db); n != 0 {
				t.Errorf("%d rows left after a %d, want 0", n, status)
			}
			if rr := c.do(t, mw); rr.Code != http.StatusCreated || rr.Header().Get(idempotency.HeaderReplayed) != "" {
				t.Errorf("retry: %d replayed=%q, want a fresh 201", rr.Code, rr.Header().Get(idempotency.HeaderReplayed))
			}
			if rr := c.do(t, mw); rr.Code != http.StatusCreated || rr.Header().Get(idempotency.HeaderReplayed) != "true" {
				t.Errorf("third: %d replayed=%q, want the replayed 201", rr.Code, rr.Header().Get(idempotency.HeaderReplayed))
			}
			if h.Calls() != 2 {
				t.Errorf("handler ran %d times, want 2", h.Calls())
			}
		})
	}
}

func TestClientErrorsAreStored(t *testing.T) {
	store, _ := newStore(t)
	h := &counter{handle: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"code":3,"message":"mobile: invalid","details":[]}`)
	}}
	mw := stack(store, idempotency.Options{}, 1<<20, h)
	c := call{subject: "alice", key: "k", body: `{"mobile":"1"}`}
	first := c.do(t, mw)
	again := c.do(t, mw)
	if again.Code != http.StatusBadRequest || again.Body.String() != first.Body.String() || again.Header().Get(idempotency.HeaderReplayed) != "true" {
		t.Errorf("retry: %d %s, want the replayed 400 %s", again.Code, again.Body, first.Body)
	}
	if h.Calls() != 1 {
		t.Errorf("handler ran %d times, want 1", h.Calls())
	}
}

func TestPanicAbandonsTheKey(t *testing.T) {
	store, db := newStore(t)
	h := &counter{}
	h.handle = func(w http.ResponseWriter, r *http.Request) {
		if h.Calls() == 1 {
			panic("boom")
		}
		w.WriteHeader(http.StatusCreated)
	}
	mw := stack(store, idempotency.Options{}, 1<<20, h)
	c := call{subject: "alice", key: "k"}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the handler's panic to go on", p)
			}
		}()
		c.do(t, mw)
	}()
	if n := rowCount(t, db); n != 0 {
		t.Errorf("%d rows left after a panic, want 0", n)
	}
	if rr := c.do(t, mw); rr.Code != http.StatusCreated {
		t.Errorf("retry: %d, want 201", rr.Code)
	}
	if h.Calls() != 2 {
		t.Errorf("handler ran %d times, want 2", h.Calls())
	}
}

func TestCallersAreIndependent(t *testing.T) {
	store, db := newStore(t)
	h := &counter{}
	mw := stack(store, idempotency.Options{}, 1<<20, h)
	alice := call{subject: "alice", key: "shared", body: `{"by":"alice"}`}
	bob := call{subject: "bob", key: "shared", body: `{"by":"bob"}`}

	a1, b1 := alice.do(t, mw), bob.do(t, mw)
	if a1.Code != http.StatusCreated || b1.Code != http.StatusCreated {
		t.Fatalf("first calls: alice %d %s, bob %d %s", a1.Code, a1.Body, b1.Code, b1.Body)
	}
	if a1.Body.String() == b1.Body.String() {
		t.Fatalf("alice and bob got the same response %s", a1.Body)
	}
	if a2 := alice.do(t, mw); a2.Body.String() != a1.Body.String() {
		t.Errorf("alice's replay %s, want %s", a2.Body, a1.Body)
	}
	if b2 := bob.do(t, mw); b2.Body.String() != b1.Body.String() {
		t.Errorf("bob's replay %s, want %s", b2.Body, b1.Body)
	}
	if h.Calls() != 2 {
		t.Errorf("handler ran %d times, want 2", h.Calls())
	}
	if n := rowCount(t, db); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
}

func TestExpiredKeysAreReplacedAndSwept(t *testing.T) {
	store, db := newStore(t)
	clk := newClock()
	const ttl = time.Hour
	h := &counter{}
	mw := stack(store, idempotency.Options{Now: clk.Now, TTL: ttl}, 1<<20, h)
	old := call{subject: "alice", key: "old", body: `{"n":1}`}
	if rr := old.do(t, mw); rr.Code != http.StatusCreated {
		t.Fatal(rr.Code)
	}

	clk.Advance(ttl / 2)
	young := call{subject: "alice", key: "young", body: "{}"}
	young.do(t, mw)

	clk.Advance(ttl/2 - time.Second) // old is 1 s from expiry
	if rr := old.do(t, mw); rr.Header().Get(idempotency.HeaderReplayed) != "true" {
		t.Errorf("before expiry: %d, want a replay", rr.Code)
	}
	if n, err := store.Sweep(context.Background(), clk.Now()); err != nil || n != 0 {
		t.Errorf("Sweep before expiry = %d, %v; want 0", n, err)
	}

	clk.Advance(time.Second) // old expires now
	// An expired key is a new key: another body is no conflict.
	reused := call{subject: "alice", key: "old", body: `{"n":2}`}
	if rr := reused.do(t, mw); rr.Code != http.StatusCreated || rr.Header().Get(idempotency.HeaderReplayed) != "" {
		t.Errorf("expired key reused: %d replayed=%q, want a fresh 201", rr.Code, rr.Header().Get(idempotency.HeaderReplayed))
	}
	if h.Calls() != 3 {
		t.Errorf("handler ran %d times, want 3", h.Calls())
	}

	// "young" expires at +1.5h, the reused "old" at +2h.
	clk.Advance(ttl / 2)
	if n, err := store.Sweep(context.Background(), clk.Now()); err != nil || n != 1 {
		t.Errorf("Sweep at +1.5h = %d, %v; want 1", n, err)
	}
	if n := rowCount(t, db); n != 1 {
		t.Errorf("%d rows after the sweep, want 1", n)
	}
	clk.Advance(ttl / 2)
	if n, err := store.Sweep(context.Background(), clk.Now()); err != nil || n != 1 {
		t.Errorf("Sweep at +2h = %d, %v; want 1", n, err)
	}
	if n := rowCount(t, db); n != 0 {
		t.Errorf("%d rows after the last sweep, want 0", n)
	}
}

func TestInvalidKeysAre400(t *testing.T) {
	// The key is checked before the store is used: a nil DB would panic.
	store := idempotency.NewStore(nil)
	h := &counter{}
	mw := stack(store, idempotency.Options{}, 1<<20, h)
	for name, c := range map[string]call{
		"too long":  {key: strings.Repeat("k", 256)},
		"empty":     {key: ""},
		"non-ASCII": {key: "回访-1"},
		"control":   {key: "a\x01b"},
		"delete":    {key: "a\x7fb"},
		"twice":     {noKey: true, header: http.Header{idempotency.HeaderKey: {"a", "b"}}},
	} {
		t.Run(name, func(t *testing.T) {
			c.subject = "alice"
			wantStatus(t, c.do(t, mw), http.StatusBadRequest, 3, idempotency.HeaderKey)
		})
	}
	if h.Calls() != 0 {
		t.Errorf("handler ran %d times, want 0", h.Calls())
	}
}

func TestLongestKeyIsAccepted(t *testing.T) {
	store, _ := newStore(t)
	mw := stack(store, idempotency.Options{}, 1<<20, &counter{})
	c := call{subject: "alice", key: strings.Repeat("~", 255)}
	c.do(t, mw)
	if rr := c.do(t, mw); rr.Code != http.StatusCreated || rr.Header().Get(idempotency.HeaderReplayed) != "true" {
		t.Errorf("255-byte key: %d %s, want the replayed 201", rr.Code, rr.Body)
	}
}

func TestRequestsOutsideTheContractPassThrough(t *testing.T) {
	// None of these may touch the store: a nil DB would panic.
	store := idempotency.NewStore(nil)
	for name, c := range map[string]call{
		"GET":          {method: http.MethodGet, subject: "alice", key: "k"},
		"HEAD":         {method: http.MethodHead, subject: "alice", key: "k"},
		"OPTIONS":      {method: http.MethodOptions, subject: "alice", key: "k"},
		"no key":       {subject: "alice", noKey: true, body: "{}"},
		"no principal": {key: strings.Repeat("k", 300), body: "{}"},
	} {
		t.Run(name, func(t *testing.T) {
			h := &counter{}
			mw := stack(store, idempotency.Options{}, 1<<20, h)
			for range 2 {
				rr := c.do(t, mw)
				if rr.Code != http.StatusCreated || rr.Header().Get(idempotency.HeaderReplayed) != "" {
					t.Errorf("%d replayed=%q, want the handler's own 201", rr.Code, rr.Header().Get(idempotency.HeaderReplayed))
				}
			}
			if h.Calls() != 2 {
				t.Errorf("handler ran %d times, want 2", h.Calls())
			}
		})
	}
}

func TestBodyOverTheLimitIs413(t *testing.T) {
	store := idempotency.NewStore(nil) // Rejected before the store.
	h := &counter{}
	mw := stack(store, idempotency.Options{}, 16, h)
	rr := call{subject: "alice", key: "k", body: strings.Repeat("x", 100)}.do(t, mw)
	wantStatus(t, rr, http.StatusRequestEntityTooLarge, 3, "larger than the limit of 16 bytes")
	if h.Calls() != 0 {
		t.Errorf("handler ran %d times, want 0", h.Calls())
	}
}

func TestLargeResponsesPassThroughAndAreNotReplayed(t *testing.T) {
	store, _ := newStore(t)
	big := strings.Repeat("0123456789abcdef", 256) // 4 KiB
	h := &counter{handle: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		for i := 0; i < len(big); i += 1000 {
			_, _ = io.WriteString(w, big[i:min(i+1000, len(big))])
		}
	}}
	mw := stack(store, idempotency.Options{MaxStoredBodyBytes: 1024}, 1<<20, h)
	c := call{subject: "alice", key: "export-1"}
	first := c.do(t, mw)
	if first.Code != http.StatusOK || first.Body.String() != big || first.Header().Get("Content-Type") != "text/csv" {
		t.Fatalf("first: %d, %d bytes, %q; want the whole 4 KiB text/csv", first.Code, first.Body.Len(), first.Header().Get("Content-Type"))
	}
	// Running the mutation again would be worse than not replaying it.
	wantStatus(t, c.do(t, mw), http.StatusConflict, 6, "too large to keep")
	if h.Calls() != 1 {
		t.Errorf("handler ran %d times, want 1", h.Calls())
	}
}

func TestSmallResponseAtTheCapIsStored(t *testing.T) {
	store, _ := newStore(t)
	body := strings.Repeat("x", 1024)
	h := &counter{handle: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) }}
	mw := stack(store, idempotency.Options{MaxStoredBodyBytes: 1024}, 1<<20, h)
	c := call{subject: "alice", key: "k"}
	first := c.do(t, mw)
	again := c.do(t, mw)
	if again.Body.String() != body || again.Header().Get(idempotency.HeaderReplayed) != "true" {
		t.Errorf("replay of a body at the cap: %d bytes, replayed=%q", again.Body.Len(), again.Header().Get(idempotency.HeaderReplayed))
	}
	// No Content-Type was set: the sniffed one is stored and replayed.
	if got, want := again.Header().Get("Content-Type"), first.Header().Get("Content-Type"); got != want || got == "" {
		t.Errorf("Content-Type replayed %q, first %q", got, want)
	}
}

func TestHandlerIsBoundedByTheInFlightTimeout(t *testing.T) {
	store, db := newStore(t)
	h := &counter{}
	h.handle = func(w http.ResponseWriter, r *http.Request) {
		if h.Calls() == 1 {
			select { // A stuck upstream call.
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
				t.Error("the handler's context outlived the in-flight timeout")
			}
			w.WriteHeader(http.StatusGatewayTimeout)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}
	mw := stack(store, idempotency.Options{InFlightTimeout: 50 * time.Millisecond}, 1<<20, h)
	c := call{subject: "alice", key: "k"}
	if rr := c.do(t, mw); rr.Code != http.StatusGatewayTimeout {
		t.Fatalf("first: %d, want 504", rr.Code)
	}
	if n := rowCount(t, db); n != 0 {
		t.Errorf("%d rows after the timeout, want 0", n)
	}
	if rr := c.do(t, mw); rr.Code != http.StatusCreated {
		t.Errorf("retry: %d, want 201", rr.Code)
	}
}

// brokenDB fails every statement, like a database that is down.
type brokenDB struct{}

var errDown = errors.New("connection refused")

func (brokenDB) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errDown
}

func (brokenDB) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{} }

type errRow struct{}

func (errRow) Scan(...any) error { return errDown }

func TestStoreDownIs503(t *testing.T) {
	h := &counter{}
	mw := stack(idempotency.NewStore(brokenDB{}), idempotency.Options{}, 1<<20, h)
	rr := call{subject: "alice", key: "k"}.do(t, mw)
	wantStatus(t, rr, http.StatusServiceUnavailable, 14, `retry the request with the same key`)
	if strings.Contains(rr.Body.String(), errDown.Error()) {
		t.Errorf("internal error leaked: %s", rr.Body)
	}
	if h.Calls() != 0 {
		t.Errorf("handler ran %d times without a claim, want 0", h.Calls())
	}
}

func TestFingerprint(t *testing.T) {
	fp := func(method, target, body string) string {
		return fmt.Sprintf("%x", idempotency.Fingerprint(httptest.NewRequest(method, target, nil), []byte(body)))
	}
	base := fp("POST", "/v1/a?x=1&y=2", "{}")
	if len(base) != 64 {
		t.Fatalf("fingerprint %s is not a hex SHA-256", base)
	}
	for _, tc := range []struct {
		name string
		fp   string
		same bool
	}{
		{"identical", fp("POST", "/v1/a?x=1&y=2", "{}"), true},
		{"keys reordered", fp("POST", "/v1/a?y=2&x=1", "{}"), true},
		{"same query differently escaped", fp("POST", "/v1/a?x=%31&y=2", "{}"), true},
		{"method", fp("PUT", "/v1/a?x=1&y=2", "{}"), false},
		{"path", fp("POST", "/v1/b?x=1&y=2", "{}"), false},
		{"query value", fp("POST", "/v1/a?x=1&y=3", "{}"), false},
		{"body", fp("POST", "/v1/a?x=1&y=2", "{ }"), false},
		{"query moved into the path", fp("POST", "/v1/a%3Fx=1&y=2", "{}"), false},
	} {
		if got := tc.fp == base; got != tc.same {
			t.Errorf("%s: same fingerprint = %v, want %v", tc.name, got, tc.same)
		}
	}
	// The order of one key's values may mean something (a list).
	if fp("POST", "/v1/a?x=1&x=2", "") == fp("POST", "/v1/a?x=2&x=1", "") {
		t.Error("reordering the values of one key kept the fingerprint")
	}
}
