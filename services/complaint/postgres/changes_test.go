package postgres_test

import (
	"context"
	"testing"

	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/dealercare/dealercare/services/complaint/escalation"
	"github.com/dealercare/dealercare/services/complaint/postgres"
)

// The feed hands out a complaint again on every change, breaches on its
// timeline included, with whether it met its targets and when it closed.
func TestComplaintChanges(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	met := create(t, s, "D1", "", t0)
	late := create(t, s, "D1", "", t0)
	acknowledge(t, s, "D1", met.ID, t0.Add(10*60e9))
	// late breaches its first response before it is acknowledged.
	if _, err := recordClock(s, late.ID, complaint.ClockEvent{Key: escalation.ResponseBreachedKey, Kind: escalation.KindBreached, Level: 1, Time: t0.Add(3600e9), Detail: "response target"}); err != nil {
		t.Fatal(err)
	}
	acknowledge(t, s, "D1", late.ID, t0.Add(7200e9))
	for _, a := range []complaint.Action{complaint.ActionStart, complaint.ActionResolve, complaint.ActionClose} {
		if _, err := s.Update(ctx, pg.Dealers("D1"), met.ID, "agent-1", t0.Add(3*3600e9), func(c *complaint.Complaint) (complaint.Change, error) {
			return complaint.Change{Kind: complaint.ChangeOf(a)}, c.Apply(a, t0.Add(3*3600e9))
		}); err != nil {
			t.Fatal(err)
		}
	}
	all, more, err := pgtest.ChangesReady(t, 2, func() ([]postgres.ComplaintChange, bool, error) {
		return s.ListComplaintChanges(ctx, pg.ChangeCursor{}, 0)
	})
	if err != nil || more || len(all) != 2 {
		t.Fatalf("changes %+v %v %v", all, more, err)
	}
	by := map[string]postgres.ComplaintChange{}
	for _, c := range all {
		by[c.Complaint] = c
	}
	m, l := by[met.ID], by[late.ID]
	if !m.ResponseMet || !m.ResolutionMet || !m.CloseTime.Equal(t0.Add(3*3600e9)) || m.ReopenCount != 0 || m.Dealer != "D1" || m.Severity != "high" {
		t.Errorf("met: %+v", m)
	}
	if l.ResponseMet || l.ResolutionMet || !l.CloseTime.IsZero() {
		t.Errorf("late: %+v", l)
	}
	// A breach alone brings a complaint back into the feed.
	cursor := all[1].Cursor
	if _, err := recordClock(s, late.ID, complaint.ClockEvent{Key: escalation.FirstResolutionBreachedKey, Kind: escalation.KindBreached, Level: 2, Time: t0.Add(5 * 3600e9), Detail: "resolution target"}); err != nil {
		t.Fatal(err)
	}
	again, _, err := pgtest.ChangesReady(t, 1, func() ([]postgres.ComplaintChange, bool, error) { return s.ListComplaintChanges(ctx, cursor, 0) })
	if err != nil || len(again) != 1 || again[0].Complaint != late.ID || again[0].Cursor.Seq <= l.Cursor.Seq {
		t.Errorf("after a breach: %+v %v", again, err)
	}
}
