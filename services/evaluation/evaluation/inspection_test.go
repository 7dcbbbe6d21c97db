package evaluation

import (
	"testing"
	"time"
)

func TestScorecardRounding(t *testing.T) {
	c := &Checklist{Version: 2, Title: "t", Items: []InspectionItem{{Code: "A", Text: "a", MaxDeduction: 1}, {Code: "B", Text: "b", MaxDeduction: 2}}}
	if err := c.Validate(); err != nil || c.TotalPoints != 3 {
		t.Fatalf("validate %v, total %d", err, c.TotalPoints)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		items []ItemResult
		score int64
	}{
		{nil, 10000},
		{[]ItemResult{{Code: "A", Deduction: 1, EvidenceNote: "x"}}, 6667}, // 2 of 3: 66.666… rounds to 66.67
		{[]ItemResult{{Code: "B", Deduction: 2, EvidenceNote: "x"}}, 3333},
		{[]ItemResult{{Code: "A", Deduction: 1, EvidenceNote: "x"}, {Code: "B", Deduction: 2, EvidenceNote: "y"}}, 0},
	} {
		in := Inspection{VisitTime: now, Items: tc.items}
		if err := Scorecard(&in, c, now); err != nil || in.Score != tc.score || in.ChecklistVersion != 2 || in.TotalPoints != 3 {
			t.Errorf("%+v: score %d (%v), want %d", tc.items, in.Score, err, tc.score)
		}
	}
	// Within the clock skew allowance, a visit "now" on a slow clock is fine.
	in := Inspection{VisitTime: now.Add(MaxVisitAhead)}
	if err := Scorecard(&in, c, now); err != nil {
		t.Errorf("visit at the skew limit: %v", err)
	}
	if v, ok := Value(InspectionScore, Figure{Numerator: 6667 + 3333, Denominator: 2}); !ok || v != 50 {
		t.Errorf("inspection_score value %v %v, want 50", v, ok)
	}
}
