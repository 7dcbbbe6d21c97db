// Package complainttest holds the complaint.Store contract, which every
// store must pass (the PostgreSQL adapter and Fake), and Fake, an
// in-memory store for handler tests.
package complainttest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/complaint/complaint"
)

// Fake is an in-memory complaint.Store. It keeps the scope rules (a
// complaint is visible to its owner and its origin, written only by its
// owner) but no outbox: handler tests look at what the service answers
// and stores.
type Fake struct {
	mu            sync.Mutex
	complaints    map[string]complaint.Complaint
	events        map[string][]complaint.Event
	notifications []complaint.Notification
	noticeKeys    []string // PostNotice's key of notifications[i] ("" for none)
	policies      map[string]complaint.Policy
	versions      []complaint.Policy // version i+1
	templates     []complaint.Template
	seq           int64
}

var _ complaint.Store = (*Fake)(nil)

// NewFake returns an empty store.
func NewFake() *Fake {
	return &Fake{complaints: map[string]complaint.Complaint{}, events: map[string][]complaint.Event{}, policies: map[string]complaint.Policy{}}
}

func inScope(scope pg.Scope, dealer string) bool {
	return scope.All() || slices.Contains(scope.DealerCodes(), dealer)
}

func notFound(id string) error { return apperr.NotFound("complaint", "投诉", id) }

func (f *Fake) appendEvent(c complaint.Complaint, dealer string, e complaint.Event) {
	f.seq++
	e.Seq, e.Dealer, e.Level = f.seq, dealer, c.Level
	f.events[c.ID] = append(f.events[c.ID], e)
}

func (f *Fake) notify(c complaint.Complaint, n complaint.Notice, at time.Time) {
	f.notifications = append(f.notifications, complaint.Notification{ID: outbox.NewID(), Complaint: c.ID, RecipientRole: n.Role,
		Message: n.Message, Dealer: c.Dealer, Level: n.Level, CreateTime: at})
}

// Create implements complaint.Store.
func (f *Fake) Create(_ context.Context, c *complaint.Complaint, ch complaint.Change, actor string, at time.Time) (*complaint.Complaint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.Source != "" {
		for _, old := range f.complaints {
			if old.OriginDealer == c.Dealer && old.Source == c.Source {
				return &old, nil
			}
		}
	}
	out := *c
	out.ID, out.State, out.Version, out.OriginDealer = outbox.NewID(), complaint.StateNew, 1, c.Dealer
	out.CreateTime, out.UpdateTime = at, at
	f.complaints[out.ID] = out
	f.appendEvent(out, out.Dealer, complaint.Event{Kind: string(ch.Kind), Actor: actor, Time: at, Detail: ch.Detail})
	return &out, nil
}

func (f *Fake) get(scope pg.Scope, id string) (complaint.Complaint, error) {
	c, ok := f.complaints[id]
	if !ok || !(inScope(scope, c.Dealer) || inScope(scope, c.OriginDealer)) {
		return complaint.Complaint{}, notFound(id)
	}
	return c, nil
}

// Get implements complaint.Store.
func (f *Fake) Get(_ context.Context, scope pg.Scope, id string) (*complaint.Complaint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(scope, id)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Update implements complaint.Store.
func (f *Fake) Update(_ context.Context, scope pg.Scope, id, actor string, at time.Time, fn func(*complaint.Complaint) (complaint.Change, error)) (*complaint.Complaint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(scope, id)
	if err != nil {
		return nil, err
	}
	before := c.Dealer
	ch, err := fn(&c)
	if err != nil {
		return nil, err
	}
	if !inScope(scope, before) || !inScope(scope, c.Dealer) {
		// PostgreSQL's row-level security refuses the write.
		return nil, apperr.Errorf(apperr.EINTERNAL, "update complaint %s: row-level security", id)
	}
	c.Version++
	c.UpdateTime = at
	f.complaints[id] = c
	f.appendEvent(c, before, complaint.Event{Kind: string(ch.Kind), Actor: actor, Time: at, Detail: ch.Detail})
	if ch.Notice != nil {
		f.notify(c, *ch.Notice, at)
	}
	return &c, nil
}

// List implements complaint.Store; its page token is an offset.
func (f *Fake) List(_ context.Context, scope pg.Scope, lf complaint.ListFilter, after string, size int) ([]complaint.Complaint, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []complaint.Complaint
	for _, c := range f.complaints {
		seen := inScope(scope, c.Dealer) || inScope(scope, c.OriginDealer)
		listed := lf.Dealer == tenancy.AnyDealer || c.Dealer == lf.Dealer || c.OriginDealer == lf.Dealer
		if seen && listed && (lf.State == "" || c.State == lf.State) && (lf.Severity == "" || c.Severity == lf.Severity) && c.Level >= lf.MinLevel {
			all = append(all, c)
		}
	}
	slices.SortFunc(all, func(a, b complaint.Complaint) int {
		return cmp.Or(b.CreateTime.Compare(a.CreateTime), strings.Compare(b.ID, a.ID))
	})
	from := 0
	if after != "" {
		n, err := strconv.Atoi(after)
		if err != nil {
			return nil, "", apperr.Invalid("page_token", "is not a token returned by a previous call")
		}
		from = min(n, len(all))
	}
	page := all[from:min(from+size, len(all))]
	next := ""
	if len(page) == size && from+size < len(all) {
		next = strconv.Itoa(from + size)
	}
	return page, next, nil
}

// Events implements complaint.Store.
func (f *Fake) Events(_ context.Context, scope pg.Scope, id string) ([]complaint.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(scope, id)
	if err != nil {
		return nil, err
	}
	var out []complaint.Event
	for _, e := range f.events[id] {
		if inScope(scope, e.Dealer) || inScope(scope, c.Dealer) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Notifications implements complaint.Store.
func (f *Fake) Notifications(_ context.Context, scope pg.Scope, dealer, role string, size int) ([]complaint.Notification, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []complaint.Notification
	for _, n := range slices.Backward(f.notifications) {
		if inScope(scope, n.Dealer) && (dealer == tenancy.AnyDealer || n.Dealer == dealer) && (role == "" || n.RecipientRole == role) {
			out = append(out, n)
		}
	}
	return out[:min(size, len(out))], nil
}

// PostNotice implements complaint.Store.
func (f *Fake) PostNotice(_ context.Context, n complaint.Notification, key string) (complaint.Notification, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := n.Dealer + "\x00" + n.RecipientRole + "\x00" + key
	for i, done := range f.noticeKeys {
		if done == k {
			return f.notifications[i], nil
		}
	}
	f.seq++
	n.ID = fmt.Sprintf("n%d", f.seq)
	for len(f.noticeKeys) < len(f.notifications) {
		f.noticeKeys = append(f.noticeKeys, "")
	}
	f.notifications, f.noticeKeys = append(f.notifications, n), append(f.noticeKeys, k)
	return n, nil
}

// RecordClockEvent implements complaint.Store.
func (f *Fake) RecordClockEvent(_ context.Context, id, key string, at time.Time, fn func(*complaint.Complaint) (complaint.ClockRecord, error)) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(pg.AllDealers(), id)
	if err != nil {
		return false, err
	}
	rec, err := fn(&c)
	if err != nil {
		return false, err
	}
	for _, e := range f.events[id] {
		if e.Key == key {
			return false, nil
		}
	}
	f.seq++
	f.events[id] = append(f.events[id], complaint.Event{Seq: f.seq, Kind: string(rec.Kind), Actor: "system", Time: at, Level: c.Level, Detail: rec.Detail, Dealer: c.Dealer, Key: key})
	if rec.Raised {
		stored := f.complaints[id]
		stored.Level = max(stored.Level, c.Level)
		f.complaints[id] = stored
	}
	if rec.Notice != nil {
		f.notify(c, *rec.Notice, at)
	}
	return true, nil
}

// SetDeadlines implements complaint.Store.
func (f *Fake) SetDeadlines(_ context.Context, id string, response, resolution *time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.get(pg.AllDealers(), id)
	if err != nil {
		return err
	}
	c.ResponseDue, c.ResolutionDue = time.Time{}, time.Time{}
	if response != nil {
		c.ResponseDue = *response
	}
	if resolution != nil {
		c.ResolutionDue = *resolution
	}
	f.complaints[id] = c
	return nil
}

// Policy implements complaint.Store.
func (f *Fake) Policy(_ context.Context, dealer string) (complaint.Policy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.policies[dealer]
	if !ok {
		p, ok = f.policies[complaint.DefaultScope]
	}
	if !ok {
		p = complaint.DefaultPolicy()
	}
	p.Overridden = dealer != complaint.DefaultScope && f.policies[dealer].Targets != nil
	if dealer != complaint.DefaultScope {
		p.Dealer = dealer
	}
	return p, nil
}

// PutPolicy implements complaint.Store.
func (f *Fake) PutPolicy(_ context.Context, scope string, p complaint.Policy) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p.UpdateTime = time.Now()
	p.Version = int64(len(f.versions) + 1)
	p.Overridden, p.Dealer = scope != complaint.DefaultScope, ""
	if p.Overridden {
		p.Dealer = scope
	}
	f.policies[scope] = p
	f.versions = append(f.versions, p)
	return nil
}

// PolicyVersion implements complaint.Store.
func (f *Fake) PolicyVersion(_ context.Context, version int64) (complaint.Policy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if version == 0 {
		return complaint.DefaultPolicy(), nil
	}
	if version < 0 || version > int64(len(f.versions)) {
		return complaint.Policy{}, apperr.NotFound("SLA policy version", "SLA 版本", strconv.FormatInt(version, 10))
	}
	return f.versions[version-1], nil
}

// CreateTemplate implements complaint.Store.
func (f *Fake) CreateTemplate(_ context.Context, t complaint.Template) (*complaint.Template, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t.ID, t.CreateTime = outbox.NewID(), time.Now()
	f.templates = append(f.templates, t)
	return &t, nil
}

// Templates implements complaint.Store.
func (f *Fake) Templates(_ context.Context, category, query string) ([]complaint.Template, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []complaint.Template
	q := strings.ToLower(strings.TrimSpace(query))
	for _, t := range f.templates {
		if (category == "" || t.Category == category) && (strings.Contains(strings.ToLower(t.Title), q) || strings.Contains(strings.ToLower(t.Body), q)) {
			out = append(out, t)
		}
	}
	return out, nil
}
