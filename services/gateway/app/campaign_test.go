package app_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/validate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestCampaignScenarios walks the campaign REST API through the gateway:
// a dealer's preview, scheduling and cancelling with 409s for illegal
// moves; an HQ recall across three dealers whose preview shows no personal
// data, completed at a dealer that does not own the VIN.
func TestCampaignScenarios(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	must(t, 200)(g.do(t, "POST", "/v1/dealers", admin, `{"code":"SH002","name":"上海闵行汽车销售服务有限公司","region":"EAST","city":"上海"}`))
	vins := map[string]string{}
	customers := map[string]string{}
	for i, d := range []string{"SH001", "SH002", "BJ001"} {
		agent := g.token(t, auth.Principal{Subject: "agent-" + d, Roles: []auth.Role{auth.RoleAgent}, Dealer: d})
		vin := validate.CompleteVIN(fmt.Sprintf("LFV2A21K07A00000%d", i+1))
		c := must(t, 200)(g.do(t, "POST", "/v1/dealers/"+d+"/customers", agent, fmt.Sprintf(`{"name":"车主%d号","mobile":"1391234567%d","tier":"CUSTOMER_TIER_KEY"}`, i, i)))
		must(t, 200)(g.do(t, "POST", "/v1/dealers/"+d+"/customers/"+c["id"].(string)+"/vehicles", agent, `{"vin":"`+vin+`","plate":"沪A0000`+fmt.Sprint(i)+`","model":"帕萨特"}`))
		must(t, 200)(g.do(t, "POST", "/v1/dealers/"+d+"/customers/"+c["id"].(string)+":updateConsent", agent, `{"consent":{"channel":"CHANNEL_SMS","granted":true}}`))
		vins[d], customers[d] = vin, c["id"].(string)
	}

	// A dealer's campaign: preview, schedule, cancel.
	mgr := g.token(t, auth.Principal{Subject: "mgr", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	base := "/v1/dealers/SH001/campaigns"
	code, body := g.doLang(t, "POST", base, mgr, `{"kind":"CAMPAIGN_KIND_MAINTENANCE_PROMOTION","name":"冬季保养","channels":["CHANNEL_SMS"],"template":{"body":"{{nickname}}您好"}}`, "zh-CN")
	if msg, _ := body["message"].(string); code != 400 || !strings.Contains(msg, "campaign.template.body") || !strings.Contains(msg, "未知变量") {
		t.Errorf("unknown template variable: %d %v", code, body)
	}
	c := must(t, 200)(g.do(t, "POST", base, mgr, `{"kind":"CAMPAIGN_KIND_MAINTENANCE_PROMOTION","name":"冬季保养","channels":["CHANNEL_SMS"],`+
		`"template":{"body":"{{customer_name}}您好，{{dealer_name}}冬季保养8折，{{plate}}"},"audience":{"tiers":["CUSTOMER_TIER_KEY"],"models":["帕萨特"]}}`))
	id := c["id"].(string)
	if c["state"] != "CAMPAIGN_STATE_DRAFT" || c["workflowId"] != "campaign/SH001/"+id {
		t.Errorf("created: %v", c)
	}
	p := must(t, 200)(g.do(t, "POST", base+"/"+id+":preview", mgr, `{}`))
	sample, _ := p["sample"].([]any)
	if p["count"] != "1" || len(sample) != 1 || !strings.Contains(sample[0].(map[string]any)["text"].(string), "车主0号您好，上海浦东汽车销售服务有限公司冬季保养8折，沪A00000") {
		t.Errorf("dealer preview: %v", p)
	}
	must(t, 200)(g.do(t, "PATCH", base+"/"+id+"?update_mask=name", mgr, `{"name":"冬季保养（改）"}`))
	s := must(t, 200)(g.do(t, "POST", base+"/"+id+":schedule", mgr, `{"startTime":"2030-01-01T01:00:00Z"}`))
	if s["state"] != "CAMPAIGN_STATE_SCHEDULED" {
		t.Errorf("scheduled: %v", s)
	}
	for _, r := range []struct{ method, path, body string }{
		{"POST", base + "/" + id + ":schedule", `{}`},
		{"PATCH", base + "/" + id + "?update_mask=name", `{"name":"x"}`},
	} {
		code, body := g.do(t, r.method, r.path, mgr, r.body)
		if msg, _ := body["message"].(string); code != 409 || !strings.Contains(msg, "scheduled") {
			t.Errorf("%s %s on a scheduled campaign: %d %v, want 409 naming the state", r.method, r.path, code, body)
		}
	}
	must(t, 200)(g.do(t, "POST", base+"/"+id+":cancel", mgr, `{"reason":"预算调整"}`))
	if code, body := g.do(t, "POST", base+"/"+id+":cancel", mgr, `{}`); code != 409 {
		t.Errorf("cancel twice: %d %v", code, body)
	}
	agent := g.token(t, auth.Principal{Subject: "a", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	if code, _ := g.do(t, "POST", base, agent, `{"kind":"CAMPAIGN_KIND_SURVEY","name":"x"}`); code != 403 {
		t.Errorf("an agent drafts a campaign: %d, want 403", code)
	}

	// HQ's recall across three dealers.
	analyst := g.token(t, auth.Principal{Subject: "analyst", Roles: []auth.Role{auth.RoleHQAnalyst}})
	rc := must(t, 200)(g.do(t, "POST", "/v1/campaigns", analyst, `{"kind":"CAMPAIGN_KIND_RECALL","name":"2026 制动软管召回","code":"RC2026-01",`+
		`"channels":["CHANNEL_SMS"],"template":{"body":"{{customer_name}}您好，您的爱车{{plate}}需召回检修（{{campaign_code}}）"},`+
		`"audience":{"vins":["`+vins["SH001"]+`","`+vins["SH002"]+`"]}}`))
	rid := rc["id"].(string)
	// HQ uploads the rest of the list as CSV: a bad line is refused by
	// number, and nothing is added; then BJ001's VIN joins (a repeat of
	// SH001's is kept once).
	code, body = g.do(t, "POST", "/v1/campaigns/"+rid+"/recallVins:import", analyst, `{"csv":"vin\n`+vins["BJ001"]+`\nLFV2A21K07A0000\n"}`)
	if msg, _ := body["message"].(string); code != 400 || !strings.Contains(msg, "csv") || !strings.Contains(msg, "line 3") {
		t.Errorf("bad recall CSV: %d %v, want 400 naming csv line 3", code, body)
	}
	imp := must(t, 200)(g.do(t, "POST", "/v1/campaigns/"+rid+"/recallVins:import", analyst, `{"csv":"vin\n`+vins["BJ001"]+`\n`+vins["SH001"]+`\n"}`))
	if imp["read"] != 2.0 || imp["added"] != 2.0 || imp["total"] != 2.0 {
		t.Errorf("recall import: %v", imp)
	}
	for _, p := range []string{"/recallVins", "/recallCompletion"} {
		if code, _ := g.do(t, "GET", "/v1/campaigns/"+rid+p, agent, ""); code != 404 {
			t.Errorf("a dealer agent reads HQ's recall %s: %d, want 404", p, code)
		}
	}
	if code, _ := g.do(t, "POST", "/v1/campaigns/"+rid+"/recallVins:import", mgr, `{"csv":"`+vins["SH001"]+`"}`); code != 404 {
		t.Errorf("a dealer manager imports into HQ's recall: %d, want 404", code)
	}
	pv := must(t, 200)(g.do(t, "POST", "/v1/campaigns/"+rid+":preview", analyst, `{"sampleSize":10}`))
	if pv["count"] != "3" {
		t.Errorf("recall preview count: %v", pv)
	}
	for _, smp := range pv["sample"].([]any) {
		r := smp.(map[string]any)
		text := fmt.Sprint(r)
		if strings.Contains(text, "车主") || strings.Contains(text, "13912345") || strings.Contains(text, "沪A0000") {
			t.Errorf("HQ preview shows personal data: %v", r)
		}
	}
	if code, _ := g.do(t, "GET", "/v1/campaigns/"+rid, agent, ""); code != 404 {
		t.Errorf("a dealer agent reads HQ's recall: %d, want 404", code)
	}
	must(t, 200)(g.do(t, "POST", "/v1/campaigns/"+rid+":schedule", analyst, `{}`))

	// The workflow's part, as the worker does it: resolve the audience.
	conn, err := grpc.NewClient(g.campaignAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wf := campaignv1.NewCampaignWorkflowServiceClient(conn)
	svc := auth.WithToken(context.Background(), g.token(t, auth.Principal{Subject: "svc", Roles: []auth.Role{auth.RoleService}}))
	for done := false; !done; {
		res, err := wf.StartCampaign(svc, &campaignv1.StartCampaignRequest{Campaign: rid})
		if err != nil {
			t.Fatal(err)
		}
		done = res.GetAudienceComplete()
	}

	// SH001's vehicle is repaired under the recall at SH002, which archives
	// the visiting vehicle first.
	sh2 := g.token(t, auth.Principal{Subject: "agent-sh2", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH002"})
	visitor := must(t, 200)(g.do(t, "POST", "/v1/dealers/SH002/customers", sh2, `{"name":"过路车主","mobile":"13700000000"}`))
	must(t, 200)(g.do(t, "POST", "/v1/dealers/SH002/customers/"+visitor["id"].(string)+"/vehicles", sh2, `{"vin":"`+vins["SH001"]+`"}`))
	must(t, 200)(g.do(t, "POST", "/v1/dealers/SH002/repairOrders", sh2, `{"number":"RO-RC-1","vin":"`+vins["SH001"]+`","type":"REPAIR_ORDER_TYPE_RECALL","campaignCode":"RC2026-01","mileageKm":12000}`))
	// A repair of another kind at BJ001 does not complete the recall.
	bj := g.token(t, auth.Principal{Subject: "agent-bj", Roles: []auth.Role{auth.RoleAgent}, Dealer: "BJ001"})
	must(t, 200)(g.do(t, "POST", "/v1/dealers/BJ001/repairOrders", bj, `{"number":"RO-BJ-1","vin":"`+vins["BJ001"]+`","type":"REPAIR_ORDER_TYPE_MAINTENANCE","mileageKm":8000}`))
	res, err := wf.ReconcileReturns(svc, &campaignv1.ReconcileReturnsRequest{Campaign: rid})
	if err != nil || res.GetReturned() != 1 {
		t.Fatalf("reconcile: %v %v, want 1 completed", res, err)
	}
	got := must(t, 200)(g.do(t, "GET", "/v1/campaigns/"+rid+"/recipients?returnedOnly=true", analyst, ""))
	rs := got["recipients"].([]any)
	if len(rs) != 1 || rs[0].(map[string]any)["dealer"] != "SH001" || rs[0].(map[string]any)["returnDealer"] != "SH002" || rs[0].(map[string]any)["vin"] != vins["SH001"] {
		t.Errorf("completed recall recipients: %v", got)
	}
	st := must(t, 200)(g.do(t, "GET", "/v1/campaigns/"+rid, analyst, ""))["stats"].(map[string]any)
	if st["targeted"] != "3" || st["returned"] != "1" {
		t.Errorf("recall stats: %v", st)
	}

	// Each VIN's completion: the vehicle workflow reports the recall repair
	// order it received (as RecordRecallRepair), attributed to SH002.
	rr, err := wf.RecordRecallRepair(svc, &campaignv1.RecordRecallRepairRequest{Vin: vins["SH001"], Dealer: "SH002", RepairOrder: "RO-RC-1",
		CampaignCode: "RC2026-01", CloseTime: timestamppb.Now()})
	if err != nil || rr.GetCompleted() != 1 {
		t.Fatalf("record recall repair: %v %v", rr, err)
	}
	list := must(t, 200)(g.do(t, "GET", "/v1/campaigns/"+rid+"/recallVins?state=RECALL_VIN_STATE_COMPLETED", analyst, ""))
	done, _ := list["vins"].([]any)
	if len(done) != 1 || done[0].(map[string]any)["ownerDealer"] != "SH001" || done[0].(map[string]any)["completedDealer"] != "SH002" ||
		done[0].(map[string]any)["region"] != "EAST" {
		t.Errorf("completed recall VINs: %v", list)
	}
	comp := must(t, 200)(g.do(t, "GET", "/v1/campaigns/"+rid+"/recallCompletion", analyst, ""))
	if n := comp["network"].(map[string]any); n["vins"] != "3" || n["completed"] != "1" || n["completedElsewhere"] != "1" {
		t.Errorf("network completion: %v", n)
	}
	byKey := func(list any) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, x := range list.([]any) {
			out[fmt.Sprint(x.(map[string]any)["key"])] = x.(map[string]any)
		}
		return out
	}
	ds, rgs := byKey(comp["dealers"]), byKey(comp["regions"])
	if ds["SH001"]["completed"] != "1" || ds["SH001"]["completedElsewhere"] != "1" || ds["SH002"]["repairedHere"] != "1" ||
		ds["BJ001"]["vins"] != "1" || ds["BJ001"]["completed"] != nil && ds["BJ001"]["completed"] != "0" {
		t.Errorf("dealer completion: %v", ds)
	}
	if rgs["EAST"]["vins"] != "2" || rgs["EAST"]["completed"] != "1" || rgs["EAST"]["completionRate"] != 0.5 || rgs["NORTH"]["vins"] != "1" {
		t.Errorf("region completion: %v", rgs)
	}
	// The owners of the two open VINs get a callback task to chase them,
	// through the callback service; a second pass opens none.
	ch, err := wf.ChaseRecallVins(svc, &campaignv1.ChaseRecallVinsRequest{Campaign: rid})
	if err != nil || ch.GetOpened() != 2 || ch.GetOpen() != 2 {
		t.Fatalf("chase: %v %v, want 2 opened", ch, err)
	}
	if ch, err := wf.ChaseRecallVins(svc, &campaignv1.ChaseRecallVinsRequest{Campaign: rid}); err != nil || ch.GetOpened() != 0 {
		t.Errorf("second chase: %v %v", ch, err)
	}
	bjMgr := g.token(t, auth.Principal{Subject: "mgr-bj", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "BJ001"})
	tasks := must(t, 200)(g.do(t, "GET", "/v1/dealers/BJ001/callbackTasks", bjMgr, ""))
	found := 0
	for _, x := range tasks["tasks"].([]any) {
		if tk := x.(map[string]any); tk["vin"] == vins["BJ001"] && tk["kind"] == "CALLBACK_KIND_CAMPAIGN" {
			found++
		}
	}
	if found != 1 {
		t.Errorf("BJ001's chase task for its open VIN: %d in %v", found, tasks)
	}
	// SH001's VIN, completed before the chase, never got a chase task.
	shMgr := g.token(t, auth.Principal{Subject: "mgr-sh", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	for _, x := range must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/callbackTasks", shMgr, ""))["tasks"].([]any) {
		if tk := x.(map[string]any); tk["vin"] == vins["SH001"] && tk["kind"] == "CALLBACK_KIND_CAMPAIGN" {
			t.Errorf("a chase task for SH001's VIN completed before the chase: %v", tk)
		}
	}
	// BJ001's VIN is repaired under the recall at SH001: the VIN is
	// completed there, and BJ001's chase task is ended (cancelled, with the
	// reason) through the callback service, once: a repeat of the report
	// and another chase pass leave it as it was.
	var chaseTask string
	for _, x := range must(t, 200)(g.do(t, "GET", "/v1/campaigns/"+rid+"/recallVins?ownerDealer=BJ001", analyst, ""))["vins"].([]any) {
		chaseTask, _ = x.(map[string]any)["chaseTask"].(string)
	}
	if chaseTask == "" {
		t.Fatal("BJ001's open VIN has no chase task on the recall's list")
	}
	if tk := must(t, 200)(g.do(t, "GET", "/v1/dealers/BJ001/callbackTasks/"+chaseTask, bjMgr, "")); tk["status"] != "CALLBACK_STATUS_PENDING" {
		t.Errorf("chase task before the repair: %v", tk)
	}
	for range 2 {
		if _, err := wf.RecordRecallRepair(svc, &campaignv1.RecordRecallRepairRequest{Vin: vins["BJ001"], Dealer: "SH001", RepairOrder: "RO-RC-2",
			CampaignCode: "RC2026-01", CloseTime: timestamppb.Now()}); err != nil {
			t.Fatalf("record BJ001's recall repair at SH001: %v", err)
		}
	}
	ended := must(t, 200)(g.do(t, "GET", "/v1/dealers/BJ001/callbackTasks/"+chaseTask, bjMgr, ""))
	if ended["status"] != "CALLBACK_STATUS_CANCELLED" || !strings.Contains(fmt.Sprint(ended["endReason"]), "SH001") || ended["endTime"] == nil {
		t.Errorf("BJ001's chase task after its VIN's repair at SH001: %v, want cancelled naming SH001", ended)
	}
	if ch, err := wf.ChaseRecallVins(svc, &campaignv1.ChaseRecallVinsRequest{Campaign: rid}); err != nil || ch.GetOpened() != 0 || ch.GetOpen() != 1 {
		t.Errorf("chase after BJ001's repair: %v %v, want none opened, 1 open", ch, err)
	}
	if again := must(t, 200)(g.do(t, "GET", "/v1/dealers/BJ001/callbackTasks/"+chaseTask, bjMgr, "")); again["endTime"] != ended["endTime"] ||
		again["updateTime"] != ended["updateTime"] || again["status"] != ended["status"] {
		t.Errorf("the chase task changed again: %v, was %v", again, ended)
	}
	bjVINs := must(t, 200)(g.do(t, "GET", "/v1/campaigns/"+rid+"/recallVins?ownerDealer=BJ001", analyst, ""))["vins"].([]any)
	if v := bjVINs[0].(map[string]any); len(bjVINs) != 1 || v["state"] != "RECALL_VIN_STATE_COMPLETED" || v["completedDealer"] != "SH001" {
		t.Errorf("BJ001's VIN after its repair at SH001: %v", bjVINs)
	}

	// HQ's maintenance plans: a model's plan from the default, refused to
	// dealer staff, a bad value named.
	plan := must(t, 200)(g.do(t, "PATCH", "/v1/maintenancePlans/"+url.PathEscape("帕萨特")+"?update_mask=months", admin, `{"months":3}`))
	if plan["months"] != 3.0 || plan["intervalKm"] != 5000.0 || plan["defaultKmPerDay"] != 40.0 {
		t.Errorf("set plan: %v", plan)
	}
	if code, body := g.do(t, "PATCH", "/v1/maintenancePlans/default", admin, `{"months":0,"intervalKm":5000,"defaultKmPerDay":40}`); code != 400 || !strings.Contains(fmt.Sprint(body["message"]), "months") {
		t.Errorf("months 0: %d %v", code, body)
	}
	if code, _ := g.do(t, "PATCH", "/v1/maintenancePlans/default?update_mask=months", mgr, `{"months":4}`); code != 403 {
		t.Errorf("a dealer manager sets the default plan: %d, want 403", code)
	}
	plans := must(t, 200)(g.do(t, "GET", "/v1/maintenancePlans", agent, ""))["plans"].([]any)
	if len(plans) != 2 || plans[0].(map[string]any)["model"] != "default" || plans[1].(map[string]any)["model"] != "帕萨特" {
		t.Errorf("plans: %v", plans)
	}

	// A dealer's override of HQ's quiet hours.
	dp := must(t, 200)(g.do(t, "PATCH", "/v1/dealers/SH001/messagingPolicy?update_mask=quiet_start", mgr, `{"quietStart":"23:00"}`))
	if dp["quietStart"] != "23:00" || dp["quietEnd"] != "09:00" || fmt.Sprint(dp["overridden"]) != "[quiet_start]" {
		t.Errorf("dealer policy: %v", dp)
	}
	if got := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/messagingPolicy", agent, "")); got["quietStart"] != "23:00" {
		t.Errorf("dealer policy read by its agent: %v", got)
	}

	// The evaluation learns the recall's targets from the campaign's feed
	// and counts the returns from its repair-order facts by the same rule:
	// SH001's customer returned (at SH002), BJ001's maintenance visit is
	// no recall return, SH002's customer never came.
	g.evaluate(t)
	for dealer, want := range map[string][2]any{"SH001": {float64(1), "1"}, "SH002": {float64(0), "1"}, "BJ001": {float64(0), "1"}} {
		v := kpi(t, must(t, 200)(g.do(t, "GET", "/v1/dealers/"+dealer+"/kpis", analyst, "")), "campaign_return_count")
		if v["numerator"] != want[0] || v["denominator"] != want[1] {
			t.Errorf("%s campaign_return_count %v/%v, want %v/%v", dealer, v["numerator"], v["denominator"], want[0], want[1])
		}
	}
}
