package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/services/webhook/delivery"
	"github.com/dealercare/dealercare/services/webhook/postgres"
	"github.com/dealercare/dealercare/services/webhook/webhook"
	"github.com/jackc/pgx/v5"
)

// receiver is an integrator's endpoint: it verifies every delivery's
// signature with the secrets it holds, answers 500 until failUntil, takes
// delay per request (so a kill finds deliveries in flight), and
// deduplicates by webhook-id.
type receiver struct {
	mu      sync.Mutex
	secrets []string
	// After a rotation at rotated: the previous and the new secret. Every
	// delivery signed a second after it must verify with both.
	old, fresh string
	rotated    time.Time
	unrotated  int // signed after the rotation without both signatures
	failUntil  time.Time
	delay      time.Duration
	requests   int
	failed     int // answered 500
	badSig     int
	oldSigned  int
	dups       int
	inflight   int // requests past verification, not yet answered
	seen       map[string]bool
	got        []delivery.Body // first arrivals, in order
	srv        *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{seen: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests++
	secrets, old, fresh, rotated, failUntil, delay := slices.Clone(r.secrets), r.old, r.fresh, r.rotated, r.failUntil, r.delay
	r.mu.Unlock()
	verified := false
	for _, s := range secrets {
		if webhook.Verify(s, req.Header, body, time.Now()) == nil {
			verified = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !verified {
		r.badSig++
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	if old != "" {
		withOld := webhook.Verify(old, req.Header, body, time.Now()) == nil
		withNew := webhook.Verify(fresh, req.Header, body, time.Now()) == nil
		if withOld {
			r.oldSigned++
		}
		if ts, _ := strconv.ParseInt(req.Header.Get(webhook.HeaderTimestamp), 10, 64); ts > rotated.Unix()+1 && !(withOld && withNew) {
			r.unrotated++
		}
	}
	if time.Now().Before(failUntil) {
		r.failed++
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	}
	r.inflight++
	r.mu.Unlock()
	time.Sleep(delay)
	r.mu.Lock()
	r.inflight--
	var b delivery.Body
	if err := json.Unmarshal(body, &b); err != nil || b.ID != req.Header.Get(webhook.HeaderID) {
		r.badSig++
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if r.seen[b.ID] {
		r.dups++
	} else {
		r.seen[b.ID] = true
		r.got = append(r.got, b)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) snapshot() (got []delivery.Body, badSig, dups, failed, oldSigned int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got), r.badSig, r.dups, r.failed, r.oldSigned
}

type emitted struct {
	dealer, typ, resource, id string
}

type env struct {
	db      *pgtest.DB
	svc     *webhook.Service
	bin     string
	dir     string
	baseEnv []string
	hq      context.Context
	id      *authtest.Issuer
	// authEnv and temporalEnv are the parts of baseEnv another service's
	// process shares: the test's token issuer and Temporal namespace.
	authEnv, temporalEnv []string
}

// serviceBin builds the program of the service module services/<name>.
func serviceBin(t *testing.T, name string) string {
	_, file, _, _ := runtime.Caller(0)
	return programtest.Build(t, filepath.Join(filepath.Dir(file), "..", "..", name), "./cmd/"+name)
}

func setup(t *testing.T) *env {
	temporalAddr := temporaltest.Address(t)
	db := pgtest.NewFrom(t, postgres.Schema, postgres.Migrations)
	bin := serviceBin(t, "webhook")
	id := authtest.New(t)
	keys := pii.NewRandomKeys()
	cipher, err := pii.NewCipher(keys.Encryption, keys.Current)
	if err != nil {
		t.Fatal(err)
	}
	svc := &webhook.Service{Store: postgres.NewStore(db.AppPool(t, pg.Config{})), Sealer: cipher, AllowLoopback: true}
	authEnv := []string{"AUTH_JWKS_URL=" + id.Config.JWKSURL, "AUTH_ISSUER=" + id.Config.Issuer, "AUTH_AUDIENCE=" + id.Config.Audience}
	temporalEnv := []string{"TEMPORAL_ADDRESS=" + temporalAddr, "TEMPORAL_NAMESPACE=" + temporaltest.Namespace(t, temporalAddr)}
	base := append(slices.Concat(authEnv, temporalEnv, []string{
		"DATABASE_URL=" + db.AppURL, "LOG_LEVEL=warn",
		"WEBHOOK_GRPC_ADDR=" + programtest.FreePorts(t, 1)[0], "WEBHOOK_ALLOW_LOOPBACK=true",
		"WEBHOOK_ATTEMPT_TIMEOUT=3s", "WEBHOOK_RETRY_INITIAL=200ms", "WEBHOOK_RETRY_MAX=1s",
		"WEBHOOK_WORKFLOW_IDLE=5s", "WEBHOOK_ORDER_WINDOW=500ms",
	}), keys.Env()...)
	hq := auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	return &env{db: db, svc: svc, bin: bin, dir: t.TempDir(), baseEnv: base, hq: hq, id: id,
		authEnv: authEnv, temporalEnv: temporalEnv}
}

func manager(dealer string) context.Context {
	return auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "gm-" + dealer, Dealer: dealer,
		Roles: []auth.Role{auth.RoleDealerGM}})
}

// emit records events as a source service does: outbox.Add in the
// dealer's transaction (here into the webhook schema's outbox, which the
// service's relay serves like any other).
func (e *env) emit(t *testing.T, evs []emitted, at time.Time) {
	t.Helper()
	for i, ev := range evs {
		data := map[string]any{"resource": ev.resource, "seq": i}
		oe, err := events.WebhookEvent(ev.dealer, ev.typ, ev.resource, at.Add(time.Duration(i)*time.Millisecond), data)
		if err != nil {
			t.Fatal(err)
		}
		oe.ID = ev.id
		if err := pg.InTx(context.Background(), e.db.Pool, pg.Dealers(ev.dealer), func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), "SET LOCAL search_path TO "+postgres.Schema)
			if err != nil {
				return err
			}
			return outbox.Add(context.Background(), tx, oe)
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// complaintEvents is n complaints' lives at dealer: created, escalated,
// resolved, closed, each complaint its own resource.
func complaintEvents(dealer string, n int) []emitted {
	var out []emitted
	for range n {
		res := "dealers/" + dealer + "/complaints/" + outbox.NewID()
		for _, typ := range []string{events.WebhookComplaintCreated, events.WebhookComplaintEscalated,
			events.WebhookComplaintResolved, events.WebhookComplaintClosed} {
			out = append(out, emitted{dealer: dealer, typ: typ, resource: res, id: outbox.NewID()})
		}
	}
	return out
}

// TestWebhooksAtLeastOnceInOrderAcrossFailuresRotationAndKills is issue
// 17's webhook test: HQ and two dealers subscribe local receivers; events
// of both dealers go through the outbox while one receiver answers 500
// for seconds, the service (relay and worker) is killed with SIGKILL
// mid-delivery twice, and a dealer rotates its secret. Every receiver
// verifies every signature (across the rotation), gets every event it
// subscribed to once after deduplication and in order per resource, and
// a dealer's receiver never gets another dealer's event.
func TestWebhooksAtLeastOnceInOrderAcrossFailuresRotationAndKills(t *testing.T) {
	e := setup(t)
	hqR, d1R, d2R := newReceiver(t), newReceiver(t), newReceiver(t)
	hqR.delay = 300 * time.Millisecond // deliveries in flight when the service dies
	d1R.failUntil = time.Now().Add(6 * time.Second)

	hqSub, hqSecret, err := e.svc.Create(e.hq, webhook.HQ, webhook.Subscription{URL: hqR.srv.URL + "/hooks", EventTypes: events.WebhookEventTypes})
	if err != nil {
		t.Fatal(err)
	}
	d1Sub, d1Secret, err := e.svc.Create(manager("D1"), "D1", webhook.Subscription{URL: d1R.srv.URL,
		EventTypes: []string{events.WebhookComplaintCreated, events.WebhookComplaintEscalated, events.WebhookComplaintResolved,
			events.WebhookComplaintClosed, events.WebhookRepairOrderClosed}})
	if err != nil {
		t.Fatal(err)
	}
	d2Sub, d2Secret, err := e.svc.Create(manager("D2"), "D2", webhook.Subscription{URL: d2R.srv.URL,
		EventTypes: []string{events.WebhookComplaintCreated, events.WebhookComplaintClosed}})
	if err != nil {
		t.Fatal(err)
	}
	hqR.secrets, d1R.secrets, d2R.secrets = []string{hqSecret}, []string{d1Secret}, []string{d2Secret}

	// Another dealer's manager sees nothing of D1's subscription.
	if _, err := e.svc.Get(manager("D2"), "D1", d1Sub.ID); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("D2 reading D1's subscription: %v, want not found", err)
	}
	if _, _, err := e.svc.ListDeliveries(manager("D2"), "D1", d1Sub.ID, webhook.Page{Size: 10}); apperr.Code(err) != apperr.ENOTFOUND {
		t.Fatalf("D2 reading D1's delivery log: %v, want not found", err)
	}
	if _, err := e.svc.List(manager("D1"), webhook.HQ); apperr.Code(err) != apperr.EFORBIDDEN {
		t.Fatalf("D1 listing HQ's subscriptions: %v, want forbidden", err)
	}

	proc := programtest.Start(t, e.bin, e.dir, e.baseEnv)
	var all []emitted
	wave := func(evs []emitted) {
		all = append(all, evs...)
		e.emit(t, evs, time.Now())
	}
	ro := "dealers/D1/repairOrders/" + outbox.NewID()
	wave(append(complaintEvents("D1", 4), emitted{"D1", events.WebhookRepairOrderClosed, ro, outbox.NewID()}))
	wave(complaintEvents("D2", 4))

	killMidDelivery := func() {
		waitUntil(t, 90*time.Second, "an HQ delivery in flight", func() bool {
			hqR.mu.Lock()
			defer hqR.mu.Unlock()
			return hqR.inflight > 0 && len(hqR.got) >= 3
		})
		proc.Kill(t) // the receiver answers a dead connection: Temporal retries the attempt
	}
	killMidDelivery()
	wave(complaintEvents("D1", 3)) // recorded while the service is down
	proc = programtest.Start(t, e.bin, e.dir, e.baseEnv)

	// D1 rotates its secret; its receiver switches to the new one at once,
	// and every later delivery carries the old signature too.
	_, newSecret, err := e.svc.RotateSecret(manager("D1"), "D1", d1Sub.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	d1R.mu.Lock()
	// The receiver accepts either secret during the overlap, as an
	// integrator switching over would.
	d1R.secrets, d1R.old, d1R.fresh, d1R.rotated = []string{newSecret, d1Secret}, d1Secret, newSecret, time.Now()
	d1R.mu.Unlock()
	wave(complaintEvents("D2", 3))
	wave(complaintEvents("D1", 3))
	killMidDelivery()
	proc = programtest.Start(t, e.bin, e.dir, e.baseEnv)

	want := map[*receiver]func(emitted) bool{
		hqR: func(emitted) bool { return true },
		d1R: func(ev emitted) bool { return ev.dealer == "D1" },
		d2R: func(ev emitted) bool {
			return ev.dealer == "D2" && (ev.typ == events.WebhookComplaintCreated || ev.typ == events.WebhookComplaintClosed)
		},
	}
	names := map[*receiver]string{hqR: "HQ", d1R: "D1", d2R: "D2"}
	for r, match := range want {
		var expect []emitted
		for _, ev := range all {
			if match(ev) {
				expect = append(expect, ev)
			}
		}
		waitUntil(t, 3*time.Minute, names[r]+" receiving every event", func() bool {
			got, _, _, _, _ := r.snapshot()
			return len(got) >= len(expect)
		})
		got, badSig, dups, failed, oldSigned := r.snapshot()
		t.Logf("%s: %d events once each, %d duplicates dropped, %d answered 500, %d bad signatures, %d signed with the pre-rotation secret",
			names[r], len(got), dups, failed, badSig, oldSigned)
		if badSig != 0 {
			t.Errorf("%s: %d deliveries failed verification", names[r], badSig)
		}
		checkExactlyInOrder(t, names[r], expect, got)
	}
	if _, _, dups, _, _ := hqR.snapshot(); dups == 0 {
		t.Error("HQ's receiver saw no duplicate: no kill hit a delivery in flight")
	}
	if _, _, _, failed, _ := d1R.snapshot(); failed == 0 {
		t.Error("D1's receiver never answered 500: the retry path was not exercised")
	}
	d1R.mu.Lock()
	if d1R.oldSigned == 0 || d1R.unrotated > 0 {
		t.Errorf("after the rotation %d deliveries carried the previous secret's signature and %d lacked one of the two", d1R.oldSigned, d1R.unrotated)
	}
	d1R.mu.Unlock()

	// The delivery log: every D1 delivery delivered, the early ones after
	// several attempts.
	log, _, err := e.svc.ListDeliveries(manager("D1"), "D1", d1Sub.ID, webhook.Page{Size: 1000})
	if err != nil {
		t.Fatal(err)
	}
	retried := 0
	for _, d := range log {
		if d.State != webhook.DeliveryDelivered || d.LastStatusCode != http.StatusNoContent {
			t.Errorf("delivery %s of %s: %s (last status %d, %q)", d.ID, d.EventType, d.State, d.LastStatusCode, d.LastError)
		}
		if d.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no delivery in D1's log took more than one attempt")
	}
	t.Logf("D1's log: %d deliveries, %d needed more than one attempt", len(log), retried)

	// A manual redelivery sends the same event again: the receiver sees
	// its id a second time and drops it.
	_, _, dupsBefore, _, _ := d1R.snapshot()
	if _, err := e.svc.Redeliver(manager("D1"), "D1", d1Sub.ID, log[0].ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the redelivery", func() bool {
		_, _, dups, _, _ := d1R.snapshot()
		return dups > dupsBefore
	})
	if _, err := e.svc.Redeliver(manager("D2"), "D1", d1Sub.ID, log[0].ID); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("D2 redelivering D1's delivery: %v, want not found", err)
	}

	// HQ's subscription and D2's are untouched by D1's rotation: still
	// one secret each.
	for _, c := range []struct {
		ctx   context.Context
		owner string
		id    string
	}{{e.hq, webhook.HQ, hqSub.ID}, {manager("D2"), "D2", d2Sub.ID}} {
		s, err := e.svc.Get(c.ctx, c.owner, c.id)
		if err != nil || !s.PreviousSecretExpireTime.IsZero() || s.State != webhook.StateActive {
			t.Errorf("subscription %s: %+v, %v", c.id, s, err)
		}
	}
}

// checkExactlyInOrder: got holds exactly the expected ids, and each
// resource's events arrived in the order they happened.
func checkExactlyInOrder(t *testing.T, name string, expect []emitted, got []delivery.Body) {
	t.Helper()
	byID := map[string]emitted{}
	for _, ev := range expect {
		byID[ev.id] = ev
	}
	perResource := map[string][]string{}
	for _, b := range got {
		ev, ok := byID[b.ID]
		if !ok {
			t.Errorf("%s got event %s (%s of %s, dealer %s) it did not subscribe to", name, b.ID, b.Type, b.Resource, b.Dealer)
			continue
		}
		if b.Dealer != ev.dealer || b.Type != ev.typ || b.Resource != ev.resource {
			t.Errorf("%s: event %s arrived as %s/%s/%s, want %s/%s/%s", name, b.ID, b.Dealer, b.Type, b.Resource, ev.dealer, ev.typ, ev.resource)
		}
		perResource[b.Resource] = append(perResource[b.Resource], b.ID)
	}
	if len(got) != len(expect) {
		t.Errorf("%s: %d distinct events, want %d", name, len(got), len(expect))
	}
	wantOrder := map[string][]string{}
	for _, ev := range expect {
		wantOrder[ev.resource] = append(wantOrder[ev.resource], ev.id)
	}
	for res, ids := range wantOrder {
		if !slices.Equal(perResource[res], ids) {
			t.Errorf("%s: %s's events arrived as %v, want %v", name, res, perResource[res], ids)
		}
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFailingSubscriptionIsDisabled: an endpoint that answers 500 for
// longer than WEBHOOK_RETRY_FOR (here 6 s standing in for the day) has its
// subscription disabled, its owner notified, its deliveries failed; events
// after that are not logged for it, and once re-enabled it receives again.
func TestFailingSubscriptionIsDisabled(t *testing.T) {
	e := setup(t)
	r := newReceiver(t)
	r.failUntil = time.Now().Add(time.Hour)
	sub, secret, err := e.svc.Create(manager("D7"), "D7", webhook.Subscription{URL: r.srv.URL,
		EventTypes: []string{events.WebhookCallbackCompleted}})
	if err != nil {
		t.Fatal(err)
	}
	r.secrets = []string{secret}
	proc := programtest.Start(t, e.bin, e.dir, append(e.baseEnv, "WEBHOOK_RETRY_FOR=6s", "WEBHOOK_ATTEMPT_TIMEOUT=2s"))
	callback := func() emitted {
		return emitted{"D7", events.WebhookCallbackCompleted, "dealers/D7/callbackTasks/" + outbox.NewID(), outbox.NewID()}
	}
	first := []emitted{callback(), callback()}
	e.emit(t, first, time.Now())
	waitUntil(t, 2*time.Minute, "the subscription disabled", func() bool {
		s, err := e.svc.Get(manager("D7"), "D7", sub.ID)
		return err == nil && s.State == webhook.StateDisabled
	})
	s, _ := e.svc.Get(manager("D7"), "D7", sub.ID)
	if s.DisabledReason == "" || s.DisableTime.IsZero() {
		t.Errorf("disabled without a reason or time: %+v", s)
	}
	waitUntil(t, time.Minute, "both deliveries finished", func() bool {
		log, _, _ := e.svc.ListDeliveries(manager("D7"), "D7", sub.ID, webhook.Page{Size: 10})
		done := 0
		for _, d := range log {
			if d.State == webhook.DeliveryFailed || d.State == webhook.DeliverySkipped {
				done++
			}
		}
		return done == 2
	})
	waitUntil(t, 10*time.Second, "the owner's notification", func() bool {
		b, _ := os.ReadFile(proc.Log)
		return strings.Contains(string(b), "webhook subscription disabled") && strings.Contains(string(b), sub.ID)
	})

	// Disabled: a new event is not even logged for it.
	later := callback()
	e.emit(t, []emitted{later}, time.Now())
	time.Sleep(3 * time.Second)
	if log, _, _ := e.svc.ListDeliveries(manager("D7"), "D7", sub.ID, webhook.Page{Size: 10}); len(log) != 2 {
		t.Errorf("a disabled subscription's log has %d deliveries, want the 2 before", len(log))
	}

	// Re-enabled and the endpoint back: the next event arrives, and a
	// manual redelivery brings a failed one.
	r.mu.Lock()
	r.failUntil = time.Time{}
	r.mu.Unlock()
	if _, err := e.svc.Enable(manager("D7"), "D7", sub.ID); err != nil {
		t.Fatal(err)
	}
	again := callback()
	e.emit(t, []emitted{again}, time.Now())
	log, _, _ := e.svc.ListDeliveries(manager("D7"), "D7", sub.ID, webhook.Page{Size: 10})
	var failed string
	for _, d := range log {
		if d.EventID == first[0].id {
			failed = d.ID
		}
	}
	if _, err := e.svc.Redeliver(manager("D7"), "D7", sub.ID, failed); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the new event and the redelivered one", func() bool {
		got, _, _, _, _ := r.snapshot()
		return len(got) == 2
	})
	got, _, _, _, _ := r.snapshot()
	ids := []string{got[0].ID, got[1].ID}
	slices.Sort(ids)
	want := []string{again.id, first[0].id}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("after re-enabling got %v, want %v", ids, want)
	}
}
