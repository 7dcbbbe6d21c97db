package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	webhookpg "github.com/dealercare/dealercare/services/webhook/postgres"
	"github.com/dealercare/dealercare/services/webhook/webhook"
	"github.com/jackc/pgx/v5"
)

// A dealer's manager lists the dealer's webhook subscriptions and one's
// delivery log, and redelivers a delivery: the receiver gets the same
// event id again, signed. Another dealer's manager can do none of it.
func TestWebhooksListDeliveriesAndRedeliver(t *testing.T) {
	s := startStackWith(t, stackOptions{webhookWorker: true})
	s.network(t)

	var mu sync.Mutex
	var got []string // webhook-id of every verified request
	var secret string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header, body, time.Now()); err != nil {
			t.Errorf("a delivery's signature: %v", err)
		}
		got = append(got, r.Header.Get("webhook-id"))
	}))
	t.Cleanup(recv.Close)
	received := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }

	gm := s.token(t, auth.Principal{Subject: "gm", Roles: []auth.Role{auth.RoleDealerGM}, Dealer: "SH001"})
	created := s.post(t, gm, "/v1/dealers/SH001/webhookSubscriptions",
		fmt.Sprintf(`{"url":%q,"eventTypes":[%q]}`, recv.URL, events.WebhookCallbackCompleted))
	sub := created["subscription"].(map[string]any)["id"].(string)
	mu.Lock()
	secret = created["secret"].(string)
	mu.Unlock()
	hq := s.post(t, s.admin(t), "/v1/webhookSubscriptions", `{"url":"https://bi.example.com/hooks","eventTypes":["`+events.WebhookCampaignCompleted+`"]}`)["subscription"].(map[string]any)["id"].(string)

	// A callback completes at SH001: the event as the callback service
	// records it, in its transaction's outbox.
	eventID := outbox.NewID()
	ev, err := events.WebhookEvent("SH001", events.WebhookCallbackCompleted, "dealers/SH001/callbackTasks/"+outbox.NewID(), time.Now(), map[string]any{"state": "COMPLETED"})
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = eventID
	ctx := context.Background()
	if err := pg.InTx(ctx, s.webhookDB.Pool, pg.Dealers("SH001"), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+webhookpg.Schema); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, ev)
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for len(received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if r := received(); len(r) != 1 || r[0] != eventID {
		t.Fatalf("the receiver got %v, want [%s]", r, eventID)
	}

	cfg := filepath.Join(t.TempDir(), "config.json")
	if r := s.cli(t, cfg, "login", "--url", s.url, "--dev", "--keys", s.keysDir(), "--role", "dealer_gm", "--dealer", "SH001"); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	// The dealer's subscriptions: its own, not HQ's.
	r := s.cli(t, cfg, "webhooks", "list", "--dealer", "SH001")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ID") || !strings.Contains(r.stdout, sub) || strings.Contains(r.stdout, hq) {
		t.Fatalf("webhooks list: %+v", r)
	}
	// The log: the delivery, delivered (the table waits for the worker to
	// have recorded the answer).
	var delivery string
	for time.Now().Before(deadline) {
		r = s.cli(t, cfg, "--json", "webhooks", "deliveries", sub, "--dealer", "SH001")
		var page struct {
			Deliveries []struct{ ID, EventID, State string } `json:"deliveries"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || r.code != 0 {
			t.Fatalf("webhooks deliveries --json: %v %+v", err, r)
		}
		if len(page.Deliveries) != 1 || page.Deliveries[0].EventID != eventID {
			t.Fatalf("webhooks deliveries: %+v", page)
		}
		if page.Deliveries[0].State == "WEBHOOK_DELIVERY_STATE_DELIVERED" {
			delivery = page.Deliveries[0].ID
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if delivery == "" {
		t.Fatal("the delivery was never recorded delivered")
	}
	r = s.cli(t, cfg, "webhooks", "deliveries", "--dealer", "SH001", sub)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); r.code != 0 || len(lines) != 2 ||
		!strings.Contains(lines[1], delivery) || !strings.Contains(lines[1], eventID) || !strings.Contains(lines[1], "DELIVERED") {
		t.Fatalf("webhooks deliveries (table): %+v", r)
	}

	// Another dealer's manager: not found, and nothing is sent.
	other := filepath.Join(t.TempDir(), "config.json")
	if r := s.cli(t, other, "login", "--url", s.url, "--dev", "--keys", s.keysDir(), "--role", "dealer_gm", "--dealer", "HZ001"); r.code != 0 {
		t.Fatalf("login HZ001: %+v", r)
	}
	for _, args := range [][]string{
		{"webhooks", "redeliver", sub, delivery, "--dealer", "SH001"},
		{"webhooks", "deliveries", sub, "--dealer", "SH001"},
	} {
		if r := s.cli(t, other, append([]string{"--lang", "en"}, args...)...); r.code != 1 || !strings.HasPrefix(r.stderr, "dealercare: ") || r.stdout != "" {
			t.Errorf("HZ001's %v: %+v", args, r)
		}
	}
	// Bad usage and a bad limit: the usage, or the API's error naming the field.
	if r := s.cli(t, cfg, "webhooks", "redeliver", sub); r.code != 2 || !strings.Contains(r.stderr, "usage: dealercare webhooks") {
		t.Errorf("redeliver without a delivery: %+v", r)
	}
	if r := s.cli(t, cfg, "--lang", "en", "webhooks", "deliveries", sub, "--dealer", "SH001", "--limit", "5000"); r.code != 1 || !strings.Contains(r.stderr, "page_size") {
		t.Errorf("--limit 5000: %+v", r)
	}

	// The redelivery: the same event id arrives again.
	r = s.cli(t, cfg, "webhooks", "redeliver", sub, delivery, "--dealer", "SH001")
	if r.code != 0 || !strings.Contains(r.stdout, delivery) {
		t.Fatalf("webhooks redeliver: %+v", r)
	}
	for len(received()) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // HZ001's refused redelivery must not arrive either
	if r := received(); len(r) != 2 || r[1] != eventID {
		t.Fatalf("after the redelivery the receiver got %v, want [%s %s]", r, eventID, eventID)
	}

	// A second event: pages of one row, followed by --page-token or
	// --all, give both deliveries once, newest first.
	ev.ID = outbox.NewID()
	if err := pg.InTx(ctx, s.webhookDB.Pool, pg.Dealers("SH001"), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+webhookpg.Schema); err != nil {
			return err
		}
		return outbox.Add(ctx, tx, ev)
	}); err != nil {
		t.Fatal(err)
	}
	for len(received()) < 3 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	type page struct {
		Deliveries    []struct{ ID, EventID string } `json:"deliveries"`
		NextPageToken string                         `json:"nextPageToken"`
	}
	var first, second, all page
	for _, c := range []struct {
		args []string
		into *page
	}{
		{[]string{"--limit", "1"}, &first},
		{[]string{"--limit", "1", "--all"}, &all},
	} {
		r := s.cli(t, cfg, append([]string{"--json", "webhooks", "deliveries", sub, "--dealer", "SH001"}, c.args...)...)
		if err := json.Unmarshal([]byte(r.stdout), c.into); err != nil || r.code != 0 {
			t.Fatalf("webhooks deliveries %v: %v %+v", c.args, err, r)
		}
	}
	r = s.cli(t, cfg, "--json", "webhooks", "deliveries", sub, "--dealer", "SH001", "--limit", "1", "--page-token", first.NextPageToken)
	if err := json.Unmarshal([]byte(r.stdout), &second); err != nil || r.code != 0 {
		t.Fatalf("webhooks deliveries --page-token: %v %+v", err, r)
	}
	if len(first.Deliveries) != 1 || first.Deliveries[0].EventID != ev.ID || first.NextPageToken == "" ||
		len(second.Deliveries) != 1 || second.Deliveries[0].EventID != eventID || second.NextPageToken != "" {
		t.Errorf("pages of one: %+v then %+v; want %s then %s", first, second, ev.ID, eventID)
	}
	if len(all.Deliveries) != 2 || all.Deliveries[0].EventID != ev.ID || all.Deliveries[1].EventID != eventID {
		t.Errorf("--all: %+v, want %s and %s", all, ev.ID, eventID)
	}
	if r := s.cli(t, cfg, "--lang", "en", "webhooks", "deliveries", sub, "--dealer", "SH001", "--page-token", "bm90IGEgdG9rZW4"); r.code != 1 || !strings.Contains(r.stderr, "page_token") {
		t.Errorf("a bad --page-token: %+v", r)
	}
}
