package app_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
)

func kinds(body map[string]any) string {
	var out []string
	for _, e := range body["events"].([]any) {
		out = append(out, e.(map[string]any)["kind"].(string))
	}
	return strings.Join(out, ",")
}

func TestComplaintLifecycle(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	must(t, 200)(g.do(t, "POST", "/v1/dealers", admin, `{"code":"HZ001","name":"杭州西湖汽车销售服务有限公司","region":"EAST"}`))
	agent := g.token(t, auth.Principal{Subject: "agent-sh", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	manager := g.token(t, auth.Principal{Subject: "mgr-sh", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	hzAgent := g.token(t, auth.Principal{Subject: "agent-hz", Roles: []auth.Role{auth.RoleAgent}, Dealer: "HZ001"})
	bjAgent := g.token(t, auth.Principal{Subject: "agent-bj", Roles: []auth.Role{auth.RoleAgent}, Dealer: "BJ001"})
	base := "/v1/dealers/SH001/complaints"

	code, body := g.do(t, "POST", base, agent, `{"channel":"CHANNEL_PHONE","category":"CATEGORY_REPAIR_QUALITY","severity":"SEVERITY_HIGH","description":""}`)
	wantField(t, code, body, "complaint.description")
	c := must(t, 200)(g.do(t, "POST", base, agent, `{"channel":"CHANNEL_PHONE","category":"CATEGORY_REPAIR_QUALITY","severity":"SEVERITY_HIGH","description":"保养后发动机异响","vin":"LSVAU218XN2183294"}`))
	id := c["id"].(string)
	if c["state"] != "STATE_NEW" || c["level"] != float64(0) {
		t.Fatalf("created: %v", c)
	}
	p := base + "/" + id
	// Illegal transitions answer 409 with the reason.
	code, body = g.do(t, "POST", p+":resolve", agent, `{"rootCause":"x","resolution":"y"}`)
	if msg, _ := body["message"].(string); code != 409 || !strings.Contains(msg, "cannot resolve a complaint that is new") {
		t.Errorf("resolve while new: %d %v", code, body)
	}
	// A severity change (it moves the SLA deadlines) and bad masks.
	if code, _ := g.do(t, "PATCH", p+"?update_mask=state", agent, `{"state":"STATE_CLOSED"}`); code != 400 {
		t.Errorf("patch state: %d, want 400", code)
	}
	upd := must(t, 200)(g.do(t, "PATCH", p+"?update_mask=severity", agent, `{"severity":"SEVERITY_CRITICAL"}`))
	if upd["severity"] != "SEVERITY_CRITICAL" || upd["description"] != "保养后发动机异响" {
		t.Errorf("patched: %v", upd)
	}
	for _, step := range []struct{ verb, body, state string }{
		{"acknowledge", `{}`, "STATE_ACKNOWLEDGED"},
		{"start", `{}`, "STATE_IN_PROGRESS"},
		{"waitForCustomer", `{"note":"等待客户到店复检"}`, "STATE_PENDING_CUSTOMER"},
		{"resume", `{}`, "STATE_IN_PROGRESS"},
		{"escalate", `{"note":"客户要求升级"}`, "STATE_IN_PROGRESS"},
		{"resolve", `{"rootCause":"正时皮带张紧器","correctiveActions":"更换并复检","resolution":"免费更换，赠送保养"}`, "STATE_RESOLVED"},
		{"reopen", `{"note":"回访不满意"}`, "STATE_REOPENED"},
		{"start", `{}`, "STATE_IN_PROGRESS"},
		{"resolve", `{"rootCause":"张紧器批次问题","resolution":"更换总成"}`, "STATE_RESOLVED"},
		{"close", `{"note":"回访满意"}`, "STATE_CLOSED"},
	} {
		got := must(t, 200)(g.do(t, "POST", p+":"+step.verb, agent, step.body))
		if got["state"] != step.state {
			t.Fatalf("%s: state %v, want %s", step.verb, got["state"], step.state)
		}
	}
	final := must(t, 200)(g.do(t, "GET", p, agent, ""))
	if final["level"] != float64(1) || final["reopenCount"] != float64(1) {
		t.Errorf("final: level %v reopens %v", final["level"], final["reopenCount"])
	}
	ev := must(t, 200)(g.do(t, "GET", p+"/events", agent, ""))
	if got, want := kinds(ev), "created,severity_changed,acknowledged,started,paused,resumed,escalated,resolved,reopened,started,resolved,closed"; got != want {
		t.Errorf("timeline = %s\nwant       %s", got, want)
	}
	ns := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/notifications?recipient_role=dealer_manager", manager, ""))
	if n, _ := ns["notifications"].([]any); len(n) != 1 {
		t.Errorf("dealer_manager notifications = %v", ns)
	}

	// Transfer: HQ moves a complaint filed at SH001 to HZ001.
	c2 := must(t, 200)(g.do(t, "POST", base, agent, `{"channel":"CHANNEL_HQ_HOTLINE","category":"CATEGORY_SALES_PROMISE","severity":"SEVERITY_MEDIUM","description":"承诺的赠品未兑现"}`))
	p2 := base + "/" + c2["id"].(string)
	must(t, 200)(g.do(t, "POST", p2+":acknowledge", agent, `{}`))
	if code, _ := g.do(t, "POST", p2+":transfer", agent, `{"toDealer":"HZ001"}`); code != 403 {
		t.Errorf("agent transfer: %d, want 403", code)
	}
	code, body = g.do(t, "POST", p2+":transfer", admin, `{"toDealer":"NOPE1"}`)
	wantField(t, code, body, "to_dealer")
	moved := must(t, 200)(g.do(t, "POST", p2+":transfer", admin, `{"toDealer":"HZ001","note":"销售承诺属杭州店"}`))
	if moved["dealer"] != "HZ001" || moved["originDealer"] != "SH001" || moved["state"] != "STATE_ACKNOWLEDGED" {
		t.Fatalf("transferred: %v", moved)
	}
	hzPath := "/v1/dealers/HZ001/complaints/" + c2["id"].(string)
	must(t, 200)(g.do(t, "POST", hzPath+":start", hzAgent, `{}`))
	// The old dealer keeps read access to the complaint but may not act.
	if got := must(t, 200)(g.do(t, "GET", p2, agent, "")); got["dealer"] != "HZ001" {
		t.Errorf("origin reads: %v", got)
	}
	if code, _ := g.do(t, "POST", p2+":resolve", agent, `{"rootCause":"x","resolution":"y"}`); code != 403 {
		t.Errorf("origin acting after transfer: %d, want 403", code)
	}
	// History carried over; each dealer reads the entries of its time.
	if got := kinds(must(t, 200)(g.do(t, "GET", hzPath+"/events", hzAgent, ""))); got != "created,acknowledged,transferred,started" {
		t.Errorf("new owner's timeline = %s", got)
	}
	if got := kinds(must(t, 200)(g.do(t, "GET", p2+"/events", agent, ""))); got != "created,acknowledged,transferred" {
		t.Errorf("origin's timeline = %s", got)
	}
	all := kinds(must(t, 200)(g.do(t, "GET", hzPath+"/events", admin, "")))
	if all != "created,acknowledged,transferred,started" {
		t.Errorf("HQ timeline = %s", all)
	}
	// Another dealer sees none of it.
	for _, path := range []string{p, p2, hzPath, p + "/events"} {
		if code, _ := g.do(t, "GET", path, bjAgent, ""); code != 404 {
			t.Errorf("BJ001 GET %s: %d, want 404", path, code)
		}
	}
	if code, _ := g.do(t, "GET", "/v1/dealers/BJ001/complaints/"+id, bjAgent, ""); code != 404 {
		t.Errorf("BJ001 GET own path with SH001's id: %d", code)
	}

	// SLA policy: the HQ default, a dealer override by its CS manager.
	def := must(t, 200)(g.do(t, "GET", "/v1/slaPolicies/default", agent, ""))
	if ts, _ := def["targets"].([]any); len(ts) != 4 {
		t.Errorf("default policy = %v", def)
	}
	code, body = g.do(t, "PUT", "/v1/dealers/SH001/slaPolicy", manager, `{"targets":[{"severity":"SEVERITY_LOW","response":"60s","resolution":"30s"}]}`)
	if code != 400 {
		t.Errorf("bad policy: %d %v", code, body)
	}
	pol := `{"warningRatio":0.8,"targets":[` +
		`{"severity":"SEVERITY_LOW","response":"60s","resolution":"600s"},{"severity":"SEVERITY_MEDIUM","response":"30s","resolution":"300s"},` +
		`{"severity":"SEVERITY_HIGH","response":"20s","resolution":"120s"},{"severity":"SEVERITY_CRITICAL","response":"10s","resolution":"60s"}]}`
	if code, _ := g.do(t, "PUT", "/v1/dealers/SH001/slaPolicy", agent, pol); code != 403 {
		t.Errorf("agent sets policy: %d, want 403", code)
	}
	got := must(t, 200)(g.do(t, "PUT", "/v1/dealers/SH001/slaPolicy", manager, pol))
	if got["overridden"] != true {
		t.Errorf("override = %v", got)
	}
	if other := must(t, 200)(g.do(t, "GET", "/v1/dealers/HZ001/slaPolicy", hzAgent, "")); other["overridden"] == true {
		t.Errorf("HZ001 got SH001's override: %v", other)
	}

	// Knowledge: HQ adds templates; agents search them.
	must(t, 200)(g.do(t, "POST", "/v1/resolutionTemplates", admin, `{"category":"CATEGORY_REPAIR_QUALITY","title":"返修异响处理","body":"1. 致歉并确认故障现象 2. 安排免费复检 3. 24 小时内回电"}`))
	if code, _ := g.do(t, "POST", "/v1/resolutionTemplates", agent, `{"category":"CATEGORY_PRICE","title":"x","body":"y"}`); code != 403 {
		t.Errorf("agent adds template: %d", code)
	}
	found := must(t, 200)(g.do(t, "GET", "/v1/resolutionTemplates?category=CATEGORY_REPAIR_QUALITY&query=复检", agent, ""))
	if ts, _ := found["templates"].([]any); len(ts) != 1 {
		t.Errorf("template search = %v", found)
	}
}

// TestComplaintsAcrossDealers reads /v1/dealers/-/complaints and
// …/notifications: HQ sees the network, a region manager the region, dealer
// staff their own dealer, each with the filters and pages joining up.
func TestComplaintsAcrossDealers(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	must(t, 200)(g.do(t, "POST", "/v1/dealers", admin, `{"code":"HZ001","name":"杭州西湖汽车销售服务有限公司","region":"EAST"}`))
	analyst := g.token(t, auth.Principal{Subject: "analyst", Roles: []auth.Role{auth.RoleHQAnalyst}})
	east := g.token(t, auth.Principal{Subject: "rm-east", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"})
	created := map[string]string{} // id → dealer
	for _, c := range []struct{ dealer, severity string }{{"SH001", "HIGH"}, {"HZ001", "CRITICAL"}, {"BJ001", "CRITICAL"}, {"SH001", "LOW"}} {
		agent := g.token(t, auth.Principal{Subject: "agent-" + c.dealer, Roles: []auth.Role{auth.RoleAgent}, Dealer: c.dealer})
		got := must(t, 200)(g.do(t, "POST", "/v1/dealers/"+c.dealer+"/complaints", agent,
			`{"channel":"CHANNEL_PHONE","category":"CATEGORY_WAITING_TIME","severity":"SEVERITY_`+c.severity+`","description":"等待时间过长"}`))
		created[got["id"].(string)] = c.dealer
		if c.severity == "CRITICAL" { // the customer escalates: L1, the dealer manager notified
			must(t, 200)(g.do(t, "POST", "/v1/dealers/"+c.dealer+"/complaints/"+got["id"].(string)+":escalate", agent, `{"note":"客户要求升级"}`))
		}
	}
	// list pages through a list at pages of size, returning id → dealer.
	list := func(token, path, key string, size int) map[string]string {
		t.Helper()
		out := map[string]string{}
		tok := ""
		for range 20 {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			body := must(t, 200)(g.do(t, "GET", path+sep+"page_size="+strconv.Itoa(size)+"&page_token="+tok, token, ""))
			items, _ := body[key].([]any)
			for _, it := range items {
				m := it.(map[string]any)
				id := m["id"].(string)
				if key == "notifications" {
					id = m["complaint"].(string) + "/" + m["recipientRole"].(string)
				}
				if _, dup := out[id]; dup {
					t.Fatalf("%s: %s twice", path, id)
				}
				out[id] = m["dealer"].(string)
			}
			if tok, _ = body["nextPageToken"].(string); tok == "" {
				return out
			}
		}
		t.Fatalf("%s did not end", path)
		return nil
	}
	dealersOf := func(m map[string]string) string {
		var ds []string
		for _, d := range m {
			ds = append(ds, d)
		}
		slices.Sort(ds)
		return strings.Join(ds, ",")
	}
	sh := g.token(t, auth.Principal{Subject: "agent-SH001", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	for _, c := range []struct {
		who, token, query, want string
	}{
		{"HQ", analyst, "", "BJ001,HZ001,SH001,SH001"},
		{"HQ", analyst, "?severity=SEVERITY_CRITICAL", "BJ001,HZ001"},
		{"HQ", analyst, "?min_level=1&state=STATE_NEW", "BJ001,HZ001"},
		{"HQ", analyst, "?min_level=2", ""},
		{"EAST", east, "", "HZ001,SH001,SH001"},
		{"EAST", east, "?severity=SEVERITY_CRITICAL", "HZ001"},
		{"SH001", sh, "", "SH001,SH001"},
	} {
		for _, size := range []int{1, 3, 100} {
			got := list(c.token, "/v1/dealers/-/complaints"+c.query, "complaints", size)
			if dealersOf(got) != c.want {
				t.Errorf("%s: -/complaints%s (pages of %d): %s, want %s", c.who, c.query, size, dealersOf(got), c.want)
			}
			for id, d := range got {
				if created[id] != d {
					t.Errorf("%s: complaint %s of %s listed as %s's", c.who, id, created[id], d)
				}
			}
		}
	}
	for _, c := range []struct{ who, token, want string }{{"HQ", analyst, "BJ001,HZ001"}, {"EAST", east, "HZ001"}, {"SH001", sh, ""}} {
		got := list(c.token, "/v1/dealers/-/notifications?recipient_role=dealer_manager", "notifications", 100)
		if dealersOf(got) != c.want {
			t.Errorf("%s: -/notifications: %s, want %s", c.who, dealersOf(got), c.want)
		}
	}
	// "-" reads only these collections.
	for _, p := range []string{"/v1/dealers/-/customers", "/v1/dealers/-/complaints/x", "/v1/dealers/-/callbackTasks"} {
		if code, body := g.do(t, "GET", p, east, ""); code != 404 {
			t.Errorf("EAST: GET %s: %d %v, want 404", p, code, body)
		}
	}
}
