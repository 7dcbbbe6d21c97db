package greeting

import (
	"testing"
	"time"
)

var cst = time.FixedZone("CST", 8*3600)

// TestNext: the lunar festivals fall on the dates the calendar gives them
// (checked against the published 2027 and 2028 calendars), interleaved
// with the solar ones.
func TestNext(t *testing.T) {
	got := Next(time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC), cst, 10)
	want := []string{
		"spring_festival 2027-02-06", "lantern_festival 2027-02-20", "dragon_boat 2027-06-09", "mid_autumn 2027-09-15",
		"national_day 2027-10-01", "double_ninth 2027-10-08", "new_year 2028-01-01", "spring_festival 2028-01-26",
	}
	for i, w := range want {
		if i >= len(got) || got[i].Key+" "+got[i].Date != w {
			t.Fatalf("next[%d] = %+v, want %s (all: %+v)", i, got[min(i, len(got)-1)], w, got)
		}
	}
	if at := got[0].At; !at.Equal(time.Date(2027, 2, 6, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("spring festival greeting at %v, want 10:00 CST", at)
	}
}
