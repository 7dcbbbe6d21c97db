package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"google.golang.org/grpc/codes"
)

// Recover turns a panic in a handler into 500 INTERNAL with a generic Status
// body; the panic value and stack go to the log only, as they may reveal
// internals. When the handler had already started its answer a clean error
// is impossible, so Recover aborts the connection (http.ErrAbortHandler) and
// the client sees a broken response rather than a truncated one that looks
// complete. http.ErrAbortHandler itself passes through unlogged: it is how
// handlers abort on purpose.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &responseRecorder{ResponseWriter: w}
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic in http handler",
					"method", r.Method, "path", r.URL.Path, "request_id", RequestIDFromContext(r.Context()),
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.wroteHeader() {
					panic(http.ErrAbortHandler)
				}
				// Headers the handler set for the body it never sent would
				// describe the wrong body.
				for _, k := range []string{"Content-Length", "Content-Encoding", "Content-Disposition", "ETag", "Last-Modified", "Trailer"} {
					w.Header().Del(k)
				}
				WriteStatus(w, http.StatusInternalServerError, codes.Internal,
					localized(r, "internal error", "内部错误"))
			}()
			next.ServeHTTP(rec, r)
		})
	}
}
