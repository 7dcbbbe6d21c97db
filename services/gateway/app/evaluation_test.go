package app_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/services/evaluation/evaluationtest"
)

// evaluate does what the evaluation's feed workflow does: refresh the
// dealers, pull every source's change feed to its end, roll up.
func (g *gw) evaluate(t *testing.T) {
	t.Helper()
	svc := g.token(t, auth.Principal{Subject: "svc", Roles: []auth.Role{auth.RoleService}})
	evaluationtest.CatchUp(t, g.evaluationAddr, svc, "customer", "callback", "complaint", "campaign")
}

// completeTask claims, answers and completes a callback task through the
// REST API, every rating at its top.
func completeTask(t *testing.T, g *gw, dealer, task, agent string) {
	t.Helper()
	p := "/v1/dealers/" + dealer + "/callbackTasks/" + task
	full := must(t, 200)(g.do(t, "GET", p, agent, ""))
	var answers []string
	for _, raw := range full["questionnaire"].(map[string]any)["questions"].([]any) {
		q := raw.(map[string]any)
		switch q["type"] {
		case "QUESTION_TYPE_RATING":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"rating":5}`, q["code"]))
		case "QUESTION_TYPE_YES_NO":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"yesNo":"yes"}`, q["code"]))
		case "QUESTION_TYPE_CHOICE":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"choice":%q}`, q["code"], q["options"].([]any)[0].(map[string]any)["code"]))
		}
	}
	must(t, 200)(g.do(t, "POST", p+":claim", agent, `{}`))
	must(t, 200)(g.do(t, "POST", p+":recordAttempt", agent, `{"number":1,"outcome":"ATTEMPT_OUTCOME_ANSWERED"}`))
	must(t, 200)(g.do(t, "POST", p+":complete", agent, `{"answers":[`+strings.Join(answers, ",")+`],"findings":"客户反馈已记录"}`))
}

func kpi(t *testing.T, table map[string]any, name string) map[string]any {
	t.Helper()
	periods := table["periods"].([]any)
	for _, v := range periods[len(periods)-1].(map[string]any)["values"].([]any) {
		if v.(map[string]any)["kpi"] == name {
			return v.(map[string]any)
		}
	}
	t.Fatalf("no %s in %v", name, table)
	return nil
}

func ranks(body map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	list, _ := body["ranks"].([]any)
	for _, r := range list {
		out[r.(map[string]any)["dealer"].(string)] = r.(map[string]any)
	}
	return out
}

// TestKpisEndToEnd: callbacks completed and complaints closed through the
// REST API reach the dealer's KPIs through the change feeds, and move its
// rank; a dealer sees its own place and the median only; HQ targets are
// HQ admins' and errors name the field; no KPI answer to HQ carries a
// customer's name, mobile or VIN.
func TestKpisEndToEnd(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	analyst := g.token(t, auth.Principal{Subject: "analyst", Roles: []auth.Role{auth.RoleHQAnalyst}})
	region := g.token(t, auth.Principal{Subject: "rm", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"})
	tokens := map[string]string{}
	for _, d := range []string{"SH001", "BJ001"} {
		manager := g.token(t, auth.Principal{Subject: "mgr-" + d, Roles: []auth.Role{auth.RoleDealerManager}, Dealer: d})
		tokens[d] = g.token(t, auth.Principal{Subject: "agent-" + d, Roles: []auth.Role{auth.RoleAgent}, Dealer: d})
		must(t, 200)(g.do(t, "POST", "/v1/dealers/"+d+"/callbackAgents", manager, `{"subject":"agent-`+d+`"}`))
	}

	// HQ's targets: field errors, HQ admins only.
	code, body := g.do(t, "POST", "/v1/kpiTargets", admin, `{"effectiveMonth":"2026-01","targets":[{"kpi":"nps","target":1,"weight":1}]}`)
	wantField(t, code, body, "target_set.targets[0].kpi")
	code, body = g.do(t, "POST", "/v1/kpiTargets", admin, `{"effectiveMonth":"January","targets":[{"kpi":"ssi","target":90,"weight":1}]}`)
	wantField(t, code, body, "target_set.effective_month")
	targets := `{"effectiveMonth":"2020-01","targets":[{"kpi":"callback_rate_3dc","target":0.9,"weight":2},{"kpi":"complaint_one_time_closure_rate","target":0.9,"weight":1}]}`
	if code, _ := g.do(t, "POST", "/v1/kpiTargets", region, targets); code != 403 {
		t.Errorf("a region manager set targets: %d, want 403", code)
	}
	set := must(t, 200)(g.do(t, "POST", "/v1/kpiTargets", admin, targets))
	if set["version"] != float64(1) || set["createBy"] != "hq" {
		t.Errorf("target set %v", set)
	}
	code, body = g.do(t, "GET", "/v1/dealers/SH001/kpis?query.granularity=GRANULARITY_WEEK&query.date=2026-13-01", admin, "")
	wantField(t, code, body, "query.date")

	// A customer with a vehicle and a visit at SH001: archive and repair
	// order facts, and personal data an HQ answer must not carry.
	sh := "/v1/dealers/SH001"
	cust := must(t, 200)(g.do(t, "POST", sh+"/customers", tokens["SH001"], `{"name":"欧阳振华","mobile":"13912345678"}`))
	must(t, 200)(g.do(t, "POST", sh+"/customers/"+cust["id"].(string)+"/vehicles", tokens["SH001"], `{"vin":"`+vinA+`","plate":"沪A12345"}`))
	must(t, 200)(g.do(t, "POST", sh+"/repairOrders", tokens["SH001"], `{"number":"RO-E2E-1","vin":"`+vinA+`","type":"REPAIR_ORDER_TYPE_MAINTENANCE","mileageKm":100,"byAppointment":true}`))

	// Two 3DC calls due at each dealer; BJ001 completes one.
	sTasks := []string{g.seedCallbackTask(t, "SH001", "ro-s1").GetId(), g.seedCallbackTask(t, "SH001", "ro-s2").GetId()}
	bTask := g.seedCallbackTask(t, "BJ001", "ro-b1").GetId()
	g.seedCallbackTask(t, "BJ001", "ro-b2")
	completeTask(t, g, "BJ001", bTask, tokens["BJ001"])
	g.evaluate(t)

	rank := must(t, 200)(g.do(t, "GET", "/v1/kpis:rank", admin, ""))
	before := ranks(rank)
	if before["BJ001"]["rank"] != float64(1) || before["SH001"]["rank"] != float64(2) || rank["dealerCount"] != float64(2) {
		t.Fatalf("ranking before: %v", rank)
	}
	dk := must(t, 200)(g.do(t, "GET", sh+"/kpis", tokens["SH001"], ""))
	if v := kpi(t, dk, "callback_rate_3dc"); v["numerator"] != float64(0) || v["denominator"] != "2" || v["rating"] != "RATING_RED" {
		t.Errorf("SH001 3DC before: %v", v)
	}
	if v := kpi(t, dk, "appointment_rate"); v["numerator"] != float64(1) || v["denominator"] != "1" || v["value"] != float64(1) {
		t.Errorf("SH001 appointments: %v", v)
	}

	// SH001 completes both calls and closes a complaint the first time.
	for _, id := range sTasks {
		completeTask(t, g, "SH001", id, tokens["SH001"])
	}
	c := must(t, 200)(g.do(t, "POST", sh+"/complaints", tokens["SH001"], `{"channel":"CHANNEL_PHONE","category":"CATEGORY_WAITING_TIME","severity":"SEVERITY_LOW","description":"等待时间长"}`))
	cp := sh + "/complaints/" + c["id"].(string)
	for _, step := range []struct{ verb, body string }{
		{"acknowledge", `{}`}, {"start", `{}`}, {"resolve", `{"rootCause":"排班","resolution":"增加人手"}`}, {"close", `{"note":"回访满意"}`},
	} {
		must(t, 200)(g.do(t, "POST", cp+":"+step.verb, tokens["SH001"], step.body))
	}
	g.evaluate(t)

	dk = must(t, 200)(g.do(t, "GET", sh+"/kpis", tokens["SH001"], ""))
	if v := kpi(t, dk, "callback_rate_3dc"); v["numerator"] != float64(2) || v["denominator"] != "2" || v["rating"] != "RATING_GREEN" {
		t.Errorf("SH001 3DC after: %v", v)
	}
	if v := kpi(t, dk, "ssi"); v["denominator"] != "2" || v["value"].(float64) <= 0 {
		t.Errorf("SH001 SSI: %v", v)
	}
	if v := kpi(t, dk, "complaint_one_time_closure_rate"); v["numerator"] != float64(1) || v["denominator"] != "1" {
		t.Errorf("SH001 one-time closure: %v", v)
	}
	rank = must(t, 200)(g.do(t, "GET", "/v1/kpis:rank", admin, ""))
	after := ranks(rank)
	if after["SH001"]["rank"] != float64(1) || after["BJ001"]["rank"] != float64(2) || after["SH001"]["compositeScore"] != float64(100) {
		t.Errorf("ranking after: %v", rank)
	}
	// Ranks page by page, best first; a token no call returned names the field.
	p1 := must(t, 200)(g.do(t, "GET", "/v1/kpis:rank?pageSize=1", admin, ""))
	if rs, _ := p1["ranks"].([]any); len(rs) != 1 || rs[0].(map[string]any)["dealer"] != "SH001" || p1["nextPageToken"] == nil {
		t.Errorf("first page: %v", p1)
	}
	p2 := must(t, 200)(g.do(t, "GET", "/v1/kpis:rank?pageSize=1&pageToken="+fmt.Sprint(p1["nextPageToken"]), admin, ""))
	if rs, _ := p2["ranks"].([]any); len(rs) != 1 || rs[0].(map[string]any)["dealer"] != "BJ001" {
		t.Errorf("second page: %v", p2)
	}
	if code, body := g.do(t, "GET", "/v1/kpis:rank?pageToken=bogus", admin, ""); code != 400 || !strings.Contains(fmt.Sprint(body["message"]), "page_token") {
		t.Errorf("a bogus page token: %d %v", code, body)
	}
	// The region's and the network's sums.
	rk := must(t, 200)(g.do(t, "GET", "/v1/regions/EAST/kpis", region, ""))
	if v := kpi(t, rk, "callback_rate_3dc"); v["numerator"] != float64(2) || v["denominator"] != "2" {
		t.Errorf("EAST 3DC: %v", v)
	}
	nk := must(t, 200)(g.do(t, "GET", "/v1/kpis", analyst, ""))
	if v := kpi(t, nk, "callback_rate_3dc"); v["numerator"] != float64(3) || v["denominator"] != "4" {
		t.Errorf("network 3DC: %v", v)
	}
	if code, _ := g.do(t, "GET", "/v1/kpis", region, ""); code != 403 {
		t.Errorf("a region manager read the network: %d, want 403", code)
	}
	if code, _ := g.do(t, "GET", "/v1/regions/NORTH/kpis", region, ""); code != 404 {
		t.Errorf("another region: %d, want 404", code)
	}

	// Dealer staff see their own place and the median, no other dealer.
	own := must(t, 200)(g.do(t, "GET", "/v1/kpis:rank", tokens["BJ001"], ""))
	if r := ranks(own); len(r) != 1 || r["BJ001"]["rank"] != float64(2) || own["dealerCount"] != float64(2) || own["medianScore"] == nil {
		t.Errorf("BJ001's view of the ranking: %v", own)
	}
	if raw, _ := json.Marshal(own); strings.Contains(string(raw), "SH001") {
		t.Errorf("BJ001 sees SH001 in the ranking: %s", raw)
	}
	// A region manager ranks the region's dealers only.
	if r := ranks(must(t, 200)(g.do(t, "GET", "/v1/kpis:rank", region, ""))); len(r) != 1 || r["SH001"] == nil {
		t.Errorf("EAST's view of the ranking: %v", r)
	}

	// No personal data in any KPI answer to HQ.
	for _, p := range []string{sh + "/kpis?query.periods=12", sh + "/kpis?query.granularity=GRANULARITY_DAY&query.periods=31",
		"/v1/regions/EAST/kpis", "/v1/kpis?query.granularity=GRANULARITY_WEEK", "/v1/kpis:rank", "/v1/kpis:rank?region=EAST", "/v1/kpiTargets"} {
		for _, tok := range []string{analyst, admin} {
			body := must(t, 200)(g.do(t, "GET", p, tok, ""))
			raw, _ := json.Marshal(body)
			for _, secret := range []string{"欧阳振华", "13912345678", vinA, cust["id"].(string)} {
				if strings.Contains(string(raw), secret) {
					t.Errorf("GET %s answers HQ with %q: %s", p, secret, raw)
				}
			}
		}
	}
}
