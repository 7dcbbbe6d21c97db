package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"github.com/dealercare/dealercare/services/campaign/postgres"
	"github.com/jackc/pgx/v5"
)

// The target feed hands out each recipient of a started campaign once,
// at the customer's dealer with its campaign's return window; sending and
// receipts add nothing; a VIN changed in a transaction that commits late
// is never skipped.
func TestTargetChanges(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	var vins []string
	for dealer, cs := range e.dir.contacts {
		for i := range cs {
			cs[i].VIN = validate.CompleteVIN(fmt.Sprintf("LVXNABCD0%s%05d", dealer[2:], i))
			vins = append(vins, cs[i].VIN)
		}
	}
	read := func(after pg.ChangeCursor, n int) []postgres.TargetChange {
		t.Helper()
		got, _, err := pgtest.ChangesReady(t, n, func() ([]postgres.TargetChange, bool, error) { return e.store.ListTargetChanges(ctx, after, 0) })
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	draft, err := e.svc.Create(manager, "SH001", newDraft)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := e.store.ListTargetChanges(ctx, pg.ChangeCursor{}, 0); err != nil || len(got) != 0 {
		t.Fatalf("a draft has no targets: %+v %v", got, err)
	}
	e.start(t, "SH001", draft)
	hqc, err := e.svc.Create(hq, campaign.HQOwner, campaign.Campaign{Kind: campaign.KindRecall, Name: "召回", Code: "RC-1",
		Audience: campaign.Audience{VINs: vins}, Channels: []campaign.Channel{campaign.ChannelSMS}, Template: campaign.Template{Body: "{{customer_name}}您好，召回通知。"}, ContactPhone: "400"})
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, campaign.HQOwner, hqc)
	all := read(pg.ChangeCursor{}, 70)
	if len(all) != 70 {
		t.Fatalf("targets %d, want 30 + 40", len(all))
	}
	perDealer := map[string]int{}
	for _, c := range all {
		perDealer[c.Owner+">"+c.Dealer]++
		if c.WindowEnd.Sub(c.WindowStart) != campaign.DefaultReturnWindow || c.WindowStart.IsZero() || c.VIN == "" {
			t.Errorf("target %+v: window or VIN", c)
		}
		if c.Owner == campaign.HQOwner && (c.Kind != "recall" || c.Code != "RC-1") {
			t.Errorf("HQ target %+v: kind and code", c)
		}
	}
	if perDealer["SH001>SH001"] != 30 || perDealer[">SH001"] != 30 || perDealer[">SH002"] != 10 {
		t.Errorf("targets by owner>dealer %v", perDealer)
	}
	cursor := all[len(all)-1].Cursor

	// Sending changes states, not targets: nothing new in the feed.
	for {
		b, err := e.svc.Dispatch(worker, "SH001", draft.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if b.Remaining == 0 {
			break
		}
	}
	time.Sleep(100 * time.Millisecond)
	if got, _, err := e.store.ListTargetChanges(ctx, cursor, 0); err != nil || len(got) != 0 {
		t.Fatalf("after sending the feed hands out %d (%v)", len(got), err)
	}

	// Transaction A changes a VIN first (smaller seq) and stays open
	// while B changes another and commits: B waits for A.
	txA, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer txA.Rollback(ctx)
	if _, err := txA.Exec(ctx, `SELECT set_config('app.all_dealers', 'on', true)`); err != nil {
		t.Fatal(err)
	}
	a, b := all[0], all[1]
	if _, err := txA.Exec(ctx, `UPDATE recipients SET vin = 'NEWVIN-A' WHERE campaign_id = $1 AND customer_id = $2`, a.Campaign, a.Customer); err != nil {
		t.Fatal(err)
	}
	if err := pg.InTx(ctx, e.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE recipients SET vin = 'NEWVIN-B' WHERE campaign_id = $1 AND customer_id = $2`, b.Campaign, b.Customer)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := e.store.ListTargetChanges(ctx, cursor, 0); err != nil || len(got) != 0 {
		t.Fatalf("while A runs the feed hands out %+v (%v); B's change must wait", got, err)
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := read(cursor, 2)
	if len(got) != 2 || got[0].VIN != "NEWVIN-A" || got[1].VIN != "NEWVIN-B" || got[0].Cursor.Seq <= a.Cursor.Seq {
		t.Fatalf("after A commits: %+v", got)
	}
	cursor = got[1].Cursor

	// A campaign's window moving restamps its targets.
	if err := pg.InTx(ctx, e.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE campaigns SET return_window_s = 86400 WHERE id = $1`, hqc.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got = read(cursor, 40)
	if len(got) != 40 || got[0].WindowEnd.Sub(got[0].WindowStart) != 24*time.Hour {
		t.Fatalf("after the HQ window changed: %d changes", len(got))
	}
	// Paging one at a time reaches the same end.
	c := cursor
	for i := range 40 {
		page, more, err := e.store.ListTargetChanges(ctx, c, 1)
		if err != nil || len(page) != 1 || more != (i < 39) {
			t.Fatalf("page %d: %+v %v %v", i, page, more, err)
		}
		c = page[0].Cursor
	}
	if c != got[39].Cursor {
		t.Errorf("paged to %v, want %v", c, got[39].Cursor)
	}
}
