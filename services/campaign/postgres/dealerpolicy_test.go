package postgres_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/services/campaign/campaign"
)

// TestDealerPolicyOverride: SH001's manager moves its quiet hours to start
// at 23:00, so at 22:00 its customers get the campaign that HQ's 21:00
// would hold; other dealers' staff may not change it; clearing the field
// follows HQ's again.
func TestDealerPolicyOverride(t *testing.T) {
	e := setup(t)
	e.clock.t = time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC) // 22:00 in Shanghai
	if _, _, err := e.svc.SetDealerPolicy(agent2, "SH001", campaign.Policy{QuietStart: "23:00"}, []string{"quiet_start"}, nil); apperr.Code(err) != apperr.ENOTFOUND {
		t.Errorf("another dealer's agent: %v", err)
	}
	if _, _, err := e.svc.SetDealerPolicy(agent1, "SH001", campaign.Policy{QuietStart: "23:00"}, []string{"quiet_start"}, nil); apperr.Code(err) != apperr.EFORBIDDEN {
		t.Errorf("the dealer's agent: %v", err)
	}
	if _, _, err := e.svc.SetDealerPolicy(manager, "SH001", campaign.Policy{QuietStart: "25:00"}, []string{"quiet_start"}, nil); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("25:00: %v", err)
	}
	if _, _, err := e.svc.SetDealerPolicy(manager, "SH001", campaign.Policy{}, []string{"cap_exempt_kinds"}, nil); apperr.Code(err) != apperr.EINVALID {
		t.Errorf("overriding HQ's exempt kinds: %v", err)
	}
	p, d, err := e.svc.SetDealerPolicy(manager, "SH001", campaign.Policy{QuietStart: "23:00"}, []string{"quiet_start"}, nil)
	if err != nil || p.QuietStart != "23:00" || p.QuietEnd != "09:00" || p.FrequencyCap != 3 || !slices.Equal(d.Overridden(), []string{"quiet_start"}) {
		t.Fatalf("set: %+v %+v %v", p, d, err)
	}
	if p, _, err := e.svc.DealerPolicy(agent1, "SH001"); err != nil || p.QuietStart != "23:00" {
		t.Errorf("read by the dealer's agent: %+v %v", p, err)
	}
	if p, _, err := e.svc.DealerPolicy(agent2, "SH002"); err != nil || p.QuietStart != "21:00" {
		t.Errorf("SH002's policy: %+v %v", p, err)
	}

	// One HQ campaign to both dealers: SH001's customers get it now,
	// SH002's wait for 09:00.
	draft := newDraft
	draft.Audience.Dealers = []string{"SH001", "SH002"}
	c, err := e.svc.Create(hq, campaign.HQOwner, draft)
	if err != nil {
		t.Fatal(err)
	}
	e.start(t, campaign.HQOwner, c)
	b, err := e.svc.Dispatch(worker, campaign.HQOwner, c.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	if b.Sent != 30 || b.Remaining != 10 {
		t.Errorf("at 22:00: %+v, want SH001's 30 sent and SH002's 10 waiting", b)
	}
	recs, _ := e.rec.Records()
	for _, r := range recs {
		if !strings.Contains(r.Body, "SH001 4S") {
			t.Errorf("sent in the customer's quiet hours: %+v", r)
		}
	}

	if p, d, err := e.svc.SetDealerPolicy(manager, "SH001", campaign.Policy{}, nil, []string{"quiet_start"}); err != nil || p.QuietStart != "21:00" || len(d.Overridden()) != 0 {
		t.Errorf("cleared: %+v %+v %v", p, d, err)
	}
}
