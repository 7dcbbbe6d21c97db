package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/webhook/postgres"
	"github.com/dealercare/dealercare/services/webhook/webhook"
)

// TestRowLevelSecurity: every table is under the tenant policy, and the
// policy itself (not only the store's WHERE clauses) keeps a dealer's
// transaction from writing or reading another dealer's or HQ's
// subscriptions and deliveries.
func TestRowLevelSecurity(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	if err := pg.VerifyTenantTables(ctx, db.Pool, postgres.Schema); err != nil {
		t.Fatal(err)
	}
	st := postgres.NewStore(db.AppPool(t, pg.Config{}))
	now := time.Now().UTC()
	sub := func(owner string) webhook.Subscription {
		return webhook.Subscription{Owner: owner, ID: outbox.NewID(), URL: "https://x.example/h", State: webhook.StateActive,
			EventTypes: []string{events.WebhookComplaintCreated}, CreateTime: now, UpdateTime: now}
	}
	d1, hq := sub("D1"), sub(webhook.HQ)
	if err := st.CreateSubscription(ctx, pg.Dealers("D1"), d1, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSubscription(ctx, pg.AllDealers(), hq, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSubscription(ctx, pg.Dealers("D2"), sub("D1"), []byte("sealed")); err == nil {
		t.Error("D2's transaction created a subscription for D1")
	}
	if err := st.CreateSubscription(ctx, pg.Dealers("D2"), sub(webhook.HQ), []byte("sealed")); err == nil {
		t.Error("a dealer's transaction created an HQ subscription")
	}
	for _, c := range []struct {
		scope     pg.Scope
		owner, id string
	}{{pg.Dealers("D2"), "D1", d1.ID}, {pg.Dealers("D1"), webhook.HQ, hq.ID}} {
		if _, err := st.GetSubscription(ctx, c.scope, c.owner, c.id); apperr.Code(err) != apperr.ENOTFOUND {
			t.Errorf("%s reading %q's subscription: %v, want not found", c.scope, c.owner, err)
		}
	}
	// The fan-out logs the event for D1's and HQ's subscriptions, not for
	// another dealer's, and a repeat logs nothing new.
	for range 2 {
		ts, err := st.Fanout(ctx, outbox.NewID(), "D3", events.WebhookComplaintCreated, "dealers/D3/complaints/x", []byte(`{}`), now)
		if err != nil || len(ts) != 1 || ts[0].Owner != webhook.HQ {
			t.Errorf("D3's event fanned out to %+v, %v; want HQ's subscription only", ts, err)
		}
	}
	ev := outbox.NewID()
	for range 2 {
		ts, err := st.Fanout(ctx, ev, "D1", events.WebhookComplaintCreated, "dealers/D1/complaints/x", []byte(`{}`), now)
		if err != nil || len(ts) != 2 {
			t.Errorf("D1's event fanned out to %+v, %v; want D1's and HQ's", ts, err)
		}
	}
	if ds, _, err := st.ListDeliveries(ctx, pg.Dealers("D1"), "D1", d1.ID, webhook.Page{Size: 10}); err != nil || len(ds) != 1 {
		t.Errorf("D1's log: %+v, %v", ds, err)
	}
	if _, _, err := st.ListDeliveries(ctx, pg.Dealers("D2"), "D1", d1.ID, webhook.Page{Size: 10}); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("D2 listing D1's log: %v, want not found", err)
	}
}

// TestDeliveryLogPages: the delivery log pages newest first by keyset.
// Walking it in small pages, with deliveries sharing a create time (the
// id breaks the tie) and new ones logged during the walk, yields every
// row there was when the walk began exactly once, in the order of one
// big page. A token that is malformed or from another subscription's or
// dealer's log is EINVALID on page_token.
func TestDeliveryLogPages(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	st := postgres.NewStore(db.AppPool(t, pg.Config{}))
	base := time.Now().UTC().Truncate(time.Second)
	sub := func(owner string) webhook.Subscription {
		s := webhook.Subscription{Owner: owner, ID: outbox.NewID(), URL: "https://x.example/h", State: webhook.StateActive,
			EventTypes: []string{events.WebhookComplaintCreated}, CreateTime: base, UpdateTime: base}
		if err := st.CreateSubscription(ctx, pg.Dealers(owner), s, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b, other := sub("D1"), sub("D1"), sub("D2")
	fanout := func(dealer string, at time.Time) {
		t.Helper()
		if _, err := st.Fanout(ctx, outbox.NewID(), dealer, events.WebhookComplaintCreated, "dealers/"+dealer+"/complaints/x", []byte(`{}`), at); err != nil {
			t.Fatal(err)
		}
	}
	// 230 deliveries to each of D1's subscriptions, five to a create time.
	const n = 230
	for i := range n {
		fanout("D1", base.Add(time.Duration(i/5)*time.Millisecond))
	}
	fanout("D2", base)

	list := func(s webhook.Subscription, p webhook.Page) ([]webhook.Delivery, string, error) {
		return st.ListDeliveries(ctx, pg.Dealers(s.Owner), s.Owner, s.ID, p)
	}
	want, next, err := list(a, webhook.Page{Size: webhook.MaxPageSize})
	if err != nil || len(want) != n || next != "" {
		t.Fatalf("one page of a's log: %d rows, next %q, %v; want %d, none", len(want), next, err, n)
	}
	for i := 1; i < len(want); i++ {
		p, d := want[i-1], want[i]
		if !p.CreateTime.After(d.CreateTime) && !(p.CreateTime.Equal(d.CreateTime) && p.ID > d.ID) {
			t.Fatalf("row %d (%v %s) is not older than row %d (%v %s)", i, d.CreateTime, d.ID, i-1, p.CreateTime, p.ID)
		}
	}

	var got []webhook.Delivery
	tok, pages := "", 0
	for {
		page, next, err := list(a, webhook.Page{After: tok, Size: 7})
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(page) > 7 || (next != "" && len(page) != 7) {
			t.Fatalf("page %d has %d rows (next %q), want 7 but for the last", pages, len(page), next)
		}
		got = append(got, page...)
		pages++
		if pages == 3 {
			fanout("D1", base.Add(time.Hour)) // newer than the walk's start
		}
		if next == "" {
			break
		}
		tok = next
	}
	if pages != (n+6)/7 || len(got) != n {
		t.Fatalf("%d pages of 7 gave %d rows; want %d pages, %d rows", pages, len(got), (n+6)/7, n)
	}
	seen := map[string]bool{}
	for i, d := range got {
		if seen[d.ID] {
			t.Errorf("delivery %s repeated (row %d)", d.ID, i)
		}
		seen[d.ID] = true
		if d.ID != want[i].ID {
			t.Fatalf("row %d is %s, want %s as in one page", i, d.ID, want[i].ID)
		}
	}

	// The default page is DefaultPageSize, and more than MaxPageSize is
	// MaxPageSize.
	if page, next, err := list(a, webhook.Page{}); err != nil || len(page) != webhook.DefaultPageSize || next == "" {
		t.Errorf("default page: %d rows, next %q, %v; want %d and a token", len(page), next, err, webhook.DefaultPageSize)
	}
	if page, _, err := list(a, webhook.Page{Size: 5000}); err != nil || len(page) != n+1 {
		t.Errorf("a page of 5000: %d rows, %v; want all %d", len(page), err, n+1)
	}

	// Tokens of b's and D2's logs are well formed but not a's.
	_, bTok, err := list(b, webhook.Page{Size: 3})
	if err != nil || bTok == "" {
		t.Fatalf("b's first page: token %q, %v", bTok, err)
	}
	fanout("D2", base.Add(time.Second))
	_, dTok, err := list(other, webhook.Page{Size: 1})
	if err != nil || dTok == "" {
		t.Fatalf("D2's first page: token %q, %v", dTok, err)
	}
	for name, tok := range map[string]string{
		"not base64": "%%%", "not a position": "bm90IGEgdG9rZW4", "b's log": bTok, "D2's log": dTok,
		"a's row at another time": pg.EncodePageToken(want[3].CreateTime.Add(time.Microsecond), want[3].ID),
	} {
		_, _, err := list(a, webhook.Page{After: tok, Size: 7})
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.EINVALID || len(e.Violations) != 1 || e.Violations[0].Field != "page_token" {
			t.Errorf("a token from %s: %v, want EINVALID on page_token", name, err)
		}
	}
}
