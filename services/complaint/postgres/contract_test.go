package postgres_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/dealercare/dealercare/services/complaint/postgres"
)

// updatable reads each field complaint.UpdatableFields names off a
// complaint; a field added there without a line here fails the test.
var updatable = map[string]func(*complaint.Complaint) string{
	"severity":    func(c *complaint.Complaint) string { return c.Severity },
	"category":    func(c *complaint.Complaint) string { return c.Category },
	"description": func(c *complaint.Complaint) string { return c.Description },
	"customer":    func(c *complaint.Complaint) string { return c.Customer },
	"vin":         func(c *complaint.Complaint) string { return c.VIN },
}

// An update of every updatable field is what a later read returns: the
// answer of the update and a fresh Get both carry the new values.
func TestUpdateWritesEveryUpdatableField(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	c := create(t, s, "SH001", "", t0)
	in := complaint.Complaint{Severity: "critical", Category: "price", Description: "charged twice for the oil change",
		Customer: "cust-42", VIN: "LSVAU2180N2183294"}
	for _, f := range complaint.UpdatableFields {
		get, ok := updatable[f]
		if !ok {
			t.Fatalf("updatable field %q has no check in this test", f)
		}
		if get(c) == get(&in) {
			t.Fatalf("field %q: the test's new value equals the old one", f)
		}
	}
	answer, err := s.Update(ctx, pg.Dealers("SH001"), c.ID, "agent-1", t0.Add(1), func(c *complaint.Complaint) (postgres.Change, error) {
		_, err := c.Update(in, complaint.UpdatableFields)
		return postgres.Change{Kind: "updated", Change: "updated"}, err
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
func TestUpdateWritesEveryMutableField(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	c := create(t, s, "SH001", "", t0)
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
		"Version":           func(*complaint.Complaint) {}, // the update's own
		"UpdateTime":        func(*complaint.Complaint) {}, // the update's own
	}
	typ := reflect.TypeFor[complaint.Complaint]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		if _, ok := changed[name]; !ok && !slices.Contains(fixedFields, name) {
			t.Fatalf("complaint.Complaint.%s is neither changed by this test nor listed as fixed", name)
		}
	}
	var want complaint.Complaint
	answer, err := s.Update(ctx, pg.Dealers("SH001", "SH002"), c.ID, "manager-1", at, func(c *complaint.Complaint) (postgres.Change, error) {
		for _, fn := range changed {
			fn(c)
		}
		want = *c
		want.Version, want.UpdateTime = c.Version+1, at
		return postgres.Change{Kind: "updated", Change: "updated"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Get(ctx, pg.Dealers("SH002"), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	same := func(a, b any) bool {
		if at, ok := a.(time.Time); ok {
			return at.Equal(b.(time.Time))
		}
		return reflect.DeepEqual(a, b)
	}
	field := func(c *complaint.Complaint, name string) any {
		return reflect.ValueOf(*c).FieldByName(name).Interface()
	}
	for name := range changed {
		w := field(&want, name)
		if same(w, field(c, name)) {
			t.Errorf("%s: the test's new value %v equals the old one", name, w)
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
