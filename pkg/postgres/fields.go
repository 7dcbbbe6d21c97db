package postgres

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Field is one column of a table whose rows are read into a T: where a
// read puts it and, unless it is fixed when the row is created, what an
// update writes to it.
type Field[T any] struct {
	// Column is the select expression, e.g. "id::text"; the written
	// column is the part before "::".
	Column string
	// Dst is where a read puts the column.
	Dst func(*T) any
	// Value is what an update writes; nil for columns fixed at creation.
	Value func(*T) any
}

// Fields are the columns of a row type, in select order. A store that
// derives its select list, its scan and its UPDATE's SET clause from one
// Fields cannot read a field it forgets to write (the complaint store's
// Update once dropped four fields the API let a dealer edit).
type Fields[T any] []Field[T]

// Columns is the select list.
func (fs Fields[T]) Columns() string {
	cols := make([]string, len(fs))
	for i, f := range fs {
		cols[i] = f.Column
	}
	return strings.Join(cols, ", ")
}

// Scan reads a row of Columns into v.
func (fs Fields[T]) Scan(row pgx.Row, v *T) error {
	dst := make([]any, len(fs))
	for i, f := range fs {
		dst[i] = f.Dst(v)
	}
	return row.Scan(dst...)
}

// Set is the SET list of every written column, numbering its parameters
// after q's, and adds their values from v to q.
func (fs Fields[T]) Set(q *Params, v *T) string {
	var set []string
	for _, f := range fs {
		if f.Value != nil {
			col, _, _ := strings.Cut(f.Column, "::")
			set = append(set, col+" = "+q.Add(f.Value(v)))
		}
	}
	return strings.Join(set, ", ")
}

// OptTime scans a nullable timestamp into Dst: NULL is the zero time.
type OptTime struct{ Dst *time.Time }

// Scan implements sql.Scanner.
func (o OptTime) Scan(src any) error {
	if src == nil {
		*o.Dst = time.Time{}
		return nil
	}
	t, ok := src.(time.Time)
	if !ok {
		return fmt.Errorf("scan %T into a time", src)
	}
	*o.Dst = t
	return nil
}

// NullTime is t as a parameter: NULL for the zero time.
func NullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
