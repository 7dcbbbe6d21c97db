package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/outbox"
	"github.com/dealercare/dealercare/pkg/pgtest"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"github.com/dealercare/dealercare/services/campaign/channel"
	"github.com/dealercare/dealercare/services/campaign/postgres"
	"github.com/dealercare/dealercare/services/campaign/provider"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// These tests run the campaign rules over the real PostgreSQL adapter and
// the real SMS adapter against the recording provider. The archive is an
// in-memory Directory: the customer service's side is tested in its own
// module and end to end in workflows/app.

var t0 = time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type visibility struct{}

func (visibility) Visible(ctx context.Context) (*auth.Principal, campaign.Scope, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok {
		return nil, campaign.Scope{}, apperr.Errorf(apperr.EUNAUTHORIZED, "no principal")
	}
	switch {
	case p.IsHQ() || p.IsService():
		return p, campaign.Scope{All: true}, nil
	case p.IsDealer():
		return p, campaign.Scope{Dealers: []string{p.Dealer}}, nil
	}
	return p, campaign.Scope{}, nil
}

// directory is an archive of contacts by dealer.
type directory struct {
	mu       sync.Mutex
	contacts map[string][]campaign.Contact // dealer -> contacts, by id
}

func (d *directory) Dealers(_ context.Context, dealers, _ []string) ([]string, error) {
	if len(dealers) > 0 {
		return dealers, nil
	}
	var out []string
	for k := range d.contacts {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

func (d *directory) Members(_ context.Context, dealers []string, a campaign.Audience, _ time.Time, after string, limit int) ([]campaign.Contact, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var all []campaign.Contact
	for _, dl := range dealers {
		for _, c := range d.contacts[dl] {
			if len(a.VINs) > 0 && !slices.Contains(a.VINs, c.VIN) {
				continue
			}
			all = append(all, c)
		}
	}
	start := 0
	for i, c := range all {
		if c.Dealer+"/"+c.Customer == after {
			start = i + 1
		}
	}
	end := min(start+limit, len(all))
	next := ""
	if end < len(all) {
		next = all[end-1].Dealer + "/" + all[end-1].Customer
	}
	return slices.Clone(all[start:end]), next, nil
}

func (d *directory) Contacts(_ context.Context, dealer string, ids []string) ([]campaign.Contact, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []campaign.Contact
	for _, c := range d.contacts[dealer] {
		if slices.Contains(ids, c.Customer) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (d *directory) Visits(context.Context, []string, time.Time, time.Time) ([]campaign.Visit, error) {
	return nil, nil
}

// Regions: Beijing's dealers are in the north, the rest in the east.
func (d *directory) Regions(context.Context) (map[string]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]string{}
	for k := range d.contacts {
		out[k] = "east"
		if strings.HasPrefix(k, "BJ") {
			out[k] = "north"
		}
	}
	return out, nil
}

func (d *directory) setConsent(dealer, id, ch string, granted bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, c := range d.contacts[dealer] {
		if c.Customer == id {
			d.contacts[dealer][i].Consents[ch] = granted
		}
	}
}

// people makes n customers of dealer; every one consents to SMS.
func people(dealer string, n int, zone string) []campaign.Contact {
	out := make([]campaign.Contact, n)
	for i := range out {
		out[i] = campaign.Contact{Customer: fmt.Sprintf("00000000-0000-4000-8000-%s%08d", "0"+dealer[len(dealer)-3:], i), Dealer: dealer,
			DealerName: dealer + " 4S", TimeZone: zone, Name: fmt.Sprintf("客户%d", i), Mobile: fmt.Sprintf("+86138%08d", i),
			Consents: map[string]bool{"sms": true}, Plate: "沪A1234" + fmt.Sprint(i%10), Found: true}
	}
	return out
}

type env struct {
	svc   *campaign.Service
	store *postgres.Store
	pool  *pgxpool.Pool
	clock *clock
	dir   *directory
	rec   *provider.Recorder
	sms   *flakySMS
}

// flakySMS is the real SMS adapter with crash points: lostAnswers makes
// the next n sends reach the provider but lose its answer (a sender killed
// after the hand-off); down makes sends fail before reaching it.
type flakySMS struct {
	campaign.Sender
	mu          sync.Mutex
	lostAnswers int
	down        bool
}

func (f *flakySMS) Send(ctx context.Context, m campaign.Message) (string, error) {
	f.mu.Lock()
	down, lose := f.down, f.lostAnswers > 0
	if lose {
		f.lostAnswers--
	}
	f.mu.Unlock()
	if down {
		return "", errors.New("connection refused")
	}
	id, err := f.Sender.Send(ctx, m)
	if lose && err == nil {
		return "", errors.New("connection reset by peer")
	}
	return id, err
}

func setup(t *testing.T) *env {
	t.Helper()
	fsys, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	db := pgtest.New(t, postgres.Schema, fsys)
	if err := pg.VerifyTenantTables(context.Background(), db.Pool, postgres.Schema); err != nil {
		t.Fatal(err)
	}
	pool := db.AppPool(t, pg.Config{})
	rec, err := provider.New("")
	if err != nil {
		t.Fatal(err)
	}
	rec.SMSAPIKey, rec.SMSSecret = "k", "s"
	srv := httptest.NewServer(rec.Handler())
	t.Cleanup(srv.Close)
	sms := &flakySMS{Sender: &channel.SMS{BaseURL: srv.URL, APIKey: "k", Secret: "s", SignName: "测试"}}
	dir := &directory{contacts: map[string][]campaign.Contact{
		"SH001": people("SH001", 30, "Asia/Shanghai"), "SH002": people("SH002", 10, "Asia/Shanghai"),
	}}
	c := &clock{t: t0}
	store := postgres.NewStore(pool)
	svc := campaign.NewService(store, visibility{}, dir, map[campaign.Channel]campaign.Sender{campaign.ChannelSMS: sms}, c.now)
	svc.Lease = time.Minute
	return &env{svc: svc, store: store, pool: pool, clock: c, dir: dir, rec: rec, sms: sms}
}

func as(roles []auth.Role, dealer string) context.Context {
	return auth.NewContextWithPrincipal(context.Background(), &auth.Principal{Subject: "u", Roles: roles, Dealer: dealer})
}

var (
	manager  = as([]auth.Role{auth.RoleDealerManager}, "SH001")
	agent2   = as([]auth.Role{auth.RoleAgent}, "SH002")
	agent1   = as([]auth.Role{auth.RoleAgent}, "SH001")
	hq       = as([]auth.Role{auth.RoleHQAnalyst}, "")
	worker   = as([]auth.Role{auth.RoleService}, "")
	bodySMS  = "{{customer_name}}您好，{{dealer_name}}提醒您爱车{{plate}}保养，电话{{dealer_phone}}。"
	newDraft = campaign.Campaign{Kind: campaign.KindMaintenancePromotion, Name: "冬季保养", Channels: []campaign.Channel{campaign.ChannelSMS},
		Template: campaign.Template{Body: bodySMS}, ContactPhone: "021-5555"}
)

func TestLifecycleAndIsolation(t *testing.T) {
	e := setup(t)
	c, err := e.svc.Create(manager, "SH001", newDraft)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Create(agent1, "SH001", newDraft); apperr.Code(err) != apperr.EFORBIDDEN {
		t.Errorf("agent creates: %v, want forbidden", err)
	}
	// Another dealer's agent: not found for every object and action.
	for name, err := range map[string]error{
		"get":      second3(e.svc.Get(agent2, "SH001", c.ID)),
		"schedule": second(e.svc.Schedule(agent2, "SH001", c.ID, time.Time{})),
		"cancel":   second(e.svc.Cancel(agent2, "SH001", c.ID, "")),
		"preview":  second(e.svc.Preview(agent2, "SH001", c.ID, 3)),
		"list":     second3(e.svc.List(agent2, "SH001", "", campaign.Page{})),
		"recips":   second3(e.svc.Recipients(agent2, "SH001", c.ID, "", false, false, campaign.Page{})),
		"hq list":  second3(e.svc.List(agent2, campaign.HQOwner, "", campaign.Page{})),
	} {
		if apperr.Code(err) != apperr.ENOTFOUND {
			t.Errorf("%s by another dealer's agent: %v, want not found", name, err)
		}
	}
	// Row-level security backs it up: SH002's scope sees no SH001 row.
	var n int
	if err := pg.InReadOnlyTx(context.Background(), e.pool, pg.Dealers("SH002"), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM campaigns`).Scan(&n)
	}); err != nil || n != 0 {
		t.Errorf("SH002's scope sees %d campaigns (%v)", n, err)
	}

	p, err := e.svc.Preview(hq, "SH001", c.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Count != 30 || len(p.Sample) != 3 {
		t.Errorf("preview = %d, %d sampled; want 30, 3", p.Count, len(p.Sample))
	}
	for _, s := range p.Sample {
		if !containsMask(s.Mobile) || !containsMask(s.Name) || strings.Contains(s.Text, "客户") {
			t.Errorf("HQ preview shows personal data: %+v", s)
		}
	}
	mp, _ := e.svc.Preview(manager, "SH001", c.ID, 1)
	if containsMask(mp.Sample[0].Mobile) || mp.Sample[0].Text != "客户0您好，SH001 4S提醒您爱车沪A12340保养，电话021-5555。" {
		t.Errorf("dealer preview = %+v", mp.Sample[0])
	}

	if _, err := e.svc.Schedule(manager, "SH001", c.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Schedule(manager, "SH001", c.ID, t0.Add(time.Hour)); apperr.Code(err) != apperr.ECONFLICT {
		t.Errorf("schedule twice: %v, want conflict", err)
	}
	if _, err := e.svc.Update(manager, "SH001", c.ID, newDraft, []string{"name"}); apperr.Code(err) != apperr.ECONFLICT {
		t.Errorf("update scheduled: %v, want conflict", err)
	}
	// Scheduling recorded the workflow's start in the outbox.
	if err := pg.InReadOnlyTx(context.Background(), e.pool, pg.AllDealers(), func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM `+outbox.TableName+` WHERE workflow_id = $1`, campaign.WorkflowID("SH001", c.ID)).Scan(&n)
	}); err != nil || n != 1 {
		t.Errorf("outbox holds %d events for the workflow (%v), want 1", n, err)
	}
	if _, err := e.svc.Cancel(manager, "SH001", c.ID, "budget"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Cancel(manager, "SH001", c.ID, "again"); apperr.Code(err) != apperr.ECONFLICT {
		t.Errorf("cancel twice: %v, want conflict", err)
	}
}

func containsMask(s string) bool { return slices.Contains([]rune(s), '*') }

func second[T any](_ T, err error) error { return err }

func second3[A, B any](_ A, _ B, err error) error { return err }

// run schedules c now and drives it the way the workflow does.
func (e *env) start(t *testing.T, owner string, c *campaign.Campaign) {
	t.Helper()
	ctx := manager
	if owner == campaign.HQOwner {
		ctx = hq
	}
	if _, err := e.svc.Schedule(ctx, owner, c.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for {
		_, _, done, err := e.svc.StartPage(worker, owner, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
	}
}

func TestDispatchRulesAndCrashes(t *testing.T) {
	e := setup(t)
	ids := e.dir.contacts["SH001"]
	e.dir.setConsent("SH001", ids[0].Customer, "sms", false) // no consent
	if err := e.svc.OptOut(agent1, "SH001", ids[1].Customer, campaign.ChannelSMS, "sms_reply"); err != nil {
		t.Fatal(err)
	}
	// ids[2] already got 3 marketing messages this week: the cap.
	for i := range 3 {
		if err := pg.InTx(context.Background(), e.pool, pg.AllDealers(), func(tx pgx.Tx) error {
			_, err := tx.Exec(context.Background(), `INSERT INTO contact_log VALUES ('SH001', $1, $2, $3)`, ids[2].Customer, outbox.NewID(), t0.Add(-time.Duration(i+1)*time.Hour))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := e.svc.Create(manager, "SH001", newDraft)
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, "SH001", c)

	// First batch: 10 claimed; the provider takes 4 but their answers are
	// lost (the sender "dies" after the hand-off).
	e.sms.lostAnswers = 4
	b, err := e.svc.Dispatch(worker, "SH001", c.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if b.Suppressed != 3 {
		t.Errorf("first batch suppressed %d, want 3 (consent, opt-out, cap)", b.Suppressed)
	}
	// The opt-out is honoured at once, by a customer not yet sent.
	if err := e.svc.OptOut(agent1, "SH001", ids[20].Customer, "", "phone"); err != nil {
		t.Fatal(err)
	}
	// The provider is down for a batch: nothing lost, nothing sent.
	e.sms.down = true
	if _, err := e.svc.Dispatch(worker, "SH001", c.ID, 10); apperr.Code(err) != apperr.EUNAVAILABLE {
		t.Errorf("dispatch with the provider down: %v, want unavailable", err)
	}
	e.sms.down = false
	// Leases run out; everything left is claimed again and sent.
	for range 10 {
		e.clock.add(2 * time.Minute)
		b, err := e.svc.Dispatch(worker, "SH001", c.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if b.Remaining == 0 {
			break
		}
	}
	recs, dups := e.rec.Records()
	if len(recs) != 26 {
		t.Errorf("provider recorded %d messages, want 26 (30 - consent, opt-out, cap, later opt-out)", len(recs))
	}
	if dups["sms"] != 4 {
		t.Errorf("provider answered %d resends, want the 4 whose answers were lost", dups["sms"])
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.To] {
			t.Errorf("%s got two messages", r.To)
		}
		seen[r.To] = true
	}
	_, st, err := e.svc.Get(manager, "SH001", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{campaign.SuppressNoConsent: 1, campaign.SuppressOptedOut: 2, campaign.SuppressFrequencyCap: 1}
	if st.Targeted != 30 || st.Sent != 26 || st.Pending != 0 || !mapsEqual(st.Suppressed, want) {
		t.Errorf("stats = %+v, want 30 targeted, 26 sent, suppressed %v", st, want)
	}
	// Receipts update the messages.
	if n, err := e.svc.Receipts(context.Background(), []campaign.Receipt{
		{MessageID: campaign.MessageID(c.ID, "SH001", ids[5].Customer), Delivery: campaign.DeliveryDelivered, Time: e.clock.now()}}); err != nil || n != 1 {
		t.Errorf("receipt: %d known, %v", n, err)
	}
	if _, st, _ = e.svc.Get(manager, "SH001", c.ID); st.Delivered != 1 {
		t.Errorf("delivered = %d, want 1", st.Delivered)
	}
	// A provider's batch is recorded at once: within it and against what
	// is recorded, a message's latest receipt wins; unknown ids (and ids
	// that are none) are not counted.
	msg := func(i int) string { return campaign.MessageID(c.ID, "SH001", ids[i].Customer) }
	now := e.clock.now()
	known, err := e.svc.Receipts(context.Background(), []campaign.Receipt{
		{MessageID: msg(6), Delivery: campaign.DeliveryDelivered, Time: now.Add(2 * time.Second)},
		{MessageID: msg(6), Delivery: campaign.DeliveryAccepted, Time: now.Add(time.Second)},
		{MessageID: msg(7), Delivery: campaign.DeliveryUndelivered, Time: now.Add(time.Second)},
		{MessageID: msg(5), Delivery: campaign.DeliveryUndelivered, Time: now.Add(-time.Hour)},
		{MessageID: outbox.NewID(), Delivery: campaign.DeliveryDelivered, Time: now},
		{MessageID: "not-a-message", Delivery: campaign.DeliveryDelivered, Time: now},
	})
	if err != nil || known != 2 {
		t.Errorf("batch of receipts: %d known, %v; want 2 (message 5's receipt is older than its recorded one)", known, err)
	}
	if _, st, _ = e.svc.Get(manager, "SH001", c.ID); st.Delivered != 2 || st.Failed != 1 {
		t.Errorf("after the batch: delivered %d, failed %d; want 2 and 1", st.Delivered, st.Failed)
	}
	if _, err := e.svc.Receipts(context.Background(), []campaign.Receipt{
		{MessageID: msg(8), Delivery: campaign.DeliveryDelivered, Time: now}, {MessageID: msg(9), Delivery: "read", Time: now},
	}); apperr.Code(err) != apperr.EINVALID || !strings.Contains(err.Error(), "receipts[1].status") {
		t.Errorf("a bad status: %v, want EINVALID naming receipts[1].status", err)
	}
	if _, st, _ = e.svc.Get(manager, "SH001", c.ID); st.Delivered != 2 {
		t.Errorf("a refused batch changed the messages: delivered %d, want 2", st.Delivered)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestQuietHoursAndCancel(t *testing.T) {
	e := setup(t)
	e.clock.t = time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC) // 22:00 in Shanghai
	c, err := e.svc.Create(manager, "SH001", newDraft)
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, "SH001", c)
	b, err := e.svc.Dispatch(worker, "SH001", c.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	nine := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	if b.Sent != 0 || b.Remaining != 30 || !b.NextDue.Equal(nine) {
		t.Errorf("at 22:00: %+v, want nothing sent and all due at 09:00 (%s)", b, nine)
	}
	if recs, _ := e.rec.Records(); len(recs) != 0 {
		t.Errorf("%d messages sent in quiet hours", len(recs))
	}
	e.clock.t = nine
	if b, err = e.svc.Dispatch(worker, "SH001", c.ID, 10); err != nil || b.Sent != 10 {
		t.Fatalf("at 09:00: %+v, %v", b, err)
	}
	if _, err := e.svc.Cancel(manager, "SH001", c.ID, "stop"); err != nil {
		t.Fatal(err)
	}
	if b, err = e.svc.Dispatch(worker, "SH001", c.ID, 10); err != nil || !b.Cancelled {
		t.Fatalf("after cancel: %+v, %v", b, err)
	}
	_, st, _ := e.svc.Get(manager, "SH001", c.ID)
	if st.Sent != 10 || st.Suppressed[campaign.SuppressCancelled] != 20 {
		t.Errorf("stats after cancel = %+v", st)
	}
	if recs, _ := e.rec.Records(); len(recs) != 10 {
		t.Errorf("%d messages, want 10", len(recs))
	}
}

func TestHQCampaignNotVisibleToDealers(t *testing.T) {
	e := setup(t)
	c, err := e.svc.Create(hq, campaign.HQOwner, campaign.Campaign{Kind: campaign.KindHolidayGreeting, Name: "春节祝福",
		Channels: []campaign.Channel{campaign.ChannelSMS}, Template: campaign.Template{Body: "{{customer_name}}，新春快乐！"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := second3(e.svc.Get(manager, campaign.HQOwner, c.ID)); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("dealer reads an HQ campaign: %v", err)
	}
	e.start(t, campaign.HQOwner, c)
	for {
		b, err := e.svc.Dispatch(worker, campaign.HQOwner, c.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if b.Remaining == 0 {
			break
		}
	}
	_, st, err := e.svc.Get(hq, campaign.HQOwner, c.ID)
	if err != nil || st.Sent != 40 {
		t.Errorf("HQ greeting sent %d (%v), want 40 across both dealers", st.Sent, err)
	}
}
