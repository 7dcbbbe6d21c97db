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
	y, m, d := now.Date()
	if t.After(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, problem("must not be in the future", "不能晚于今天")
	}
	return t, nil
}
