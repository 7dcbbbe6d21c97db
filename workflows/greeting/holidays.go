// Package greeting schedules HQ's holiday greetings (节日祝福) with
// Temporal, not cron: one long-running workflow (id greetings/holidays)
// finds the next holiday, sleeps on a timer until a lead time before it,
// has the campaign service schedule that holiday's network-wide greeting,
// and continues as new for the next one.
package greeting

import (
	"slices"
	"time"

	lunar "github.com/6tail/lunar-go/calendar"
)

// Holiday is one greeting occasion.
type Holiday struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	// Lunar: Month and Day are of the Chinese lunar calendar.
	Lunar      bool `json:"lunar"`
	Month, Day int
}

// Holidays are the greetings the SPEC names: five from the lunar calendar,
// computed by 6tail/lunar-go (not a table typed by hand), and two solar.
var Holidays = []Holiday{
	{Key: "new_year", Name: "元旦", Month: 1, Day: 1},
	{Key: "spring_festival", Name: "春节", Lunar: true, Month: 1, Day: 1},
	{Key: "lantern_festival", Name: "元宵节", Lunar: true, Month: 1, Day: 15},
	{Key: "dragon_boat", Name: "端午节", Lunar: true, Month: 5, Day: 5},
	{Key: "mid_autumn", Name: "中秋节", Lunar: true, Month: 8, Day: 15},
	{Key: "national_day", Name: "国庆节", Month: 10, Day: 1},
	{Key: "double_ninth", Name: "重阳节", Lunar: true, Month: 9, Day: 9},
}

// Occurrence is a holiday on a civil date.
type Occurrence struct {
	Holiday
	Date string `json:"date"` // YYYY-MM-DD (solar)
	// At is when its greeting starts: the date at the send hour in the
	// network's zone.
	At time.Time `json:"at"`
}

// dateIn returns the holiday's solar date in the solar year y.
func (h Holiday) dateIn(y int) time.Time {
	if !h.Lunar {
		return time.Date(y, time.Month(h.Month), h.Day, 0, 0, 0, 0, time.UTC)
	}
	// A lunar date of lunar year y falls in solar year y or, for the first
	// months' festivals, never in y-1: Spring Festival is 21 Jan-20 Feb.
	s := lunar.NewLunarFromYmd(y, h.Month, h.Day).GetSolar()
	return time.Date(s.GetYear(), time.Month(s.GetMonth()), s.GetDay(), 0, 0, 0, 0, time.UTC)
}

// Next returns the holidays whose greeting starts after now, earliest
// first, within about a year; hour is the local send hour in loc.
func Next(now time.Time, loc *time.Location, hour int) []Occurrence {
	var out []Occurrence
	local := now.In(loc)
	for y := local.Year(); y <= local.Year()+1; y++ {
		for _, h := range Holidays {
			d := h.dateIn(y)
			at := time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, loc).UTC()
			if at.After(now) {
				out = append(out, Occurrence{Holiday: h, Date: d.Format(time.DateOnly), At: at})
			}
		}
	}
	slices.SortFunc(out, func(a, b Occurrence) int { return a.At.Compare(b.At) })
	return out
}
