package middleware

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/config"
	"google.golang.org/grpc/codes"
)

// TestRateLimitTenants: each tenant has its own bucket, and one tenant's
// exhaustion limits nobody else.
func TestRateLimitTenants(t *testing.T) {
	type call struct {
		who    *auth.Principal
		remote string
		want   int
	}
	tests := []struct {
		name  string
		calls []call
	}{
		{name: "dealer A exhausted does not limit dealer B", calls: []call{
			{who: dealerA, want: 200}, {who: dealerA, want: 200}, {who: dealerA, want: 429},
			{who: dealerB, want: 200}, {who: dealerB, want: 200}, {who: dealerB, want: 429},
		}},
		{name: "users of one dealer share its bucket", calls: []call{
			{who: dealerA, want: 200}, {who: dealerA2, want: 200}, {who: dealerA, want: 429}, {who: dealerA2, want: 429},
		}},
		{name: "region and HQ users are separate tenants", calls: []call{
			{who: dealerA, want: 200}, {who: dealerA, want: 200}, {who: dealerA, want: 429},
			{who: regionE, want: 200}, {who: regionE, want: 200}, {who: regionE, want: 429},
			{who: hqAlice, want: 200}, {who: hqAlice, want: 200}, {who: hqAlice, want: 429},
			{who: hqBob, want: 200},
		}},
		{name: "anonymous requests are limited per client address", calls: []call{
			{remote: "203.0.113.7:5000", want: 200}, {remote: "203.0.113.7:5001", want: 200}, {remote: "203.0.113.7:5002", want: 429},
			{remote: "[2001:db8::1]:443", want: 200}, {remote: "198.51.100.2:80", want: 200},
			{who: dealerA, remote: "203.0.113.7:5003", want: 200},
		}},
		{name: "a client address never shares a dealer's bucket", calls: []call{
			{who: &auth.Principal{Subject: "x", Roles: []auth.Role{auth.RoleAgent}, Dealer: "10.0.0.1"}, want: 200},
			{who: &auth.Principal{Subject: "x", Roles: []auth.Role{auth.RoleAgent}, Dealer: "10.0.0.1"}, want: 200},
			{remote: "10.0.0.1:1234", want: 200},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			next := &okHandler{}
			h := RateLimit(RateLimitConfig{RequestsPerSecond: 1, Burst: 2, MaxTenants: 100, Now: clock.Now})(next)
			allowed := 0
			for i, c := range tt.calls {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, request(c.who, c.remote))
				if rec.Code != c.want {
					t.Fatalf("call %d (%v %s): status %d, want %d", i, c.who, c.remote, rec.Code, c.want)
				}
				if c.want == 200 {
					allowed++
				}
			}
			if next.calls != allowed {
				t.Errorf("handler ran %d times, want %d (refused requests must not reach it)", next.calls, allowed)
			}
		})
	}
}

// TestRateLimitExceeded checks the 429 answer against the injected clock:
// 0.25 requests per second is one token every 4 s.
func TestRateLimitExceeded(t *testing.T) {
	clock := newFakeClock()
	h := RateLimit(RateLimitConfig{RequestsPerSecond: 0.25, Burst: 1, MaxTenants: 10, Now: clock.Now})(&okHandler{})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request(dealerA, ""))
	if rec.Code != 200 || rec.Header().Get("X-RateLimit-Limit") != "1" || rec.Header().Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("first call: %d, limit %q, remaining %q; want 200, 1, 0", rec.Code,
			rec.Header().Get("X-RateLimit-Limit"), rec.Header().Get("X-RateLimit-Remaining"))
	}

	tests := []struct {
		name        string
		advance     time.Duration
		who         *auth.Principal
		lang        string
		wantCode    int
		wantRetry   string
		wantMessage string
	}{
		{name: "right away", who: dealerA, wantCode: 429, wantRetry: "4",
			wantMessage: "rate limit of 0.25 requests per second for dealer SH001 exceeded; retry after 4 s"},
		{name: "0.5 s later rounds up", advance: 500 * time.Millisecond, who: dealerA, wantCode: 429, wantRetry: "4",
			wantMessage: "rate limit of 0.25 requests per second for dealer SH001 exceeded; retry after 4 s"},
		{name: "3.5 s later", advance: 3 * time.Second, who: dealerA, wantCode: 429, wantRetry: "1",
			wantMessage: "rate limit of 0.25 requests per second for dealer SH001 exceeded; retry after 1 s"},
		{name: "in Chinese", who: dealerA, lang: "zh-CN,zh;q=0.9,en;q=0.5", wantCode: 429, wantRetry: "1",
			wantMessage: "经销商 SH001 超过每秒 0.25 次请求的限制，请 1 秒后重试"},
		{name: "3.9 s later still at least 1", advance: 400 * time.Millisecond, who: dealerA, wantCode: 429, wantRetry: "1",
			wantMessage: "rate limit of 0.25 requests per second for dealer SH001 exceeded; retry after 1 s"},
		{name: "4 s later the token is there", advance: 100 * time.Millisecond, who: dealerA, wantCode: 200},
		{name: "region wording", who: regionE, wantCode: 200},
		{name: "region exhausted", who: regionE, wantCode: 429, wantRetry: "4",
			wantMessage: "rate limit of 0.25 requests per second for region EAST exceeded; retry after 4 s"},
		{name: "HQ user", who: hqAlice, wantCode: 200},
		{name: "HQ user exhausted", who: hqAlice, wantCode: 429, wantRetry: "4",
			wantMessage: "rate limit of 0.25 requests per second for HQ user alice exceeded; retry after 4 s"},
	}
	for _, tt := range tests {
		clock.Advance(tt.advance)
		r := request(tt.who, "")
		if tt.lang != "" {
			r.Header.Set("Accept-Language", tt.lang)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tt.wantCode {
			t.Fatalf("%s: status %d, want %d", tt.name, rec.Code, tt.wantCode)
		}
		if got := rec.Header().Get("X-RateLimit-Limit"); got != "1" {
			t.Errorf("%s: X-RateLimit-Limit = %q, want 1", tt.name, got)
		}
		if got := rec.Header().Get("X-RateLimit-Remaining"); got != "0" {
			t.Errorf("%s: X-RateLimit-Remaining = %q, want 0", tt.name, got)
		}
		if tt.wantCode != 429 {
			if got := rec.Header().Get("Retry-After"); got != "" {
				t.Errorf("%s: Retry-After = %q on a success", tt.name, got)
			}
			continue
		}
		if got := rec.Header().Get("Retry-After"); got != tt.wantRetry {
			t.Errorf("%s: Retry-After = %q, want %q", tt.name, got, tt.wantRetry)
		}
		st := decodeStatus(t, rec)
		if st.Code != codes.ResourceExhausted || st.Message != tt.wantMessage {
			t.Errorf("%s: body = %+v, want code 8 and %q", tt.name, st, tt.wantMessage)
		}
	}
}

// TestRateLimitRefill: tokens come back at the configured rate and never
// beyond the burst.
func TestRateLimitRefill(t *testing.T) {
	clock := newFakeClock()
	h := RateLimit(RateLimitConfig{RequestsPerSecond: 10, Burst: 5, MaxTenants: 10, Now: clock.Now})(&okHandler{})
	steps := []struct {
		advance       time.Duration
		calls         int
		wantAllowed   int
		wantRemaining string // after the last call
	}{
		{calls: 7, wantAllowed: 5, wantRemaining: "0"},
		{advance: 100 * time.Millisecond, calls: 2, wantAllowed: 1, wantRemaining: "0"},
		{advance: 350 * time.Millisecond, calls: 1, wantAllowed: 1, wantRemaining: "2"}, // 3.5 tokens before
		{advance: time.Hour, calls: 1, wantAllowed: 1, wantRemaining: "4"},              // capped at 5
		{calls: 5, wantAllowed: 4, wantRemaining: "0"},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		allowed := 0
		var rec *httptest.ResponseRecorder
		for range s.calls {
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, request(dealerA, ""))
			if rec.Code == 200 {
				allowed++
			}
		}
		if allowed != s.wantAllowed {
			t.Errorf("step %d: %d of %d allowed, want %d", i, allowed, s.calls, s.wantAllowed)
		}
		if got := rec.Header().Get("X-RateLimit-Remaining"); got != s.wantRemaining {
			t.Errorf("step %d: X-RateLimit-Remaining = %q, want %q", i, got, s.wantRemaining)
		}
	}
}

// TestRateLimitMemory: the number of buckets stays bounded, by LRU eviction
// and by the idle sweep.
func TestRateLimitMemory(t *testing.T) {
	t.Run("never more than MaxTenants buckets", func(t *testing.T) {
		clock := newFakeClock()
		lim := newLimiter(RateLimitConfig{RequestsPerSecond: 1, Burst: 1, MaxTenants: 50, Now: clock.Now})
		for i := range 10000 {
			lim.take(fmt.Sprintf("D%05d", i))
			if n := lim.len(); n > 50 {
				t.Fatalf("after %d tenants: %d buckets, want at most 50", i+1, n)
			}
		}
		if len(lim.buckets) != lim.lru.Len() {
			t.Fatalf("map holds %d buckets, list %d", len(lim.buckets), lim.lru.Len())
		}
	})

	t.Run("the least recently used bucket goes first", func(t *testing.T) {
		clock := newFakeClock()
		lim := newLimiter(RateLimitConfig{RequestsPerSecond: 1, Burst: 1, MaxTenants: 2, Now: clock.Now})
		lim.take("A")
		lim.take("B")
		if ok, _, _ := lim.take("A"); ok {
			t.Fatal("A: second take allowed, want refused")
		}
		lim.take("C") // evicts B, the least recently used; A was used after B
		if ok, _, _ := lim.take("A"); ok {
			t.Fatal("A was evicted instead of B")
		}
		lim.take("D") // evicts C; A was just used
		lim.take("E") // evicts A
		if ok, _, _ := lim.take("A"); !ok {
			t.Fatal("A: an evicted tenant should start with a full bucket")
		}
		if lim.len() != 2 {
			t.Fatalf("%d buckets, want 2", lim.len())
		}
	})

	t.Run("idle buckets are swept after 10 minutes", func(t *testing.T) {
		clock := newFakeClock()
		lim := newLimiter(RateLimitConfig{RequestsPerSecond: 50, Burst: 100, MaxTenants: 1000, Now: clock.Now})
		for i := range 100 {
			lim.take(fmt.Sprintf("D%03d", i))
		}
		clock.Advance(5 * time.Minute)
		lim.take("D000") // keeps D000 alive
		clock.Advance(5*time.Minute + time.Second)
		lim.take("D001")
		if n := lim.len(); n != 2 {
			t.Fatalf("%d buckets after 10 min idle, want 2 (D000 and D001)", n)
		}
	})

	t.Run("a slow bucket is kept until it would be full", func(t *testing.T) {
		// One request per 1000 s: forgetting the bucket after 10 minutes
		// would hand out a token early.
		clock := newFakeClock()
		lim := newLimiter(RateLimitConfig{RequestsPerSecond: 0.001, Burst: 1, MaxTenants: 10, Now: clock.Now})
		lim.take("A")
		clock.Advance(11 * time.Minute)
		lim.take("B")
		if ok, _, wait := lim.take("A"); ok || wait.Round(time.Second) != 340*time.Second {
			t.Fatalf("A after 11 min: allowed %v, wait %s; want refused, 5m40s", ok, wait)
		}
	})
}

func TestRateLimitDisabled(t *testing.T) {
	next := &okHandler{}
	h := RateLimit(RateLimitConfig{RequestsPerSecond: 0, Burst: 1})(next)
	for range 10 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, request(dealerA, ""))
		if rec.Code != 200 || rec.Header().Get("X-RateLimit-Limit") != "" {
			t.Fatalf("disabled limit: status %d, headers %v", rec.Code, rec.Header())
		}
	}
}

func TestLoadRateLimitConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    RateLimitConfig
		wantErr []string // substrings of the error
	}{
		{name: "defaults", env: nil, want: RateLimitConfig{RequestsPerSecond: 50, Burst: 100, MaxTenants: 20000}},
		{name: "set", env: map[string]string{"GATEWAY_RATE_LIMIT_RPS": "2.5", "GATEWAY_RATE_LIMIT_BURST": "10", "GATEWAY_RATE_LIMIT_MAX_TENANTS": "500"},
			want: RateLimitConfig{RequestsPerSecond: 2.5, Burst: 10, MaxTenants: 500}},
		{name: "0 disables", env: map[string]string{"GATEWAY_RATE_LIMIT_RPS": "0"},
			want: RateLimitConfig{RequestsPerSecond: 0, Burst: 100, MaxTenants: 20000}},
		{name: "burst 0 with the limit off is fine", env: map[string]string{"GATEWAY_RATE_LIMIT_RPS": "0", "GATEWAY_RATE_LIMIT_BURST": "0"},
			want: RateLimitConfig{RequestsPerSecond: 0, Burst: 0, MaxTenants: 20000}},
		{name: "not a number", env: map[string]string{"GATEWAY_RATE_LIMIT_RPS": "fast"}, wantErr: []string{`GATEWAY_RATE_LIMIT_RPS: "fast" is not a number`}},
		{name: "negative", env: map[string]string{"GATEWAY_RATE_LIMIT_RPS": "-1"}, wantErr: []string{"GATEWAY_RATE_LIMIT_RPS: -1 is not a finite number"}},
		{name: "NaN", env: map[string]string{"GATEWAY_RATE_LIMIT_RPS": "NaN"}, wantErr: []string{"GATEWAY_RATE_LIMIT_RPS: NaN"}},
		{name: "burst 0 with the limit on", env: map[string]string{"GATEWAY_RATE_LIMIT_BURST": "0"}, wantErr: []string{"GATEWAY_RATE_LIMIT_BURST: 0 must be at least 1"}},
		{name: "every problem at once", env: map[string]string{"GATEWAY_RATE_LIMIT_BURST": "x", "GATEWAY_RATE_LIMIT_MAX_TENANTS": "0"},
			wantErr: []string{`GATEWAY_RATE_LIMIT_BURST="x" is not an integer`, "GATEWAY_RATE_LIMIT_MAX_TENANTS: 0 must be at least 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := config.FromMap(tt.env)
			got := LoadRateLimitConfig(l)
			err := l.Err()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if got.RequestsPerSecond != tt.want.RequestsPerSecond || got.Burst != tt.want.Burst || got.MaxTenants != tt.want.MaxTenants {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				if err := got.Validate(); err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		want int
	}{
		{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + time.Nanosecond, 1}, {time.Second + time.Millisecond, 2}, {1999 * time.Millisecond, 2}, {4 * time.Second, 4},
	} {
		if got := retryAfterSeconds(tt.wait); got != tt.want {
			t.Errorf("retryAfterSeconds(%s) = %d, want %d", tt.wait, got, tt.want)
		}
	}
}

// TestRateLimitConcurrent: under concurrent requests a bucket hands out
// exactly its tokens (run with -race).
func TestRateLimitConcurrent(t *testing.T) {
	clock := newFakeClock() // frozen: no refill during the test
	h := RateLimit(RateLimitConfig{RequestsPerSecond: 1, Burst: 100, MaxTenants: 10, Now: clock.Now})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 20 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, request(dealerA, ""))
				if rec.Code == http.StatusOK {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 100 {
		t.Fatalf("%d of 1000 concurrent requests allowed, want exactly the burst of 100", got)
	}
}
