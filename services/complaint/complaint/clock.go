package complaint

import (
	"context"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/complaint/escalation"
)

// The escalation workflow's side of the service: only the platform's
// service identity (the worker) calls it, across dealers.

// ClockEvent is a threshold the workflow's clock reached: Key makes it
// once per complaint, Time is when it fell due.
type ClockEvent struct {
	Key  string
	Kind escalation.Kind
	// Level is the level after the event; for an escalation the new one.
	Level  int
	Time   time.Time
	Detail string
}

// RecordClockEvent records ev on the complaint's timeline once per key and
// reports whether this call did. EINVALID names a missing key or an
// unknown kind.
func (s *Service) RecordClockEvent(ctx context.Context, id string, ev ClockEvent) (bool, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return false, err
	}
	if ev.Key == "" {
		return false, apperr.Invalid("key", "is required").ZhReason("为必填项")
	}
	if !ev.Kind.Valid() {
		return false, apperr.Invalid("kind", "must be warned, breached or escalated").ZhReason("须为 warned、breached 或 escalated")
	}
	return s.store.RecordClockEvent(ctx, id, ev.Key, ev.Time, func(c *Complaint) (ClockRecord, error) {
		return c.Clock(ev), nil
	})
}

// Clock applies ev to the complaint as escalation.OnClockEvent says and
// returns what the store writes: the timeline entry, the raised level and
// the notice.
func (c *Complaint) Clock(ev ClockEvent) ClockRecord {
	eff := escalation.OnClockEvent(ev.Kind, c.Level, ev.Level, ev.Detail)
	c.Level = eff.Level
	rec := ClockRecord{Kind: ev.Kind, Detail: ev.Detail, Raised: eff.Raised}
	if eff.Notify {
		n := c.Notice(eff.Why)
		rec.Notice = &n
	}
	return rec
}

// SetDeadlines writes the deadlines the workflow counts onto the
// complaint; nil clears one.
func (s *Service) SetDeadlines(ctx context.Context, id string, response, resolution *time.Time) error {
	if err := tenancy.RequireService(ctx); err != nil {
		return err
	}
	return s.store.SetDeadlines(ctx, id, response, resolution)
}

// ClockInput is what the workflow counts with: the complaint and the SLA
// policy version it counts under (Complaint.PolicyVersion).
func (s *Service) ClockInput(ctx context.Context, id string) (*Complaint, Policy, error) {
	if err := tenancy.RequireService(ctx); err != nil {
		return nil, Policy{}, err
	}
	c, err := s.store.Get(ctx, pg.AllDealers(), id)
	if err != nil {
		return nil, Policy{}, err
	}
	p, err := s.store.PolicyVersion(ctx, c.PolicyVersion)
	return c, p, err
}
