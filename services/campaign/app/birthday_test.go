package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// TestBirthdayGreetingOnce runs the worker's birthday workflow
// (greetings/birthdays, started by the worker as in production) against
// the real customer and campaign services, PostgreSQL, Temporal and the
// recording provider. HQ's greeting hour is set so that it came at UTC+14
// at the last full hour: the day D that begins there is the next day for
// most of the network. Three customers: one at a dealer in
// Pacific/Kiritimati (UTC+14) born on D, whose greeting hour has come; one
// in Shanghai born on D, whose hour is six hours on; one in Kiritimati
// born on D+1. Only the first gets a greeting, exactly one, sent at or
// after D's greeting hour in her zone; the Shanghai customer's is due at D's
// hour in Shanghai. The workflow is then terminated and the worker killed
// and restarted (it starts the workflow again from today): D's campaign is
// ensured again, and there is still one campaign for D and one message.
func TestBirthdayGreetingOnce(t *testing.T) {
	st := startServices(t, nil, nil, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hq, cc, campaigns := st.hqReady(ctx, t)
	network, archive := customerv1.NewDealerNetworkServiceClient(cc), customerv1.NewArchiveServiceClient(cc)

	kiritimati, shanghai := time.FixedZone("UTC+14", 14*3600), time.FixedZone("UTC+8", 8*3600)
	start := time.Now().UTC().Truncate(time.Hour).In(kiritimati) // D's greeting hour at UTC+14
	hour, day := start.Hour(), start.Format(time.DateOnly)
	next := start.AddDate(0, 0, 1)
	// The policy before the worker starts: the greeting hour, an hour's
	// lead (the next day's campaign waits on its timer) and quiet hours
	// that leave the hour open.
	if _, err := campaigns.UpdateMessagingPolicy(hq, &campaignv1.UpdateMessagingPolicyRequest{
		Policy:     &campaignv1.MessagingPolicy{GreetingHour: int32(hour), GreetingLead: durationpb.New(time.Hour), QuietStart: "23:59", QuietEnd: "00:00"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"greeting_hour", "greeting_lead", "quiet_start", "quiet_end"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "PAC", Name: "太平洋"}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct{ code, zone string }{{"KIR001", "Pacific/Kiritimati"}, {"SHA001", "Asia/Shanghai"}} {
		if _, err := network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: d.code, Name: d.code + " 4S店", Region: "PAC", TimeZone: d.zone}}); err != nil {
			t.Fatal(err)
		}
	}
	type born struct{ dealer, mobile, birthday string }
	people := []born{
		{"KIR001", "+8613900000001", "1990-" + start.Format("01-02")},
		{"SHA001", "+8613900000002", "1985-" + start.Format("01-02")},
		{"KIR001", "+8613900000003", "1992-" + next.Format("01-02")},
	}
	ids := make([]string, len(people))
	for i, p := range people {
		actx := auth.WithToken(ctx, st.id.Token(t, auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: p.dealer}))
		c, err := archive.CreateCustomer(actx, &customerv1.CreateCustomerRequest{Dealer: p.dealer, Customer: &customerv1.Customer{
			Name: fmt.Sprintf("寿星%d", i), Mobile: p.mobile, Birthday: p.birthday, Tier: customerv1.CustomerTier_CUSTOMER_TIER_REGULAR}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.GetId()
		if _, err := archive.UpdateConsent(actx, &customerv1.UpdateConsentRequest{Dealer: p.dealer, Customer: ids[i],
			Consent: &customerv1.Consent{Channel: customerv1.Channel_CHANNEL_SMS, Granted: true, Source: "store"}}); err != nil {
			t.Fatal(err)
		}
	}

	st.worker = programtest.Start(t, st.bin["worker"], st.dir, st.workerEnv)
	id := campaign.BirthdayCampaignID(day)
	temporaltest.WaitFor(ctx, t, func() bool {
		got, err := campaigns.GetCampaign(hq, &campaignv1.GetCampaignRequest{Campaign: id})
		return err == nil && got.GetStats().GetTargeted() == 2 && got.GetStats().GetSent() == 1
	})
	r, err := campaigns.ListCampaignRecipients(hq, &campaignv1.ListCampaignRecipientsRequest{Campaign: id})
	if err != nil {
		t.Fatal(err)
	}
	recipients := r.GetRecipients()
	byCustomer := map[string]*campaignv1.Recipient{}
	for _, r := range recipients {
		byCustomer[r.GetCustomer()] = r
	}
	if a := byCustomer[ids[0]]; a == nil || a.GetSentTime().AsTime().Before(start) {
		t.Errorf("Kiritimati recipient %+v: want sent at or after %v", a, start)
	}
	wantSH := time.Date(start.Year(), start.Month(), start.Day(), hour, 0, 0, 0, shanghai)
	if b := byCustomer[ids[1]]; b == nil || b.GetSentTime() != nil || !b.GetNextAttemptTime().AsTime().Equal(wantSH) {
		t.Errorf("Shanghai recipient %+v: want unsent, due at %v", b, wantSH)
	}
	if byCustomer[ids[2]] != nil || len(recipients) != 2 {
		t.Errorf("recipients %v: the customer born on %s is not targeted on %s", recipients, next.Format("01-02"), day)
	}

	// Lose the workflow and the worker: the restarted worker starts
	// greetings/birthdays again from today and ensures D's campaign anew.
	tc, err := dctemporal.Dial(ctx, dctemporal.Config{Address: st.temporalAddr, Namespace: st.namespace}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if err := tc.TerminateWorkflow(ctx, "greetings/birthdays", "", "test: lost"); err != nil {
		t.Fatal(err)
	}
	st.worker.Kill(t)
	st.worker = programtest.Start(t, st.bin["worker"], st.dir, st.workerEnv)
	temporaltest.WaitFor(ctx, t, func() bool {
		d, err := tc.DescribeWorkflowExecution(ctx, "greetings/birthdays", "")
		if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return false
		}
		// Its first run (today's date) has ensured D and continued as new.
		h := temporaltest.History(ctx, t, tc, "greetings/birthdays", d.GetWorkflowExecutionInfo().GetFirstRunId())
		for _, e := range h.GetEvents() {
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
				return true
			}
		}
		return false
	})
	list, err := campaigns.ListCampaigns(hq, &campaignv1.ListCampaignsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range list.GetCampaigns() {
		if c.GetKind() == campaignv1.CampaignKind_CAMPAIGN_KIND_BIRTHDAY_GREETING {
			n++
			if c.GetId() != id {
				t.Errorf("another birthday campaign %s %q", c.GetId(), c.GetName())
			}
		}
	}
	if n != 1 {
		t.Errorf("%d birthday campaigns, want 1 (for %s)", n, day)
	}

	resp, err := http.Get("http://" + st.providerHTTP + "/recorded")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var recorded struct {
		Records []struct{ To string } `json:"records"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&recorded); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range recorded.Records {
		got[r.To]++
	}
	if got[people[0].mobile] != 1 || got[people[1].mobile] != 0 || got[people[2].mobile] != 0 || len(recorded.Records) != 1 {
		t.Errorf("provider received %v, want one message for the Kiritimati customer born on %s", got, day)
	}
	t.Logf("greeting hour %02d:00 (UTC+14 %s); sent %v", hour, day, byCustomer[ids[0]].GetSentTime().AsTime())
}
