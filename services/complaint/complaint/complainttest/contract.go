package complainttest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/dealercare/dealercare/services/complaint/escalation"
)

var t0 = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)

// StoreContract runs the cases every complaint.Store must pass (the
// repository contract): open returns an empty store.
func StoreContract(t *testing.T, open func(t *testing.T) complaint.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, complaint.Store)
	}{
		{"UpdateWritesEveryUpdatableField", updateWritesEveryUpdatableField},
		{"UpdateWritesEveryMutableField", updateWritesEveryMutableField},
		{"FailedUpdateChangesNothing", failedUpdateChangesNothing},
		{"CreateBySourceAnswersTheExisting", createBySourceAnswersTheExisting},
		{"ClockEventRecordedOncePerKey", clockEventRecordedOncePerKey},
		{"OutOfScopeIsNotFound", outOfScopeIsNotFound},
		{"PolicyVersionsAreKept", policyVersionsAreKept},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}

func create(t *testing.T, s complaint.Store, dealer, source string) *complaint.Complaint {
	t.Helper()
	in := &complaint.Complaint{
		Dealer: dealer, Channel: "phone", Category: "parts", Severity: "high", Description: "noise after repair", Source: source,
	}
	c, err := s.Create(context.Background(), in, in.Filed(), "agent-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// updatable reads each field complaint.UpdatableFields names off a
// complaint; a field added there without a line here fails the contract.
var updatable = map[string]func(*complaint.Complaint) string{
	"severity":    func(c *complaint.Complaint) string { return c.Severity },
	"category":    func(c *complaint.Complaint) string { return c.Category },
	"description": func(c *complaint.Complaint) string { return c.Description },
	"customer":    func(c *complaint.Complaint) string { return c.Customer },
	"vin":         func(c *complaint.Complaint) string { return c.VIN },
}

// An update of every updatable field is what a later read returns: the
// answer of the update and a fresh Get both carry the new values.
func updateWritesEveryUpdatableField(t *testing.T, s complaint.Store) {
	ctx := context.Background()
	c := create(t, s, "SH001", "")
	in := complaint.Complaint{Severity: "critical", Category: "price", Description: "charged twice for the oil change",
		Customer: "cust-42", VIN: "LSVAU2180N2183294"}
	for _, f := range complaint.UpdatableFields {
		get, ok := updatable[f]
		if !ok {
			t.Fatalf("updatable field %q has no check in the contract", f)
		}
		if get(c) == get(&in) {
			t.Fatalf("field %q: the new value equals the old one", f)
		}
	}
	answer, err := s.Update(ctx, pg.Dealers("SH001"), c.ID, "agent-1", t0.Add(time.Second), func(c *complaint.Complaint) (complaint.Change, error) {
		_, err := c.Update(in, complaint.UpdatableFields)
		return complaint.Change{Kind: complaint.ChangeUpdated}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Get(ctx, pg.Dealers("SH001"), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range complaint.UpdatableFields {
		get := updatable[f]
		if got, want := get(answer), get(&in); got != want {
			t.Errorf("update answered %s = %q, want %q", f, got, want)
		}
		if got, want := get(stored), get(&in); got != want {
			t.Errorf("stored %s = %q, want %q", f, got, want)
		}
	}
	if stored.Version != c.Version+1 {
		t.Errorf("version %d, want %d", stored.Version, c.Version+1)
	}
}

// fixedFields are the fields a complaint is filed with and no update
// changes (the deadlines are the workflow's, SetDeadlines).
var fixedFields = []string{"ID", "OriginDealer", "Channel", "CreateTime", "Source", "ResponseDue", "ResolutionDue"}

// Every other field of complaint.Complaint, changed in one update (the
// actions' and a transfer's as well as UpdateComplaint's), is what a later
// read returns; a new field must be written or listed as fixed.
func updateWritesEveryMutableField(t *testing.T, s complaint.Store) {
	ctx := context.Background()
	c := create(t, s, "SH001", "")
	at := t0.Add(3 * time.Hour)
	changed := map[string]func(*complaint.Complaint){
		"Dealer":            func(c *complaint.Complaint) { c.Dealer = "SH002" },
		"Category":          func(c *complaint.Complaint) { c.Category = "price" },
		"Severity":          func(c *complaint.Complaint) { c.Severity = "low" },
		"Customer":          func(c *complaint.Complaint) { c.Customer = "cust-7" },
		"VIN":               func(c *complaint.Complaint) { c.VIN = "LSVAU2180N2183294" },
		"Description":       func(c *complaint.Complaint) { c.Description = "rewritten" },
		"Assignee":          func(c *complaint.Complaint) { c.Assignee = "agent-3" },
		"RootCause":         func(c *complaint.Complaint) { c.RootCause = "worn pad" },
		"CorrectiveActions": func(c *complaint.Complaint) { c.CorrectiveActions = "replaced" },
		"Resolution":        func(c *complaint.Complaint) { c.Resolution = "fixed" },
		"State":             func(c *complaint.Complaint) { c.State = complaint.StateInProgress },
		"Level":             func(c *complaint.Complaint) { c.Level = 2 },
		"AcknowledgeTime":   func(c *complaint.Complaint) { c.AcknowledgeTime = t0.Add(time.Minute) },
		"ResolveTime":       func(c *complaint.Complaint) { c.ResolveTime = t0.Add(2 * time.Minute) },
		"ReopenCount":       func(c *complaint.Complaint) { c.ReopenCount = 3 },
		"PolicyVersion":     func(c *complaint.Complaint) { c.PolicyVersion = 7 },
		"Version":           func(*complaint.Complaint) {}, // the update's own
		"UpdateTime":        func(*complaint.Complaint) {}, // the update's own
	}
	typ := reflect.TypeFor[complaint.Complaint]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		if _, ok := changed[name]; !ok && !slices.Contains(fixedFields, name) {
			t.Fatalf("complaint.Complaint.%s is neither changed by the contract nor listed as fixed", name)
		}
	}
	var want complaint.Complaint
	answer, err := s.Update(ctx, pg.Dealers("SH001", "SH002"), c.ID, "manager-1", at, func(c *complaint.Complaint) (complaint.Change, error) {
		for _, fn := range changed {
			fn(c)
		}
		want = *c
		want.Version, want.UpdateTime = c.Version+1, at
		return complaint.Change{Kind: complaint.ChangeTransferred}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Get(ctx, pg.Dealers("SH002"), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name := range changed {
		w := field(&want, name)
		if same(w, field(c, name)) {
			t.Errorf("%s: the new value %v equals the old one", name, w)
		}
		for what, got := range map[string]*complaint.Complaint{"update answered": answer, "stored": stored} {
			if g := field(got, name); !same(g, w) {
				t.Errorf("%s %s = %v, want %v", what, name, g, w)
			}
		}
	}
	for _, name := range fixedFields {
		if g, w := field(stored, name), field(c, name); !same(g, w) {
			t.Errorf("fixed %s changed: %v, was %v", name, g, w)
		}
	}
}

func same(a, b any) bool {
	if at, ok := a.(time.Time); ok {
		return at.Equal(b.(time.Time))
	}
	return reflect.DeepEqual(a, b)
}

func field(c *complaint.Complaint, name string) any {
	return reflect.ValueOf(*c).FieldByName(name).Interface()
}

// An update whose function fails writes nothing: not the fields it
// changed, not the version, not a timeline entry.
func failedUpdateChangesNothing(t *testing.T, s complaint.Store) {
	ctx := context.Background()
	c := create(t, s, "SH001", "")
	refused := errors.New("refused")
	_, err := s.Update(ctx, pg.Dealers("SH001"), c.ID, "agent-1", t0.Add(time.Minute), func(c *complaint.Complaint) (complaint.Change, error) {
		c.Severity, c.Description = "low", "changed"
		return complaint.Change{Kind: complaint.ChangeUpdated}, refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("update: %v, want the function's error", err)
	}
	stored, err := s.Get(ctx, pg.Dealers("SH001"), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Severity != c.Severity || stored.Description != c.Description || stored.Version != c.Version {
		t.Fatalf("a failed update changed %+v to %+v", c, stored)
	}
	evs, err := s.Events(ctx, pg.Dealers("SH001"), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != string(complaint.ChangeCreated) {
		t.Fatalf("timeline %+v, want the one created entry", evs)
	}
}

// A source opens one complaint per dealer: creating it again answers it.
func createBySourceAnswersTheExisting(t *testing.T, s complaint.Store) {
	first := create(t, s, "SH001", "callback/task-1")
	if again := create(t, s, "SH001", "callback/task-1"); again.ID != first.ID {
		t.Fatalf("a repeated create made %s, want %s", again.ID, first.ID)
	}
	if other := create(t, s, "SH002", "callback/task-1"); other.ID == first.ID {
		t.Fatal("another dealer's complaint from the same source was the first dealer's")
	}
}

// A clock event is recorded once per key: its level and notice once.
func clockEventRecordedOncePerKey(t *testing.T, s complaint.Store) {
	ctx := context.Background()
	c := create(t, s, "SH001", "")
	ev := complaint.ClockEvent{Key: "escalated/L2", Kind: "escalated", Level: 2, Time: t0.Add(time.Hour), Detail: "resolution overdue"}
	for i, want := range []bool{true, false} {
		got, err := s.RecordClockEvent(ctx, c.ID, ev.Key, ev.Time, func(c *complaint.Complaint) (complaint.ClockRecord, error) {
			return c.Clock(ev), nil
		})
		if err != nil || got != want {
			t.Fatalf("record #%d: %v, %v; want %v", i+1, got, err, want)
		}
	}
	stored, err := s.Get(ctx, pg.Dealers("SH001"), c.ID)
	if err != nil || stored.Level != 2 {
		t.Fatalf("level %+v, %v; want 2", stored, err)
	}
	ns, err := s.Notifications(ctx, pg.Dealers("SH001"), "SH001", "", 10)
	if err != nil || len(ns) != 1 || ns[0].RecipientRole != escalation.RecipientRole(2) || ns[0].Level != 2 {
		t.Fatalf("notifications %+v, %v; want one to L2", ns, err)
	}
	evs, err := s.Events(ctx, pg.Dealers("SH001"), c.ID)
	if err != nil || len(evs) != 2 || evs[1].Key != ev.Key || evs[1].Level != 2 {
		t.Fatalf("timeline %+v, %v", evs, err)
	}
}

// Another dealer's complaint is not found, to read or to change.
func outOfScopeIsNotFound(t *testing.T, s complaint.Store) {
	ctx := context.Background()
	c := create(t, s, "SH001", "")
	if _, err := s.Get(ctx, pg.Dealers("SH002"), c.ID); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("get from SH002: %v, want not found", err)
	}
	called := false
	_, err := s.Update(ctx, pg.Dealers("SH002"), c.ID, "agent-2", t0, func(*complaint.Complaint) (complaint.Change, error) {
		called = true
		return complaint.Change{Kind: complaint.ChangeUpdated}, nil
	})
	if apperr.Code(err) != apperr.ENOTFOUND || called {
		t.Fatalf("update from SH002: %v (called %v), want not found", err, called)
	}
}

// Each policy write is a new version; the version a complaint is filed
// under is stored with it, and every version stays readable.
func policyVersionsAreKept(t *testing.T, s complaint.Store) {
	ctx := context.Background()
	if p, err := s.Policy(ctx, "SH001"); err != nil || p.Version != 0 || p.Overridden {
		t.Fatalf("before any write: %+v, %v; want the built-in default, version 0", p, err)
	}
	if p, err := s.PolicyVersion(ctx, 0); err != nil || !reflect.DeepEqual(p.Targets, complaint.DefaultPolicy().Targets) {
		t.Fatalf("version 0: %+v, %v", p, err)
	}
	write := func(scope string, response time.Duration) complaint.Policy {
		t.Helper()
		p := complaint.DefaultPolicy()
		for i := range p.Targets {
			p.Targets[i].Response = response
		}
		if err := s.PutPolicy(ctx, scope, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.Policy(ctx, scope)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := write(complaint.DefaultScope, time.Hour)
	second := write(complaint.DefaultScope, 2*time.Hour)
	own := write("SH002", 3*time.Hour)
	if !(0 < first.Version && first.Version < second.Version && second.Version < own.Version) {
		t.Fatalf("versions %d, %d, %d: want increasing from 1", first.Version, second.Version, own.Version)
	}
	if p, err := s.Policy(ctx, "SH001"); err != nil || p.Version != second.Version || p.Dealer != "SH001" || p.Overridden {
		t.Errorf("SH001 falls back to the default: %+v, %v", p, err)
	}
	for _, want := range []complaint.Policy{first, second, own} {
		got, err := s.PolicyVersion(ctx, want.Version)
		if err != nil || got.Version != want.Version || got.Targets[0].Response != want.Targets[0].Response || got.Overridden != want.Overridden || got.Dealer != want.Dealer {
			t.Errorf("version %d: %+v, %v; want %+v", want.Version, got, err, want)
		}
	}
	if _, err := s.PolicyVersion(ctx, own.Version+100); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("an unknown version: %v, want not found", err)
	}
	in := &complaint.Complaint{Dealer: "SH001", Channel: "phone", Category: "parts", Severity: "high",
		Description: "noise", PolicyVersion: first.Version}
	c, err := s.Create(ctx, in, in.Filed(), "agent-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if stored, err := s.Get(ctx, pg.Dealers("SH001"), c.ID); err != nil || stored.PolicyVersion != first.Version || c.PolicyVersion != first.Version {
		t.Errorf("filed under %d: answered %d, stored %+v, %v", first.Version, c.PolicyVersion, stored, err)
	}
}
