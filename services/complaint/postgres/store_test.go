package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/complaint/complaint"
	"github.com/dealercare/dealercare/services/complaint/postgres"
)

var t0 = time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai

func open(t *testing.T) *postgres.Store {
	t.Helper()
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	if err := pg.VerifyTenantTables(context.Background(), db.Pool, postgres.Schema); err != nil {
		t.Fatal(err)
	}
	pool := db.AppPool(t, pg.Config{})
	return postgres.NewStore(pool)
}

func create(t *testing.T, s *postgres.Store, dealer, source string, at time.Time) *complaint.Complaint {
	t.Helper()
	in := &complaint.Complaint{
		Dealer: dealer, Channel: "phone", Category: "parts", Severity: "high", Description: "noise after repair", Source: source,
	}
	c, err := s.Create(context.Background(), in, in.Filed(), "agent-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// transfer moves a complaint the way TransferComplaint does.
func transfer(t *testing.T, s *postgres.Store, id, from, to string, at time.Time) {
	t.Helper()
	_, err := s.Update(context.Background(), pg.Dealers(from, to), id, "manager-1", at, func(c *complaint.Complaint) (complaint.Change, error) {
		c.Dealer, c.Assignee = to, ""
		return complaint.Change{Kind: complaint.ChangeTransferred, Detail: from + " → " + to}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func acknowledge(t *testing.T, s *postgres.Store, dealer, id string, at time.Time) {
	t.Helper()
	_, err := s.Update(context.Background(), pg.Dealers(dealer), id, "agent-1", at, func(c *complaint.Complaint) (complaint.Change, error) {
		return complaint.Change{Kind: complaint.ChangeAcknowledged}, c.Apply(complaint.ActionAcknowledge, at)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// recordClock records a clock event the way the service does.
func recordClock(s *postgres.Store, id string, ev complaint.ClockEvent) (bool, error) {
	return s.RecordClockEvent(context.Background(), id, ev.Key, ev.Time, func(c *complaint.Complaint) (complaint.ClockRecord, error) {
		return c.Clock(ev), nil
	})
}

// listAll pages through List and returns the ids in the order received.
func listAll(t *testing.T, s *postgres.Store, scope pg.Scope, f complaint.ListFilter, size int) []string {
	t.Helper()
	var ids []string
	after := ""
	for range 100 {
		page, next, err := s.List(context.Background(), scope, f, after, size)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > size {
			t.Fatalf("a page of %d has %d complaints", size, len(page))
		}
		for _, c := range page {
			ids = append(ids, c.ID)
		}
		if next == "" {
			return ids
		}
		after = next
	}
	t.Fatalf("List %+v (pages of %d) did not end", f, size)
	return nil
}

// List shows a dealer the complaints it owns and those it filed that
// another dealer now owns, each once, newest first with ties by id, and
// its pages join up whatever their size.
func TestListPagesOwnedAndOriginatedComplaints(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	const a, b, c = "SH001", "SH002", "SH003"
	owners := []string{a, a, b, a, c, b}
	// Three complaints to each instant, so pages end between equal times.
	var all []string
	filed := map[string][]string{}
	for i := range 24 {
		d := owners[i%len(owners)]
		id := create(t, s, d, "", t0.Add(time.Duration(i/3)*time.Hour)).ID
		all = append(all, id)
		filed[d] = append(filed[d], id)
	}
	as, bs, cs := filed[a], filed[b], filed[c]
	later := t0.Add(24 * time.Hour)
	// a filed as[0], b owns it and acknowledges it: both see it.
	transfer(t, s, as[0], a, b, later)
	acknowledge(t, s, b, as[0], later)
	// a filed as[1], c owns it: b no longer sees it.
	transfer(t, s, as[1], a, b, later)
	transfer(t, s, as[1], b, c, later)
	// as[2] came back home: a sees it once, b not at all.
	transfer(t, s, as[2], a, b, later)
	transfer(t, s, as[2], b, a, later)
	// b filed bs[0], a owns it.
	transfer(t, s, bs[0], b, a, later)
	acknowledge(t, s, a, bs[0], later)
	// a neither filed nor owns cs[0].
	transfer(t, s, cs[0], c, b, later)
	acknowledge(t, s, a, as[3], later)
	acknowledge(t, s, a, as[len(as)-1], later)
	// Escalated and critical ones, for the level and severity filters.
	for _, e := range []struct {
		id    string
		level int
	}{{as[3], 1}, {bs[1], 2}, {as[1], 3}} {
		if _, err := recordClock(s, e.id, complaint.ClockEvent{Key: fmt.Sprintf("response/L%d", e.level), Kind: "escalated", Level: e.level, Time: later, Detail: "response overdue"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{cs[1], as[0]} {
		if _, err := s.Update(ctx, pg.AllDealers(), id, "manager-1", later, func(c *complaint.Complaint) (complaint.Change, error) {
			c.Severity = "critical"
			return complaint.Change{Kind: complaint.ChangeSeverityChanged}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	var stored []*complaint.Complaint
	for _, id := range all {
		got, err := s.Get(ctx, pg.AllDealers(), id)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, got)
	}
	// wantOf is what f lists of dealers' complaints (nil: every dealer's),
	// from the rule: owner or filer.
	wantOf := func(dealers []string, f complaint.ListFilter) []string {
		in := func(d string) bool { return dealers == nil || slices.Contains(dealers, d) }
		var cs []*complaint.Complaint
		for _, c := range stored {
			if (in(c.Dealer) || in(c.OriginDealer)) && (f.State == "" || c.State == f.State) &&
				(f.Severity == "" || c.Severity == f.Severity) && c.Level >= f.MinLevel {
				cs = append(cs, c)
			}
		}
		// Canonical uuid text sorts as the uuid does.
		slices.SortFunc(cs, func(x, y *complaint.Complaint) int {
			if n := y.CreateTime.Compare(x.CreateTime); n != 0 {
				return n
			}
			return strings.Compare(y.ID, x.ID)
		})
		var ids []string
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		return ids
	}
	want := func(dealer, state string) []string {
		return wantOf([]string{dealer}, complaint.ListFilter{State: state})
	}
	// The rule applied to the transfers above.
	for _, tc := range []struct {
		dealer, state string
		sees, hidden  []string
	}{
		{a, "", []string{as[0], as[1], as[2], bs[0]}, []string{cs[0]}},
		{a, complaint.StateAcknowledged, []string{as[0], bs[0], as[3]}, []string{as[1], as[2]}},
		{b, "", []string{as[0], bs[0], cs[0]}, []string{as[1], as[2]}},
		{b, complaint.StateAcknowledged, []string{as[0], bs[0]}, []string{as[3]}},
		{c, "", []string{as[1], cs[0]}, []string{as[0], bs[0]}},
	} {
		w := want(tc.dealer, tc.state)
		for _, id := range tc.sees {
			if !slices.Contains(w, id) {
				t.Fatalf("%s (state %q) should see %s", tc.dealer, tc.state, id)
			}
		}
		for _, id := range tc.hidden {
			if slices.Contains(w, id) {
				t.Fatalf("%s (state %q) should not see %s", tc.dealer, tc.state, id)
			}
		}
	}

	for _, dealer := range []string{a, b, c} {
		for _, state := range []string{"", complaint.StateNew, complaint.StateAcknowledged, complaint.StateClosed} {
			w := want(dealer, state)
			// A region's and HQ's scopes see more but list only the dealer's.
			for _, scope := range []pg.Scope{pg.Dealers(dealer), pg.Dealers(a, b, c), pg.AllDealers()} {
				// len(w): the last page is full, the page after it empty.
				for _, size := range []int{1, 2, 3, 5, len(w), 100} {
					if size == 0 {
						continue
					}
					if got := listAll(t, s, scope, complaint.ListFilter{Dealer: dealer, State: state}, size); !slices.Equal(got, w) {
						t.Errorf("List(%s, state %q, pages of %d) under %s:\n got %v\nwant %v", dealer, state, size, scope, got, w)
					}
				}
			}
		}
	}

	// Across dealers (/v1/dealers/-/complaints): every dealer of the scope,
	// with each filter, in pages of any size.
	if n := len(wantOf(nil, complaint.ListFilter{})); n != len(all) {
		t.Fatalf("every dealer: %d complaints, want %d", n, len(all))
	}
	filters := []complaint.ListFilter{{}, {State: complaint.StateAcknowledged}, {Severity: "critical"}, {MinLevel: 1},
		{MinLevel: 2}, {MinLevel: 1, State: complaint.StateAcknowledged}, {Severity: "high", MinLevel: 2}}
	for _, scope := range []pg.Scope{pg.Dealers(a), pg.Dealers(a, b), pg.Dealers(b, c), pg.Dealers(c), pg.AllDealers()} {
		for _, f := range filters {
			f.Dealer = tenancy.AnyDealer
			w := wantOf(scope.DealerCodes(), f)
			if scope.All() && len(w) == 0 {
				t.Fatalf("filter %+v matches nothing: the test checks nothing", f)
			}
			for _, size := range []int{1, 2, 3, 5, 100} {
				if got := listAll(t, s, scope, f, size); !slices.Equal(got, w) {
					t.Errorf("List(%+v, pages of %d) under %s:\n got %v\nwant %v", f, size, scope, got, w)
				}
			}
		}
	}
}

// Notifications lists newest first, ties by id, a role's alone when asked.
func TestNotificationsNewestFirst(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	for i := range 6 {
		c := create(t, s, "SH001", "", t0)
		at := t0.Add(time.Duration(i/3) * time.Hour) // three at each instant
		if _, err := recordClock(s, c.ID, complaint.ClockEvent{Key: "response/warn", Kind: "warned", Level: 0, Time: at, Detail: "response due soon"}); err != nil {
			t.Fatal(err)
		}
		if _, err := recordClock(s, c.ID, complaint.ClockEvent{Key: "response/L1", Kind: "escalated", Level: 1, Time: at.Add(time.Hour), Detail: "response overdue"}); err != nil {
			t.Fatal(err)
		}
	}
	create(t, s, "SH002", "", t0) // another dealer's, never listed
	all, err := s.Notifications(ctx, pg.Dealers("SH001"), "SH001", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 12 {
		t.Fatalf("%d notifications, want 12", len(all))
	}
	sorted := slices.IsSortedFunc(all, func(x, y complaint.Notification) int {
		if n := y.CreateTime.Compare(x.CreateTime); n != 0 {
			return n
		}
		return strings.Compare(x.ID, y.ID)
	})
	if !sorted {
		t.Fatalf("not newest first, ties by id: %+v", all)
	}
	first, err := s.Notifications(ctx, pg.Dealers("SH001"), "SH001", "", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, all[:4]) {
		t.Fatalf("a limit of 4 gave %+v, want %+v", first, all[:4])
	}
	for _, role := range []string{"agent", "dealer_manager"} {
		var want []complaint.Notification
		for _, n := range all {
			if n.RecipientRole == role {
				want = append(want, n)
			}
		}
		got, err := s.Notifications(ctx, pg.Dealers("SH001"), "SH001", role, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 6 || !slices.Equal(got, want) {
			t.Fatalf("role %s: got %+v, want %+v", role, got, want)
		}
	}
}

// A source opens one complaint per dealer: creating it again answers it.
func TestCreateBySourceAnswersTheExistingComplaint(t *testing.T) {
	s := open(t)
	first := create(t, s, "SH001", "callback/task-1", t0)
	again := create(t, s, "SH001", "callback/task-1", t0.Add(time.Hour))
	if again.ID != first.ID || !again.CreateTime.Equal(first.CreateTime) {
		t.Fatalf("a repeated create made %+v, want %+v", again, first)
	}
	if other := create(t, s, "SH002", "callback/task-1", t0); other.ID == first.ID {
		t.Fatal("another dealer's complaint from the same source was the first dealer's")
	}
	if plain := create(t, s, "SH001", "", t0); plain.ID == first.ID {
		t.Fatal("a complaint without a source was taken for the sourced one")
	}
}

// Across dealers, notifications are those of the scope's dealers (every
// dealer's for HQ), each saying whose complaint it was, newest first.
func TestNotificationsAcrossDealers(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	owner := map[string]string{}
	for i, d := range []string{"SH001", "SH002", "BJ001", "SH001", "BJ001", "SH002"} {
		c := create(t, s, d, "", t0)
		at := t0.Add(time.Duration(i) * time.Minute)
		for level := 1; level <= 3; level++ {
			if _, err := recordClock(s, c.ID, complaint.ClockEvent{Key: fmt.Sprintf("resolution/L%d", level), Kind: "escalated", Level: level, Time: at.Add(time.Duration(level) * time.Hour), Detail: "resolution overdue"}); err != nil {
				t.Fatal(err)
			}
		}
		owner[c.ID] = d
	}
	for _, tc := range []struct {
		scope   pg.Scope
		role    string
		dealers []string
		want    int
	}{
		{pg.AllDealers(), "", []string{"SH001", "SH002", "BJ001"}, 18},
		{pg.AllDealers(), "region_manager", []string{"SH001", "SH002", "BJ001"}, 6},
		{pg.Dealers("SH001", "SH002"), "", []string{"SH001", "SH002"}, 12},
		{pg.Dealers("SH001", "SH002"), "region_manager", []string{"SH001", "SH002"}, 4},
		{pg.Dealers("BJ001"), "dealer_gm", []string{"BJ001"}, 2},
	} {
		got, err := s.Notifications(ctx, tc.scope, tenancy.AnyDealer, tc.role, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("%s, role %q: %d notifications, want %d", tc.scope, tc.role, len(got), tc.want)
		}
		for i, n := range got {
			if !slices.Contains(tc.dealers, n.Dealer) || n.Dealer != owner[n.Complaint] || (tc.role != "" && n.RecipientRole != tc.role) {
				t.Errorf("%s, role %q: %+v", tc.scope, tc.role, n)
			}
			if i > 0 && got[i-1].CreateTime.Before(n.CreateTime) {
				t.Errorf("%s: not newest first at %d", tc.scope, i)
			}
		}
		if few, err := s.Notifications(ctx, tc.scope, tenancy.AnyDealer, tc.role, 3); err != nil || !slices.Equal(few, got[:min(3, len(got))]) {
			t.Errorf("%s, role %q, limit 3: %+v (%v), want %+v", tc.scope, tc.role, few, err, got[:min(3, len(got))])
		}
	}
}
