// Package idempotency makes the gateway's mutating REST calls safe to retry
// (SPEC "REST API"): a POST, PUT, PATCH or DELETE carrying an
// Idempotency-Key header runs once per (caller, key), and a retry gets the
// first result back instead of running again.
//
// The key is remembered for a TTL (default 24 h) in PostgreSQL, so every
// gateway replica sees it, together with a fingerprint of the request
// (method, path, canonical query, body) and, once the handler has
// answered, its status, replayed headers and body.
//
//   - First request: the key is claimed (in_flight), the handler runs, its
//     response is stored and then sent.
//   - Retry with the same fingerprint: the stored response is sent again,
//     byte for byte, with "Idempotent-Replayed: true".
//   - Same key, different fingerprint: 422 INVALID_ARGUMENT.
//   - Same key while the first request still runs: 409 ABORTED with
//     "Retry-After: 1".
//   - The handler answers 5xx, 408 or 429, or panics: nothing is stored
//     (the claim is abandoned), so the retry runs the handler again.
//   - The response body exceeds Options.MaxStoredBodyBytes: it is passed
//     through to the client but not kept; the key is remembered as done
//     without a body, and a retry gets 409 ALREADY_EXISTS telling the
//     client to read the resource instead, because running a mutation
//     twice is worse than not replaying it.
//
// A gateway that dies mid-request leaves an in_flight row; once its lease
// (Options.InFlightTimeout) has run out, a retry with the same fingerprint
// takes the key over. The middleware bounds the handler's context by the
// same timeout, so a slow request cannot outlive its lease here.
//
// Error bodies are google.rpc.Status JSON, like the rest of the gateway.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	httpapi "github.com/dealercare/dealercare/services/gateway/middleware"
	"google.golang.org/grpc/codes"
)

// Header names.
const (
	HeaderKey      = "Idempotency-Key"
	HeaderReplayed = "Idempotent-Replayed"
)

// MaxKeyLength is the longest accepted Idempotency-Key, in bytes.
const MaxKeyLength = 255

// Defaults of Options.
const (
	DefaultTTL                = 24 * time.Hour
	DefaultInFlightTimeout    = time.Minute
	DefaultMaxStoredBodyBytes = 1 << 20
)

// ReplayedHeaders are the response headers stored and sent again on a
// replay. Others (Date, tracing, gRPC metadata) belong to one exchange.
var ReplayedHeaders = []string{"Content-Type", "Content-Language", "Location"}

// storeTimeout bounds the Store calls made after the handler, which run
// even if the client has gone away.
const storeTimeout = 5 * time.Second

// Options tune the middleware; zero fields take the defaults.
type Options struct {
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
	// TTL is how long a key is remembered (default DefaultTTL).
	TTL time.Duration
	// InFlightTimeout bounds the handler's run and is the lease of its
	// claim (default DefaultInFlightTimeout, capped at TTL).
	InFlightTimeout time.Duration
	// MaxStoredBodyBytes caps the stored response body (default
	// DefaultMaxStoredBodyBytes); larger responses are passed through and
	// not stored.
	MaxStoredBodyBytes int
	// Log receives store failures (default slog.Default()).
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.InFlightTimeout <= 0 {
		o.InFlightTimeout = DefaultInFlightTimeout
	}
	o.InFlightTimeout = min(o.InFlightTimeout, o.TTL)
	if o.MaxStoredBodyBytes <= 0 {
		o.MaxStoredBodyBytes = DefaultMaxStoredBodyBytes
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Middleware applies idempotency keys to the requests of next. It must run
// after authentication (it keys by auth.PrincipalFromContext's Subject;
// requests without a principal pass through untouched) and inside
// http.MaxBytesHandler, since it reads the whole body to fingerprint it.
// Requests with other methods, or without the header, pass through.
func Middleware(store *Store, opts Options) func(http.Handler) http.Handler {
	o := opts.withDefaults()
	return func(next http.Handler) http.Handler {
		return &middleware{store: store, opts: o, next: next}
	}
}

type middleware struct {
	store *Store
	opts  Options
	next  http.Handler
}

func mutating(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	keys := r.Header.Values(HeaderKey)
	if !mutating(r.Method) || len(keys) == 0 {
		m.next.ServeHTTP(w, r)
		return
	}
	p, ok := auth.PrincipalFromContext(r.Context())
	if !ok || p.Subject == "" {
		m.next.ServeHTTP(w, r)
		return
	}
	if msg := validateKey(keys); msg != "" {
		httpapi.WriteStatus(w, http.StatusBadRequest, codes.InvalidArgument, msg)
		return
	}
	key := keys[0]

	var body []byte
	var err error
	if r.Body != nil {
		body, err = io.ReadAll(r.Body)
		_ = r.Body.Close()
	}
	if err != nil {
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			httpapi.WriteTooLarge(w, r, mbe.Limit)
			return
		}
		httpapi.WriteStatus(w, http.StatusBadRequest, codes.InvalidArgument, "could not read the request body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))

	fingerprint := Fingerprint(r, body)
	e, err := m.store.Begin(r.Context(), BeginParams{
		Caller: p.Subject, Key: key, Fingerprint: fingerprint,
		Now: m.opts.Now(), TTL: m.opts.TTL, LeaseTimeout: m.opts.InFlightTimeout,
	})
	if err != nil {
		if r.Context().Err() == nil { // Not merely a client that hung up.
			m.opts.Log.ErrorContext(r.Context(), "idempotency: begin failed", "error", err)
		}
		w.Header().Set("Retry-After", "1")
		httpapi.WriteStatus(w, http.StatusServiceUnavailable, codes.Unavailable,
			fmt.Sprintf("cannot check Idempotency-Key %q right now; retry the request with the same key", key))
		return
	}
	if !e.Claimed() {
		m.answerExisting(w, e, fingerprint)
		return
	}
	m.run(w, r, e)
}

// answerExisting answers a request whose key another request holds.
func (m *middleware) answerExisting(w http.ResponseWriter, e Entry, fingerprint []byte) {
	switch {
	case !bytes.Equal(e.Fingerprint, fingerprint):
		httpapi.WriteStatus(w, http.StatusUnprocessableEntity, codes.InvalidArgument,
			fmt.Sprintf("Idempotency-Key %q was already used with a different request", e.Key))
	case e.State == StateInFlight:
		w.Header().Set("Retry-After", "1")
		httpapi.WriteStatus(w, http.StatusConflict, codes.Aborted,
			fmt.Sprintf("a request with Idempotency-Key %q is still in progress", e.Key))
	case e.Response.BodyOmitted:
		httpapi.WriteStatus(w, http.StatusConflict, codes.AlreadyExists,
			fmt.Sprintf("the request with Idempotency-Key %q was already processed (HTTP %d) but its response was too large to keep; read the resource instead",
				e.Key, e.Response.Status))
	default:
		h := w.Header()
		for name, values := range e.Response.Header {
			h[http.CanonicalHeaderKey(name)] = values
		}
		h.Set(HeaderReplayed, "true")
		w.WriteHeader(e.Response.Status)
		_, _ = w.Write(e.Response.Body)
	}
}

// run runs the handler under a claimed key and stores or abandons the
// claim depending on the outcome.
func (m *middleware) run(w http.ResponseWriter, r *http.Request, e Entry) {
	// Store calls outlive a client that hung up: the handler's work is done
	// and must be recorded.
	storeCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
	}
	abandon := func() {
		ctx, cancel := storeCtx()
		defer cancel()
		if err := m.store.Abandon(ctx, e); err != nil && !errors.Is(err, ErrLeaseLost) {
			// The row blocks retries until its lease runs out.
			m.opts.Log.ErrorContext(ctx, "idempotency: abandon failed", "error", err)
		}
	}
	rec := &recorder{w: w, max: m.opts.MaxStoredBodyBytes}
	defer func() {
		if p := recover(); p != nil {
			abandon()
			panic(p)
		}
	}()

	ctx, cancel := context.WithTimeout(r.Context(), m.opts.InFlightTimeout)
	defer cancel()
	m.next.ServeHTTP(rec, r.WithContext(ctx))

	resp := rec.response()
	switch {
	case retryable(resp.Status):
		abandon()
	default:
		sctx, scancel := storeCtx()
		err := m.store.Complete(sctx, e, resp, m.opts.Now())
		scancel()
		if err != nil {
			// The client still gets its answer: the work is done. A retry
			// sees 409 until the lease runs out, then runs again.
			m.opts.Log.ErrorContext(sctx, "idempotency: complete failed", "error", err)
		}
	}
	rec.finish()
}

// retryable reports whether a status says "try again", so the response
// must not be replayed.
func retryable(status int) bool {
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}

// validateKey returns why the header's values are not one valid key, or "".
func validateKey(values []string) string {
	if len(values) != 1 {
		return fmt.Sprintf("%s must be sent once, got %d values", HeaderKey, len(values))
	}
	k := values[0]
	if len(k) == 0 || len(k) > MaxKeyLength {
		return fmt.Sprintf("%s must be 1 to %d characters long, got %d", HeaderKey, MaxKeyLength, len(k))
	}
	for i := range len(k) {
		if k[i] < 0x20 || k[i] > 0x7e {
			return fmt.Sprintf("%s must contain printable ASCII characters only, byte %d is 0x%02x", HeaderKey, i, k[i])
		}
	}
	return ""
}

// Fingerprint is the SHA-256 of the request's method, escaped path,
// canonical query (keys sorted, the order of a key's values kept) and
// body, so a retry that only reorders query parameters still matches.
func Fingerprint(r *http.Request, body []byte) []byte {
	query := r.URL.RawQuery
	if v, err := url.ParseQuery(query); err == nil {
		query = v.Encode()
	}
	h := sha256.New()
	// None of the first three contains a newline, and the body comes last,
	// so the concatenation is unambiguous.
	for _, s := range []string{r.Method, r.URL.EscapedPath(), query} {
		h.Write([]byte(s))
		h.Write([]byte{'\n'})
	}
	h.Write(body)
	return h.Sum(nil)
}

// recorder buffers the handler's response so it can be stored before the
// client sees it. Once the body exceeds max it switches to passing through.
// Headers go straight to the underlying writer's map (nothing is sent until
// its WriteHeader), which keeps trailers working.
type recorder struct {
	w           http.ResponseWriter
	max         int
	status      int
	header      http.Header // replayed headers as of WriteHeader
	buf         bytes.Buffer
	passThrough bool
}

func (rec *recorder) Header() http.Header { return rec.w.Header() }

func (rec *recorder) WriteHeader(code int) {
	if rec.status != 0 {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		rec.w.WriteHeader(code) // Informational: sent now, not stored.
		return
	}
	rec.status = code
	rec.header = replayedHeaders(rec.w.Header())
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	if rec.passThrough {
		return rec.w.Write(p)
	}
	if rec.buf.Len()+len(p) <= rec.max {
		return rec.buf.Write(p)
	}
	rec.passThrough = true
	rec.sniff(rec.buf.Bytes(), p)
	rec.w.WriteHeader(rec.status)
	if _, err := rec.w.Write(rec.buf.Bytes()); err != nil {
		return 0, err
	}
	rec.buf = bytes.Buffer{}
	return rec.w.Write(p)
}

// Flush sends nothing while the response is buffered: it is sent, whole,
// once stored.
func (rec *recorder) Flush() {
	if f, ok := rec.w.(http.Flusher); ok && rec.passThrough {
		f.Flush()
	}
}

// sniff sets the Content-Type net/http would detect, so the stored headers
// and the replay say the same as the first response.
func (rec *recorder) sniff(chunks ...[]byte) {
	if rec.w.Header().Get("Content-Type") != "" || rec.status == http.StatusNoContent || rec.status == http.StatusNotModified {
		return
	}
	data := bytes.Join(chunks, nil)
	if len(data) == 0 {
		return
	}
	ct := http.DetectContentType(data)
	rec.w.Header().Set("Content-Type", ct)
	rec.header.Set("Content-Type", ct)
}

// response is what the Store keeps; the handler has returned.
func (rec *recorder) response() Response {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK) // The handler wrote nothing.
	}
	if rec.passThrough {
		return Response{Status: rec.status, Header: rec.header, BodyOmitted: true}
	}
	rec.sniff(rec.buf.Bytes())
	return Response{Status: rec.status, Header: rec.header, Body: rec.buf.Bytes()}
}

// finish sends the buffered response.
func (rec *recorder) finish() {
	if rec.passThrough {
		return
	}
	rec.w.WriteHeader(rec.status)
	_, _ = rec.w.Write(rec.buf.Bytes())
}

func replayedHeaders(h http.Header) http.Header {
	out := http.Header{}
	for _, name := range ReplayedHeaders {
		if v := h.Values(name); len(v) > 0 {
			out[name] = append([]string(nil), v...)
		}
	}
	return out
}
