package validate

import (
	"fmt"
	"strings"
	"time"
)

// Date parses a calendar date written YYYY-MM-DD and returns midnight UTC of
// that day: a date has no time zone, and UTC keeps it from shifting.
func Date(s string) (time.Time, error) {
	v := strings.TrimSpace(foldWidth(s))
	if v == "" {
		return time.Time{}, empty()
	}
	ok := len(v) == 10 && v[4] == '-' && v[7] == '-'
	for i := 0; ok && i < 10; i++ {
		ok = i == 4 || i == 7 || isDigit(rune(v[i]))
	}
	if !ok {
		return time.Time{}, problem("must be a date written YYYY-MM-DD, such as 1990-03-07",
			"应为YYYY-MM-DD格式的日期，例如1990-03-07")
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, problem(
			fmt.Sprintf("%s is not a day of the calendar", v),
			fmt.Sprintf("%s不是有效的日期", v))
	}
	return t, nil
}

// BirthDate is a Date from 1900-01-01 up to today, where today is now's
// calendar day in now's location (pass the clock's time in the dealer's zone).
func BirthDate(s string, now time.Time) (time.Time, error) {
	t, err := Date(s)
	if err != nil {
		return t, err
	}
	if t.Year() < 1900 {
		return time.Time{}, problem("must not be before 1900-01-01", "不能早于1900-01-01")
	}
	if t.After(Today(now)) {
		return time.Time{}, problem("must not be in the future", "不能晚于今天")
	}
	return t, nil
}

// Today is now's calendar day in now's location, as Date returns days.
func Today(now time.Time) time.Time {
	y, m, d := now.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// earliestEvent is the earliest sale, purchase or first visit an archive
// records: 1950-01-01, as model years start at 1950.
var earliestEvent = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)

// EventTime checks when a sale, purchase or first visit happened: not
// before 1950-01-01 and not after latest (the caller's now, with
// whatever clock skew it tolerates). The archive-timeliness KPI counts
// from this moment, so a time in the future would make a late archive
// look timely.
func EventTime(t, latest time.Time) error {
	if t.Before(earliestEvent) {
		return problem("must not be before 1950-01-01", "不能早于1950-01-01")
	}
	if t.After(latest) {
		return problem("must not be in the future", "不能晚于当前时间")
	}
	return nil
}
