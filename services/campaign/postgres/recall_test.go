package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/campaign/campaign"
)

// callbacks records the chase tasks the callback channel would open, one
// per source id as the callback service keeps them.
type callbacks struct {
	mu    sync.Mutex
	tasks map[string]campaign.Message
	// ended counts the ends of each task; failEnds fails that many ends
	// first, as an unreachable callback service does.
	ended    map[string]int
	failEnds int
	reasons  map[string]string
}

func (c *callbacks) EndTask(_ context.Context, dealer, task, reason string, _ time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failEnds > 0 {
		c.failEnds--
		return errors.New("callback service unavailable")
	}
	if c.ended == nil {
		c.ended = map[string]int{}
	}
	c.ended[dealer+"/"+task]++
	if c.reasons == nil {
		c.reasons = map[string]string{}
	}
	c.reasons[dealer+"/"+task] = reason
	if !strings.Contains(reason, "召回已完成") && !strings.Contains(reason, "召回已取消") {
		return fmt.Errorf("end reason %q", reason)
	}
	if n := utf8.RuneCountInString(reason); n > 500 { // EndCallbackTaskRequest.reason's max_len
		return fmt.Errorf("end reason of %d characters: InvalidArgument", n)
	}
	return nil
}

func (c *callbacks) Send(_ context.Context, m campaign.Message) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tasks[m.ID] = m
	return "task-" + m.ID[:8], nil
}

func recallVIN(i int) string { return validate.CompleteVIN(fmt.Sprintf("LSVRC%02dX0NA%06d", i%100, i)) }

func TestRecallAcrossDealers(t *testing.T) {
	e := setup(t)
	cb := &callbacks{tasks: map[string]campaign.Message{}}
	e.svc = campaign.NewService(e.store, visibility{}, e.dir, map[campaign.Channel]campaign.Sender{campaign.ChannelSMS: e.sms, campaign.ChannelCallback: cb}, e.clock.now)
	// Three dealers' archives hold VINs 0-8 (three each); VIN 0 is also in
	// SH002's archive, visited there less recently, so SH001 owns it.
	e.dir.contacts["BJ001"] = people("BJ001", 3, "Asia/Shanghai")
	for d, base := range map[string]int{"SH001": 0, "SH002": 3, "BJ001": 6} {
		for i := range 3 {
			e.dir.contacts[d][i].VIN = recallVIN(base + i)
			e.dir.contacts[d][i].LastVisit = t0.Add(-time.Duration(i+1) * 24 * time.Hour)
		}
	}
	e.dir.contacts["SH002"][9].VIN = recallVIN(0)
	e.dir.contacts["SH002"][9].LastVisit = t0.Add(-300 * 24 * time.Hour)

	c, err := e.svc.Create(hq, campaign.HQOwner, campaign.Campaign{Kind: campaign.KindRecall, Name: "制动软管召回", Code: "RC2026-01",
		Channels: []campaign.Channel{campaign.ChannelSMS}, Template: campaign.Template{Body: "{{customer_name}}您好，您的爱车需召回检修。"}})
	if err != nil {
		t.Fatal(err)
	}
	// A bad line names itself and adds nothing.
	bad := "vin\n" + recallVIN(0) + "\nNOT-A-VIN\n"
	if _, err := e.svc.ImportRecallVINs(hq, campaign.HQOwner, c.ID, bad); apperr.Code(err) != apperr.EINVALID || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("bad CSV: %v, want invalid naming line 3", err)
	}
	if vs, _, _ := e.svc.RecallVINs(hq, campaign.HQOwner, c.ID, "", "", campaign.Page{}); len(vs) != 0 {
		t.Fatalf("a refused file added %d VINs", len(vs))
	}
	// Header, a repeat, lower case, a second column, and one VIN (99) no
	// archive knows.
	var b strings.Builder
	b.WriteString("\ufeffVIN,note\n")
	for i := range 9 {
		fmt.Fprintf(&b, "%s,x\n", recallVIN(i))
	}
	b.WriteString(strings.ToLower(recallVIN(4)) + "\n" + recallVIN(99) + "\n")
	res, err := e.svc.ImportRecallVINs(hq, campaign.HQOwner, c.ID, b.String())
	if err != nil {
		t.Fatal(err)
	}
	if res != (campaign.ImportResult{Read: 10, Added: 10, Total: 10, Unknown: 1}) {
		t.Errorf("import = %+v", res)
	}
	// Again: nothing new.
	if res, err := e.svc.ImportRecallVINs(hq, campaign.HQOwner, c.ID, b.String()); err != nil || res.Added != 0 || res.Total != 10 {
		t.Errorf("re-import = %+v, %v", res, err)
	}
	// The draft's audience took the list, so it can be scheduled.
	if _, err := e.svc.Schedule(hq, campaign.HQOwner, c.ID, t0); err != nil {
		t.Fatal(err)
	}
	// Dealers see nothing of HQ's recall.
	if _, err := e.svc.RecallCompletion(agent1, campaign.HQOwner, c.ID); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("a dealer reads HQ's recall completion: %v", err)
	}
	if _, err := e.svc.ImportRecallVINs(manager, campaign.HQOwner, c.ID, recallVIN(1)); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("a dealer imports into HQ's recall: %v", err)
	}

	// SH001's VIN 0 repaired at SH002; SH002's VIN 3 at home; a repair
	// quoting another code and a repeat change nothing.
	at := t0.Add(48 * time.Hour)
	for _, r := range []struct {
		vin, dealer, code string
		want              int
	}{
		{recallVIN(0), "SH002", "RC2026-01", 1},
		{recallVIN(0), "BJ001", "RC2026-01", 0},
		{recallVIN(3), "SH002", "RC2026-01", 1},
		{recallVIN(6), "BJ001", "RC2025-09", 0},
	} {
		n, err := e.svc.RecordRecallRepair(worker, r.vin, r.dealer, "RO-"+r.dealer, r.code, at)
		if err != nil || n != r.want {
			t.Errorf("repair of %s at %s (%s) completed %d (%v), want %d", r.vin, r.dealer, r.code, n, err, r.want)
		}
	}
	if _, err := e.svc.RecordRecallRepair(worker, "123", "SH001", "", "RC2026-01", at); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("bad VIN: %v", err)
	}
	vs, _, err := e.svc.RecallVINs(hq, campaign.HQOwner, c.ID, campaign.RecallCompleted, "", campaign.Page{})
	if err != nil || len(vs) != 2 {
		t.Fatalf("completed VINs = %+v, %v", vs, err)
	}
	if v := vs[0]; v.VIN != recallVIN(0) || v.OwnerDealer != "SH001" || v.CompletedDealer != "SH002" || v.Region != "east" || !v.CompleteTime.Equal(at) {
		t.Errorf("VIN 0 = %+v, want owned by SH001, completed at SH002", v)
	}

	comp, err := e.svc.RecallCompletion(hq, campaign.HQOwner, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := comp.Network; n.VINs != 10 || n.Completed != 2 || n.CompletedElsewhere != 1 || n.RepairedAt != 2 {
		t.Errorf("network = %+v", n)
	}
	want := map[string]campaign.RecallTally{
		"SH001": {Key: "SH001", Region: "east", VINs: 3, Completed: 1, CompletedElsewhere: 1},
		"SH002": {Key: "SH002", Region: "east", VINs: 3, Completed: 1, RepairedAt: 2},
		"BJ001": {Key: "BJ001", Region: "north", VINs: 3},
	}
	if len(comp.Dealers) != 3 {
		t.Errorf("dealers = %+v", comp.Dealers)
	}
	for _, d := range comp.Dealers {
		if d != want[d.Key] {
			t.Errorf("dealer %s = %+v, want %+v", d.Key, d, want[d.Key])
		}
	}
	if len(comp.Regions) != 2 || comp.Regions[0] != (campaign.RecallTally{Key: "east", VINs: 6, Completed: 2, CompletedElsewhere: 1, RepairedAt: 2}) ||
		comp.Regions[1] != (campaign.RecallTally{Key: "north", VINs: 3}) {
		t.Errorf("regions = %+v", comp.Regions)
	}

	// The chase: a task at the owner of each open, owned VIN (7 of them;
	// the unknown VIN has nobody to chase it), once.
	opened, open, err := e.svc.ChaseRecall(worker, campaign.HQOwner, c.ID)
	if err != nil || opened != 7 || open != 8 {
		t.Fatalf("chase opened %d, %d open (%v); want 7, 8", opened, open, err)
	}
	if opened, _, err := e.svc.ChaseRecall(worker, campaign.HQOwner, c.ID); err != nil || opened != 0 {
		t.Errorf("second chase opened %d (%v)", opened, err)
	}
	byDealer := map[string]int{}
	for _, m := range cb.tasks {
		byDealer[m.Dealer]++
		if m.Owner != campaign.HQOwner || m.Channel != campaign.ChannelCallback || m.Customer == "" {
			t.Errorf("chase task %+v", m)
		}
		if m.VIN == recallVIN(0) || m.VIN == recallVIN(3) {
			t.Errorf("completed VIN %s chased", m.VIN)
		}
	}
	if byDealer["SH001"] != 2 || byDealer["SH002"] != 2 || byDealer["BJ001"] != 3 {
		t.Errorf("chase tasks per dealer = %v", byDealer)
	}
	open1, _, err := e.svc.RecallVINs(hq, campaign.HQOwner, c.ID, campaign.RecallOpen, "SH001", campaign.Page{})
	if err != nil || len(open1) != 2 || slices.ContainsFunc(open1, func(v campaign.RecallVIN) bool { return v.ChaseTask == "" }) {
		t.Errorf("SH001's open VINs = %+v, %v", open1, err)
	}
	// A chased VIN completed elsewhere has its chase task ended at its
	// owner, once, even when the first end fails: the repair is kept and
	// the retry (the workflow's activity) ends only the task.
	chased := map[string]string{}
	for _, v := range open1 {
		chased[v.VIN] = v.ChaseTask
	}
	cb.mu.Lock()
	cb.failEnds = 1
	cb.mu.Unlock()
	if _, err := e.svc.RecordRecallRepair(worker, recallVIN(1), "BJ001", "RO-BJ-RC", "RC2026-01", at); err == nil {
		t.Errorf("repair with the callback service down: no error, so no retry")
	}
	if n, err := e.svc.RecordRecallRepair(worker, recallVIN(1), "BJ001", "RO-BJ-RC", "RC2026-01", at); err != nil || n != 0 {
		t.Errorf("retried repair: %d, %v; want 0 (already completed), nil", n, err)
	}
	if n, err := e.svc.RecordRecallRepair(worker, recallVIN(1), "BJ001", "RO-BJ-RC", "RC2026-01", at); err != nil || n != 0 {
		t.Errorf("third repair: %d, %v", n, err)
	}
	// VIN 2 completes while the callback service is down for every try
	// of the repair's call; the next chase pass ends its task.
	cb.mu.Lock()
	cb.failEnds = 1
	cb.mu.Unlock()
	if _, err := e.svc.RecordRecallRepair(worker, recallVIN(2), "SH002", "RO-SH2-RC", "RC2026-01", at); err == nil {
		t.Errorf("repair of VIN 2 with the callback service down: no error")
	}
	if opened, open, err := e.svc.ChaseRecall(worker, campaign.HQOwner, c.ID); err != nil || opened != 0 || open != 6 {
		t.Errorf("chase after the repairs: opened %d, %d open, %v; want 0, 6", opened, open, err)
	}
	cb.mu.Lock()
	if len(cb.ended) != 2 || cb.ended["SH001/"+chased[recallVIN(1)]] != 1 || cb.ended["SH001/"+chased[recallVIN(2)]] != 1 {
		t.Errorf("ended chase tasks = %v, want SH001's tasks of VINs 1 and 2 once each (%v)", cb.ended, chased)
	}
	cb.mu.Unlock()
	if _, _, err := e.svc.ChaseRecall(worker, campaign.HQOwner, c.ID); err != nil {
		t.Fatal(err)
	}
	cb.mu.Lock()
	if len(cb.ended) != 2 {
		t.Errorf("a second pass ended more: %v", cb.ended)
	}
	cb.mu.Unlock()
	// HQ withdraws the recall: every chase task still open (5 of the 7)
	// is ended once, with the reason, even when the first end fails; no
	// task is opened any more, and a later repair completes nothing.
	// The longest reason HQ may give (500 bytes) with the prefix is more
	// than the callback service's 500 characters: it is cut to fit.
	withdrawn := "供应商撤回" + strings.Repeat("x", 485)
	if _, err := e.svc.Cancel(hq, campaign.HQOwner, c.ID, withdrawn); err != nil {
		t.Fatal(err)
	}
	cb.mu.Lock()
	cb.failEnds = 1
	cb.mu.Unlock()
	if _, _, err := e.svc.ChaseRecall(worker, campaign.HQOwner, c.ID); err == nil {
		t.Errorf("chase of the cancelled recall with the callback service down: no error, so no retry")
	}
	for range 2 {
		if opened, open, err := e.svc.ChaseRecall(worker, campaign.HQOwner, c.ID); err != nil || opened != 0 || open != 0 {
			t.Errorf("chase of the cancelled recall: opened %d, %d open, %v", opened, open, err)
		}
	}
	if n, err := e.svc.RecordRecallRepair(worker, recallVIN(6), "BJ001", "RO-BJ-LATE", "RC2026-01", at); err != nil || n != 0 {
		t.Errorf("repair after the cancel: %d, %v; want 0", n, err)
	}
	cb.mu.Lock()
	if len(cb.tasks) != 7 || len(cb.ended) != 7 {
		t.Errorf("after the cancel: %d tasks opened, %d ended (%v); want 7, 7", len(cb.tasks), len(cb.ended), cb.ended)
	}
	for k, n := range cb.ended {
		if n != 1 {
			t.Errorf("task %s ended %d times", k, n)
		}
	}
	if r := cb.reasons["SH001/"+chased[recallVIN(1)]]; !strings.Contains(r, "召回已完成") {
		t.Errorf("the repaired VIN's end reason became %q", r)
	}
	cancelled := 0
	for _, r := range cb.reasons {
		if strings.Contains(r, "召回已取消") && strings.Contains(r, "供应商撤回") {
			cancelled++
		}
	}
	if cancelled != 5 {
		t.Errorf("%d tasks ended as cancelled, want 5: %v", cancelled, cb.reasons)
	}
	cb.mu.Unlock()
	// Paging by VIN.
	p1, next, err := e.svc.RecallVINs(hq, campaign.HQOwner, c.ID, "", "", campaign.Page{Size: 4})
	if err != nil || len(p1) != 4 || next == "" {
		t.Fatalf("page 1 = %d, %q, %v", len(p1), next, err)
	}
	if _, _, err := e.svc.RecallVINs(hq, campaign.HQOwner, c.ID, "", "", campaign.Page{After: "junk"}); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("junk page token: %v", err)
	}
	// Not a recall: an import is a conflict naming it; its list is empty.
	promo, _ := e.svc.Create(manager, "SH001", newDraft)
	if _, err := e.svc.ImportRecallVINs(manager, "SH001", promo.ID, recallVIN(1)); apperr.Code(err) != apperr.ECONFLICT {
		t.Errorf("import into a promotion: %v", err)
	}
	if vs, _, err := e.svc.RecallVINs(manager, "SH001", promo.ID, "", "", campaign.Page{}); err != nil || len(vs) != 0 {
		t.Errorf("a promotion's VINs: %v, %v", vs, err)
	}
}

func TestParseRecallCSV(t *testing.T) {
	for _, tc := range []struct {
		in    string
		count int
		err   string
	}{
		{recallVIN(1) + "\r\n" + recallVIN(2) + "\r\n", 2, ""},
		{"vin\n\n" + recallVIN(1) + "\n" + recallVIN(1), 1, ""},
		{"vin\n", 0, "holds no VIN"},
		{recallVIN(1) + "\n\"unterminated\n", 0, "line 2"},
		{recallVIN(1)[:16] + "\n", 0, "line 1"},
	} {
		vins, err := campaign.ParseRecallCSV(tc.in)
		if tc.err != "" {
			if apperr.Code(err) != apperr.EINVALID || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(vins) != tc.count {
			t.Errorf("%q: %v, %v", tc.in, vins, err)
		}
	}
}
