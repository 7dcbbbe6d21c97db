package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
	"google.golang.org/grpc/codes"
)

// DefaultCORSMaxAge is how long a browser may cache a preflight answer.
const DefaultCORSMaxAge = 10 * time.Minute

// What cross-origin callers may send and read.
var (
	corsMethods        = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
	corsAllowedHeaders = "Authorization, Content-Type, Idempotency-Key, Accept-Language, X-Request-Id"
	corsExposedHeaders = "X-Request-Id, Retry-After, Idempotent-Replayed, X-RateLimit-Limit, X-RateLimit-Remaining"
)

// CORSConfig configures CORS.
type CORSConfig struct {
	// AllowedOrigins are exact origins ("https://cs.example.com") or "*" for
	// any; empty turns CORS off.
	AllowedOrigins []string
	// MaxAge is how long browsers may cache a preflight answer.
	MaxAge time.Duration
}

// Enabled reports whether any origin is allowed.
func (c CORSConfig) Enabled() bool { return len(c.AllowedOrigins) > 0 }

// Validate checks that every origin is "*" or a bare scheme://host[:port];
// the errors name the environment variables.
func (c CORSConfig) Validate() error {
	var errs []error
	for _, o := range c.AllowedOrigins {
		if err := validOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("GATEWAY_CORS_ORIGINS: %w", err))
		}
	}
	if c.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("GATEWAY_CORS_MAX_AGE: %s must not be negative", c.MaxAge))
	}
	return errors.Join(errs...)
}

func validOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q is not an origin such as https://cs.example.com (scheme, host and optional port, no path)", o)
	}
	return nil
}

// LoadCORSConfig reads GATEWAY_CORS_ORIGINS (comma-separated origins or "*";
// empty turns CORS off) and GATEWAY_CORS_MAX_AGE (default 10m); problems are
// recorded in l.
func LoadCORSConfig(l *config.Loader) CORSConfig {
	c := CORSConfig{
		AllowedOrigins: l.List("GATEWAY_CORS_ORIGINS", nil),
		MaxAge:         l.Duration("GATEWAY_CORS_MAX_AGE", DefaultCORSMaxAge),
	}
	for _, o := range c.AllowedOrigins {
		err := validOrigin(o)
		l.Check(err == nil, "GATEWAY_CORS_ORIGINS", "%v", err)
	}
	return c
}

// CORS lets browsers on the allowed origins call the API. It answers
// preflights itself (they carry no token, so it must sit before
// authentication): 204 with the allowed methods and headers when the origin
// and method are allowed, 403 with a Status body otherwise. Actual requests
// from an allowed origin get Access-Control-Allow-Origin and the exposed
// headers; from any other origin they pass through without CORS headers and
// the browser keeps the answer from the page.
//
// Access-Control-Allow-Credentials is never sent: the API authenticates with
// a bearer token in Authorization, which needs no credentials mode, so no
// origin, and certainly not a reflected arbitrary one, can make a browser
// attach cookies. With "*" the literal "*" is sent.
//
// With no allowed origins CORS returns the handler unchanged.
func CORS(cfg CORSConfig) func(http.Handler) http.Handler {
	if !cfg.Enabled() {
		return func(next http.Handler) http.Handler { return next }
	}
	anyOrigin := slices.Contains(cfg.AllowedOrigins, "*")
	allowed := make(map[string]bool, len(cfg.AllowedOrigins))
	for _, o := range cfg.AllowedOrigins {
		allowed[normalizeOrigin(o)] = true
	}
	methods := strings.Join(corsMethods, ", ")
	maxAge := strconv.Itoa(int(max(cfg.MaxAge, 0) / time.Second))

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			// The answer depends on Origin even when it carries no CORS
			// headers, so caches must keep them apart.
			h.Add("Vary", "Origin")
			origin := r.Header.Get("Origin")
			reqMethod := r.Header.Get("Access-Control-Request-Method")
			preflight := r.Method == http.MethodOptions && origin != "" && reqMethod != ""
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			ok := anyOrigin || allowed[normalizeOrigin(origin)]
			allowOrigin := origin
			if anyOrigin {
				allowOrigin = "*"
			}

			if !preflight {
				if ok {
					h.Set("Access-Control-Allow-Origin", allowOrigin)
					h.Set("Access-Control-Expose-Headers", corsExposedHeaders)
				}
				next.ServeHTTP(w, r)
				return
			}

			h.Add("Vary", "Access-Control-Request-Method")
			switch {
			case !ok:
				WriteStatus(w, http.StatusForbidden, codes.PermissionDenied, localized(r,
					fmt.Sprintf("origin %q may not call this API from a browser", origin),
					fmt.Sprintf("来源 %q 不允许从浏览器调用此 API", origin)))
			case !slices.Contains(corsMethods, reqMethod):
				WriteStatus(w, http.StatusForbidden, codes.PermissionDenied, localized(r,
					fmt.Sprintf("method %q is not allowed for cross-origin requests; allowed: %s", reqMethod, methods),
					fmt.Sprintf("跨域请求不允许方法 %q；允许：%s", reqMethod, methods)))
			default:
				h.Set("Access-Control-Allow-Origin", allowOrigin)
				h.Set("Access-Control-Allow-Methods", methods)
				h.Set("Access-Control-Allow-Headers", corsAllowedHeaders)
				h.Set("Access-Control-Max-Age", maxAge)
				w.WriteHeader(http.StatusNoContent)
			}
		})
	}
}

// normalizeOrigin makes configured and sent origins comparable: browsers
// send scheme and host in lower case and without a trailing slash.
func normalizeOrigin(o string) string {
	return strings.TrimSuffix(strings.ToLower(o), "/")
}
