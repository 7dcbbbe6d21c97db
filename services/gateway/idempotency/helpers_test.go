package idempotency_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/services/gateway/idempotency"
)

// newStore returns a Store over a fresh migrated database, reached as the
// service role.
func newStore(t *testing.T) (*idempotency.Store, *pgtest.DB) {
	t.Helper()
	fsys, err := idempotency.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	db := pgtest.New(t, idempotency.Schema, fsys)
	return idempotency.NewStore(db.Pool), db
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// subjectHeader stands in for the bearer token in tests: the fake
// authentication middleware makes its value the principal's subject.
const subjectHeader = "X-Test-Subject"

// authenticated mimics the gateway's authentication: a principal from the
// test header, none without it.
func authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sub := r.Header.Get(subjectHeader); sub != "" {
			r = r.WithContext(auth.NewContextWithPrincipal(r.Context(), &auth.Principal{
				Subject: sub, Roles: []auth.Role{auth.RoleAgent}, Dealer: "D001",
			}))
		}
		next.ServeHTTP(w, r)
	})
}

// counter is a handler that counts its calls and records the bodies it read.
type counter struct {
	calls  atomic.Int32
	mu     sync.Mutex
	bodies []string
	handle func(w http.ResponseWriter, r *http.Request)
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := c.calls.Add(1)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, string(b))
	c.mu.Unlock()
	if c.handle != nil {
		c.handle(w, r)
		return
	}
	// A grpc-gateway-like answer: JSON, a Location, a body that differs per
	// call so a replay cannot be mistaken for a second run.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/v1/dealers/D001/complaints/C"+strconv.Itoa(int(n)))
	w.Header().Set("Grpc-Metadata-X-Call", strconv.Itoa(int(n)))
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, `{"name":"dealers/D001/complaints/C`+strconv.Itoa(int(n))+`","echo":`+jsonString(string(b))+`}`)
}

func (c *counter) Calls() int { return int(c.calls.Load()) }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// stack is the middleware as the gateway wires it: authentication, then the
// body limit, then idempotency in front of the routes.
func stack(store *idempotency.Store, opts idempotency.Options, maxBody int64, h http.Handler) http.Handler {
	return authenticated(http.MaxBytesHandler(idempotency.Middleware(store, opts)(h), maxBody))
}

// call is one request through h.
type call struct {
	method, target, body string
	subject, key         string
	noKey                bool
	header               http.Header
}

func (c call) do(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	target := c.target
	if target == "" {
		target = "/v1/dealers/D001/complaints"
	}
	req := httptest.NewRequestWithContext(context.Background(), method, target, strings.NewReader(c.body))
	req.Header.Set("Content-Type", "application/json")
	if c.subject != "" {
		req.Header.Set(subjectHeader, c.subject)
	}
	if !c.noKey {
		req.Header.Set(idempotency.HeaderKey, c.key)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr
}

// rpcStatus is the google.rpc.Status JSON shape.
type rpcStatus struct {
	Code    *int    `json:"code"`
	Message *string `json:"message"`
	Details *[]any  `json:"details"`
}

// wantStatus checks an error response: HTTP code, google.rpc.Status body
// with the gRPC code, a message containing msg, and empty details.
func wantStatus(t *testing.T, rr *httptest.ResponseRecorder, httpCode, grpcCode int, msg string) {
	t.Helper()
	if rr.Code != httpCode {
		t.Fatalf("HTTP status %d, want %d; body %s", rr.Code, httpCode, rr.Body)
	}
	if ct := rr.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rr.Body.Bytes(), &raw); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, rr.Body)
	}
	if len(raw) != 3 {
		t.Errorf("body has fields %v, want exactly code, message, details", raw)
	}
	var st rpcStatus
	if err := json.Unmarshal(rr.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Code == nil || *st.Code != grpcCode {
		t.Errorf("code %v, want %d; body %s", st.Code, grpcCode, rr.Body)
	}
	if st.Message == nil || !strings.Contains(*st.Message, msg) {
		t.Errorf("message %v, want it to contain %q", st.Message, msg)
	}
	if st.Details == nil || len(*st.Details) != 0 {
		t.Errorf("details %v, want []", st.Details)
	}
	if rr.Header().Get(idempotency.HeaderReplayed) != "" {
		t.Errorf("error response carries %s", idempotency.HeaderReplayed)
	}
}

// rowCount counts the stored keys with a query of its own, not the Store's.
func rowCount(t *testing.T, db *pgtest.DB) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+idempotency.Schema+".idempotency_keys").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
