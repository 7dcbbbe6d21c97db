package app_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/validate"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// seedNetwork creates regions EAST and NORTH and dealers SH001 (EAST) and
// BJ001 (NORTH) as HQ.
func seedNetwork(t *testing.T, g *gw) {
	t.Helper()
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	for _, r := range []string{`{"code":"EAST","name":"华东大区"}`, `{"code":"NORTH","name":"华北大区"}`} {
		if code, body := g.do(t, "POST", "/v1/regions", admin, r); code != 200 {
			t.Fatalf("seed region: %d %v", code, body)
		}
	}
	for _, d := range []string{
		`{"code":"SH001","name":"上海浦东汽车销售服务有限公司","region":"EAST","city":"上海"}`,
		`{"code":"BJ001","name":"北京朝阳汽车销售服务有限公司","region":"NORTH","city":"北京"}`,
	} {
		if code, body := g.do(t, "POST", "/v1/dealers", admin, d); code != 200 {
			t.Fatalf("seed dealer: %d %v", code, body)
		}
	}
}

// must fails the test unless the call answered want, and returns the body.
func must(t *testing.T, want int) func(int, map[string]any) map[string]any {
	return func(code int, body map[string]any) map[string]any {
		t.Helper()
		if code != want {
			t.Fatalf("status %d, want %d: %v", code, want, body)
		}
		return body
	}
}

// wantField checks a 400 names the field in its message.
func wantField(t *testing.T, code int, body map[string]any, field string) {
	t.Helper()
	msg, _ := body["message"].(string)
	if code != 400 || !strings.Contains(msg, field) {
		t.Errorf("want 400 naming %s, got %d %q", field, code, msg)
	}
}

const (
	vinA = "LSVAU218XN2183294"
	vinB = "1M8GDM9AXKP042788"
)

func TestArchiveScenario(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	agent := g.token(t, auth.Principal{Subject: "agent-sh", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	other := g.token(t, auth.Principal{Subject: "agent-bj", Roles: []auth.Role{auth.RoleAgent}, Dealer: "BJ001"})
	analyst := g.token(t, auth.Principal{Subject: "hq-a", Roles: []auth.Role{auth.RoleHQAnalyst}})
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	base := "/v1/dealers/SH001"

	// Bad input names the field and creates nothing.
	code, body := g.do(t, "POST", base+"/customers", agent, `{"name":"张伟","mobile":"1381234567"}`)
	wantField(t, code, body, "customer.mobile")
	code, body = g.do(t, "POST", base+"/customers", agent, `{"name":"张伟","idNumber":"110101199003071235"}`)
	wantField(t, code, body, "customer.id_number")
	// Event times bound the archive-timeliness KPI: one in the future would
	// make a late archive count as timely.
	code, body = g.do(t, "POST", base+"/customers", agent, `{"name":"张伟","triggerTime":"`+time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339)+`"}`)
	wantField(t, code, body, "customer.trigger_time")

	c := must(t, 200)(g.do(t, "POST", base+"/customers", agent, `{"name":"张伟","gender":"GENDER_MALE","birthday":"1985-03-12",
		"mobile":"138 1234 5678","idNumber":"11010519491231002x","address":"上海市浦东新区世纪大道100号","tier":"CUSTOMER_TIER_KEY",
		"triggerTime":"2026-05-01T02:00:00Z"}`))
	cid := c["id"].(string)
	if c["mobile"] != "+8613812345678" || c["idNumber"] != "110***********002X" {
		t.Errorf("created customer: mobile %v id %v", c["mobile"], c["idNumber"])
	}

	code, body = g.do(t, "POST", base+"/customers/"+cid+"/vehicles", agent, `{"vin":"LSVAU2180N2183294","plate":"沪A12345"}`)
	wantField(t, code, body, "vehicle.vin")
	code, body = g.do(t, "POST", base+"/customers/"+cid+"/vehicles", agent, `{"vin":"`+vinB+`","purchaseDate":"1949-12-31"}`)
	wantField(t, code, body, "vehicle.purchase_date")
	v := must(t, 200)(g.do(t, "POST", base+"/customers/"+cid+"/vehicles", agent, `{"vin":"`+vinA+`","plate":"沪a·12345","brand":"大众","model":"帕萨特","modelYear":2022}`))
	vid := v["id"].(string)
	if v["plate"] != "沪A12345" {
		t.Errorf("plate = %v", v["plate"])
	}

	// Search by plate, mobile, VIN and name prefix.
	for _, q := range []string{"沪A12345", "13812345678", vinA, "张"} {
		res := must(t, 200)(g.do(t, "GET", base+"/customers?query="+urlq(q), agent, ""))
		if cs, _ := res["customers"].([]any); len(cs) != 1 || cs[0].(map[string]any)["id"] != cid {
			t.Errorf("search %q: %v", q, res)
		}
	}

	// HQ analysts see masked personal data; HQ admins see the mobile.
	if got := must(t, 200)(g.do(t, "GET", base+"/customers/"+cid, analyst, "")); got["mobile"] != "+86 138****5678" || strings.Contains(fmt.Sprint(got["address"]), "世纪大道") {
		t.Errorf("analyst sees %v / %v", got["mobile"], got["address"])
	}
	if got := must(t, 200)(g.do(t, "GET", base+"/customers/"+cid, admin, "")); got["mobile"] != "+8613812345678" {
		t.Errorf("admin sees %v", got["mobile"])
	}
	// HQ reads but does not edit dealer archives.
	if code, _ := g.do(t, "POST", base+"/customers", admin, `{"name":"x"}`); code != 403 {
		t.Errorf("HQ create: %d, want 403", code)
	}

	// A repair order: open, close, close again.
	ro := must(t, 200)(g.do(t, "POST", base+"/repairOrders", agent, `{"number":"RO-2026-0001","vin":"`+vinA+`","type":"REPAIR_ORDER_TYPE_MAINTENANCE","mileageKm":12000,"byAppointment":true,"openTime":"2026-11-20T01:00:00Z"}`))
	roID := ro["id"].(string)
	closed := must(t, 200)(g.do(t, "POST", base+"/repairOrders/"+roID+":close", agent, `{"mileageKm":12010,"amountFen":58000,"closeTime":"2026-11-20T06:00:00Z"}`))
	if closed["state"] != "REPAIR_ORDER_STATE_CLOSED" || closed["mileageKm"] != float64(12010) {
		t.Errorf("closed = %v", closed)
	}
	if code, _ := g.do(t, "POST", base+"/repairOrders/"+roID+":close", agent, `{}`); code != 409 {
		t.Errorf("second close: %d, want 409", code)
	}
	code, body = g.do(t, "POST", base+"/sales", agent, `{"vehicle":"`+vid+`","deliveredTime":"1900-01-01T00:00:00Z"}`)
	wantField(t, code, body, "sale.delivered_time")
	sale := must(t, 200)(g.do(t, "POST", base+"/sales", agent, `{"vehicle":"`+vid+`","salesperson":"李娜","deliveredTime":"2026-05-01T02:00:00Z"}`))

	// The plate issued after delivery goes in under a field mask; the VIN
	// never changes, and bad values name the field and change nothing.
	vpath := base + "/customers/" + cid + "/vehicles/" + vid
	code, body = g.do(t, "PATCH", vpath+"?update_mask=plate", agent, `{"plate":"沪X1"}`)
	wantField(t, code, body, "vehicle.plate")
	code, body = g.do(t, "PATCH", vpath+"?update_mask=vin", agent, `{"vin":"`+vinB+`"}`)
	wantField(t, code, body, "update_mask")
	code, body = g.do(t, "PATCH", vpath+"?update_mask=model_year", agent, `{"modelYear":1930}`)
	wantField(t, code, body, "vehicle.model_year")
	uv := must(t, 200)(g.do(t, "PATCH", vpath+"?update_mask=plate,model_year", agent, `{"plate":"沪ad12345","modelYear":2023,"brand":"不改"}`))
	if uv["plate"] != "沪AD12345" || uv["modelYear"] != float64(2023) || uv["brand"] != "大众" || uv["vin"] != vinA {
		t.Errorf("updated vehicle = %v", uv)
	}
	if res := must(t, 200)(g.do(t, "GET", base+"/customers?query="+urlq("沪AD12345"), agent, "")); len(res["customers"].([]any)) != 1 {
		t.Errorf("search by the new plate: %v", res)
	}

	// Mileage history: the repair order's closing reading and the delivery;
	// a later visit reading lower than before is flagged.
	must(t, 200)(g.do(t, "POST", base+"/repairOrders", agent, `{"number":"RO-2026-0002","vehicle":"`+vid+`","type":"REPAIR_ORDER_TYPE_REPAIR","mileageKm":9000,"openTime":"2026-11-21T01:00:00Z"}`))
	// The vehicle's repair orders, newest first; another vehicle has none.
	second := must(t, 200)(g.do(t, "POST", base+"/customers/"+cid+"/vehicles", agent, `{"vin":"`+vinB+`"}`))
	for vehicle, want := range map[string]string{vid: "RO-2026-0002 RO-2026-0001", second["id"].(string): ""} {
		var numbers []string
		res := must(t, 200)(g.do(t, "GET", base+"/repairOrders?vehicle="+vehicle, agent, ""))
		for _, ro := range res["repairOrders"].([]any) {
			numbers = append(numbers, ro.(map[string]any)["number"].(string))
		}
		if strings.Join(numbers, " ") != want {
			t.Errorf("repair orders of vehicle %s: %v, want %s", vehicle, numbers, want)
		}
	}
	readings := must(t, 200)(g.do(t, "GET", vpath+"/mileageReadings", agent, ""))
	var history []string
	for _, r := range readings["readings"].([]any) {
		m := r.(map[string]any)
		history = append(history, fmt.Sprint(m["readTime"], " ", m["mileageKm"], " ", m["source"], " ", m["readDealer"], " ", m["repairOrderNumber"], " ", m["lowerThanEarlier"]))
	}
	if want := []string{
		"2026-11-21T01:00:00Z 9000 MILEAGE_SOURCE_REPAIR_ORDER SH001 RO-2026-0002 true",
		"2026-11-20T06:00:00Z 12010 MILEAGE_SOURCE_REPAIR_ORDER SH001 RO-2026-0001 false",
		"2026-05-01T02:00:00Z 12010 MILEAGE_SOURCE_DELIVERY SH001  false",
	}; strings.Join(history, "\n") != strings.Join(want, "\n") {
		t.Errorf("mileage readings:\n%s\nwant:\n%s", strings.Join(history, "\n"), strings.Join(want, "\n"))
	}
	if page := must(t, 200)(g.do(t, "GET", vpath+"/mileageReadings?page_size=2", agent, "")); page["nextPageToken"] == nil {
		t.Errorf("first page of 2: %v", page)
	} else if rest := must(t, 200)(g.do(t, "GET", vpath+"/mileageReadings?page_size=2&page_token="+page["nextPageToken"].(string), agent, "")); len(rest["readings"].([]any)) != 1 {
		t.Errorf("second page: %v", rest)
	}

	// Loyalty points: the balance never goes negative.
	must(t, 200)(g.do(t, "POST", base+"/customers/"+cid+"/loyaltyTransactions", agent, `{"points":100,"reason":"保养积分"}`))
	if code, _ := g.do(t, "POST", base+"/customers/"+cid+"/loyaltyTransactions", agent, `{"points":-150,"reason":"兑换"}`); code != 400 {
		t.Errorf("over-redeem: %d, want 400 (failed precondition)", code)
	}
	lt := must(t, 200)(g.do(t, "POST", base+"/customers/"+cid+"/loyaltyTransactions", agent, `{"points":-40,"reason":"兑换洗车"}`))
	if lt["balance"] != "60" && lt["balance"] != float64(60) {
		t.Errorf("balance = %v", lt["balance"])
	}
	// Consent with time and source.
	cc := must(t, 200)(g.do(t, "POST", base+"/customers/"+cid+":updateConsent", agent, `{"consent":{"channel":"CHANNEL_SMS","granted":false,"source":"phone"}}`))
	if ks, _ := cc["consents"].([]any); len(ks) != 1 || ks[0].(map[string]any)["granted"] != false {
		t.Errorf("consents = %v", cc["consents"])
	}

	// Duplicates and merge: a second archive with the same mobile.
	dup := must(t, 200)(g.do(t, "POST", base+"/customers", agent, `{"name":"张伟","mobile":"+86 138-1234-5678","address":"上海"}`))
	// The same VIN cannot go to a second customer: it is refused at entry,
	// so a duplicate is never a shared VIN.
	if code, body := g.do(t, "POST", base+"/customers/"+dup["id"].(string)+"/vehicles", agent, `{"vin":"`+vinA+`"}`); code != 409 {
		t.Errorf("a second customer's vehicle with the same VIN: %d %v, want 409", code, body)
	}
	groups := must(t, 200)(g.do(t, "GET", base+"/customers:duplicates", agent, ""))
	if gs, _ := groups["groups"].([]any); len(gs) != 1 {
		t.Fatalf("duplicates = %v", groups)
	}
	merged := must(t, 200)(g.do(t, "POST", base+"/customers/"+cid+":merge", agent, `{"merged":["`+dup["id"].(string)+`"]}`))
	if merged["id"] != cid {
		t.Errorf("merge answered %v", merged)
	}
	gone := must(t, 200)(g.do(t, "GET", base+"/customers/"+dup["id"].(string), agent, ""))
	if gone["mergedInto"] != cid {
		t.Errorf("merged archive = %v", gone)
	}
	if gs := must(t, 200)(g.do(t, "GET", base+"/customers:duplicates", agent, "")); len(gs["groups"].([]any)) != 0 {
		t.Errorf("duplicates after merge = %v", gs)
	}

	// Archive quality: an archive without mobile is listed with its problems.
	must(t, 200)(g.do(t, "POST", base+"/customers", agent, `{"name":"王芳"}`))
	probs := must(t, 200)(g.do(t, "GET", base+"/archiveProblems", agent, ""))
	if cs, _ := probs["customers"].([]any); len(cs) == 0 {
		t.Errorf("archive problems = %v", probs)
	}

	// Another dealer's user: 404 on every object, by its own path and by the
	// victim's path, and nothing changes.
	for _, p := range []string{
		"/customers/" + cid, "/customers/" + cid + "/vehicles", "/customers/" + cid + "/vehicles/" + vid,
		"/repairOrders/" + roID, "/sales/" + sale["id"].(string), "/customers/" + cid + "/loyaltyTransactions",
		"/customers/" + cid + "/vehicles/" + vid + "/mileageReadings",
	} {
		for _, prefix := range []string{base, "/v1/dealers/BJ001"} {
			if code, body := g.do(t, "GET", prefix+p, other, ""); code != 404 {
				t.Errorf("other dealer GET %s%s: %d %v", prefix, p, code, body)
			}
		}
	}
	for _, w := range []struct{ method, path, body string }{
		{"PATCH", "/customers/" + cid + "?update_mask=name", `{"name":"hijack"}`},
		{"PATCH", "/customers/" + cid + "/vehicles/" + vid + "?update_mask=plate", `{"plate":"京A00001"}`},
		{"POST", "/customers/" + cid + "/loyaltyTransactions", `{"points":1000,"reason":"x"}`},
		{"POST", "/repairOrders/" + roID + ":close", `{}`},
		{"POST", "/customers/" + cid + ":merge", `{"merged":["` + dup["id"].(string) + `"]}`},
		{"POST", "/sales", `{"vehicle":"` + vid + `","deliveredTime":"2026-05-01T02:00:00Z"}`},
		{"POST", "/repairOrders", `{"number":"X-1","vehicle":"` + vid + `","type":"REPAIR_ORDER_TYPE_REPAIR"}`},
	} {
		code, body := g.do(t, w.method, "/v1/dealers/BJ001"+w.path, other, w.body)
		if code != 404 {
			t.Errorf("other dealer %s BJ001%s: %d %v", w.method, w.path, code, body)
		}
		if code, _ := g.do(t, w.method, base+w.path, other, w.body); code != 404 {
			t.Errorf("other dealer %s SH001%s: %d", w.method, w.path, code)
		}
	}
	after := must(t, 200)(g.do(t, "GET", base+"/customers/"+cid, agent, ""))
	if after["name"] != "张伟" || after["loyaltyPoints"] != "60" && after["loyaltyPoints"] != float64(60) {
		t.Errorf("victim changed: %v", after)
	}
	if v := must(t, 200)(g.do(t, "GET", vpath, agent, "")); v["plate"] != "沪AD12345" {
		t.Errorf("victim's vehicle changed: %v", v)
	}
}

func urlq(s string) string {
	r := strings.NewReplacer(" ", "%20", "+", "%2B")
	return r.Replace(s)
}

// TestImportThroughTheGateway: a GBK DMS export of 12,000 rows, larger than
// gRPC's default 4 MiB message limit, with one bad row,
// goes in over REST; the bad row is reported, a re-import changes nothing,
// and another dealer sees neither the import nor its errors.
func TestImportThroughTheGateway(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	agent := g.token(t, auth.Principal{Subject: "agent-sh", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	other := g.token(t, auth.Principal{Subject: "agent-bj", Roles: []auth.Role{auth.RoleAgent}, Dealer: "BJ001"})
	var b strings.Builder
	b.WriteString("客户编号,姓名,手机,车架号,车牌号,地址\n")
	const rows = 12000
	for i := 0; i < rows; i++ {
		vin := validate.CompleteVIN(fmt.Sprintf("LSVAU2180N%07d", i))
		if i == 41 {
			vin = "LSVAU2181N0000041" // wrong check digit
		}
		fmt.Fprintf(&b, "DMS-%05d,客户%05d,139000%05d,%s,沪A%05d,上海市浦东新区世纪大道%d号%s\n", i, i, i, vin, i, i, strings.Repeat("附近", 70))
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(gbk)*4/3 < 4<<20 {
		t.Fatalf("fixture of %d bytes is below the default gRPC limit", len(gbk))
	}
	body := `{"fileName":"dms.csv","content":"` + base64.StdEncoding.EncodeToString([]byte(gbk)) + `"}`
	wait := func(id string) map[string]any {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			got := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/imports/"+id, agent, ""))
			if got["state"] != "IMPORT_STATE_RUNNING" {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("import still running: %v", got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	first := wait(must(t, 200)(g.do(t, "POST", "/v1/dealers/SH001/imports", agent, body))["id"].(string))
	if first["state"] != "IMPORT_STATE_SUCCEEDED" || first["encoding"] != "gbk" || first["failedRows"] != float64(1) || first["insertedRows"] != float64(rows-1) {
		t.Fatalf("first import: %v", first)
	}
	errs := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/imports/"+first["id"].(string)+"/errors", agent, ""))
	if es, _ := errs["errors"].([]any); len(es) != 1 || es[0].(map[string]any)["row"] != float64(43) || es[0].(map[string]any)["field"] != "vin" {
		t.Errorf("errors = %v", errs)
	}
	again := wait(must(t, 200)(g.do(t, "POST", "/v1/dealers/SH001/imports", agent, body))["id"].(string))
	if again["insertedRows"] != float64(0) || again["updatedRows"] != float64(0) || again["unchangedRows"] != float64(rows-1) {
		t.Errorf("re-import: %v", again)
	}
	found := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/customers?query=沪A00007", agent, ""))
	if cs, _ := found["customers"].([]any); len(cs) != 1 {
		t.Errorf("imported customer by plate: %v", found)
	}
	for _, p := range []string{"/v1/dealers/SH001/imports/" + first["id"].(string), "/v1/dealers/BJ001/imports/" + first["id"].(string), "/v1/dealers/BJ001/imports/" + first["id"].(string) + "/errors"} {
		if code, _ := g.do(t, "GET", p, other, ""); code != 404 {
			t.Errorf("other dealer GET %s: %d", p, code)
		}
	}
}
