package validate

import (
	"testing"
	"time"
)

func TestDate(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2024-02-29", "2024-02-29T00:00:00Z"},
		{" 1990-03-07 ", "1990-03-07T00:00:00Z"},
		{"２０２４－０１－３１", "2024-01-31T00:00:00Z"},
	} {
		got, err := Date(c.in)
		if err != nil || got.Format(time.RFC3339) != c.want {
			t.Errorf("Date(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, c := range []invalidCase{
		{"", "must not be empty"},
		{"2023-02-29", "2023-02-29 is not a day of the calendar"},
		{"2024-13-01", "is not a day of the calendar"},
		{"2024-04-31", "is not a day of the calendar"},
		{"2024-2-29", "must be a date written YYYY-MM-DD"},
		{"2024/02/29", "must be a date written YYYY-MM-DD"},
		{"20240229", "must be a date written YYYY-MM-DD"},
		{"2024-02-29T10:00:00Z", "must be a date written YYYY-MM-DD"},
		{"+024-02-29", "must be a date written YYYY-MM-DD"},
	} {
		got, err := Date(c.in)
		checkProblem(t, c.in, err, c.reason)
		if !got.IsZero() {
			t.Errorf("Date(%q) returned %v with an error", c.in, got)
		}
	}
}

func TestBirthDate(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	// 20:00 UTC on 15 June is already 16 June in Shanghai.
	now := time.Date(2025, 6, 15, 20, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in     string
		now    time.Time
		reason string // "" when valid
	}{
		{"1990-03-07", now, ""},
		{"1900-01-01", now, ""},
		{"2025-06-15", now, ""},
		{"2025-06-16", now, "must not be in the future"},
		{"2025-06-16", now.In(shanghai), ""},
		{"2025-06-17", now.In(shanghai), "must not be in the future"},
		{"1899-12-31", now, "must not be before 1900-01-01"},
		{"1990-02-30", now, "is not a day of the calendar"},
	} {
		got, err := BirthDate(c.in, c.now)
		if c.reason == "" {
			if err != nil || got.Format(time.DateOnly) != c.in {
				t.Errorf("BirthDate(%q, %v) = %v, %v", c.in, c.now, got, err)
			}
			continue
		}
		checkProblem(t, c.in, err, c.reason)
	}
}

func TestEventTime(t *testing.T) {
	now := time.Date(2025, 6, 15, 20, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at     time.Time
		reason string // "" when valid
	}{
		{earliestEvent, ""},
		{now, ""},
		{earliestEvent.Add(-time.Second), "must not be before 1950-01-01"},
		{time.Time{}, "must not be before 1950-01-01"},
		{now.Add(time.Second), "must not be in the future"},
	} {
		err := EventTime(c.at, now)
		if c.reason == "" {
			if err != nil {
				t.Errorf("EventTime(%v) = %v", c.at, err)
			}
			continue
		}
		checkProblem(t, c.at.String(), err, c.reason)
	}
	// A day is judged by now's calendar day where now is: 20:00 UTC on 15
	// June is already 16 June in Shanghai.
	shanghai := time.FixedZone("CST", 8*3600)
	if got := Today(now.In(shanghai)); !got.Equal(time.Date(2025, 6, 16, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Today in Shanghai = %v", got)
	}
	if err := EventTime(time.Date(2025, 6, 16, 0, 0, 0, 0, time.UTC), Today(now.In(shanghai))); err != nil {
		t.Errorf("16 June at a Shanghai dealer: %v", err)
	}
}
