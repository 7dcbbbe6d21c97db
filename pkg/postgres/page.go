package postgres

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/validate"
)

// Newest-first lists page by keyset: the token is the last row's
// (timestamp, uuid), opaque to callers, so pages stay stable while rows
// are added.

// EncodePageToken returns the token continuing after (t, id).
func EncodePageToken(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d|%s", t.UnixNano(), id)))
}

// DecodePageToken reverses EncodePageToken; "" is the first page (zero
// time). A token not made by EncodePageToken is EINVALID on page_token.
func DecodePageToken(tok string) (time.Time, string, error) {
	if tok == "" {
		return time.Time{}, "", nil
	}
	bad := apperr.Invalid("page_token", "is not a token returned by a previous call").ZhReason("不是上一次调用返回的分页令牌")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", bad
	}
	ns, id, ok := strings.Cut(string(raw), "|")
	var n int64
	if _, err := fmt.Sscan(ns, &n); !ok || err != nil || !validate.IsUUID(id) {
		return time.Time{}, "", bad
	}
	return time.Unix(0, n), id, nil
}

// PagePosition is the position DecodePageToken gave as statement
// parameters: both NULL on the first page (zero time).
func PagePosition(t time.Time, id string) (at, uuid any) {
	if t.IsZero() {
		return nil, nil
	}
	return t, id
}

// NewestFirstAfter is the condition continuing a newest-first list ordered
// by (col DESC, idCol DESC) after the position in parameters at and id
// (PagePosition's, both NULL on the first page). It is one row comparison
// whose right side is the same under any parameters, so a generic plan
// (pgx prepares statements) still starts the index scan at the position;
// "at IS NULL OR ..." made the comparison a filter over every newer row
// (200 ms for a page three quarters down a dealer of 200,000 customers,
// against 0.9 ms).
func NewestFirstAfter(col, idCol, at, id string) string {
	return `(` + col + `, ` + idCol + `) < (CASE WHEN ` + at + `::timestamptz IS NULL THEN 'infinity'::timestamptz ELSE ` + at + ` END,
		CASE WHEN ` + at + `::timestamptz IS NULL THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid ELSE ` + id + `::uuid END)`
}

// Params numbers a statement's parameters as its text is written, so a
// statement built from optional parts has exactly the parameters they use:
// Add returns the placeholder ($1, $2, ...) of the value it appends.
type Params struct{ Args []any }

// Add appends v and returns its placeholder.
func (p *Params) Add(v any) string {
	p.Args = append(p.Args, v)
	return "$" + strconv.Itoa(len(p.Args))
}
