package events_test

import (
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
)

func TestIsBackfill(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		happened time.Time
		want     bool
	}{
		{now, false},
		{now.Add(-time.Hour), false},
		{now.Add(-events.BackfillAge), false},
		{now.Add(-events.BackfillAge - time.Second), true},
		{now.AddDate(-1, 0, 0), true},
		{now.Add(time.Hour), false}, // slightly ahead of the server's clock
	} {
		if got := events.IsBackfill(c.happened, now); got != c.want {
			t.Errorf("IsBackfill(%s, %s) = %v, want %v", c.happened, now, got, c.want)
		}
	}
}
