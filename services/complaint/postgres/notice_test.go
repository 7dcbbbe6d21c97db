package postgres_test

import (
	"context"
	"testing"

	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/complaint/complaint"
)

// A notice another service posts lands once per key in the role's inbox
// (a dealer's, or HQ's with dealer ""), and only that inbox's readers list
// it.
func TestPostNoticeOncePerKeyInTheRightInbox(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	d := complaint.Notification{Dealer: "SH001", RecipientRole: "dealer_gm", Subject: "dealers/SH001/webhookSubscriptions/x", Message: "disabled", CreateTime: t0}
	first, err := s.PostNotice(ctx, d, "webhook-disabled/x/1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.PostNotice(ctx, d, "webhook-disabled/x/1")
	if err != nil || again.ID != first.ID {
		t.Fatalf("a repeated post: %+v %v, want the first %s", again, err, first.ID)
	}
	hq := complaint.Notification{RecipientRole: "hq_admin", Subject: "webhookSubscriptions/y", Message: "disabled", CreateTime: t0}
	if _, err := s.PostNotice(ctx, hq, "webhook-disabled/y/1"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Notifications(ctx, pg.Dealers("SH001"), "SH001", "dealer_gm", 10)
	if err != nil || len(got) != 1 || got[0].Subject != d.Subject || got[0].Complaint != "" {
		t.Fatalf("SH001's inbox: %+v %v", got, err)
	}
	if got, _ := s.Notifications(ctx, pg.Dealers("HZ001"), tenancy.AnyDealer, "", 10); len(got) != 0 {
		t.Errorf("HZ001 sees %+v", got)
	}
	all, err := s.Notifications(ctx, pg.AllDealers(), tenancy.AnyDealer, "hq_admin", 10)
	if err != nil || len(all) != 1 || all[0].Dealer != "" || all[0].Subject != hq.Subject {
		t.Fatalf("HQ's inbox: %+v %v", all, err)
	}
}
