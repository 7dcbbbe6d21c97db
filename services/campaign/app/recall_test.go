package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/pkg/validate"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// recallWorld is a stack with the callback service, region EAST and its
// dealers OWN001 and OTHER01, ready for an HQ recall.
type recallWorld struct {
	st             *campaignStack
	hq, own, other context.Context
	ownMgr         context.Context
	campaigns      campaignv1.CampaignServiceClient
	archive        customerv1.ArchiveServiceClient
	callbacks      callbackv1.CallbackServiceClient
}

func newRecallWorld(ctx context.Context, t *testing.T) *recallWorld {
	t.Helper()
	st := startCampaignStack(t, nil, nil, true)
	hq, cc, campaigns := st.hqReady(ctx, t)
	network, archive := customerv1.NewDealerNetworkServiceClient(cc), customerv1.NewArchiveServiceClient(cc)
	callbacks := callbackv1.NewCallbackServiceClient(dialGRPC(t, st.callbackAddr))
	temporaltest.WaitFor(ctx, t, func() bool {
		_, err := callbacks.ListCallbackTasks(hq, &callbackv1.ListCallbackTasksRequest{Dealer: "OWN001"})
		return status.Code(err) != codes.Unavailable
	})
	if _, err := network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"OWN001", "OTHER01"} {
		if _, err := network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: d, Name: d + " 4S店", Region: "EAST", TimeZone: "Asia/Shanghai"}}); err != nil {
			t.Fatal(err)
		}
	}
	agent := func(d string) context.Context {
		return auth.WithToken(ctx, st.id.Token(t, auth.Principal{Subject: "agent-" + d, Roles: []auth.Role{auth.RoleAgent}, Dealer: d}))
	}
	return &recallWorld{st: st, hq: hq, own: agent("OWN001"), other: agent("OTHER01"),
		ownMgr:    auth.WithToken(ctx, st.id.Token(t, auth.Principal{Subject: "mgr", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "OWN001"})),
		campaigns: campaigns, archive: archive, callbacks: callbacks}
}

// archiveVehicle archives a customer with the vehicle vin at dealer.
func (w *recallWorld) archiveVehicle(t *testing.T, actx context.Context, dealer, name, mobile, vin string) {
	t.Helper()
	c, err := w.archive.CreateCustomer(actx, &customerv1.CreateCustomerRequest{Dealer: dealer, Customer: &customerv1.Customer{Name: name, Mobile: mobile}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.archive.CreateVehicle(actx, &customerv1.CreateVehicleRequest{Dealer: dealer, Customer: c.GetId(), Vehicle: &customerv1.Vehicle{Vin: vin, Model: "帕萨特"}}); err != nil {
		t.Fatal(err)
	}
}

// recall creates HQ's recall code of the VINs, over both dealers.
func (w *recallWorld) recall(t *testing.T, code string, vins ...string) *campaignv1.Campaign {
	t.Helper()
	rc, err := w.campaigns.CreateCampaign(w.hq, &campaignv1.CreateCampaignRequest{Campaign: &campaignv1.Campaign{
		Kind: campaignv1.CampaignKind_CAMPAIGN_KIND_RECALL, Name: "制动软管召回", Code: code, Dealers: []string{"OWN001", "OTHER01"},
		Channels: []campaignv1.Channel{campaignv1.Channel_CHANNEL_SMS},
		Template: &campaignv1.MessageTemplate{Body: "{{customer_name}}您好，您的爱车需召回检修。"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.campaigns.ImportRecallVins(w.hq, &campaignv1.ImportRecallVinsRequest{Campaign: rc.GetId(), Csv: "vin\n" + strings.Join(vins, "\n") + "\n"}); err != nil {
		t.Fatal(err)
	}
	return rc
}

// vinOf is the recall's VIN.
func (w *recallWorld) vinOf(t *testing.T, rc *campaignv1.Campaign, vin string) *campaignv1.RecallVin {
	t.Helper()
	res, err := w.campaigns.ListRecallVins(w.hq, &campaignv1.ListRecallVinsRequest{Campaign: rc.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range res.GetVins() {
		if v.GetVin() == vin {
			return v
		}
	}
	t.Fatalf("%s not on the recall", vin)
	return nil
}

// chaseTasks lists OWN001's recall chase tasks.
func (w *recallWorld) chaseTasks(t *testing.T) []*callbackv1.CallbackTask {
	t.Helper()
	list, err := w.callbacks.ListCallbackTasks(w.ownMgr, &callbackv1.ListCallbackTasksRequest{Dealer: "OWN001"})
	if err != nil {
		t.Fatal(err)
	}
	var out []*callbackv1.CallbackTask
	for _, x := range list.GetTasks() {
		if x.GetSourceType() == "recall" {
			out = append(out, x)
		}
	}
	return out
}

// TestRecallChaseEndsWhenRepairedElsewhere runs the recall end to end on
// the real processes (customer with its outbox relay, campaign, callback,
// worker) against PostgreSQL and Temporal: an HQ recall of two VINs owned
// by OWN001. One is repaired under the recall at OTHER01 before the recall
// is sent, so it is never chased. The other gets a chase task at OWN001
// (the campaign workflow); then a recall repair order closed at OTHER01,
// while the callback service is killed, completes it through the vehicle
// workflow, attributed to OTHER01, and once the callback service is back
// OWN001's chase task is ended, once, as the callback service shows.
func TestRecallChaseEndsWhenRepairedElsewhere(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w := newRecallWorld(ctx, t)
	st, hq, campaigns, callbacks, own, other, ownMgr := w.st, w.hq, w.campaigns, w.callbacks, w.own, w.other, w.ownMgr
	archive := w.archive
	archiveVehicle := func(actx context.Context, dealer, name, mobile, vin string) {
		t.Helper()
		w.archiveVehicle(t, actx, dealer, name, mobile, vin)
	}
	chased, early := validate.CompleteVIN("LFV2A21K07A000010"), validate.CompleteVIN("LFV2A21K07A000011")
	archiveVehicle(own, "OWN001", "车主甲", "+8613900000001", chased)
	archiveVehicle(own, "OWN001", "车主乙", "+8613900000002", early)

	rc := w.recall(t, "RC2026-09", chased, early)
	// The vehicles visit OTHER01, which archives them (after the import:
	// OWN001 stays the owner).
	archiveVehicle(other, "OTHER01", "过路车主甲", "+8613700000001", chased)
	archiveVehicle(other, "OTHER01", "过路车主乙", "+8613700000002", early)
	repair := func(vin, number string) {
		t.Helper()
		ro, err := archive.CreateRepairOrder(other, &customerv1.CreateRepairOrderRequest{Dealer: "OTHER01", RepairOrder: &customerv1.RepairOrder{
			Number: number, Vin: vin, Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_RECALL, CampaignCode: "RC2026-09", MileageKm: 12000}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := archive.CloseRepairOrder(other, &customerv1.CloseRepairOrderRequest{Dealer: "OTHER01", RepairOrder: ro.GetId()}); err != nil {
			t.Fatal(err)
		}
	}
	vinOf := func(vin string) *campaignv1.RecallVin { t.Helper(); return w.vinOf(t, rc, vin) }
	completed := func(vin string) bool {
		return vinOf(vin).GetState() == campaignv1.RecallVinState_RECALL_VIN_STATE_COMPLETED
	}

	// The early VIN is repaired before the recall is sent.
	repair(early, "RO-EARLY")
	temporaltest.WaitFor(ctx, t, func() bool { return completed(early) })
	if _, err := campaigns.ScheduleCampaign(hq, &campaignv1.ScheduleCampaignRequest{Campaign: rc.GetId()}); err != nil {
		t.Fatal(err)
	}
	// Once sent, the campaign workflow chases the open VIN at its owner.
	var task string
	temporaltest.WaitFor(ctx, t, func() bool { task = vinOf(chased).GetChaseTask(); return task != "" })
	if v := vinOf(early); v.GetChaseTask() != "" {
		t.Errorf("the VIN completed before the chase got a chase task: %v", v)
	}
	tk, err := callbacks.GetCallbackTask(ownMgr, &callbackv1.GetCallbackTaskRequest{Dealer: "OWN001", Task: task})
	if err != nil || tk.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING || tk.GetVin() != chased {
		t.Fatalf("chase task at OWN001: %v, %v", tk, err)
	}

	// The chased VIN's recall repair order is closed at OTHER01 while the
	// callback service is down (SIGKILL): the completion is kept, and the
	// vehicle workflow's activity retries until the callback service is
	// back and the task is ended.
	before, _ := os.ReadFile(st.worker.Log)
	st.callback.Kill(t)
	repair(chased, "RO-CHASED")
	temporaltest.WaitFor(ctx, t, func() bool { return completed(chased) })
	// An attempt to end the task failed (the worker logs the activity's
	// error) before the callback service comes back.
	temporaltest.WaitFor(ctx, t, func() bool {
		b, err := os.ReadFile(st.worker.Log)
		return err == nil && len(b) > len(before) && strings.Contains(string(b[len(before):]), `"ActivityType":"CompleteRecall"`)
	})
	st.callback = programtest.Start(t, st.bin["callback"], st.dir, st.callbackEnv)
	if v := vinOf(chased); v.GetCompletedDealer() != "OTHER01" || v.GetOwnerDealer() != "OWN001" {
		t.Errorf("completed VIN: %v, want owned by OWN001, completed at OTHER01", v)
	}
	var ended *callbackv1.CallbackTask
	temporaltest.WaitFor(ctx, t, func() bool {
		ended, err = callbacks.GetCallbackTask(ownMgr, &callbackv1.GetCallbackTaskRequest{Dealer: "OWN001", Task: task})
		return err == nil && ended.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING
	})
	if ended.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_CANCELLED || !strings.Contains(ended.GetEndReason(), "OTHER01") {
		t.Errorf("OWN001's chase task after the repair at OTHER01: %v, want cancelled naming OTHER01", ended)
	}
	// Exactly once: another recall repair order of the VIN through the
	// same event path leaves the ended task as it is, and OWN001 holds one
	// chase task in all.
	tc, err := dctemporal.Dial(ctx, dctemporal.Config{Address: st.temporalAddr, Namespace: st.namespace}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	repair(chased, "RO-CHASED-2")
	// Its CompleteRecall activity (which ends what chase is left) is done.
	temporaltest.WaitFor(ctx, t, func() bool { return recallRepairReported(ctx, t, tc, chased, "RO-CHASED-2") })
	again, err := callbacks.GetCallbackTask(ownMgr, &callbackv1.GetCallbackTaskRequest{Dealer: "OWN001", Task: task})
	if err != nil || !again.GetUpdateTime().AsTime().Equal(ended.GetUpdateTime().AsTime()) || !again.GetEndTime().AsTime().Equal(ended.GetEndTime().AsTime()) {
		t.Errorf("the ended chase task changed: %v (%v), was %v", again, err, ended)
	}
	tasks := w.chaseTasks(t)
	if len(tasks) != 1 || tasks[0].GetId() != task {
		t.Errorf("chase tasks at OWN001: %v, want the one %s", tasks, task)
	}
}

// recallRepairReported reports whether the vehicle workflow of vin has
// completed the CompleteRecall activity of the repair order number.
func recallRepairReported(ctx context.Context, t *testing.T, c client.Client, vin, number string) bool {
	t.Helper()
	scheduled := map[int64]bool{}
	for _, e := range temporaltest.History(ctx, t, c, events.VehicleWorkflowID(vin), "").GetEvents() {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := e.GetActivityTaskScheduledEventAttributes()
			scheduled[e.GetEventId()] = a.GetActivityType().GetName() == "CompleteRecall" &&
				slices.ContainsFunc(a.GetInput().GetPayloads(), func(p *commonpb.Payload) bool { return bytes.Contains(p.GetData(), []byte(`"`+number+`"`)) })
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if scheduled[e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()] {
				return true
			}
		}
	}
	return false
}

// TestCancelledRecallEndsChases runs the recall's withdrawal end to end on
// the real processes: HQ's recall of three VINs owned by OWN001 is sent
// and each VIN gets a chase task at OWN001. Then, with the worker killed
// (SIGKILL), HQ cancels the completed recall; the callback service is
// killed too before the worker comes back, so the workflow's Chase
// activity fails and is retried until the callback service is back. Every
// chase task is then CANCELLED once, with the reason; the campaign's run
// ends, no chase task is opened again, and a later recall repair of a VIN
// completes nothing.
func TestCancelledRecallEndsChases(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w := newRecallWorld(ctx, t)
	st := w.st
	vins := []string{validate.CompleteVIN("LFV2A21K07A000020"), validate.CompleteVIN("LFV2A21K07A000021"), validate.CompleteVIN("LFV2A21K07A000022")}
	for i, v := range vins {
		w.archiveVehicle(t, w.own, "OWN001", "车主"+string(rune('甲'+i)), "+861390000002"+string(rune('0'+i)), v)
	}
	rc := w.recall(t, "RC2026-11", vins...)
	if _, err := w.campaigns.ScheduleCampaign(w.hq, &campaignv1.ScheduleCampaignRequest{Campaign: rc.GetId()}); err != nil {
		t.Fatal(err)
	}
	tasks := map[string]string{}
	temporaltest.WaitFor(ctx, t, func() bool {
		for _, v := range vins {
			if task := w.vinOf(t, rc, v).GetChaseTask(); task != "" {
				tasks[v] = task
			}
		}
		return len(tasks) == len(vins)
	})
	for _, tk := range w.chaseTasks(t) {
		if tk.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_PENDING {
			t.Fatalf("chase task before the cancel: %v", tk)
		}
	}

	st.worker.Kill(t)
	got, err := w.campaigns.CancelCampaign(w.hq, &campaignv1.CancelCampaignRequest{Campaign: rc.GetId(), Reason: "供应商撤回召回"})
	if err != nil || got.GetState() != campaignv1.CampaignState_CAMPAIGN_STATE_CANCELLED {
		t.Fatalf("cancel the sent recall: %v, %v", got, err)
	}
	if _, err := w.campaigns.CancelCampaign(w.hq, &campaignv1.CancelCampaignRequest{Campaign: rc.GetId()}); status.Code(err) != codes.AlreadyExists {
		t.Errorf("cancel it again: %v, want the conflict (AlreadyExists)", err)
	}
	st.callback.Kill(t)
	st.worker = programtest.Start(t, st.bin["worker"], st.dir, st.workerEnv)
	// The Chase activity fails while the callback service is down.
	temporaltest.WaitFor(ctx, t, func() bool {
		b, err := os.ReadFile(st.worker.Log)
		return err == nil && strings.Contains(string(b), `"ActivityType":"Chase"`)
	})
	st.callback = programtest.Start(t, st.bin["callback"], st.dir, st.callbackEnv)
	tc, err := dctemporal.Dial(ctx, dctemporal.Config{Address: st.temporalAddr, Namespace: st.namespace}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	// The run ends once every chase task is ended.
	wfID := "campaign/HQ/" + rc.GetId()
	temporaltest.WaitFor(ctx, t, func() bool {
		d, err := tc.DescribeWorkflowExecution(ctx, wfID, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
	ended := w.chaseTasks(t)
	if len(ended) != len(vins) {
		t.Fatalf("%d chase tasks at OWN001, want %d: %v", len(ended), len(vins), ended)
	}
	for _, tk := range ended {
		if tk.GetStatus() != callbackv1.CallbackStatus_CALLBACK_STATUS_CANCELLED || !strings.Contains(tk.GetEndReason(), "召回已取消") ||
			!strings.Contains(tk.GetEndReason(), "供应商撤回召回") || tasks[tk.GetVin()] != tk.GetId() {
			t.Errorf("chase task after the cancel: %v, want cancelled with the recall's reason", tk)
		}
	}
	// Once: the service's chase of the cancelled recall (as a retry or a
	// redelivered cancel would call it) ends and opens nothing more.
	wf := campaignv1.NewCampaignWorkflowServiceClient(dialGRPC(t, st.campaignAddr))
	svc := auth.WithToken(ctx, st.id.Token(t, auth.Principal{Subject: "dealercare-worker", Roles: []auth.Role{auth.RoleService}}))
	if res, err := wf.ChaseRecallVins(svc, &campaignv1.ChaseRecallVinsRequest{Campaign: rc.GetId()}); err != nil || res.GetOpened() != 0 {
		t.Errorf("chase of the cancelled recall: %v, %v", res, err)
	}
	for _, tk := range w.chaseTasks(t) {
		for _, e := range ended {
			if e.GetId() == tk.GetId() && (!e.GetUpdateTime().AsTime().Equal(tk.GetUpdateTime().AsTime()) || !e.GetEndTime().AsTime().Equal(tk.GetEndTime().AsTime())) {
				t.Errorf("the ended chase task changed: %v, was %v", tk, e)
			}
		}
	}
	if n := len(w.chaseTasks(t)); n != len(vins) {
		t.Errorf("%d chase tasks after the cancel, want %d", n, len(vins))
	}
	// A recall repair order quoting the cancelled recall's code, closed at
	// OTHER01 and reported by the vehicle workflow, completes nothing.
	w.archiveVehicle(t, w.other, "OTHER01", "过路车主", "+8613700000020", vins[0])
	ro, err := w.archive.CreateRepairOrder(w.other, &customerv1.CreateRepairOrderRequest{Dealer: "OTHER01", RepairOrder: &customerv1.RepairOrder{
		Number: "RO-AFTER-CANCEL", Vin: vins[0], Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_RECALL, CampaignCode: "RC2026-11", MileageKm: 9000}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.archive.CloseRepairOrder(w.other, &customerv1.CloseRepairOrderRequest{Dealer: "OTHER01", RepairOrder: ro.GetId()}); err != nil {
		t.Fatal(err)
	}
	temporaltest.WaitFor(ctx, t, func() bool {
		_, err := tc.DescribeWorkflowExecution(ctx, events.VehicleWorkflowID(vins[0]), "")
		return err == nil && recallRepairReported(ctx, t, tc, vins[0], "RO-AFTER-CANCEL")
	})
	if v := w.vinOf(t, rc, vins[0]); v.GetState() != campaignv1.RecallVinState_RECALL_VIN_STATE_OPEN {
		t.Errorf("VIN of the cancelled recall after a repair: %v, want open", v)
	}
}
