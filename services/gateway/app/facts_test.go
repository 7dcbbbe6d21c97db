package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
)

// TestKpiFactsDrillDown: a dealer's own staff list the facts behind a KPI
// (the 3DC calls due this month, the ones missed), paged; HQ and region
// roles are refused with a message saying why; another dealer is 404; a
// KPI without a drill-down is 404 naming it.
func TestKpiFactsDrillDown(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	region := g.token(t, auth.Principal{Subject: "rm", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"})
	manager := g.token(t, auth.Principal{Subject: "mgr-SH001", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	agent := g.token(t, auth.Principal{Subject: "agent-SH001", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	other := g.token(t, auth.Principal{Subject: "agent-BJ001", Roles: []auth.Role{auth.RoleAgent}, Dealer: "BJ001"})
	must(t, 200)(g.do(t, "POST", "/v1/dealers/SH001/callbackAgents", manager, `{"subject":"agent-SH001"}`))
	done := g.seedCallbackTask(t, "SH001", "ro-f1").GetId()
	missed := g.seedCallbackTask(t, "SH001", "ro-f2").GetId()
	completeTask(t, g, "SH001", done, agent)
	g.evaluate(t)

	p := "/v1/dealers/SH001/kpis/callback_rate_3dc/facts"
	all := must(t, 200)(g.do(t, "GET", p, manager, ""))
	facts, _ := all["facts"].([]any)
	if len(facts) != 2 || all["nextPageToken"] != "" {
		t.Fatalf("facts: %v", all)
	}
	byID := map[string]map[string]any{}
	for _, f := range facts {
		byID[f.(map[string]any)["id"].(string)] = f.(map[string]any)
	}
	if f := byID[done]; f == nil || f["counted"] != true || f["status"] != "completed" || f["completeTime"] == nil || f["kind"] != "callback_task" {
		t.Errorf("completed task: %v", f)
	}
	if f := byID[missed]; f == nil || f["counted"] != false || f["deadline"] == nil || f["dueTime"] == nil {
		t.Errorf("missed task: %v", f)
	}
	// The figure the facts make is the KPI's.
	v := kpi(t, must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/kpis", agent, "")), "callback_rate_3dc")
	if v["numerator"] != float64(1) || v["denominator"] != "2" {
		t.Errorf("KPI %v, facts 1 of 2", v)
	}
	only := must(t, 200)(g.do(t, "GET", p+"?missed_only=true", agent, ""))
	if fs, _ := only["facts"].([]any); len(fs) != 1 || fs[0].(map[string]any)["id"] != missed {
		t.Errorf("missed only: %v", only)
	}
	// Paged.
	first := must(t, 200)(g.do(t, "GET", p+"?page_size=1", agent, ""))
	tok, _ := first["nextPageToken"].(string)
	second := must(t, 200)(g.do(t, "GET", p+"?page_size=1&page_token="+tok, agent, ""))
	if tok == "" || len(first["facts"].([]any)) != 1 || len(second["facts"].([]any)) != 1 || second["nextPageToken"] != "" ||
		first["facts"].([]any)[0].(map[string]any)["id"] == second["facts"].([]any)[0].(map[string]any)["id"] {
		t.Errorf("pages: %v then %v", first, second)
	}
	// The SSI's facts carry the scores.
	ssi := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/kpis/ssi/facts", agent, ""))
	if fs, _ := ssi["facts"].([]any); len(fs) != 1 || fs[0].(map[string]any)["score"] == nil {
		t.Errorf("ssi facts: %v", ssi)
	}

	// HQ and regions read aggregates only.
	for who, tok := range map[string]string{"HQ": admin, "region": region} {
		code, body := g.doLang(t, "GET", p, tok, "", "en")
		if msg, _ := body["message"].(string); code != 403 || !strings.Contains(msg, "own staff") {
			t.Errorf("%s: %d %v, want 403 saying only the dealer's own staff", who, code, body)
		}
		code, body = g.doLang(t, "GET", p, tok, "", "zh-CN")
		if msg, _ := body["message"].(string); code != 403 || !strings.Contains(msg, "本店员工") {
			t.Errorf("%s (zh): %d %v", who, code, body)
		}
	}
	if code, body := g.do(t, "GET", p, other, ""); code != 404 {
		t.Errorf("another dealer: %d %v, want 404", code, body)
	}
	for _, k := range []string{"nps", "churn_rate", "first_time_fix_rate"} {
		code, body := g.do(t, "GET", "/v1/dealers/SH001/kpis/"+k+"/facts", agent, "")
		if msg, _ := body["message"].(string); code != 404 || !strings.Contains(msg, k) {
			t.Errorf("%s: %d %v, want 404 naming it", k, code, body)
		}
	}
	code, body := g.do(t, "GET", p+"?page_size=5000", agent, "")
	wantField(t, code, body, "page_size")
	code, body = g.do(t, "GET", p+"?query.date=2026-02-30", agent, "")
	wantField(t, code, body, "query.date")
	raw, _ := json.Marshal(all)
	if strings.Contains(string(raw), "ro-f1") {
		t.Errorf("a fact names its source's repair order: %s", raw)
	}
}
