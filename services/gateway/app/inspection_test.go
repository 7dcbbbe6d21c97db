package app_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
)

// TestInspectionsEndToEnd: an HQ admin publishes a checklist, an HQ
// analyst records inspections of SH001 through the REST API; each is
// scored (total − deducted) ÷ total × 100; bad input is a 400 naming the
// field and stores nothing; SH001's staff and its region's manager read
// them, another dealer's staff and region get 404; the trend and, once
// weighted in HQ's targets, the composite and the ranking include them.
func TestInspectionsEndToEnd(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	analyst := g.token(t, auth.Principal{Subject: "inspector-wang", Roles: []auth.Role{auth.RoleHQAnalyst}})
	east := g.token(t, auth.Principal{Subject: "rm-east", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"})
	north := g.token(t, auth.Principal{Subject: "rm-north", Roles: []auth.Role{auth.RoleRegionManager}, Region: "NORTH"})
	sh := g.token(t, auth.Principal{Subject: "mgr-SH001", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	bj := g.token(t, auth.Principal{Subject: "mgr-BJ001", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "BJ001"})
	g.evaluate(t) // the evaluation learns the dealers

	checklist := `{"title":"2027 售后服务检核","items":[
		{"code":"A01","text":"展厅整洁","category":"facilities","maxDeduction":10},
		{"code":"B01","text":"预约流程执行","category":"process","maxDeduction":30}]}`
	if code, body := g.do(t, "POST", "/v1/inspectionChecklists", analyst, checklist); code != 403 {
		t.Errorf("an analyst published a checklist: %d %v", code, body)
	}
	code, body := g.do(t, "POST", "/v1/inspectionChecklists", admin, `{"title":"x","items":[{"code":"A","text":"t","maxDeduction":0}]}`)
	wantField(t, code, body, "checklist.items[0].max_deduction")
	c := must(t, 200)(g.do(t, "POST", "/v1/inspectionChecklists", admin, checklist))
	if c["version"] != float64(1) || c["totalPoints"] != float64(40) || c["createBy"] != "hq" {
		t.Errorf("checklist %v", c)
	}
	if got := must(t, 200)(g.do(t, "GET", "/v1/inspectionChecklists/1", sh, "")); got["title"] != "2027 售后服务检核" {
		t.Errorf("checklist 1 as SH001: %v", got)
	}
	if list := must(t, 200)(g.do(t, "GET", "/v1/inspectionChecklists", bj, ""))["checklists"].([]any); len(list) != 1 {
		t.Errorf("checklists %v", list)
	}
	must(t, 404)(g.do(t, "GET", "/v1/inspectionChecklists/9", admin, ""))

	// Recording: now, in SH001's (Shanghai's) current month.
	visit := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	p := "/v1/dealers/SH001/inspections"
	code, body = g.do(t, "POST", p, analyst, `{"visitTime":"`+visit+`","items":[{"code":"B01","deduction":31,"evidenceNote":"未执行"}]}`)
	wantField(t, code, body, "inspection.items[0].deduction")
	code, body = g.do(t, "POST", p, analyst, `{"visitTime":"`+visit+`","items":[{"code":"A01","deduction":3}]}`)
	wantField(t, code, body, "inspection.items[0].evidence_note")
	code, body = g.do(t, "POST", p, analyst, `{"items":[]}`)
	wantField(t, code, body, "inspection.visit_time")
	if code, body := g.do(t, "POST", p, sh, `{"visitTime":"`+visit+`"}`); code != 403 {
		t.Errorf("dealer staff recorded an inspection: %d %v", code, body)
	}
	if list := must(t, 200)(g.do(t, "GET", p, admin, ""))["inspections"].([]any); len(list) != 0 {
		t.Fatalf("refused inspections were stored: %v", list)
	}
	first := must(t, 200)(g.do(t, "POST", p, analyst, `{"visitTime":"`+visit+`","summary":"整体良好","items":[
		{"code":"A01","deduction":4,"evidenceNote":"展厅地面有污渍"},{"code":"B01","deduction":6,"evidenceNote":"两位客户未确认预约"}]}`))
	// 40 points, 10 deducted: 75.
	if first["score"] != float64(75) || first["deductedPoints"] != float64(10) || first["inspector"] != "inspector-wang" || first["dealer"] != "SH001" {
		t.Errorf("inspection %v", first)
	}
	second := must(t, 200)(g.do(t, "POST", p, admin, `{"checklistVersion":1,"visitTime":"`+visit+`"}`))
	if second["score"] != float64(100) {
		t.Errorf("second inspection %v", second)
	}
	id := first["id"].(string)

	// Reading: SH001's staff and EAST; BJ001's staff and NORTH get 404.
	for who, tok := range map[string]string{"SH001": sh, "EAST": east, "HQ": analyst} {
		if got := must(t, 200)(g.do(t, "GET", p+"/"+id, tok, "")); got["items"].([]any)[1].(map[string]any)["evidenceNote"] != "两位客户未确认预约" {
			t.Errorf("%s reads %v", who, got)
		}
	}
	for who, tok := range map[string]string{"BJ001": bj, "NORTH": north} {
		for _, path := range []string{p + "/" + id, p, "/v1/dealers/SH001/inspectionScores"} {
			if code, body := g.do(t, "GET", path, tok, ""); code != 404 {
				t.Errorf("%s: GET %s answered %d: %v", who, path, code, body)
			}
		}
	}
	must(t, 404)(g.do(t, "GET", "/v1/dealers/BJ001/inspections/"+id, bj, ""))
	// Pages of one.
	page := must(t, 200)(g.do(t, "GET", p+"?pageSize=1", sh, ""))
	token, _ := page["nextPageToken"].(string)
	rest := must(t, 200)(g.do(t, "GET", p+"?pageSize=1&pageToken="+url.QueryEscape(token), sh, ""))
	if len(page["inspections"].([]any)) != 1 || token == "" || len(rest["inspections"].([]any)) != 1 || rest["nextPageToken"] != nil && rest["nextPageToken"] != "" {
		t.Errorf("pages: %v then %v", page, rest)
	}
	code, body = g.do(t, "GET", p+"?pageToken=bogus", sh, "")
	wantField(t, code, body, "page_token")

	// The trend: this month's two inspections, mean 87.5; last month none.
	trend := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/inspectionScores?query.periods=2", sh, ""))
	periods := trend["periods"].([]any)
	last, before := periods[1].(map[string]any), periods[0].(map[string]any)
	if trend["scope"] != "dealers/SH001" || last["score"] != 87.5 || fmt.Sprint(last["inspections"]) != "2" || before["score"] != nil {
		t.Errorf("trend %v", trend)
	}
	code, body = g.do(t, "GET", "/v1/dealers/SH001/inspectionScores?query.periods=500", sh, "")
	wantField(t, code, body, "periods")

	// The KPI and the composite: BJ001 has the better 3DC rate; weighted
	// inspections put SH001 first.
	agents := map[string]string{}
	for _, d := range []string{"SH001", "BJ001"} {
		manager := g.token(t, auth.Principal{Subject: "mgr-" + d, Roles: []auth.Role{auth.RoleDealerManager}, Dealer: d})
		agents[d] = g.token(t, auth.Principal{Subject: "agent-" + d, Roles: []auth.Role{auth.RoleAgent}, Dealer: d})
		must(t, 200)(g.do(t, "POST", "/v1/dealers/"+d+"/callbackAgents", manager, `{"subject":"agent-`+d+`"}`))
	}
	completeTask(t, g, "BJ001", g.seedCallbackTask(t, "BJ001", "ro-i1").GetId(), agents["BJ001"])
	completeTask(t, g, "SH001", g.seedCallbackTask(t, "SH001", "ro-i2").GetId(), agents["SH001"])
	g.seedCallbackTask(t, "SH001", "ro-i3")
	g.evaluate(t)
	if v := kpi(t, must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/kpis", sh, "")), "inspection_score"); v["value"] != 87.5 || fmt.Sprint(v["denominator"]) != "2" {
		t.Errorf("SH001 inspection_score %v", v)
	}
	month := time.Now().In(shanghai(t)).Format("2006-01")
	rankOrder := func() string {
		var out []string
		for _, r := range must(t, 200)(g.do(t, "GET", "/v1/kpis:rank", analyst, ""))["ranks"].([]any) {
			out = append(out, r.(map[string]any)["dealer"].(string))
		}
		return strings.Join(out, ",")
	}
	must(t, 200)(g.do(t, "POST", "/v1/kpiTargets", admin, `{"effectiveMonth":"`+month+`","targets":[
		{"kpi":"callback_rate_3dc","target":1,"weight":1},{"kpi":"inspection_score","target":90,"weight":0}]}`))
	if got := rankOrder(); got != "BJ001,SH001" {
		t.Errorf("ranking with inspection weight 0: %s", got)
	}
	must(t, 200)(g.do(t, "POST", "/v1/kpiTargets", admin, `{"effectiveMonth":"`+month+`","targets":[
		{"kpi":"callback_rate_3dc","target":1,"weight":1},{"kpi":"inspection_score","target":90,"weight":3}]}`))
	// SH001: (0.5 + 3 × 1) ÷ 4; BJ001 has no inspection: its 3DC alone.
	if got := rankOrder(); got != "BJ001,SH001" {
		t.Errorf("ranking with BJ001 not inspected: %s", got)
	}
	must(t, 200)(g.do(t, "POST", "/v1/dealers/BJ001/inspections", analyst, `{"visitTime":"`+visit+`","items":[
		{"code":"B01","deduction":30,"evidenceNote":"无预约流程"}]}`)) // 25
	g.evaluate(t)
	// SH001 87.5; BJ001 (1 + 3 × 25/90) ÷ 4 ≈ 45.8.
	if got := rankOrder(); got != "SH001,BJ001" {
		t.Errorf("ranking with inspection weight 3: %s", got)
	}
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return zone
}
