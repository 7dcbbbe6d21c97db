package app_test

import (
	"context"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/services/webhook/webhook"
	"github.com/jackc/pgx/v5"
)

type notice struct{ dealer, role, subject, message string }

// notices reads every notice in the complaint service's inboxes (an
// error until the service has migrated its schema).
func notices(db *pgtest.DB) ([]notice, error) {
	var out []notice
	err := pg.InReadOnlyTx(context.Background(), db.Pool, pg.AllDealers(), func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT dealer_id, recipient_role, subject, message
            FROM complaint.notifications WHERE notice_key IS NOT NULL ORDER BY dealer_id, recipient_role`)
		if err != nil {
			return err
		}
		var n notice
		_, err = pgx.ForEachRow(rows, []any{&n.dealer, &n.role, &n.subject, &n.message}, func() error {
			out = append(out, n)
			return nil
		})
		return err
	})
	return out, err
}

// TestDisabledSubscriptionNotifiesItsOwnerOnce: a dealer's and HQ's
// subscriptions fail until both are disabled while the complaint service
// (the inboxes) is down, so the first notices fail and are retried; once
// it is up, the dealer's GM and manager and HQ's admin each get exactly
// one notice about their own subscription, however many deliveries and
// retries asked.
func TestDisabledSubscriptionNotifiesItsOwnerOnce(t *testing.T) {
	e := setup(t)
	complaintBin := serviceBin(t, "complaint")
	complaintDB := pgtest.New(t, "complaint", fstest.MapFS{})
	complaintAddr := programtest.FreePorts(t, 1)[0]

	r := newReceiver(t)
	r.failUntil = time.Now().Add(time.Hour)
	dealerSub, secret, err := e.svc.Create(manager("D7"), "D7", webhook.Subscription{URL: r.srv.URL,
		EventTypes: []string{events.WebhookCallbackCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	hqSub, hqSecret, err := e.svc.Create(e.hq, webhook.HQ, webhook.Subscription{URL: r.srv.URL,
		EventTypes: []string{events.WebhookCallbackCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	r.secrets = []string{secret, hqSecret}
	programtest.Start(t, e.bin, e.dir, append(e.baseEnv, "WEBHOOK_RETRY_FOR=6s", "WEBHOOK_ATTEMPT_TIMEOUT=2s",
		"COMPLAINT_GRPC_TARGET="+complaintAddr, "SERVICE_TOKEN_FILE="+e.id.ServiceTokenFile))
	var evs []emitted
	for range 3 {
		evs = append(evs, emitted{"D7", events.WebhookCallbackCompleted, "dealers/D7/callbackTasks/" + outbox.NewID(), outbox.NewID()})
	}
	e.emit(t, evs, time.Now())
	waitUntil(t, 2*time.Minute, "both subscriptions disabled", func() bool {
		d, err1 := e.svc.Get(manager("D7"), "D7", dealerSub.ID)
		h, err2 := e.svc.Get(e.hq, webhook.HQ, hqSub.ID)
		return err1 == nil && err2 == nil && d.State == webhook.StateDisabled && h.State == webhook.StateDisabled
	})
	time.Sleep(2 * time.Second) // the notices fail meanwhile: no inbox is up

	programtest.Start(t, complaintBin, e.dir, slices.Concat(e.authEnv, []string{
		"DATABASE_URL=" + complaintDB.AppURL, "MIGRATE_ON_START=true", "MIGRATE_DATABASE_URL=" + complaintDB.OwnerURL,
		"DATABASE_APP_ROLE=" + pgtest.AppRole, "COMPLAINT_GRPC_ADDR=" + complaintAddr, "SERVICE_TOKEN_FILE=" + e.id.ServiceTokenFile,
		"CUSTOMER_GRPC_TARGET=" + programtest.FreePorts(t, 1)[0], "OUTBOX_RELAY=false", "LOG_LEVEL=warn",
		"TEMPORAL_ADDRESS=" + temporaltest.Address(t),
	}))
	want := []notice{
		{"", "hq_admin", "webhookSubscriptions/" + hqSub.ID, ""},
		{"D7", "dealer_gm", "dealers/D7/webhookSubscriptions/" + dealerSub.ID, ""},
		{"D7", "dealer_manager", "dealers/D7/webhookSubscriptions/" + dealerSub.ID, ""},
	}
	waitUntil(t, 3*time.Minute, "the owners' notices", func() bool {
		got, err := notices(complaintDB)
		return err == nil && len(got) >= len(want)
	})
	// Retried and repeated asks go on arriving for a while: still one each.
	time.Sleep(5 * time.Second)
	got, err := notices(complaintDB)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("notices %+v, want one for each of %+v", got, want)
	}
	for i, n := range got {
		w := want[i]
		if n.dealer != w.dealer || n.role != w.role || n.subject != w.subject {
			t.Errorf("notice %d: %+v, want %+v", i, n, w)
		}
	}
}
