package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
)

// TestRankingSettings: dealers see only their own place in a ranking
// until an HQ admin lets them see the whole ranking with names; nobody
// else may change that.
func TestRankingSettings(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	analyst := g.token(t, auth.Principal{Subject: "analyst", Roles: []auth.Role{auth.RoleHQAnalyst}})
	region := g.token(t, auth.Principal{Subject: "rm", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"})
	manager := g.token(t, auth.Principal{Subject: "mgr-SH001", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	agent := g.token(t, auth.Principal{Subject: "agent-SH001", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	must(t, 200)(g.do(t, "POST", "/v1/dealers/SH001/callbackAgents", manager, `{"subject":"agent-SH001"}`))
	must(t, 200)(g.do(t, "POST", "/v1/kpiTargets", admin, `{"effectiveMonth":"2020-01","targets":[{"kpi":"callback_rate_3dc","target":0.9,"weight":1}]}`))
	completeTask(t, g, "SH001", g.seedCallbackTask(t, "SH001", "ro-s1").GetId(), agent)
	g.seedCallbackTask(t, "BJ001", "ro-b1")
	g.evaluate(t)

	if s := must(t, 200)(g.do(t, "GET", "/v1/rankingSettings", agent, "")); s["dealersSeeNames"] != false {
		t.Errorf("default settings %v", s)
	}
	own := must(t, 200)(g.do(t, "GET", "/v1/kpis:rank", agent, ""))
	if r := ranks(own); len(r) != 1 || r["SH001"]["dealerName"] != "上海浦东汽车销售服务有限公司" || own["dealerCount"] != float64(2) {
		t.Fatalf("SH001's ranking before: %v", own)
	}
	if raw, _ := json.Marshal(own); strings.Contains(string(raw), "北京朝阳") || strings.Contains(string(raw), "BJ001") {
		t.Errorf("SH001 sees BJ001 before HQ allows it: %s", raw)
	}
	// HQ sees the names.
	if r := ranks(must(t, 200)(g.do(t, "GET", "/v1/kpis:rank", analyst, ""))); r["BJ001"]["dealerName"] != "北京朝阳汽车销售服务有限公司" {
		t.Errorf("HQ ranking %v", r)
	}

	// Only HQ admins change the setting.
	for who, tok := range map[string]string{"analyst": analyst, "region": region, "dealer manager": manager} {
		if code, body := g.do(t, "PATCH", "/v1/rankingSettings", tok, `{"dealersSeeNames":true}`); code != 403 {
			t.Errorf("%s changed the ranking settings: %d %v", who, code, body)
		}
	}
	code, body := g.do(t, "PATCH", "/v1/rankingSettings?update_mask=colour", admin, `{"dealersSeeNames":true}`)
	wantField(t, code, body, "update_mask")
	set := must(t, 200)(g.do(t, "PATCH", "/v1/rankingSettings", admin, `{"dealersSeeNames":true}`))
	if set["dealersSeeNames"] != true || set["updateBy"] != "hq" {
		t.Errorf("settings %v", set)
	}
	all := ranks(must(t, 200)(g.do(t, "GET", "/v1/kpis:rank", agent, "")))
	if len(all) != 2 || all["BJ001"]["dealerName"] != "北京朝阳汽车销售服务有限公司" || all["SH001"]["rank"] != float64(1) {
		t.Errorf("SH001's ranking once allowed: %v", all)
	}
	// And back.
	must(t, 200)(g.do(t, "PATCH", "/v1/rankingSettings", admin, `{"dealersSeeNames":false}`))
	if r := ranks(must(t, 200)(g.do(t, "GET", "/v1/kpis:rank", agent, ""))); len(r) != 1 {
		t.Errorf("SH001's ranking after HQ turned it off: %v", r)
	}
}
