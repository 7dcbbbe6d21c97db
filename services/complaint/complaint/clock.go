package complaint

import (
	"context"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	pg "github.com/dealercare/dealercare/pkg/postgres"
)

// The escalation workflow's side of the service: only the platform's
// service identity (the worker) calls it, across dealers.

// RequireService admits only the platform's service identity (the worker, the evaluation service).
func RequireService(ctx context.Context) error {
	if p, ok := auth.PrincipalFromContext(ctx); !ok || !p.IsService() {
		return apperr.Errorf(apperr.EFORBIDDEN, "only the platform's service identity may call this").Zh("仅平台服务身份可调用")
	}
	return nil
}

// ClockEvent is a threshold the workflow's clock reached: Key makes it
// once per complaint, Time is when it fell due.
type ClockEvent struct {
	Key, Kind string
	// Level is the level after the event; for an escalation the new one.
	Level  int
	Time   time.Time
	Detail string
}

// RecordClockEvent records ev on the complaint's timeline once per key and
// reports whether this call did.
func (s *Service) RecordClockEvent(ctx context.Context, id string, ev ClockEvent) (bool, error) {
	if err := RequireService(ctx); err != nil {
		return false, err
	}
	return s.store.RecordClockEvent(ctx, id, ev.Key, ev.Time, func(c *Complaint) (ClockRecord, error) {
		return c.Clock(ev), nil
	})
}

// Clock is what ev does to the complaint: an escalation raises the level
// (never lowers one a manual escalation set) and notifies that level's
// role; a warning notifies the role on the hook; a breach is a timeline
// entry only.
func (c *Complaint) Clock(ev ClockEvent) ClockRecord {
	rec := ClockRecord{Kind: ev.Kind, Detail: ev.Detail}
	switch ev.Kind {
	case "escalated":
		if ev.Level > c.Level {
			c.Level, rec.Raised = ev.Level, true
		}
		n := c.Notice(ev.Detail)
		rec.Notice = &n
	case "warned":
		n := c.Notice("warning: " + ev.Detail)
		rec.Notice = &n
	}
	return rec
}

// SetDeadlines writes the deadlines the workflow counts onto the
// complaint; nil clears one.
func (s *Service) SetDeadlines(ctx context.Context, id string, response, resolution *time.Time) error {
	if err := RequireService(ctx); err != nil {
		return err
	}
	return s.store.SetDeadlines(ctx, id, response, resolution)
}

// ClockInput is what the workflow counts with: the complaint and the SLA
// policy in force for its owner.
func (s *Service) ClockInput(ctx context.Context, id string) (*Complaint, Policy, error) {
	if err := RequireService(ctx); err != nil {
		return nil, Policy{}, err
	}
	c, err := s.store.Get(ctx, pg.AllDealers(), id)
	if err != nil {
		return nil, Policy{}, err
	}
	p, err := s.store.Policy(ctx, c.Dealer)
	return c, p, err
}
