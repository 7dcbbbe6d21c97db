package app_test

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
)

// TestMalformedPageTokens sends tokens no call returned to every list
// route of the OpenAPI document that takes page_token: each must be a 400
// naming page_token, never a 500 from a token that reached PostgreSQL as
// invalid text. New list routes are covered without editing this test.
func TestMalformedPageTokens(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	agent := g.token(t, auth.Principal{Subject: "agent-sh", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	base := "/v1/dealers/SH001"
	c := must(t, 200)(g.do(t, "POST", base+"/customers", agent, `{"name":"张伟"}`))
	imp := must(t, 200)(g.do(t, "POST", base+"/imports", agent,
		`{"fileName":"a.csv","content":"`+base64.StdEncoding.EncodeToString([]byte("dms_customer_id,name\nC1,x\n"))+`"}`))
	v := must(t, 200)(g.do(t, "POST", base+"/customers/"+c["id"].(string)+"/vehicles", agent, `{"vin":"`+vinA+`"}`))
	mgr := g.token(t, auth.Principal{Subject: "mgr-sh", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	camp := must(t, 200)(g.do(t, "POST", base+"/campaigns", mgr,
		`{"kind":"CAMPAIGN_KIND_CARE_EVENT","name":"冬季关怀","channels":["CHANNEL_SMS"],"template":{"body":"您好"}}`))
	hqCamp := must(t, 200)(g.do(t, "POST", "/v1/campaigns", admin,
		`{"kind":"CAMPAIGN_KIND_CARE_EVENT","name":"冬季关怀","channels":["CHANNEL_SMS"],"template":{"body":"您好"}}`))
	hook := must(t, 200)(g.do(t, "POST", base+"/webhookSubscriptions", mgr, `{"url":"https://dms.example.com/hooks","eventTypes":["complaint.created"]}`))
	hqHook := must(t, 200)(g.do(t, "POST", "/v1/webhookSubscriptions", admin, `{"url":"https://bi.example.com/hooks","eventTypes":["complaint.created"]}`))
	ids := map[string]string{"customer": c["id"].(string), "import": imp["id"].(string), "vehicle": v["id"].(string), "campaign": camp["id"].(string),
		"subscription": hook["subscription"].(map[string]any)["id"].(string)}
	hqIDs := map[string]string{"campaign": hqCamp["id"].(string), "subscription": hqHook["subscription"].(map[string]any)["id"].(string)}

	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tokens := []string{
		"!!!", // not base64
		b64("\xff\xfe"),
		b64("1|\xff"),
		b64("1|x\x00"),
		b64("99999999999999999999999|0190b5d4-1e0e-7000-8000-000000000001"),
		b64("1|0190b5d4-1e0e-7000-8000-000000000001") + "." + b64("\xff"),
		strings.Repeat("A", 20000),
	}
	doc := loadDoc(t)
	checked := 0
	for _, r := range routes(t) {
		if r.method != "GET" || !takesPageToken(doc, r.path) {
			continue
		}
		p := fill(r.path, "SH001", ids)
		tok := agent
		if strings.Contains(r.path, "/webhookSubscriptions") {
			tok = mgr // a dealer's subscriptions are its managers'
		}
		if !isDealerRoute(r.path) {
			tok = admin
			p = fill(r.path, "SH001", hqIDs)
		}
		if code, body := g.do(t, "GET", p, tok, ""); code != 200 {
			t.Errorf("GET %s without a token: %d %v", p, code, body)
			continue
		}
		for _, bad := range tokens {
			code, body := g.do(t, "GET", p+"?page_token="+url.QueryEscape(bad), tok, "")
			if msg := fmt.Sprint(body["message"]); code != 400 || !strings.Contains(msg, "page_token") {
				t.Errorf("GET %s?page_token=%.40q: %d %v, want 400 naming page_token", p, bad, code, body)
			}
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d list routes take page_token", checked)
	}
}

// isDealerRoute tells a route under /v1/dealers/{dealer}, which dealer
// staff call, from the network's, which HQ does.
func isDealerRoute(path string) bool { return strings.HasPrefix(path, "/v1/dealers/{dealer}") }

// takesPageToken reports whether the GET operation at path has a
// page_token query parameter.
func takesPageToken(doc apiDoc, path string) bool {
	for _, p := range doc.Paths[path]["get"].Parameters {
		if p.In == "query" && p.Name == "page_token" {
			return true
		}
	}
	return false
}

// TestNulCharacters: JSON may carry U+0000, which PostgreSQL's text
// refuses; any service answers 400 naming the field, and stores nothing.
func TestNulCharacters(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	agent := g.token(t, auth.Principal{Subject: "agent-sh", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	base := "/v1/dealers/SH001"
	for _, tt := range []struct{ method, path, body, field string }{
		{"POST", base + "/customers", `{"name":"张\u0000伟"}`, "customer.name"},
		{"POST", base + "/customers", `{"name":"张伟","tags":["a","b\u0000"]}`, "customer.tags[1]"},
		{"GET", base + "/customers?query=" + url.QueryEscape("张\x00"), "", "query"},
		{"POST", base + "/complaints", `{"channel":"CHANNEL_PHONE","category":"CATEGORY_REPAIR_QUALITY","severity":"SEVERITY_HIGH","description":"保养后\u0000异响"}`, "complaint.description"},
	} {
		code, body := g.do(t, tt.method, tt.path, agent, tt.body)
		if msg := fmt.Sprint(body["message"]); code != 400 || !strings.HasPrefix(msg, tt.field+": ") {
			t.Errorf("%s %s %s: %d %v, want 400 naming %s", tt.method, tt.path, tt.body, code, body, tt.field)
		}
	}
	if res := must(t, 200)(g.do(t, "GET", base+"/customers", agent, "")); len(res["customers"].([]any)) != 0 {
		t.Errorf("customers stored: %v", res)
	}
}

// TestNoInputAnswers5xx walks every route of the OpenAPI document, as the
// dealer's agent and manager (HQ admin for network routes), with malformed
// ids, bodies and query parameters (NUL characters, bytes that are not
// UTF-8, 5,000-character strings): no answer may be a 5xx. New routes are
// covered without editing this test.
func TestNoInputAnswers5xx(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	agent := g.token(t, auth.Principal{Subject: "agent-sh", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	doc := loadDoc(t)
	long := strings.Repeat("长", 5000)
	codes := map[int]int{}
	manager := g.token(t, auth.Principal{Subject: "manager-sh", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	for _, r := range routes(t) {
		for _, tok := range []string{agent, manager, admin} {
			// Dealer staff on dealer routes, HQ on the network's.
			if (tok == admin) == isDealerRoute(r.path) {
				continue
			}
			bodies := []string{""}
			if r.body != nil {
				raw, err := json.Marshal(example(doc, r.body, "", 0))
				if err != nil {
					t.Fatal(err)
				}
				ex := string(raw)
				bodies = []string{ex, "not json", "{}", "[]", "null", `{"unknownField":1}`,
					strings.ReplaceAll(ex, `"x"`, `"`+long+`"`), strings.ReplaceAll(ex, `"x"`, `"x\u0000"`), strings.ReplaceAll(ex, `"x"`, "\"x\xff\"")}
			}
			for _, id := range []string{"", "x", long, "%2e%2e", "%FF%FE", "00000000-0000-0000-0000-000000000000"} {
				ids := map[string]string{}
				if id != "" {
					for _, m := range pathParam.FindAllStringSubmatch(r.path, -1) {
						ids[m[1]] = id
					}
				}
				p := fill(r.path, "SH001", ids)
				for _, b := range bodies {
					for _, q := range []string{"", "?page_size=-1", "?page_size=100000", "?query=" + url.QueryEscape(long), "?query=%FF", "?unknown=1"} {
						code, resp := g.do(t, r.method, p+q, tok, b)
						codes[code]++
						if code >= 500 {
							t.Errorf("%s %.100s%.30s %.80s: %d %v", r.method, p, q, b, code, resp)
						}
					}
				}
			}
		}
	}
	t.Logf("answers by status: %v", codes)
	if codes[200] == 0 || codes[400] == 0 {
		t.Errorf("the walk reached no handler: %v", codes)
	}
}

// TestBadRequestsNameTheField sends bodies and query strings the gateway
// cannot decode: each answer is a 400 in the services' error shape, a
// message naming the field by its path in the body, a BadRequest field
// violation and a LocalizedMessage in the caller's language, also when the
// idempotency middleware read the body first.
func TestBadRequestsNameTheField(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	agent := g.token(t, auth.Principal{Subject: "agent-sh", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	for _, c := range []struct {
		method, path, body, lang, field, message string
	}{
		{"POST", "/v1/dealers/SH001/customers", `{"name":"张伟","triggerTime":"yesterday"}`, "", "triggerTime", "triggerTime: must be an RFC 3339 time"},
		{"POST", "/v1/dealers/SH001/customers", `{"name":"张伟","triggerTime":"yesterday"}`, "zh-CN", "triggerTime", "triggerTime: 须为 RFC 3339 时间"},
		{"POST", "/v1/dealers/SH001/customers", "\n {\"name\": \"张伟\",\n \"consents\": [{\"channel\": \"CHANNEL_SMS\", \"granted\": true}, {\"channel\": \"FAX\"}]}", "",
			"consents[1].channel", `consents[1].channel: "FAX" is not one of its values`},
		{"POST", "/v1/dealers/SH001/customers", `not json`, "", "body", "body: is not valid JSON"},
		{"POST", "/v1/dealers/SH001/customers", `[{"name":"张伟"}]`, "zh-CN", "body", "body: 须为 JSON 对象"},
		{"GET", "/v1/dealers/SH001/callbackTasks?page_size=abc", "", "", "page_size", "page_size: must be a whole number"},
		{"GET", "/v1/dealers/SH001/callbackTasks?kind=FOO", "", "zh-CN", "kind", `kind: "FOO" 不是可选值之一`},
	} {
		for _, key := range []string{"", "bad-request-" + c.field} {
			if key != "" && c.method == "GET" {
				continue
			}
			req, err := http.NewRequest(c.method, g.url+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+agent)
			if c.lang != "" {
				req.Header.Set("Accept-Language", c.lang)
			}
			if key != "" {
				req.Header.Set("Idempotency-Key", key+c.lang)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Details []struct {
					Type            string `json:"@type"`
					Locale          string `json:"locale"`
					FieldViolations []struct {
						Field string `json:"field"`
					} `json:"fieldViolations"`
				} `json:"details"`
			}
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 400 || got.Code != 3 || !strings.Contains(got.Message, c.message) {
				t.Errorf("%s %s %.60s (key %q): %d %+v (%v), want 400 with %q", c.method, c.path, c.body, key, resp.StatusCode, got, err, c.message)
				continue
			}
			var field, locale string
			for _, d := range got.Details {
				if strings.HasSuffix(d.Type, "BadRequest") && len(d.FieldViolations) == 1 {
					field = d.FieldViolations[0].Field
				}
				if strings.HasSuffix(d.Type, "LocalizedMessage") {
					locale = d.Locale
				}
			}
			if want := cmp.Or(c.lang, "en"); field != c.field || locale != want {
				t.Errorf("%s %s %.60s: details %+v, want a violation of %s and a %s message", c.method, c.path, c.body, got.Details, c.field, want)
			}
		}
	}
}
