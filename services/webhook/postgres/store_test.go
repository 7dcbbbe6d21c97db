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
	if ds, err := st.ListDeliveries(ctx, pg.Dealers("D1"), "D1", d1.ID, 10); err != nil || len(ds) != 1 {
		t.Errorf("D1's log: %+v, %v", ds, err)
	}
	if _, err := st.ListDeliveries(ctx, pg.Dealers("D2"), "D1", d1.ID, 10); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("D2 listing D1's log: %v, want not found", err)
	}
}
