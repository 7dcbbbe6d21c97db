package webhook_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/services/webhook/webhook"
)

func TestValidateURL(t *testing.T) {
	for _, c := range []struct {
		url      string
		loopback bool
		ok       bool
	}{
		{"https://dms.example.com/hooks", false, true},
		{"https://dms.example.com:8443/hooks?x=1", false, true},
		{"https://203.0.113.7/hooks", false, true},
		{"http://dms.example.com/hooks", false, false},
		{"ftp://dms.example.com/hooks", false, false},
		{"https://user:pw@dms.example.com/", false, false},
		{"https://dms.example.com/#frag", false, false},
		{"/relative", false, false},
		{"", false, false},
		{"https://" + strings.Repeat("a", 2050) + ".com", false, false},
		{"https://localhost/hooks", false, false},
		{"https://127.0.0.1/hooks", false, false},
		{"https://10.1.2.3/hooks", false, false},
		{"https://192.168.0.1/", false, false},
		{"https://169.254.169.254/latest/meta-data", false, false},
		{"https://100.64.0.1/", false, false},
		{"https://[::1]/", false, false},
		{"https://[fd00::1]/", false, false},
		{"https://[::ffff:10.0.0.1]/", false, false},
		{"https://0.0.0.0/", false, false},
		{"http://127.0.0.1:8080/hooks", true, true},
		{"http://localhost:8080/hooks", true, true},
		{"http://10.1.2.3/hooks", true, false},
		{"http://dms.example.com/hooks", true, false},
	} {
		err := webhook.ValidateURL(c.url, c.loopback)
		if (err == nil) != c.ok {
			t.Errorf("ValidateURL(%.60q, loopback=%v) = %v, want ok=%v", c.url, c.loopback, err, c.ok)
		}
		if err != nil {
			if e, _ := apperr.As(err); e == nil || e.Code != apperr.EINVALID || len(e.Violations) != 1 || e.Violations[0].Field != "url" {
				t.Errorf("ValidateURL(%.60q): %#v, want an EINVALID naming url", c.url, err)
			}
		}
	}
}

func TestIsPublic(t *testing.T) {
	for s, want := range map[string]bool{"8.8.8.8": true, "2001:4860::8888": true, "172.16.0.1": false, "198.18.0.1": false,
		"224.0.0.1": false, "fe80::1": false} {
		if got := webhook.IsPublic(netip.MustParseAddr(s)); got != want {
			t.Errorf("IsPublic(%s) = %v", s, got)
		}
	}
}

func TestSubscriptionValidate(t *testing.T) {
	for _, c := range []struct {
		s     webhook.Subscription
		field string
	}{
		{webhook.Subscription{URL: "https://x.example/h", EventTypes: []string{events.WebhookComplaintCreated}}, ""},
		{webhook.Subscription{URL: "https://x.example/h"}, "event_types"},
		{webhook.Subscription{URL: "https://x.example/h", EventTypes: []string{"complaint.deleted"}}, "event_types"},
		{webhook.Subscription{URL: "https://x.example/h", EventTypes: []string{events.WebhookComplaintCreated, events.WebhookComplaintCreated}}, "event_types"},
		{webhook.Subscription{URL: "https://x.example/h", EventTypes: []string{events.WebhookComplaintCreated}, Description: strings.Repeat("长", 501)}, "description"},
		{webhook.Subscription{URL: "http://x.example/h", EventTypes: []string{events.WebhookComplaintCreated}}, "url"},
	} {
		err := c.s.Validate(false)
		e, _ := apperr.As(err)
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v: %v", c.s, err)
		case c.field != "" && (e == nil || len(e.Violations) == 0 || e.Violations[0].Field != c.field):
			t.Errorf("%+v: %v, want a violation of %s", c.s, err, c.field)
		}
	}
}

// TestSignVerify checks the Standard Webhooks signature against the
// specification's published test vector and across a rotation.
func TestSignVerify(t *testing.T) {
	// From the Standard Webhooks specification's test vectors.
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	sig, err := webhook.Sign([]string{secret}, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
		t.Fatalf("Sign = %s, want the specification's %s", sig, want)
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set(webhook.HeaderTimestamp, "1614265330")
	h.Set(webhook.HeaderSignature, sig)
	if err := webhook.Verify(secret, h, body, ts.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := webhook.Verify(secret, h, []byte(`{"test": 2432232315}`), ts); err == nil {
		t.Error("a changed body verified")
	}
	if err := webhook.Verify(secret, h, body, ts.Add(webhook.Tolerance+time.Second)); err == nil {
		t.Error("a replay older than the tolerance verified")
	}
	if err := webhook.Verify(webhook.NewSecret(), h, body, ts); err == nil {
		t.Error("another secret verified")
	}

	// During a rotation both secrets sign; a receiver holding either verifies.
	next := webhook.NewSecret()
	both, err := webhook.Sign([]string{next, secret}, "msg_1", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.Fields(both)) != 2 {
		t.Fatalf("two secrets gave %q", both)
	}
	h.Set(webhook.HeaderID, "msg_1")
	h.Set(webhook.HeaderSignature, both)
	for _, s := range []string{secret, next} {
		if err := webhook.Verify(s, h, body, ts); err != nil {
			t.Errorf("verify with one of the two secrets: %v", err)
		}
	}
	if _, err := webhook.Sign([]string{"not-a-secret"}, "m", ts, body); err == nil {
		t.Error("a malformed secret signed")
	}
}
