package complaint

import (
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/services/complaint/escalation"
)

func TestTransitions(t *testing.T) {
	all := []string{StateNew, StateAcknowledged, StateInProgress, StatePendingCustomer, StateResolved, StateReopened, StateClosed}
	allowed := map[Action]map[string]string{ // action → from → to
		"acknowledge":     {StateNew: StateAcknowledged},
		"start":           {StateAcknowledged: StateInProgress, StateReopened: StateInProgress},
		"waitForCustomer": {StateInProgress: StatePendingCustomer},
		"resume":          {StatePendingCustomer: StateInProgress},
		"resolve":         {StateInProgress: StateResolved},
		"reopen":          {StateResolved: StateReopened},
		"close":           {StateResolved: StateClosed},
	}
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for action, ok := range allowed {
		for _, from := range all {
			c := &Complaint{State: from, ResolveTime: at}
			err := c.Apply(action, at)
			to, legal := ok[from]
			switch {
			case legal && err != nil:
				t.Errorf("%s from %s: %v", action, from, err)
			case legal && c.State != to:
				t.Errorf("%s from %s → %s, want %s", action, from, c.State, to)
			case !legal && apperr.Code(err) != apperr.ECONFLICT:
				t.Errorf("%s from %s: %v, want a conflict", action, from, err)
			case !legal && c.State != from:
				t.Errorf("illegal %s from %s changed the state to %s", action, from, c.State)
			}
		}
	}
	c := &Complaint{State: StateResolved, ResolveTime: at}
	if err := c.Apply(ActionReopen, at); err != nil || c.ReopenCount != 1 || !c.ResolveTime.IsZero() {
		t.Errorf("reopen: %v, count %d, resolve time %v", err, c.ReopenCount, c.ResolveTime)
	}
}

func TestEscalate(t *testing.T) {
	c := &Complaint{State: StateInProgress}
	for want := 1; want <= escalation.MaxLevel; want++ {
		if err := c.Escalate(); err != nil || c.Level != want {
			t.Fatalf("escalate to %d: level %d, %v", want, c.Level, err)
		}
	}
	if err := c.Escalate(); apperr.Code(err) != apperr.ECONFLICT || c.Level != escalation.MaxLevel {
		t.Errorf("beyond L4: %v, level %d", err, c.Level)
	}
	for _, s := range []string{StateResolved, StateClosed} {
		if err := (&Complaint{State: s}).Escalate(); apperr.Code(err) != apperr.ECONFLICT {
			t.Errorf("escalate %s: %v", s, err)
		}
	}
}

func TestUpdateAndValidate(t *testing.T) {
	base := Complaint{State: StateNew, Channel: "phone", Category: "price", Severity: "low", Description: "太贵"}
	c := base
	changed, err := c.Update(Complaint{Severity: "critical"}, []string{"severity"})
	if err != nil || !changed || c.Severity != "critical" || c.Description != "太贵" {
		t.Errorf("severity update: %v %v %+v", changed, err, c)
	}
	for _, tc := range []struct {
		mask  []string
		in    Complaint
		field string
	}{
		{nil, Complaint{}, "update_mask"},
		{[]string{"state"}, Complaint{}, "update_mask"},
		{[]string{"severity"}, Complaint{Severity: "urgent"}, "complaint.severity"},
		{[]string{"description"}, Complaint{Description: "  "}, "complaint.description"},
	} {
		c := base
		_, err := c.Update(tc.in, tc.mask)
		e, ok := apperr.As(err)
		if !ok || len(e.Violations) != 1 || e.Violations[0].Field != tc.field {
			t.Errorf("update %v: %v, want a violation on %s", tc.mask, err, tc.field)
		}
	}
	closed := base
	closed.State = StateClosed
	if _, err := closed.Update(Complaint{Severity: "high"}, []string{"severity"}); apperr.Code(err) != apperr.ECONFLICT {
		t.Errorf("update closed: %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	missing := Policy{Targets: p.Targets[:3]}
	if err := missing.Validate(); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("missing severity: %v", err)
	}
	bad := DefaultPolicy()
	bad.Targets[0].Response = bad.Targets[0].Resolution + time.Second
	if err := bad.Validate(); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("response beyond resolution: %v", err)
	}
	ratio := DefaultPolicy()
	ratio.WarningRatio = 1.5
	if err := ratio.Validate(); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("ratio 1.5: %v", err)
	}
}
