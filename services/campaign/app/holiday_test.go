package app_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// TestHolidayGreetingReadsPolicy runs the worker's holiday workflow
// (greetings/holidays, started by the worker) against the real campaign
// service: HQ's stored policy says 09:00 in Europe/Berlin with a 90-day
// lead, so the next holiday's greeting is set for 09:00 Berlin time on its
// date (not the default 10:00 Shanghai), and, when that is within the
// lead, the campaign service holds its greeting campaign starting then.
func TestHolidayGreetingReadsPolicy(t *testing.T) {
	st := startServices(t, nil, nil, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hq, _, campaigns := st.hqReady(ctx, t)
	if _, err := campaigns.UpdateMessagingPolicy(hq, &campaignv1.UpdateMessagingPolicyRequest{
		Policy:     &campaignv1.MessagingPolicy{GreetingHour: 9, GreetingZone: "Europe/Berlin", GreetingLead: durationpb.New(90 * 24 * time.Hour)},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"greeting_hour", "greeting_zone", "greeting_lead"}}}); err != nil {
		t.Fatal(err)
	}
	st.worker = programtest.Start(t, st.bin["worker"], st.dir, st.workerEnv)
	tc, err := dctemporal.Dial(ctx, dctemporal.Config{Address: st.temporalAddr, Namespace: st.namespace}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	var next struct {
		Key  string    `json:"key"`
		Date string    `json:"date"`
		At   time.Time `json:"at"`
	}
	temporaltest.WaitFor(ctx, t, func() bool {
		v, err := tc.QueryWorkflow(ctx, "greetings/holidays", "", "next")
		return err == nil && v.Get(&next) == nil && !next.At.IsZero()
	})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if local := next.At.In(berlin); local.Hour() != 9 || local.Minute() != 0 || local.Format(time.DateOnly) != next.Date {
		t.Fatalf("next holiday %s on %s at %v (%v in Berlin), want 09:00 Berlin time on its date", next.Key, next.Date, next.At, local)
	}
	if time.Until(next.At) > 90*24*time.Hour {
		t.Logf("%s is beyond the lead: its campaign is made later", next.Key)
		return
	}
	id := campaign.HolidayCampaignID(next.Key, next.Date)
	var c *campaignv1.Campaign
	temporaltest.WaitFor(ctx, t, func() bool {
		c, err = campaigns.GetCampaign(hq, &campaignv1.GetCampaignRequest{Campaign: id})
		return err == nil
	})
	if !c.GetStartTime().AsTime().Equal(next.At) || c.GetKind() != campaignv1.CampaignKind_CAMPAIGN_KIND_HOLIDAY_GREETING {
		t.Errorf("holiday campaign %v, want a holiday greeting starting %v", c, next.At)
	}
}
