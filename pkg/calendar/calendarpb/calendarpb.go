// Package calendarpb converts business calendars between the wire form
// (dealercare.customer.v1.BusinessCalendar) and calendar.Spec, for the
// customer service that stores them and the workflows that compute on them.
package calendarpb

import (
	"fmt"
	"strings"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
)

// Weekdays: the proto numbers them ISO (Monday=1 .. Sunday=7), Go Sunday=0.
func weekdayFromProto(d customerv1.DayOfWeek) time.Weekday {
	return time.Weekday(int(d) % 7)
}

func weekdayToProto(wd time.Weekday) customerv1.DayOfWeek {
	if wd == time.Sunday {
		return customerv1.DayOfWeek_DAY_OF_WEEK_SUNDAY
	}
	return customerv1.DayOfWeek(wd)
}

// FromProto converts the wire form. Errors are EINVALID and name the field
// in the request's path syntax (calendar.weekly[0].intervals[1]); the result
// is not yet validated as a whole (calendar.New does that).
func FromProto(c *customerv1.BusinessCalendar) (calendar.Spec, error) {
	spec := calendar.Spec{TimeZone: c.GetTimeZone(), Weekly: map[time.Weekday][]calendar.Interval{}}
	for i, oh := range c.GetWeekly() {
		wd := weekdayFromProto(oh.GetDay())
		if _, dup := spec.Weekly[wd]; dup {
			return spec, apperr.Invalid(fmt.Sprintf("calendar.weekly[%d].day", i), "weekday listed twice").ZhReason("同一星期重复出现")
		}
		ivs := []calendar.Interval{}
		for j, iv := range oh.GetIntervals() {
			parsed, err := calendar.ParseInterval(iv.GetStart() + "-" + iv.GetEnd())
			if err != nil {
				return spec, apperr.Invalid(fmt.Sprintf("calendar.weekly[%d].intervals[%d]", i, j), err.Error())
			}
			ivs = append(ivs, parsed)
		}
		spec.Weekly[wd] = ivs
	}
	for i, h := range c.GetHolidays() {
		d, err := calendar.ParseDate(h)
		if err != nil {
			return spec, apperr.Invalid(fmt.Sprintf("calendar.holidays[%d]", i), err.Error())
		}
		spec.Holidays = append(spec.Holidays, d)
	}
	for i, a := range c.GetAdjustedWorkingDays() {
		d, err := calendar.ParseDate(a.GetDate())
		if err != nil {
			return spec, apperr.Invalid(fmt.Sprintf("calendar.adjusted_working_days[%d].date", i), err.Error())
		}
		spec.WorkingDays = append(spec.WorkingDays, calendar.AdjustedDay{Date: d, HoursOf: weekdayFromProto(a.GetHoursOf())})
	}
	return spec, nil
}

// ToProto converts a spec to the wire form, weekdays in ISO order.
func ToProto(dealer string, spec calendar.Spec) *customerv1.BusinessCalendar {
	out := &customerv1.BusinessCalendar{Dealer: dealer, TimeZone: spec.TimeZone}
	for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		ivs := spec.Weekly[wd]
		if len(ivs) == 0 {
			continue
		}
		oh := &customerv1.OpeningHours{Day: weekdayToProto(wd)}
		for _, iv := range ivs {
			start, end, _ := strings.Cut(iv.String(), "-") // "HH:MM-HH:MM"
			oh.Intervals = append(oh.Intervals, &customerv1.TimeInterval{Start: start, End: end})
		}
		out.Weekly = append(out.Weekly, oh)
	}
	for _, h := range spec.Holidays {
		out.Holidays = append(out.Holidays, h.String())
	}
	for _, a := range spec.WorkingDays {
		out.AdjustedWorkingDays = append(out.AdjustedWorkingDays, &customerv1.AdjustedWorkingDay{Date: a.Date.String(), HoursOf: weekdayToProto(a.HoursOf)})
	}
	return out
}
