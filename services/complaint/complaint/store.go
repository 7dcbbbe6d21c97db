package complaint

import (
	"context"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
)

// Notification is a stored notice.
type Notification struct {
	ID, Complaint, RecipientRole, Message string
	Dealer                                string // the complaint's owner then ("" HQ's)
	// Subject is what a notice another service posted is about
	// (Complaint is empty then).
	Subject    string
	Level      int
	CreateTime time.Time
}

// ListFilter selects the complaints List shows.
type ListFilter struct {
	// Dealer whose complaints are listed: those it owns and those filed
	// there that another dealer now owns. tenancy.AnyDealer lists those of
	// every dealer of the scope.
	Dealer string
	// State and Severity ("" for any), and the lowest escalation level.
	State, Severity string
	MinLevel        int
}

// Template is a resolution template (knowledge).
type Template struct {
	ID, Category, Title, Body string
	CreateTime                time.Time
}

// Store persists complaints; every method works inside the scope it is
// given, which row-level security backs up. It stores what it is told:
// the rules are the Service's.
type Store interface {
	// Create files c (new, version 1, its own origin) with ch's timeline
	// entry and the workflow's event; a source that opened a complaint
	// before answers that one instead, changing nothing.
	Create(ctx context.Context, c *Complaint, ch Change, actor string, at time.Time) (*Complaint, error)
	// Get returns a complaint visible in scope; ENOTFOUND otherwise.
	Get(ctx context.Context, scope pg.Scope, id string) (*Complaint, error)
	// Update locks the complaint, applies fn and, unless fn fails, saves it
	// (version+1, update time at) with fn's Change: the timeline entry,
	// the notice, the workflow's event and the follow-up. scope must hold
	// the owner before and after.
	Update(ctx context.Context, scope pg.Scope, id, actor string, at time.Time, fn func(*Complaint) (Change, error)) (*Complaint, error)
	// List lists newest first, in pages after the opaque token.
	List(ctx context.Context, scope pg.Scope, f ListFilter, after string, size int) ([]Complaint, string, error)
	// Events lists the timeline entries visible in scope, oldest first.
	Events(ctx context.Context, scope pg.Scope, id string) ([]Event, error)
	// Notifications lists a dealer's notifications (tenancy.AnyDealer: the
	// scope's), newest first; role "" for every role.
	Notifications(ctx context.Context, scope pg.Scope, dealer, role string, size int) ([]Notification, error)
	// PostNotice stores a notice about n.Subject in n.Dealer's inbox ("":
	// HQ's) unless one with its (dealer, role, key) exists, and returns
	// the stored one.
	PostNotice(ctx context.Context, n Notification, key string) (Notification, error)
	// RecordClockEvent locks the complaint and, unless key was recorded
	// before, applies fn and writes its ClockRecord; it reports whether
	// this call recorded it. It runs across dealers (the worker's).
	RecordClockEvent(ctx context.Context, id, key string, at time.Time, fn func(*Complaint) (ClockRecord, error)) (bool, error)
	// SetDeadlines writes the workflow's deadlines (nil clears one).
	SetDeadlines(ctx context.Context, id string, response, resolution *time.Time) error
	// Policy is the SLA policy in force for a dealer ("default": HQ's).
	Policy(ctx context.Context, dealer string) (Policy, error)
	// PolicyVersion is the policy as version left it (0: DefaultPolicy);
	// ENOTFOUND for a version never written.
	PolicyVersion(ctx context.Context, version int64) (Policy, error)
	// PutPolicy stores the policy of scope ("default" or a dealer code) as
	// a new version.
	PutPolicy(ctx context.Context, scope string, p Policy) error
	CreateTemplate(ctx context.Context, t Template) (*Template, error)
	// Templates searches by category and words in title or body.
	Templates(ctx context.Context, category, query string) ([]Template, error)
}

// DefaultScope names HQ's default policy.
const DefaultScope = "default"
