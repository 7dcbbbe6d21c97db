package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	"github.com/dealercare/dealercare/gen/go/openapi"
	"github.com/dealercare/dealercare/pkg/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The victim dealer and the strings that would betray its data.
const (
	victim     = "SH001"
	victimName = "上海浦东汽车销售服务有限公司"
	attacker   = "BJ001"
	// victimCustomer is a name that appears nowhere but in the victim's archive.
	victimCustomer = "欧阳振华"
)

type route struct {
	method, path string
	body         map[string]any // the body parameter's schema, if any
}

type schema = map[string]any

// victimRefs are the victim's object ids that example puts into body
// fields referring to objects (a sale's vehicle, a merge's customers).
var victimRefs = map[string]string{}

// apiDoc is the served OpenAPI document, decoded loosely.
type apiDoc struct {
	Paths map[string]map[string]struct {
		Parameters []struct {
			Name   string `json:"name"`
			In     string `json:"in"`
			Schema schema `json:"schema"`
		} `json:"parameters"`
		RequestBody *struct {
			Content map[string]struct {
				Schema schema `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]schema `json:"schemas"`
	} `json:"components"`
}

func loadDoc(t *testing.T) apiDoc {
	t.Helper()
	var doc apiDoc
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// routes lists every operation of the served OpenAPI document.
func routes(t *testing.T) []route {
	t.Helper()
	doc := loadDoc(t)
	var out []route
	for path, ops := range doc.Paths {
		for method, op := range ops {
			r := route{method: strings.ToUpper(method), path: path}
			if op.RequestBody != nil {
				r.body = op.RequestBody.Content["application/json"].Schema
			}
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	return out
}

var pathParam = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// example builds a valid-looking value of a schema, pointing every
// dealer-like field at the victim, so a request is judged on isolation and
// not rejected as malformed first.
func example(doc apiDoc, sc schema, name string, depth int) any {
	if ref, ok := sc["$ref"].(string); ok {
		return example(doc, doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")], name, depth)
	}
	if alts, ok := sc["anyOf"].([]any); ok && len(alts) > 0 { // a nullable message: the message
		return example(doc, alts[0].(map[string]any), name, depth)
	}
	if types, ok := sc["type"].([]any); ok && len(types) > 0 { // [T, "null"]: T
		sc = maps.Clone(sc)
		sc["type"] = types[0]
	}
	if enum, ok := sc["enum"].([]any); ok && len(enum) > 0 {
		return enum[len(enum)-1]
	}
	switch sc["type"] {
	case "object", nil:
		props, _ := sc["properties"].(map[string]any)
		if depth > 4 || props == nil {
			return map[string]any{}
		}
		out := map[string]any{}
		for k, v := range props {
			if ro, _ := v.(map[string]any)["readOnly"].(bool); ro {
				continue
			}
			out[k] = example(doc, v.(map[string]any), k, depth+1)
		}
		return out
	case "array":
		// One item: protovalidate's min_items is not in the document.
		items, _ := sc["items"].(map[string]any)
		return []any{example(doc, items, name, depth+1)}
	case "integer", "number":
		return 1
	case "boolean":
		return false
	case "string":
		lower := strings.ToLower(name)
		switch sc["format"] {
		case "int64", "uint64":
			return "1"
		case "byte":
			return "eA=="
		}
		switch {
		case sc["format"] == "date-time" || strings.HasSuffix(lower, "time"):
			return "2026-11-20T01:00:00Z"
		case strings.HasSuffix(lower, "duration") || strings.HasSuffix(lower, "window") || lower == "overlap":
			return "60s"
		case lower == "vin":
			return vinA
		case lower == "merged" || lower == "customer" || lower == "vehicle":
			// References to objects: the victim's, when the walk knows them.
			if id, ok := victimRefs[map[string]string{"merged": "customer"}[lower]+lower]; ok {
				return id
			}
			if id, ok := victimRefs[lower]; ok {
				return id
			}
		case strings.Contains(lower, "dealer") || lower == "code":
			return victim
		case lower == "region":
			return "EAST"
		case lower == "start" || lower == "end":
			return "09:00"
		case lower == "birthdays": // MM-DD
			return "12-08"
		}
		return "x"
	}
	return nil
}

// enumParams are path parameters that select a kind of thing, not an
// object: the same value is valid under every dealer.
var enumParams = map[string]string{"kind": "CALLBACK_KIND_3DC", "kpi": "callback_rate_3dc"}

// isDealerParam tells whether a path parameter names a dealer.
func isDealerParam(name string) bool {
	return name == "dealer" || strings.HasSuffix(name, ".dealer") || name == "dealer.code"
}

// fill substitutes path parameters: dealer parameters with dealer, every
// other one with the victim's object ids found by listing as HQ (ids), or a
// made-up id.
func fill(path, dealer string, ids map[string]string) string {
	return pathParam.ReplaceAllStringFunc(path, func(m string) string {
		name := pathParam.FindStringSubmatch(m)[1]
		if isDealerParam(name) {
			return dealer
		}
		if v, ok := enumParams[name]; ok {
			return v
		}
		if id, ok := ids[name]; ok {
			return url.PathEscape(id)
		}
		return "unknown-id-0001"
	})
}

// leaks reports whether a response body carries the victim's data.
func leaks(body map[string]any) bool {
	raw, _ := json.Marshal(body)
	s := string(raw)
	return strings.Contains(s, victim) || strings.Contains(s, victimName) || strings.Contains(s, victimCustomer) || strings.Contains(s, "13912345678")
}

// TestCrossTenantWalk walks every route of the OpenAPI document as a user
// of dealer BJ001 against dealer SH001's objects, and as a region manager of
// another region. Anything but 404 or 403 without data fails; so does any
// change to the victim's data. New routes are covered without editing this
// test: parameters naming a dealer get the victim's code, others the
// victim's object ids.
func TestCrossTenantWalk(t *testing.T) {
	g := start(t)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	for _, r := range []string{`{"code":"EAST","name":"华东大区"}`, `{"code":"NORTH","name":"华北大区"}`} {
		if code, body := g.do(t, "POST", "/v1/regions", admin, r); code != 200 {
			t.Fatalf("seed region: %d %v", code, body)
		}
	}
	for _, d := range []string{
		`{"code":"` + victim + `","name":"` + victimName + `","region":"EAST","city":"上海"}`,
		`{"code":"` + attacker + `","name":"北京朝阳汽车销售服务有限公司","region":"NORTH","city":"北京"}`,
	} {
		if code, body := g.do(t, "POST", "/v1/dealers", admin, d); code != 200 {
			t.Fatalf("seed dealer: %d %v", code, body)
		}
	}
	// The victim's archive: one of each object, so every route with an id
	// parameter is tried against a real object of the victim.
	va := g.token(t, auth.Principal{Subject: "victim-agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: victim})
	vp := "/v1/dealers/" + victim
	c := must(t, 200)(g.do(t, "POST", vp+"/customers", va, `{"name":"`+victimCustomer+`","mobile":"13912345678","address":"上海市浦东新区"}`))
	v := must(t, 200)(g.do(t, "POST", vp+"/customers/"+c["id"].(string)+"/vehicles", va, `{"vin":"`+vinA+`","plate":"沪A12345"}`))
	ro := must(t, 200)(g.do(t, "POST", vp+"/repairOrders", va, `{"number":"RO-V-1","vin":"`+vinA+`","type":"REPAIR_ORDER_TYPE_REPAIR","mileageKm":100}`))
	sale := must(t, 200)(g.do(t, "POST", vp+"/sales", va, `{"vehicle":"`+v["id"].(string)+`","deliveredTime":"2026-01-01T00:00:00Z"}`))
	must(t, 200)(g.do(t, "POST", vp+"/customers/"+c["id"].(string)+"/loyaltyTransactions", va, `{"points":10,"reason":"x"}`))
	victimRefs = map[string]string{"customer": c["id"].(string), "vehicle": v["id"].(string), "customermerged": c["id"].(string)}
	ids := map[string]string{ // victim object ids by path parameter name
		"customer": c["id"].(string), "customer.id": c["id"].(string), "vehicle": v["id"].(string), "vehicle.id": v["id"].(string),
		"repair_order": ro["id"].(string), "sale": sale["id"].(string),
	}
	ids["region"] = "EAST" // the victim's region: KPI and survey rollups above a dealer
	for name, id := range victimExtraIDs(t, g, va) {
		ids[name] = id
	}

	snapshot := func() map[string]string {
		out := map[string]string{}
		for _, r := range routes(t) {
			if r.method != "GET" {
				continue
			}
			p := fill(r.path, victim, ids)
			_, body := g.do(t, "GET", p, admin, "")
			raw, _ := json.Marshal(body)
			out[p] = string(raw)
		}
		return out
	}
	before := snapshot()

	users := map[string]string{
		"dealer agent":   g.token(t, auth.Principal{Subject: "a", Roles: []auth.Role{auth.RoleAgent}, Dealer: attacker}),
		"dealer manager": g.token(t, auth.Principal{Subject: "m", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: attacker}),
		"region manager": g.token(t, auth.Principal{Subject: "r", Roles: []auth.Role{auth.RoleRegionManager}, Region: "NORTH"}),
	}
	doc := loadDoc(t)
	checked := 0
	for who, tok := range users {
		for _, r := range routes(t) {
			hasDealer := false
			for _, m := range pathParam.FindAllStringSubmatch(r.path, -1) {
				hasDealer = hasDealer || isDealerParam(m[1])
			}
			body := ""
			if r.body != nil {
				raw, err := json.Marshal(example(doc, r.body, "", 0))
				if err != nil {
					t.Fatal(err)
				}
				body = string(raw)
			}
			p := fill(r.path, victim, ids)
			code, resp := g.do(t, r.method, p, tok, body)
			checked++
			switch {
			case hasDealer && code != 404 && code != 403:
				t.Errorf("%s: %s %s answered %d, want 404 or 403: %v", who, r.method, p, code, resp)
			case !hasDealer && code < 300 && leaks(resp):
				t.Errorf("%s: %s %s returned the victim's data: %v", who, r.method, p, resp)
			case !hasDealer && r.method != "GET" && code < 300:
				t.Errorf("%s: %s %s changed network data: %d %v", who, r.method, p, code, resp)
			}
			if code >= 400 && leaks(resp) && code != 404 {
				t.Errorf("%s: %s %s error body names the victim: %v", who, r.method, p, resp)
			}
			// The attacker's own dealer in the path with the victim's object
			// ids: the service (and RLS below it) must not find them. Routes
			// without an object id list or create the attacker's own data,
			// which must not contain the victim's.
			if hasDealer && (who == "dealer agent" || who == "dealer manager") {
				own := fill(r.path, attacker, ids)
				hasID := pathParam.ReplaceAllStringFunc(r.path, func(m string) string {
					name := pathParam.FindStringSubmatch(m)[1]
					if _, enum := enumParams[name]; enum || isDealerParam(name) {
						return ""
					}
					return "{id}"
				}) != strings.ReplaceAll(pathParam.ReplaceAllString(r.path, ""), "{id}", "")
				code, resp := g.do(t, r.method, own, tok, body)
				switch {
				case hasID && code != 404 && code != 403:
					t.Errorf("%s: %s %s (victim's id under own dealer) answered %d, want 404 or 403: %v", who, r.method, own, code, resp)
				case code < 300 && leaks(resp):
					t.Errorf("%s: %s %s returned the victim's data: %v", who, r.method, own, resp)
				}
			}
			// Filters and lists: the victim never shows up in any list.
			if r.method == "GET" && !hasDealer {
				for _, q := range []string{"?region=EAST", "?dealer=" + victim, "?filter=dealer%3D" + victim} {
					if code, resp := g.do(t, "GET", p+q, tok, ""); code < 300 && leaks(resp) {
						t.Errorf("%s: GET %s%s returned the victim's data: %v", who, p, q, resp)
					}
				}
			}
		}
	}
	if checked < 2*len(users) {
		t.Fatalf("walked only %d routes", checked)
	}
	after := snapshot()
	for p, b := range before {
		if after[p] != b {
			t.Errorf("victim data at %s changed:\nbefore %s\nafter  %s", p, b, after[p])
		}
	}
}

// victimExtraIDs creates the victim's objects of newer resources (an
// import) and returns their ids by path parameter name.
func victimExtraIDs(t *testing.T, g *gw, token string) map[string]string {
	t.Helper()
	csv := "dms_customer_id,name,mobile\nV-1," + victimCustomer + ",13912345678\n"
	code, body := g.do(t, "POST", "/v1/dealers/"+victim+"/imports", token,
		`{"fileName":"victim.csv","content":"`+base64.StdEncoding.EncodeToString([]byte(csv))+`"}`)
	if code != 200 {
		t.Fatalf("seed import: %d %v", code, body)
	}
	id := body["id"].(string)
	// Wait for it to finish, so the snapshots before and after the walk
	// compare the victim's data, not the import's progress.
	deadline := time.Now().Add(30 * time.Second)
	for body["state"] == "IMPORT_STATE_RUNNING" {
		if time.Now().After(deadline) {
			t.Fatalf("seed import still running: %v", body)
		}
		time.Sleep(50 * time.Millisecond)
		_, body = g.do(t, "GET", "/v1/dealers/"+victim+"/imports/"+id, token, "")
	}
	cp := must(t, 200)(g.do(t, "POST", "/v1/dealers/"+victim+"/complaints", token,
		`{"channel":"CHANNEL_PHONE","category":"CATEGORY_REPAIR_QUALITY","severity":"SEVERITY_HIGH","description":"`+victimCustomer+` 保养后异响"}`))
	// Callback tasks are created by workflows only: seed one directly, as
	// the worker would, and an agent in the victim's rotation.
	vm := g.token(t, auth.Principal{Subject: "victim-manager", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: victim})
	must(t, 200)(g.do(t, "POST", "/v1/dealers/"+victim+"/callbackAgents", vm, `{"subject":"victim-agent","displayName":"`+victimCustomer+`"}`))
	task := g.seedCallbackTask(t, victim, "victim-ro")
	camp := must(t, 200)(g.do(t, "POST", "/v1/dealers/"+victim+"/campaigns", vm,
		`{"kind":"CAMPAIGN_KIND_CARE_EVENT","name":"`+victimCustomer+` 冬季关怀","channels":["CHANNEL_SMS"],"template":{"body":"{{customer_name}}您好"}}`))
	hook := must(t, 200)(g.do(t, "POST", "/v1/dealers/"+victim+"/webhookSubscriptions", vm,
		`{"url":"https://dms.example.com/hooks","eventTypes":["complaint.created"],"description":"`+victimCustomer+` DMS"}`))["subscription"].(map[string]any)
	// An HQ inspection of the victim (the evaluation learns the dealers
	// first).
	g.evaluate(t)
	hq := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	must(t, 200)(g.do(t, "POST", "/v1/inspectionChecklists", hq, `{"title":"检核","items":[{"code":"A01","text":"展厅整洁","maxDeduction":10}]}`))
	insp := must(t, 200)(g.do(t, "POST", "/v1/dealers/"+victim+"/inspections", hq,
		`{"visitTime":"2026-11-20T01:00:00Z","summary":"`+victimName+` 检核","items":[{"code":"A01","deduction":2,"evidenceNote":"地面污渍"}]}`))
	return map[string]string{"import": id, "complaint": cp["id"].(string), "task": task.GetId(), "agent": "victim-agent",
		"campaign": camp["id"].(string), "campaign.id": camp["id"].(string), "subscription": hook["id"].(string),
		"inspection": insp["id"].(string), "version": "1"}
}

// seedCallbackTask creates a due 3DC task for source at dealer as the
// worker's callback workflow would (only workflows create tasks).
func (g *gw) seedCallbackTask(t *testing.T, dealer, source string) *callbackv1.CallbackTask {
	t.Helper()
	conn, err := grpc.NewClient(g.callbackAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	svc := auth.WithToken(context.Background(), g.token(t, auth.Principal{Subject: "svc", Roles: []auth.Role{auth.RoleService}}))
	task, err := callbackv1.NewCallbackWorkflowServiceClient(conn).EnsureCallbackTask(svc, &callbackv1.EnsureCallbackTaskRequest{
		Dealer: dealer, Kind: callbackv1.CallbackKind_CALLBACK_KIND_3DC, SourceType: "repair_order", SourceId: source,
		WorkflowId: "callback/3DC/" + source, Vin: vinA, RepairOrderNumber: "RO-" + source,
		DueTime: timestamppb.Now(), Deadline: timestamppb.New(time.Now().Add(72 * time.Hour)),
	})
	if err != nil {
		t.Fatalf("seed callback task: %v", err)
	}
	return task
}

// TestHQMissesAnUnknownDealer: HQ reads every dealer, but a code that names
// none answers 404 like another dealer's does to dealer staff, not an empty
// list; a dealer HQ has just created is found at once, however recently
// the gateway looked at the network.
func TestHQMissesAnUnknownDealer(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	analyst := g.token(t, auth.Principal{Subject: "analyst", Roles: []auth.Role{auth.RoleHQAnalyst}})
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	for _, p := range []string{"/v1/dealers/SH001/complaints", "/v1/dealers/SH001/callbackTasks", "/v1/dealers/SH001/customers"} {
		must(t, 200)(g.do(t, "GET", p, analyst, ""))
		unknown := strings.Replace(p, "SH001", "SH999", 1)
		code, body := g.doLang(t, "GET", unknown, analyst, "", "zh-CN")
		if msg, _ := body["message"].(string); code != 404 || !strings.Contains(msg, "SH999") {
			t.Errorf("GET %s as HQ: %d %v, want 404 naming SH999", unknown, code, body)
		}
	}
	must(t, 200)(g.do(t, "POST", "/v1/dealers", admin, `{"code":"SH999","name":"上海新开汽车销售服务有限公司","region":"EAST"}`))
	for _, tok := range []string{admin, analyst} {
		must(t, 200)(g.do(t, "GET", "/v1/dealers/SH999/complaints", tok, ""))
	}
}
