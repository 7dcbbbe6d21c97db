package calendarpb

import (
	"strings"
	"testing"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
	"google.golang.org/protobuf/proto"
)

func TestRoundTrip(t *testing.T) {
	in := &customerv1.BusinessCalendar{
		Dealer:   "SH001",
		TimeZone: "Asia/Shanghai",
		Weekly: []*customerv1.OpeningHours{
			{Day: customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY, Intervals: []*customerv1.TimeInterval{{Start: "08:30", End: "12:00"}, {Start: "13:00", End: "17:30"}}},
			{Day: customerv1.DayOfWeek_DAY_OF_WEEK_SUNDAY, Intervals: []*customerv1.TimeInterval{{Start: "00:00", End: "24:00"}}},
		},
		Holidays:            []string{"2026-10-01", "2026-10-02"},
		AdjustedWorkingDays: []*customerv1.AdjustedWorkingDay{{Date: "2026-10-10", HoursOf: customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY}},
	}
	spec, err := FromProto(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := calendar.New(spec); err != nil {
		t.Fatalf("converted spec invalid: %v", err)
	}
	out := ToProto("SH001", spec)
	if !proto.Equal(in, out) {
		t.Errorf("round trip changed the calendar:\n in: %v\nout: %v", in, out)
	}
}

func TestFromProtoNamesTheField(t *testing.T) {
	cases := []struct {
		name  string
		in    *customerv1.BusinessCalendar
		field string
	}{
		{"bad interval", &customerv1.BusinessCalendar{Weekly: []*customerv1.OpeningHours{{Day: 1, Intervals: []*customerv1.TimeInterval{{Start: "09:00", End: "08:00"}}}}}, "calendar.weekly[0].intervals[0]"},
		{"duplicate day", &customerv1.BusinessCalendar{Weekly: []*customerv1.OpeningHours{{Day: 2}, {Day: 2}}}, "calendar.weekly[1].day"},
		{"bad holiday", &customerv1.BusinessCalendar{Holidays: []string{"2026-02-30"}}, "calendar.holidays[0]"},
		{"bad adjusted day", &customerv1.BusinessCalendar{AdjustedWorkingDays: []*customerv1.AdjustedWorkingDay{{Date: "10/10/2026", HoursOf: 1}}}, "calendar.adjusted_working_days[0].date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromProto(tc.in)
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.EINVALID || len(e.Violations) != 1 || e.Violations[0].Field != tc.field {
				t.Fatalf("got %v, want EINVALID on %s", err, tc.field)
			}
			if !strings.HasPrefix(e.Message, tc.field) {
				t.Errorf("message %q does not start with the field", e.Message)
			}
		})
	}
}
