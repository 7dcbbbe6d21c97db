package middleware

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
)

// BodyLimit caps request bodies: imports (POST .../imports) get their own,
// larger limit. The limit, and for all but an import's file a copy of the
// body as it is read, stay in the request's context (RequestBody), so that
// the gateway's error writer can answer 413 with the limit and turn a
// decoder error's position into the field's path.
func BodyLimit(limit, importLimit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, isImport := limit, r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/imports")
			if isImport {
				n = importLimit
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, withBody(r, &requestBody{limit: n}, !isImport))
		})
	}
}

// RequestBody returns the limit BodyLimit put on the request of ctx and
// what of its body was read (nil for an import's file, and only the first
// part of a body past the limit). Without BodyLimit it returns 0, nil.
func RequestBody(ctx context.Context) (limit int64, read []byte) {
	b, _ := ctx.Value(requestBodyKey{}).(*requestBody)
	if b == nil {
		return 0, nil
	}
	return b.limit, b.buf.Bytes()
}

// requestBody is what the error answers know of a request's body.
type requestBody struct {
	limit int64
	buf   bytes.Buffer
	cut   bool // the body went past the limit: buf holds its first part
}

type requestBodyKey struct{}

// withBody puts b in r's context and, when record, copies r's body into b
// as it is read.
func withBody(r *http.Request, b *requestBody, record bool) *http.Request {
	if record {
		r.Body = recordingBody{ReadCloser: r.Body, rec: b}
	}
	return r.WithContext(context.WithValue(r.Context(), requestBodyKey{}, b))
}

// recordingBody copies what is read into its record, up to the body's
// limit (a body cut short only loses the path of a later error).
type recordingBody struct {
	io.ReadCloser
	rec *requestBody
}

func (b recordingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case b.rec.cut:
	case int64(b.rec.buf.Len()+n) > b.rec.limit:
		b.rec.cut = true
	default:
		b.rec.buf.Write(p[:n])
	}
	return n, err
}
