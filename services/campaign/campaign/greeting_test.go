package campaign

import (
	"slices"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/calendar"
)

// TestBirthdayDays: 28 February greets the 29th's birthdays only in a year
// without a 29th.
func TestBirthdayDays(t *testing.T) {
	for date, want := range map[string][]string{
		"2027-02-28": {"02-28", "02-29"},
		"2028-02-28": {"02-28"},
		"2028-02-29": {"02-29"},
		"2027-03-01": {"03-01"},
		"2027-12-07": {"12-07"},
	} {
		d, err := calendar.ParseDate(date)
		if err != nil {
			t.Fatal(err)
		}
		if got := BirthdayDays(d); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", date, got, want)
		}
	}
}

// TestLocalSendTime: a birthday's recipients are due at the hour in their
// own zone, never before the campaign's start; others at the start.
func TestLocalSendTime(t *testing.T) {
	start := time.Date(2027, 3, 1, 20, 0, 0, 0, time.UTC) // 10:00 on 2 March at UTC+14
	a := Audience{Birthdays: []string{"03-02"}, LocalSend: "2027-03-02T10:00"}
	if err := a.Validate("campaign.audience"); err != nil {
		t.Fatal(err)
	}
	for zone, want := range map[string]time.Time{
		"Asia/Shanghai": time.Date(2027, 3, 2, 2, 0, 0, 0, time.UTC),
		"Asia/Urumqi":   time.Date(2027, 3, 2, 4, 0, 0, 0, time.UTC),
		"":              time.Date(2027, 3, 2, 2, 0, 0, 0, time.UTC), // the network's default zone
	} {
		if got := a.SendTime(zone, start); !got.Equal(want) {
			t.Errorf("%q: %v, want %v", zone, got, want)
		}
	}
	if got := (&Audience{}).SendTime("Asia/Shanghai", start); !got.Equal(start) {
		t.Errorf("no local send: %v", got)
	}
	late := time.Date(2027, 3, 2, 3, 0, 0, 0, time.UTC)
	if got := a.SendTime("Asia/Shanghai", late); !got.Equal(late) {
		t.Errorf("before start: %v", got)
	}
	for _, bad := range []Audience{{Birthdays: []string{"02-30"}}, {LocalSend: "2027-03-02 10:00"}} {
		if err := bad.Validate("campaign.audience"); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
