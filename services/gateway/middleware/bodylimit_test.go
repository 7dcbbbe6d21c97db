package middleware

import (
	"io"
	"strings"
	"testing"
)

// TestRecordedBodyStaysContiguous: once a read would pass the limit,
// nothing more is recorded, so the record is always the body's beginning.
func TestRecordedBodyStaysContiguous(t *testing.T) {
	rec := &requestBody{limit: 10}
	b := recordingBody{ReadCloser: io.NopCloser(strings.NewReader("0123456789abcdefghij")), rec: rec}
	for _, n := range []int{4, 8, 2, 6} {
		_, _ = b.Read(make([]byte, n))
	}
	if got := rec.buf.String(); got != "0123" || !rec.cut {
		t.Errorf("recorded %q (cut %v), want the first 4 bytes and cut", got, rec.cut)
	}
}
