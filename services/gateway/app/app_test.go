package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/service"
	callback "github.com/dealercare/dealercare/services/callback/app"
	callbackpg "github.com/dealercare/dealercare/services/callback/postgres"
	campaign "github.com/dealercare/dealercare/services/campaign/app"
	campaignpg "github.com/dealercare/dealercare/services/campaign/postgres"
	complaint "github.com/dealercare/dealercare/services/complaint/app"
	complaintpg "github.com/dealercare/dealercare/services/complaint/postgres"
	customer "github.com/dealercare/dealercare/services/customer/app"
	customerpg "github.com/dealercare/dealercare/services/customer/postgres"
	evaluation "github.com/dealercare/dealercare/services/evaluation/app"
	evaluationpg "github.com/dealercare/dealercare/services/evaluation/postgres"
	"github.com/dealercare/dealercare/services/gateway/app"
	"github.com/dealercare/dealercare/services/gateway/idempotency"
	"github.com/dealercare/dealercare/services/gateway/middleware"
	webhook "github.com/dealercare/dealercare/services/webhook/app"
	webhookpg "github.com/dealercare/dealercare/services/webhook/postgres"
)

// gw is the real gateway in front of the real customer service.
type gw struct {
	url          string
	id           *authtest.Issuer
	customerAddr string // the customer service's gRPC address, for direct calls
	callbackAddr string // the callback service's, for what only workflows create
	// evaluationAddr is the evaluation service's, for the feed workflows'
	// calls; serviceTokenFile holds the service token they use.
	evaluationAddr, serviceTokenFile string
	campaignAddr                     string     // the campaign service's, to drive a campaign as its workflow does
	evaluationDB                     *pgtest.DB // the evaluation's database, for make bench-kpi's facts
}

func runUntilCleanup(t testing.TB, open func(context.Context) error, run func(context.Context) error, closeFn func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		closeFn()
	})
}

func start(t testing.TB) *gw { return startWith(t, func(*app.Config) {}) }

// startWith starts the stack with the gateway's config adjusted by tune.
func startWith(t testing.TB, tune func(*app.Config)) *gw {
	t.Helper()
	db := pgtest.NewFrom(t, customerpg.Schema, customerpg.Migrations)
	id := authtest.New(t)
	authCfg, tokenFile := id.Config, id.ServiceTokenFile

	c := &customer.Main{Config: customer.Config{
		Config: service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: db.AppURL}},
		PII:    pii.NewRandomKeys(),
	}}
	runUntilCleanup(t, c.Open, c.Run, c.Close)

	cdb := pgtest.NewFrom(t, complaintpg.Schema, complaintpg.Migrations)
	cm := &complaint.Main{Config: complaint.Config{
		Config:  service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: cdb.AppURL}},
		Network: service.NetworkConfig{CustomerTarget: c.Addr(), ServiceTokenFile: tokenFile},
	}}
	runUntilCleanup(t, cm.Open, cm.Run, cm.Close)

	bdb := pgtest.NewFrom(t, callbackpg.Schema, callbackpg.Migrations)
	cb := &callback.Main{Config: callback.Config{
		Config:  service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: bdb.AppURL}},
		Network: service.NetworkConfig{CustomerTarget: c.Addr(), ServiceTokenFile: tokenFile},
	}}
	runUntilCleanup(t, cb.Open, cb.Run, cb.Close)

	pdb := pgtest.NewFrom(t, campaignpg.Schema, campaignpg.Migrations)
	cp := &campaign.Main{Config: campaign.Config{
		Config:    service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: pdb.AppURL}},
		Network:   service.NetworkConfig{CustomerTarget: c.Addr(), ServiceTokenFile: tokenFile},
		Providers: campaign.Providers{CallbackTarget: cb.Addr(), ReceiptsAddr: "127.0.0.1:0"},
	}}
	runUntilCleanup(t, cp.Open, cp.Run, cp.Close)
	// The evaluation reads the campaign targets' feed too.
	edb := pgtest.NewFrom(t, evaluationpg.Schema, evaluationpg.Migrations)
	ev := &evaluation.Main{Config: evaluation.Config{
		Config:         service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: edb.AppURL}},
		Network:        service.NetworkConfig{CustomerTarget: c.Addr(), ServiceTokenFile: tokenFile},
		CallbackTarget: cb.Addr(), ComplaintTarget: cm.Addr(), CampaignTarget: cp.Addr(),
	}}
	runUntilCleanup(t, ev.Open, ev.Run, ev.Close)

	wdb := pgtest.NewFrom(t, webhookpg.Schema, webhookpg.Migrations)
	wh := &webhook.Main{Config: webhook.Config{
		Config: service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: wdb.AppURL}},
		Keys:   pii.NewRandomKeys(),
	}}
	runUntilCleanup(t, wh.Open, wh.Run, wh.Close)

	gwdb := pgtest.NewFrom(t, idempotency.Schema, idempotency.Migrations)
	g := &app.Main{Config: app.Config{
		Auth: authCfg, HTTPAddr: "127.0.0.1:0", CustomerTarget: c.Addr(), ComplaintTarget: cm.Addr(), CallbackTarget: cb.Addr(), CampaignTarget: cp.Addr(),
		ShutdownTimeout: 5 * time.Second, MaxBodyBytes: 1 << 20, MaxImportBytes: 64 << 20,
		Idempotency: idempotency.LoadConfig(config.FromMap(nil)),
		Database:    pg.Config{URL: gwdb.AppURL},
	}}
	g.Config.EvaluationTarget = ev.Addr()
	g.Config.WebhookTarget = wh.Addr()
	tune(&g.Config)
	runUntilCleanup(t, g.Open, g.Run, g.Close)
	wire.watch(g.URL())
	return &gw{url: g.URL(), id: id, customerAddr: c.Addr(), callbackAddr: cb.Addr(), evaluationAddr: ev.Addr(), serviceTokenFile: tokenFile, campaignAddr: cp.Addr(), evaluationDB: edb}
}

func (g *gw) token(t testing.TB, p auth.Principal) string { t.Helper(); return g.id.Token(t, p) }

// do sends a request and decodes the JSON answer.
func (g *gw) do(t testing.TB, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	return g.doLang(t, method, path, token, body, "")
}

func (g *gw) doLang(t testing.TB, method, path, token, body, lang string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode == 200 && (strings.HasPrefix(ct, "text/csv") || strings.HasPrefix(ct, "application/vnd.openxmlformats")) {
		// An export: its text, for the walks that search answers.
		return resp.StatusCode, map[string]any{"file": string(raw)}
	}
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
	}
	return resp.StatusCode, out
}

func TestGatewayRoutesAndErrors(t *testing.T) {
	g := start(t)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})

	code, body := g.do(t, "POST", "/v1/regions", admin, `{"code":"EAST","name":"华东大区"}`)
	if code != 200 {
		t.Fatalf("create region: %d %v", code, body)
	}
	for _, d := range []string{
		`{"code":"SH001","name":"上海浦东汽车销售服务有限公司","region":"EAST","city":"上海"}`,
		`{"code":"HZ001","name":"杭州西湖汽车销售服务有限公司","region":"EAST","city":"杭州"}`,
	} {
		if code, body := g.do(t, "POST", "/v1/dealers", admin, d); code != 200 {
			t.Fatalf("create dealer: %d %v", code, body)
		}
	}

	code, body = g.do(t, "GET", "/v1/dealers", admin, "")
	if code != 200 || len(body["dealers"].([]any)) != 2 {
		t.Fatalf("list dealers: %d %v", code, body)
	}
	first := body["dealers"].([]any)[0].(map[string]any)
	if first["code"] != "HZ001" || first["timeZone"] != "Asia/Shanghai" {
		t.Errorf("first dealer = %v", first)
	}

	// Errors use the google.rpc.Status shape and name the field.
	code, body = g.do(t, "POST", "/v1/dealers", admin, `{"code":"bad code","name":"x","region":"EAST"}`)
	if code != 400 || body["code"] != float64(3) || !strings.Contains(body["message"].(string), "dealer.code") {
		t.Errorf("bad code: %d %v", code, body)
	}
	if details, _ := body["details"].([]any); len(details) == 0 {
		t.Errorf("no details (field violations) in %v", body)
	}
	code, body = g.do(t, "POST", "/v1/dealers", admin, `{"code":"SH001","name":"dup","region":"EAST"}`)
	if code != 409 {
		t.Errorf("duplicate: %d %v", code, body)
	}
	code, body = g.do(t, "POST", "/v1/dealers", admin, `{"code":`)
	if code != 400 {
		t.Errorf("malformed JSON: %d %v", code, body)
	}

	// A dealer user sees only its own dealer; another dealer is 404.
	agent := g.token(t, auth.Principal{Subject: "a", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	code, body = g.do(t, "GET", "/v1/dealers", agent, "")
	if code != 200 || len(body["dealers"].([]any)) != 1 {
		t.Errorf("agent list: %d %v", code, body)
	}
	for _, path := range []string{"/v1/dealers/HZ001", "/v1/dealers/HZ001/businessCalendar"} {
		if code, body := g.do(t, "GET", path, agent, ""); code != 404 {
			t.Errorf("agent GET %s: %d %v", path, code, body)
		}
	}
	if code, body := g.do(t, "PATCH", "/v1/dealers/HZ001", agent, `{"name":"x"}`); code != 404 {
		t.Errorf("agent PATCH other dealer: %d %v", code, body)
	}

	// Business time through REST: Friday 17:55 + 2h on a weekday 09:00-18:00 calendar.
	cal := `{"weekly":[` +
		`{"day":"DAY_OF_WEEK_MONDAY","intervals":[{"start":"09:00","end":"18:00"}]},` +
		`{"day":"DAY_OF_WEEK_TUESDAY","intervals":[{"start":"09:00","end":"18:00"}]},` +
		`{"day":"DAY_OF_WEEK_WEDNESDAY","intervals":[{"start":"09:00","end":"18:00"}]},` +
		`{"day":"DAY_OF_WEEK_THURSDAY","intervals":[{"start":"09:00","end":"18:00"}]},` +
		`{"day":"DAY_OF_WEEK_FRIDAY","intervals":[{"start":"09:00","end":"18:00"}]}]}`
	if code, body := g.do(t, "PUT", "/v1/dealers/SH001/businessCalendar", admin, cal); code != 200 {
		t.Fatalf("put calendar: %d %v", code, body)
	}
	code, body = g.do(t, "POST", "/v1/dealers/SH001/businessCalendar:addBusinessTime", agent, `{"startTime":"2026-11-20T09:55:00Z","duration":"7200s"}`)
	if code != 200 || body["endTime"] != "2026-11-23T02:55:00Z" {
		t.Errorf("addBusinessTime: %d %v", code, body)
	}
}

func TestGatewayAuthentication(t *testing.T) {
	g := start(t)
	for _, tc := range []struct{ name, token, want string }{
		{"missing", "", "authorization"},
		{"garbage", "abc", "malformed"},
		{"alg none", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZXMiOlsiaHFfYWRtaW4iXX0.", "none"},
	} {
		code, body := g.do(t, "GET", "/v1/dealers", tc.token, "")
		if code != 401 || body["code"] != float64(16) {
			t.Errorf("%s: %d %v", tc.name, code, body)
			continue
		}
		if msg, _ := body["message"].(string); !strings.Contains(strings.ToLower(msg), tc.want) {
			t.Errorf("%s: message %q does not mention %q", tc.name, msg, tc.want)
		}
	}
	expired, err := g.id.Key.Mint(auth.Principal{Subject: "x", Roles: []auth.Role{auth.RoleHQAdmin}}, auth.DevIssuer, auth.DevAudience, time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := g.do(t, "GET", "/v1/dealers", expired, ""); code != 401 || !strings.Contains(body["message"].(string), "expired") {
		t.Errorf("expired: %d %v", code, body)
	}

	// Health and the OpenAPI document need no token.
	// /healthz names every upstream it checked.
	if code, body := g.do(t, "GET", "/healthz", "", ""); code != 200 || body["status"] != "SERVING" {
		t.Errorf("/healthz: %d %v", code, body)
	} else {
		ups, _ := body["upstreams"].(map[string]any)
		for _, name := range []string{"customer", "complaint", "callback", "evaluation", "campaign"} {
			if ups[name] != "SERVING" {
				t.Errorf("/healthz upstream %s: %v (%v)", name, ups[name], body)
			}
		}
	}
	code, doc := g.do(t, "GET", "/openapi.json", "", "")
	if code != 200 || doc["openapi"] != "3.1.0" {
		t.Fatalf("/openapi.json: %d", code)
	}
	if _, ok := doc["paths"].(map[string]any)["/v1/dealers"]; !ok {
		t.Errorf("/v1/dealers missing from the OpenAPI paths")
	}
}

func TestGatewayMessagesInChineseAndEnglish(t *testing.T) {
	g := start(t)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	for _, tc := range []struct {
		lang, path, body, token string
		status                  int
		want                    string
	}{
		{"zh-CN,zh;q=0.9", "/v1/dealers", `{"code":"SH001","name":"x","region":"MARS"}`, admin, 400, "dealer.region: 未知的大区"},
		{"en-US", "/v1/dealers", `{"code":"SH001","name":"x","region":"MARS"}`, admin, 400, "dealer.region: unknown region"},
		{"zh-CN", "/v1/regions", `{"code":"EAST","name":""}`, admin, 400, "region.name: 长度至少为 1 个字符"},
		{"zh-CN", "/v1/dealers", `{}`, "", 401, "缺少"},
		{"en", "/v1/dealers", `{}`, "", 401, "authorization"},
	} {
		code, body := g.doLang(t, "POST", tc.path, tc.token, tc.body, tc.lang)
		msg, _ := body["message"].(string)
		if code != tc.status || !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.want)) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tc.lang, tc.path, code, msg, tc.status, tc.want)
		}
	}
	code, body := g.doLang(t, "GET", "/v1/dealers/NOPE1", admin, "", "zh-CN")
	if msg, _ := body["message"].(string); code != 404 || msg != "经销商“NOPE1”不存在" {
		t.Errorf("zh not found: %d %q", code, msg)
	}
}

func TestGatewayConventions(t *testing.T) {
	g := startWith(t, func(c *app.Config) {
		c.RateLimit = middleware.RateLimitConfig{RequestsPerSecond: 0.001, Burst: 3}
		c.CORS = middleware.CORSConfig{AllowedOrigins: []string{"https://crm.example-dealer.cn"}, MaxAge: time.Minute}
		c.MaxBodyBytes = 256
	})
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	agent := g.token(t, auth.Principal{Subject: "a", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})

	req, _ := http.NewRequest("GET", g.url+"/v1/regions", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("X-Request-Id", "req-abc.123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") != "req-abc.123" {
		t.Errorf("request id not echoed: %q", resp.Header.Get("X-Request-Id"))
	}

	// Body size limit (TestOversizedBodies checks the answer).
	big := `{"code":"EAST","name":"` + strings.Repeat("华", 200) + `"}`
	if code, body := g.do(t, "POST", "/v1/regions", admin, big); code != 413 {
		t.Errorf("oversized body: %d %v, want 413", code, body)
	}

	// Per-tenant rate limit: the agent's dealer exhausts its burst of 3; HQ
	// is a different tenant and still gets through.
	var last int
	var retryAfter string
	for range 4 {
		req, _ := http.NewRequest("GET", g.url+"/v1/dealers", nil)
		req.Header.Set("Authorization", "Bearer "+agent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last, retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	if last != 429 || retryAfter == "" {
		t.Errorf("4th request of a burst of 3: %d Retry-After %q", last, retryAfter)
	}
	if code, _ := g.do(t, "GET", "/v1/regions", admin, ""); code != 200 {
		t.Errorf("another tenant was limited: %d", code)
	}

	// CORS preflight needs no token; unknown origins are refused.
	for origin, want := range map[string]int{"https://crm.example-dealer.cn": 204, "https://evil.example": 403} {
		req, _ := http.NewRequest("OPTIONS", g.url+"/v1/dealers", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,idempotency-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("preflight from %s: %d, want %d", origin, resp.StatusCode, want)
		}
		if want == 204 && resp.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("allow-origin = %q", resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

func TestGatewayIdempotency(t *testing.T) {
	g := start(t)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	post := func(key, body string) (int, string, string) {
		req, _ := http.NewRequest("POST", g.url+"/v1/regions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw), resp.Header.Get("Idempotent-Replayed")
	}
	code1, body1, _ := post("k-1", `{"code":"EAST","name":"华东大区"}`)
	if code1 != 200 {
		t.Fatalf("first: %d %s", code1, body1)
	}
	// Without the key, a second create conflicts; with it, the retry gets
	// the first answer.
	code2, body2, replayed := post("k-1", `{"code":"EAST","name":"华东大区"}`)
	if code2 != 200 || body2 != body1 || replayed != "true" {
		t.Errorf("retry: %d %s replayed=%q, want the first answer", code2, body2, replayed)
	}
	if code, body, _ := post("k-1", `{"code":"EAST","name":"华东"}`); code != 422 {
		t.Errorf("same key, other body: %d %s", code, body)
	}
	if code, _, _ := post("k-2", `{"code":"EAST","name":"华东大区"}`); code != 409 {
		t.Errorf("new key, same region: %d, want 409 (already exists)", code)
	}
	_, list := g.do(t, "GET", "/v1/regions", admin, "")
	if n := len(list["regions"].([]any)); n != 1 {
		t.Errorf("%d regions after retries, want 1", n)
	}
}

// TestOversizedBodies: a body over GATEWAY_MAX_BODY_BYTES answers 413
// naming the limit, in the caller's language, whether the decoder or the
// idempotency middleware reads it.
func TestOversizedBodies(t *testing.T) {
	g := startWith(t, func(c *app.Config) { c.MaxBodyBytes = 256 })
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	agent := g.token(t, auth.Principal{Subject: "a", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	// An import first: its larger limit is its own, not every later
	// request's.
	g.do(t, "POST", "/v1/dealers/SH001/imports", agent, `{"fileName":"a.csv","content":"`+strings.Repeat("QUJD", 100)+`"}`)
	big := `{"code":"EAST","name":"` + strings.Repeat("华", 200) + `"}`
	for _, c := range []struct{ lang, key, want string }{
		{"", "", "larger than the limit of 256 bytes"}, {"zh-CN", "", "超过 256 字节的上限"},
		{"", "big-1", "larger than the limit of 256 bytes"}, {"zh-CN", "big-2", "超过 256 字节的上限"},
	} {
		req, _ := http.NewRequest("POST", g.url+"/v1/regions", strings.NewReader(big))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Accept-Language", c.lang)
		if c.key != "" {
			req.Header.Set("Idempotency-Key", c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(raw), c.want) {
			t.Errorf("oversized body (%q, key %q): %d %s, want 413 with %q", c.lang, c.key, resp.StatusCode, raw, c.want)
		}
	}
}
