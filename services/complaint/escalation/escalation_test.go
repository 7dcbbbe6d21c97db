package escalation

import (
	"slices"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/events"
)

func TestRecipientRole(t *testing.T) {
	for level, role := range map[int]string{0: "agent", 1: "dealer_manager", 2: "dealer_gm", 3: "region_manager", 4: "hq_admin"} {
		if got := RecipientRole(level); got != role {
			t.Errorf("RecipientRole(%d) = %s, want %s", level, got, role)
		}
	}
	n := NoticeOf(Subject{Complaint: "C1", Severity: "high", Category: "price", Level: 2}, "why")
	if n.Role != "dealer_gm" || n.Level != 2 || n.Message != "complaint C1 (high, price) is at level L2: why" {
		t.Errorf("notice %+v", n)
	}
}

func TestByCustomer(t *testing.T) {
	level := 0
	for want := 1; want <= MaxLevel; want++ {
		var err error
		if level, err = ByCustomer(level); err != nil || level != want {
			t.Fatalf("escalate to %d: %d, %v", want, level, err)
		}
	}
	if l, err := ByCustomer(level); apperr.Code(err) != apperr.ECONFLICT || l != MaxLevel {
		t.Errorf("beyond L4: %d, %v", l, err)
	}
}

// The first resolution breach of a complaint at L1 raises it to L2 and
// records the escalation to L2, once.
func TestReachRaisesAndEscalatesOnce(t *testing.T) {
	th := Threshold{Key: FirstResolutionBreachedKey, Kind: KindBreached, Level: 2, Target: 2 * time.Hour}
	c := Clock{ResponseElapsed: time.Hour, ResolutionElapsed: 2 * time.Hour}
	recs, level := Reach(th, c, 1, nil)
	want := []Record{
		{Key: "resolution/1/breached", Kind: KindBreached, Level: 2, Detail: "resolution/1/breached: 2h0m0s of business time elapsed, target 2h0m0s"},
		{Key: "escalated/L2", Kind: KindEscalated, Level: 2, Detail: "escalated to L2 by resolution/1/breached"},
	}
	if level != 2 || !slices.Equal(recs, want) {
		t.Errorf("Reach = %+v, %d; want %+v, 2", recs, level, want)
	}
	if recs, _ := Reach(th, c, 1, []string{"escalated/L2"}); len(recs) != 1 {
		t.Errorf("escalation recorded twice: %+v", recs)
	}
	// A manual escalation to L3 before: the breach raises nothing.
	if recs, level := Reach(th, c, 3, nil); level != 3 || len(recs) != 1 || recs[0].Level != 3 {
		t.Errorf("above the breach: %+v, %d", recs, level)
	}
	// A warning keeps the level.
	w := Threshold{Key: "response/warned", Kind: KindWarned, Level: 1, Target: time.Hour}
	if recs, level := Reach(w, c, 0, nil); level != 0 || len(recs) != 1 || recs[0].Detail != "response/warned: 1h0m0s of business time elapsed, target 1h0m0s" {
		t.Errorf("warning: %+v, %d", recs, level)
	}
}

func TestOnClockEvent(t *testing.T) {
	for _, tt := range []struct {
		kind              Kind
		level, eventLevel int
		want              Effect
	}{
		{KindEscalated, 1, 2, Effect{Level: 2, Raised: true, Notify: true, Why: "d"}},
		{KindEscalated, 3, 2, Effect{Level: 3, Notify: true, Why: "d"}}, // never lowers
		{KindWarned, 1, 1, Effect{Level: 1, Notify: true, Why: "warning: d"}},
		{KindBreached, 1, 2, Effect{Level: 1}}, // its escalation raises
	} {
		if got := OnClockEvent(tt.kind, tt.level, tt.eventLevel, "d"); got != tt.want {
			t.Errorf("OnClockEvent(%s, %d, %d) = %+v, want %+v", tt.kind, tt.level, tt.eventLevel, got, tt.want)
		}
	}
	if Kind("policy_changed").Valid() || !KindWarned.Valid() {
		t.Error("Valid")
	}
}

func TestDeadlines(t *testing.T) {
	cal := calendar.AlwaysOpen(time.UTC)
	t0 := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	tg := Targets{Response: time.Hour, Resolution: 4 * time.Hour}
	c := Start(t0, events.ComplaintNew)
	d := Deadlines{}.Count(c, tg, cal, events.ComplaintNew)
	if !d.Response.Equal(t0.Add(time.Hour)) || !d.Resolution.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("filed: %+v", d)
	}
	// Acknowledged at 30 min: the response deadline stays.
	c = Advance(c, cal, t0.Add(30*time.Minute))
	c, _ = SetState(c, events.ComplaintAcknowledged)
	if got := d.Count(c, tg, cal, events.ComplaintAcknowledged); !got.Equal(d) {
		t.Errorf("acknowledged: %+v, want %+v", got, d)
	}
	// Pending the customer: no resolution deadline.
	c, _ = SetState(c, events.ComplaintPendingCustomer)
	if got := d.Count(c, tg, cal, events.ComplaintPendingCustomer); !got.Resolution.IsZero() || !got.Response.Equal(d.Response) {
		t.Errorf("pending: %+v", got)
	}
	// A breach pins its deadline at the instant it fell due.
	at := t0.Add(5 * time.Hour)
	if got := d.Breached(Threshold{Key: FirstResolutionBreachedKey}, at); !got.Resolution.Equal(at) || !got.Response.Equal(d.Response) {
		t.Errorf("breached: %+v", got)
	}
	if got := d.Breached(Threshold{Key: "resolution/2/breached"}, at); !got.Equal(d) {
		t.Errorf("second breach moved a deadline: %+v", got)
	}
}
