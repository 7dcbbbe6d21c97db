package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
)

// fakeClock is a settable clock for RateLimitConfig.Now.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }
func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var (
	dealerA  = &auth.Principal{Subject: "agent-a1", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"}
	dealerA2 = &auth.Principal{Subject: "mgr-a2", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"}
	dealerB  = &auth.Principal{Subject: "agent-b1", Roles: []auth.Role{auth.RoleAgent}, Dealer: "BJ002"}
	regionE  = &auth.Principal{Subject: "rm-east", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"}
	hqAlice  = &auth.Principal{Subject: "alice", Roles: []auth.Role{auth.RoleHQAnalyst}}
	hqBob    = &auth.Principal{Subject: "bob", Roles: []auth.Role{auth.RoleHQAdmin}}
)

// ok answers 200 "ok" and counts its calls.
type okHandler struct{ calls int }

func (h *okHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.calls++
	_, _ = w.Write([]byte("ok"))
}

// request builds a GET running as p (nil: anonymous) from remote.
func request(p *auth.Principal, remote string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/v1/dealers/SH001/customers", nil)
	if remote != "" {
		r.RemoteAddr = remote
	}
	if p != nil {
		r = r.WithContext(auth.NewContextWithPrincipal(r.Context(), p))
	}
	return r
}

// decodeStatus parses a google.rpc.Status body.
func decodeStatus(t *testing.T, rec *httptest.ResponseRecorder) statusBody {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
	}
	if string(raw["details"]) != "[]" {
		t.Errorf("details = %s, want []", raw["details"])
	}
	var st statusBody
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}
