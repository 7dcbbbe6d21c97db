package postgres

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// A change feed hands out a table's rows as they change, for another
// service to keep its own copy (the evaluation service's facts). A
// trigger stamps every written row with change_seq (from a sequence) and
// change_xid (pg_current_xact_id()). Sequence numbers alone would skip
// rows: a transaction can take number 10, commit after the one that took
// 11, and a reader that saw 11 first has moved past 10. So the feed is
// ordered by (change_xid, change_seq) and hands out only rows of
// transactions older than the oldest one still running: once a reader has
// passed a transaction id, no row with a smaller one can appear (new
// transactions get larger ids, and a row written again gets the new
// writer's). A long transaction holds the feed back; it never skips.

// ChangeCursor is a position in a change feed.
type ChangeCursor struct {
	Xid uint64
	Seq int64
}

// ParseChangeCursor reads a cursor String made; "" is the start. Anything
// else is EINVALID naming field.
func ParseChangeCursor(field, s string) (ChangeCursor, error) {
	if s == "" {
		return ChangeCursor{}, nil
	}
	x, q, ok := strings.Cut(s, ":")
	xid, err1 := strconv.ParseUint(x, 10, 64)
	seq, err2 := strconv.ParseInt(q, 10, 64)
	if !ok || err1 != nil || err2 != nil || seq < 0 {
		return ChangeCursor{}, apperr.Invalid(field, "is not a cursor returned by a previous call").ZhReason("不是上一次调用返回的游标")
	}
	return ChangeCursor{Xid: xid, Seq: seq}, nil
}

// String is the cursor as callers pass it back.
func (c ChangeCursor) String() string { return fmt.Sprintf("%d:%d", c.Xid, c.Seq) }

// ChangesAfter is the condition selecting a feed's rows after the cursor
// in parameters xid (text) and seq, below the horizon; alias qualifies
// the columns ("" for none). Order by ChangeOrder(alias).
func ChangesAfter(alias, xid, seq string) string {
	p := ""
	if alias != "" {
		p = alias + "."
	}
	return `(` + p + `change_xid, ` + p + `change_seq) > (` + xid + `::text::xid8, ` + seq + `::bigint)
		AND ` + p + `change_xid < pg_snapshot_xmin(pg_current_snapshot())`
}

// ChangeOrder is the feed's order.
func ChangeOrder(alias string) string {
	if alias != "" {
		alias += "."
	}
	return alias + "change_xid, " + alias + "change_seq"
}

// Feed page sizes.
const (
	DefaultChangeLimit = 1000
	MaxChangeLimit     = 5000
)

// ChangeLimit is a requested page size within bounds.
func ChangeLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultChangeLimit
	case n > MaxChangeLimit:
		return MaxChangeLimit
	}
	return n
}

// ChangePage cuts rows read with LIMIT limit+1 to the page and reports
// whether more are ready.
func ChangePage[T any](rows []T, limit int) ([]T, bool) {
	if len(rows) > limit {
		return rows[:limit], true
	}
	return rows, false
}
