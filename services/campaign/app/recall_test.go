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
	st := startCampaignStack(t, nil, nil, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
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
	own, other := agent("OWN001"), agent("OTHER01")
	ownMgr := auth.WithToken(ctx, st.id.Token(t, auth.Principal{Subject: "mgr", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "OWN001"}))
	archiveVehicle := func(actx context.Context, dealer, name, mobile, vin string) {
		t.Helper()
		c, err := archive.CreateCustomer(actx, &customerv1.CreateCustomerRequest{Dealer: dealer, Customer: &customerv1.Customer{Name: name, Mobile: mobile}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := archive.CreateVehicle(actx, &customerv1.CreateVehicleRequest{Dealer: dealer, Customer: c.GetId(), Vehicle: &customerv1.Vehicle{Vin: vin, Model: "帕萨特"}}); err != nil {
			t.Fatal(err)
		}
	}
	chased, early := validate.CompleteVIN("LFV2A21K07A000010"), validate.CompleteVIN("LFV2A21K07A000011")
	archiveVehicle(own, "OWN001", "车主甲", "+8613900000001", chased)
	archiveVehicle(own, "OWN001", "车主乙", "+8613900000002", early)

	rc, err := campaigns.CreateCampaign(hq, &campaignv1.CreateCampaignRequest{Campaign: &campaignv1.Campaign{
		Kind: campaignv1.CampaignKind_CAMPAIGN_KIND_RECALL, Name: "制动软管召回", Code: "RC2026-09", Dealers: []string{"OWN001", "OTHER01"},
		Channels: []campaignv1.Channel{campaignv1.Channel_CHANNEL_SMS},
		Template: &campaignv1.MessageTemplate{Body: "{{customer_name}}您好，您的爱车需召回检修。"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := campaigns.ImportRecallVins(hq, &campaignv1.ImportRecallVinsRequest{Campaign: rc.GetId(), Csv: "vin\n" + chased + "\n" + early + "\n"}); err != nil {
		t.Fatal(err)
	}
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
	vinOf := func(vin string) *campaignv1.RecallVin {
		res, err := campaigns.ListRecallVins(hq, &campaignv1.ListRecallVinsRequest{Campaign: rc.GetId()})
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
	list, err := callbacks.ListCallbackTasks(ownMgr, &callbackv1.ListCallbackTasksRequest{Dealer: "OWN001"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range list.GetTasks() {
		if x.GetSourceType() == "recall" {
			n++
			if x.GetId() != task {
				t.Errorf("another chase task at OWN001: %v", x)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d chase tasks at OWN001, want 1", n)
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
