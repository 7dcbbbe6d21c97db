package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
)

// TestWebhookSubscriptionsOverREST walks the webhook API through the
// gateway: a dealer GM subscribes (the secret shown once, never again),
// a bad URL and an unknown event type are 400s naming the field, the
// secret rotates, HQ lists its own subscriptions apart from the dealer's,
// and another dealer's manager gets 404.
func TestWebhookSubscriptionsOverREST(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	gm := g.token(t, auth.Principal{Subject: "gm", Roles: []auth.Role{auth.RoleDealerGM}, Dealer: "SH001"})
	base := "/v1/dealers/SH001/webhookSubscriptions"
	for _, c := range []struct{ body, field string }{
		{`{"url":"http://dms.example.com/hooks","eventTypes":["complaint.created"]}`, "url"},
		{`{"url":"https://169.254.169.254/latest","eventTypes":["complaint.created"]}`, "url"},
		{`{"url":"https://dms.example.com/hooks","eventTypes":["complaint.deleted"]}`, "event_types"},
	} {
		code, body := g.do(t, "POST", base, gm, c.body)
		if msg, _ := body["message"].(string); code != 400 || !strings.Contains(msg, c.field) {
			t.Errorf("POST %s: %d %v, want 400 naming %s", c.body, code, body, c.field)
		}
	}
	created := must(t, 200)(g.do(t, "POST", base, gm, `{"url":"https://dms.example.com/hooks","eventTypes":["complaint.created","repair_order.closed"],"description":"DMS"}`))
	secret, _ := created["secret"].(string)
	sub, _ := created["subscription"].(map[string]any)
	id, _ := sub["id"].(string)
	if !strings.HasPrefix(secret, "whsec_") || id == "" || sub["state"] != "WEBHOOK_SUBSCRIPTION_STATE_ACTIVE" || sub["dealer"] != "SH001" {
		t.Fatalf("created: %v", created)
	}
	got := must(t, 200)(g.do(t, "GET", base+"/"+id, gm, ""))
	if raw, _ := json.Marshal(got); strings.Contains(string(raw), secret) || got["url"] != "https://dms.example.com/hooks" {
		t.Errorf("get: %v", got)
	}
	rotated := must(t, 200)(g.do(t, "POST", base+"/"+id+":rotateSecret", gm, `{"overlap":"3600s"}`))
	if s, _ := rotated["secret"].(string); !strings.HasPrefix(s, "whsec_") || s == secret {
		t.Errorf("rotated: %v", rotated)
	}
	if rs, _ := rotated["subscription"].(map[string]any); rs["previousSecretExpireTime"] == nil {
		t.Errorf("rotated subscription: %v", rs)
	}
	for _, overlap := range []string{"864000s", "-5s"} { // over 7 days; negative
		if code, body := g.do(t, "POST", base+"/"+id+":rotateSecret", gm, `{"overlap":"`+overlap+`"}`); code != 400 ||
			!strings.Contains(body["message"].(string), "overlap") {
			t.Errorf("overlap %s: %d %v, want 400 naming overlap", overlap, code, body)
		}
	}
	deliveries := must(t, 200)(g.do(t, "GET", base+"/"+id+"/deliveries", gm, ""))
	if ds, _ := deliveries["deliveries"].([]any); len(ds) != 0 {
		t.Errorf("deliveries of a new subscription: %v", deliveries)
	}
	for q, field := range map[string]string{"page_token=bm90IGEgdG9rZW4": "page_token", "page_size=1001": "page_size"} {
		code, body := g.do(t, "GET", base+"/"+id+"/deliveries?"+q, gm, "")
		if msg, _ := body["message"].(string); code != 400 || !strings.Contains(msg, field) {
			t.Errorf("deliveries?%s: %d %v, want 400 naming %s", q, code, body, field)
		}
	}
	list := must(t, 200)(g.do(t, "GET", base, gm, ""))
	if subs, _ := list["subscriptions"].([]any); len(subs) != 1 {
		t.Errorf("dealer's list: %v", list)
	}
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	hq := must(t, 200)(g.do(t, "GET", "/v1/webhookSubscriptions", admin, ""))
	if subs, _ := hq["subscriptions"].([]any); len(subs) != 0 {
		t.Errorf("HQ's own list shows a dealer's subscription: %v", hq)
	}
	other := g.token(t, auth.Principal{Subject: "gm-bj", Roles: []auth.Role{auth.RoleDealerGM}, Dealer: "BJ001"})
	if code, _ := g.do(t, "GET", "/v1/dealers/BJ001/webhookSubscriptions/"+id, other, ""); code != 404 {
		t.Errorf("another dealer reading the subscription under its own dealer: %d, want 404", code)
	}
	must(t, 200)(g.do(t, "DELETE", base+"/"+id, gm, ""))
	if code, _ := g.do(t, "GET", base+"/"+id, gm, ""); code != 404 {
		t.Errorf("deleted subscription: %d, want 404", code)
	}
}
