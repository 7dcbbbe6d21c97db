package middleware

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/config"
	"google.golang.org/grpc/codes"
)

// Defaults of the rate limit; 5,000 dealers plus regions, HQ users and
// anonymous clients fit in DefaultMaxTenants buckets of about 100 bytes each.
const (
	DefaultRequestsPerSecond = 50
	DefaultBurst             = 100
	DefaultMaxTenants        = 20000
)

// idleTimeout is how long an untouched bucket is kept. Dropping it later is
// lossless when it would have refilled by then anyway; see RateLimit.
const idleTimeout = 10 * time.Minute

// RateLimitConfig configures RateLimit.
type RateLimitConfig struct {
	// RequestsPerSecond is the sustained rate per tenant; 0 disables the
	// limit.
	RequestsPerSecond float64
	// Burst is the bucket size: how many requests a tenant may make at once.
	Burst int
	// MaxTenants bounds the number of buckets kept; the least recently used
	// one is dropped to make room.
	MaxTenants int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Enabled reports whether the config limits anything.
func (c RateLimitConfig) Enabled() bool { return c.RequestsPerSecond > 0 }

// Validate checks the values; the errors name the environment variables.
func (c RateLimitConfig) Validate() error {
	var errs []error
	for _, p := range c.problems() {
		errs = append(errs, fmt.Errorf("%s: %s", p.variable, p.msg))
	}
	return errors.Join(errs...)
}

type configProblem struct{ variable, msg string }

func (c RateLimitConfig) problems() []configProblem {
	var ps []configProblem
	if c.RequestsPerSecond < 0 || math.IsNaN(c.RequestsPerSecond) || math.IsInf(c.RequestsPerSecond, 0) {
		ps = append(ps, configProblem{"GATEWAY_RATE_LIMIT_RPS", fmt.Sprintf("%v is not a finite number >= 0 (0 disables the limit)", c.RequestsPerSecond)})
	}
	if c.Enabled() && c.Burst < 1 {
		ps = append(ps, configProblem{"GATEWAY_RATE_LIMIT_BURST", fmt.Sprintf("%d must be at least 1 while the limit is on (GATEWAY_RATE_LIMIT_RPS=0 turns it off)", c.Burst)})
	}
	if c.Enabled() && c.MaxTenants < 1 {
		ps = append(ps, configProblem{"GATEWAY_RATE_LIMIT_MAX_TENANTS", fmt.Sprintf("%d must be at least 1", c.MaxTenants)})
	}
	return ps
}

// LoadRateLimitConfig reads GATEWAY_RATE_LIMIT_RPS (default 50, 0 disables,
// fractions allowed), GATEWAY_RATE_LIMIT_BURST (default 100) and
// GATEWAY_RATE_LIMIT_MAX_TENANTS (default 20000); problems are recorded in l.
func LoadRateLimitConfig(l *config.Loader) RateLimitConfig {
	c := RateLimitConfig{
		RequestsPerSecond: DefaultRequestsPerSecond,
		Burst:             l.Int("GATEWAY_RATE_LIMIT_BURST", DefaultBurst),
		MaxTenants:        l.Int("GATEWAY_RATE_LIMIT_MAX_TENANTS", DefaultMaxTenants),
	}
	if v := l.String("GATEWAY_RATE_LIMIT_RPS", ""); v != "" {
		rps, err := strconv.ParseFloat(v, 64)
		l.Check(err == nil, "GATEWAY_RATE_LIMIT_RPS", "%q is not a number", v)
		if err == nil {
			c.RequestsPerSecond = rps
		}
	}
	for _, p := range c.problems() {
		l.Check(false, p.variable, "%s", p.msg)
	}
	return c
}

// RateLimit limits each tenant with a token bucket of cfg.Burst tokens
// refilled at cfg.RequestsPerSecond. The tenant is the dealer of a dealer
// user, the region of a region manager, the user of an HQ user, and the
// client address when no principal is in the context (RateLimit belongs
// after authentication; the fallback only keeps a wiring mistake from
// sharing one bucket between everybody). The address is the connection's
// peer: X-Forwarded-For is not trusted because any client can set it.
//
// Every response carries X-RateLimit-Limit (the bucket size) and
// X-RateLimit-Remaining (whole tokens left). Over the limit the answer is 429
// RESOURCE_EXHAUSTED with Retry-After: the whole seconds until the next token,
// at least 1. A refused request costs nothing.
//
// Memory is bounded by cfg.MaxTenants buckets: a new tenant evicts the least
// recently used one, and buckets idle for longer than 10 minutes (or the time
// a bucket needs to refill, if longer) are dropped as requests come in, so no
// goroutine has to be stopped. An evicted tenant starts again with a full
// bucket.
//
// With RequestsPerSecond 0 RateLimit returns the handler unchanged. It
// expects a config that passed Validate: a Burst below 1 counts as 1 and a
// MaxTenants below 1 as DefaultMaxTenants.
func RateLimit(cfg RateLimitConfig) func(http.Handler) http.Handler {
	if !cfg.Enabled() {
		return func(next http.Handler) http.Handler { return next }
	}
	lim := newLimiter(cfg)
	limitHeader := strconv.Itoa(lim.burst)
	rps := strconv.FormatFloat(cfg.RequestsPerSecond, 'f', -1, 64)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t := tenantOf(r)
			ok, remaining, wait := lim.take(t.key)
			h := w.Header()
			h.Set("X-RateLimit-Limit", limitHeader)
			h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
			if ok {
				next.ServeHTTP(w, r)
				return
			}
			secs := retryAfterSeconds(wait)
			h.Set("Retry-After", strconv.Itoa(secs))
			WriteStatus(w, http.StatusTooManyRequests, codes.ResourceExhausted, localized(r,
				fmt.Sprintf("rate limit of %s requests per second for %s exceeded; retry after %d s", rps, t.label, secs),
				fmt.Sprintf("%s超过每秒 %s 次请求的限制，请 %d 秒后重试", t.labelZh, rps, secs)))
		})
	}
}

// retryAfterSeconds rounds up to whole seconds, at least 1. The microsecond
// of tolerance keeps float noise (1.0000000001 s) from adding a second.
func retryAfterSeconds(wait time.Duration) int {
	secs := int(math.Ceil(wait.Seconds() - 1e-6))
	return max(secs, 1)
}

// tenant is whose bucket a request draws from.
type tenant struct {
	key     string // bucket key
	label   string // for the caller: "dealer SH001"
	labelZh string
}

func tenantOf(r *http.Request) tenant {
	if p, ok := auth.PrincipalFromContext(r.Context()); ok {
		switch {
		case p.IsDealer() && p.Dealer != "":
			return tenant{key: p.Dealer, label: "dealer " + p.Dealer, labelZh: "经销商 " + p.Dealer + " "}
		case p.IsRegion() && p.Region != "":
			return tenant{key: "region:" + p.Region, label: "region " + p.Region, labelZh: "大区 " + p.Region + " "}
		case p.IsHQ():
			return tenant{key: "hq:" + p.Subject, label: "HQ user " + p.Subject, labelZh: "总部用户 " + p.Subject + " "}
		case p.Subject != "":
			return tenant{key: "user:" + p.Subject, label: "user " + p.Subject, labelZh: "用户 " + p.Subject + " "}
		}
	}
	ip := r.RemoteAddr
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	// "ip:" keeps a client address from ever sharing a dealer's bucket.
	return tenant{key: "ip:" + ip, label: "client " + ip, labelZh: "客户端 " + ip + " "}
}

// limiter holds the buckets in least-recently-used order behind one mutex; a
// take is a map lookup and a few float operations, far below the cost of the
// request it guards.
type limiter struct {
	rate    float64 // tokens per second
	burst   int
	max     int
	idle    time.Duration
	now     func() time.Time
	mu      sync.Mutex
	lru     *list.List // of *bucket, most recently used first
	buckets map[string]*list.Element
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time // last refill, which is also the last use
}

func newLimiter(cfg RateLimitConfig) *limiter {
	l := &limiter{
		rate:    cfg.RequestsPerSecond,
		burst:   max(cfg.Burst, 1),
		max:     cfg.MaxTenants,
		now:     cfg.Now,
		lru:     list.New(),
		buckets: make(map[string]*list.Element),
	}
	if l.max < 1 {
		l.max = DefaultMaxTenants
	}
	if l.now == nil {
		l.now = time.Now
	}
	// A bucket idle this long is full again, so forgetting it changes nothing.
	l.idle = max(idleTimeout, time.Duration(float64(l.burst)/l.rate*float64(time.Second)))
	return l
}

// take spends one token of key's bucket. It returns whether the request may
// go ahead, the whole tokens left, and when refused how long until the next
// token.
func (l *limiter) take(key string) (ok bool, remaining int, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)

	var b *bucket
	if el, found := l.buckets[key]; found {
		l.lru.MoveToFront(el)
		b = el.Value.(*bucket)
		// A clock that went backwards neither refills nor moves last back.
		if elapsed := now.Sub(b.last); elapsed > 0 {
			b.tokens = min(float64(l.burst), b.tokens+elapsed.Seconds()*l.rate)
			b.last = now
		}
	} else {
		for l.lru.Len() >= l.max {
			l.remove(l.lru.Back())
		}
		b = &bucket{key: key, tokens: float64(l.burst), last: now}
		l.buckets[key] = l.lru.PushFront(b)
	}

	if b.tokens >= 1 {
		b.tokens--
		return true, int(b.tokens), 0
	}
	return false, 0, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops the buckets idle for longer than l.idle; they sit at the back.
func (l *limiter) sweep(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		if now.Sub(el.Value.(*bucket).last) <= l.idle {
			return
		}
		l.remove(el)
	}
}

func (l *limiter) remove(el *list.Element) {
	delete(l.buckets, el.Value.(*bucket).key)
	l.lru.Remove(el)
}

// len is the number of buckets held; for tests.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}
