package postgres

import (
	"encoding/base64"
	"fmt"
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
