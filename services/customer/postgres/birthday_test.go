package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/services/customer/archive"
	"github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/jackc/pgx/v5"
)

// TestBirthdaySegment: the segment by birthday finds the customers born on
// the given days, of the given dealers only, through the birthday index's
// expression; a merged archive and one without a birthday are not members.
func TestBirthdaySegment(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	admin := db.admin(t)
	if _, err := admin.Exec(ctx, `INSERT INTO customers (dealer_id, id, kind, tier, name, birthday) VALUES
		  ('D1', '00000000-0000-7000-8000-0000000000b1', 'individual', 'regular', '甲', '1980-02-28'),
		  ('D1', '00000000-0000-7000-8000-0000000000b2', 'individual', 'regular', '乙', '1992-02-29'),
		  ('D1', '00000000-0000-7000-8000-0000000000b3', 'individual', 'regular', '丙', '1975-03-01'),
		  ('D1', '00000000-0000-7000-8000-0000000000b4', 'individual', 'regular', '丁', NULL),
		  ('D2', '00000000-0000-7000-8000-0000000000b5', 'individual', 'regular', '戊', '2001-02-28'),
		  ('D3', '00000000-0000-7000-8000-0000000000b6', 'individual', 'regular', '己', '2001-02-28');
		UPDATE customers SET merged_into = '00000000-0000-7000-8000-0000000000b1' WHERE id = '00000000-0000-7000-8000-0000000000b5'`); err != nil {
		t.Fatal(err)
	}
	segments := postgres.NewSegmentStore(db.pool)
	names := func(days ...string) []string {
		t.Helper()
		ms, _, err := segments.Members(ctx, archive.Segment{Dealers: []string{"D1", "D2"}, Birthdays: days}, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		slices.Sort(out)
		return out
	}
	if got := names("02-28"); !slices.Equal(got, []string{"甲"}) {
		t.Errorf("02-28: %v", got)
	}
	// 28 February of a year without a 29th: both days.
	if got := names("02-28", "02-29"); !slices.Equal(got, []string{"乙", "甲"}) {
		t.Errorf("02-28 and 02-29: %v", got)
	}
	if got := names("03-01"); !slices.Equal(got, []string{"丙"}) {
		t.Errorf("03-01: %v", got)
	}
	if got := names("12-25"); len(got) != 0 {
		t.Errorf("12-25: %v", got)
	}
	for _, bad := range []string{"02-30", "13-01", "2-28"} {
		_, _, err := segments.Members(ctx, archive.Segment{Dealers: []string{"D1"}, Birthdays: []string{bad}}, "", 10)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.EINVALID || e.Violations[0].Field != "segment.birthdays[0]" {
			t.Errorf("%s: %v", bad, err)
		}
		if err := (archive.Segment{Dealers: []string{"D1"}, Birthdays: []string{bad}}).Validate(); apperr.Code(err) != apperr.EINVALID {
			t.Errorf("validate %s: %v", bad, err)
		}
	}
	// The segment's expression is the index's: with sequential scans off,
	// the planner uses it.
	if _, err := admin.Exec(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := admin.Query(ctx, `EXPLAIN SELECT 1 FROM customers c WHERE c.dealer_id = 'D1' AND c.merged_into IS NULL AND c.birthday IS NOT NULL
		AND (extract(month FROM c.birthday) * 100 + extract(day FROM c.birthday))::int = ANY('{228}'::int[])`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if plan := strings.Join(lines, "\n"); !strings.Contains(plan, "customers_birthday_idx") {
		t.Errorf("plan does not use customers_birthday_idx:\n%s", plan)
	}
}
