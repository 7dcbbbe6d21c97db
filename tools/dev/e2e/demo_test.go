package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/tools/dev/demo"
	"google.golang.org/grpc/metadata"
)

var (
	campaignProgram = program{"campaign", "services/campaign", "./cmd/campaign", "CAMPAIGN_GRPC_ADDR", ""}
	providerProgram = program{"campaign-provider", "services/campaign", "./cmd/campaign-provider", "PROVIDER_HTTP_ADDR", "/healthz"}
)

// TestDemoCampaigns loads the demo's campaigns the way `make run` does
// (demo.LoadCampaigns after the network and the archive) on the real
// customer, callback and campaign services, the recording provider and
// the worker, for three dealers of one region: SH001's maintenance
// reminder is sent (running, or completed once every recipient is sent or
// suppressed), HQ's recall holds every listed VIN, and the ones repaired at
// the next dealer of the region reach completion through the repair
// orders' event path, attributed to the repairing dealer, so every dealer
// shows VINs completed elsewhere and repairs of another's VINs while the
// rest stay open. A second load creates nothing.
func TestDemoCampaigns(t *testing.T) {
	progs := []program{customerProgram, callbackProgram, providerProgram, campaignProgram, workerProgram}
	extra := programtest.FreePorts(t, 2)
	receipts, smtp := extra[0], extra[1]
	s := newStack(t, progs, "LOG_LEVEL=warn", "CAMPAIGN_RECEIPTS_ADDR="+receipts, "SMTP_ADDR="+smtp, "PROVIDER_SMTP_ADDR="+smtp,
		"PROVIDER_RECEIPT_URL=http://"+receipts+"/v1/receipts")
	s.env = append(s.env, "SMS_GATEWAY_URL=http://"+s.addrs["campaign-provider"], "WECHAT_API_URL=http://"+s.addrs["campaign-provider"],
		"PROVIDER_RECORD_FILE="+filepath.Join(s.dir, "provider.jsonl"))
	migrate := exec.Command(s.bins["campaign"], "migrate")
	migrate.Env = s.env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("campaign migrate: %v\n%s", err, out)
	}
	for _, p := range progs {
		s.start(p)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	hq := auth.WithToken(ctx, s.id.Token(t, auth.Principal{Subject: "dev-hq_admin", Roles: []auth.Role{auth.RoleHQAdmin}}))
	as := func(role auth.Role) demo.TokenFor {
		return func(ctx context.Context, dealer string) (context.Context, error) {
			tok := s.id.Token(t, auth.Principal{Subject: "demo-" + string(role) + "-" + dealer, Roles: []auth.Role{role}, Dealer: dealer})
			return metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+tok)), nil
		}
	}
	agentOf, managerOf := as(auth.RoleAgent), as(auth.RoleDealerManager)

	var n demo.DealerNetwork
	for _, d := range demo.Network().Dealers {
		if d.Code == "SH001" || d.Code == "SH002" || d.Code == "HZ001" {
			n.Dealers = append(n.Dealers, d)
		}
	}
	n.Regions = []demo.Region{{Code: "EAST", Name: "华东大区"}}
	size := demo.ArchiveSize{CustomersPerDealer: 40, VisitsPerYear: 2}
	cc := s.conn("customer")
	archive := customerv1.NewArchiveServiceClient(cc)
	if _, err := demo.Load(hq, customerv1.NewDealerNetworkServiceClient(cc), n); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := demo.LoadArchive(hq, archive, n, size, agentOf, now); err != nil {
		t.Fatal(err)
	}
	campaigns := campaignv1.NewCampaignServiceClient(s.conn("campaign"))
	got, err := demo.LoadCampaigns(hq, campaigns, archive, n, size, managerOf, agentOf, now)
	if err != nil {
		t.Fatal(err)
	}
	vins := demo.RecallVINs(n, size)
	repaired := map[string]string{}
	for _, v := range vins {
		if v.RepairedAt != "" {
			if v.RepairedAt == v.Owner {
				t.Fatalf("%s repaired at its owner %s", v.VIN, v.Owner)
			}
			repaired[v.VIN] = v.RepairedAt
		}
	}
	if got.Maintenance == "" || got.Recall == "" || got.RecallVINs != len(vins) || got.Repaired != len(repaired) || len(repaired) == 0 || len(repaired) == len(vins) {
		t.Fatalf("loaded %+v; want both campaigns, %d VINs, %d of them repaired", got, len(vins), len(repaired))
	}

	// The maintenance reminder's workflow starts it and sends it.
	mgr, _ := managerOf(ctx, demo.MaintenanceDealer)
	var mc *campaignv1.Campaign
	temporaltest.WaitFor(ctx, t, func() bool {
		mc, err = campaigns.GetCampaign(mgr, &campaignv1.GetCampaignRequest{Dealer: demo.MaintenanceDealer, Campaign: got.Maintenance})
		return err == nil && mc.GetStats().GetTargeted() > 0 && mc.GetState() != campaignv1.CampaignState_CAMPAIGN_STATE_SCHEDULED
	})
	if st := mc.GetState(); st != campaignv1.CampaignState_CAMPAIGN_STATE_RUNNING && st != campaignv1.CampaignState_CAMPAIGN_STATE_COMPLETED {
		t.Errorf("maintenance reminder %v, want running or completed", mc)
	}
	if mc.GetKind() != campaignv1.CampaignKind_CAMPAIGN_KIND_SERVICE_REMINDER {
		t.Errorf("maintenance reminder of kind %v", mc.GetKind())
	}

	// Every repaired VIN completes at its repairing dealer.
	var completion *campaignv1.RecallCompletion
	temporaltest.WaitFor(ctx, t, func() bool {
		completion, err = campaigns.GetRecallCompletion(hq, &campaignv1.GetRecallCompletionRequest{Campaign: got.Recall})
		return err == nil && completion.GetNetwork().GetCompleted() >= int64(len(repaired))
	})
	if net := completion.GetNetwork(); net.GetVins() != int64(len(vins)) || net.GetCompleted() != int64(len(repaired)) || net.GetCompletedElsewhere() != int64(len(repaired)) {
		t.Errorf("network completion %v; want %d VINs, %d completed, all elsewhere", net, len(vins), len(repaired))
	}
	if len(completion.GetDealers()) != len(n.Dealers) {
		t.Errorf("completion of %d dealers, want %d: %v", len(completion.GetDealers()), len(n.Dealers), completion.GetDealers())
	}
	for _, d := range completion.GetDealers() {
		if d.GetCompletedElsewhere() == 0 || d.GetRepairedHere() == 0 || d.GetCompleted() >= d.GetVins() {
			t.Errorf("dealer %s: %v; want some VINs completed elsewhere, some repairs of another's, some still open", d.GetKey(), d)
		}
	}
	page, err := campaigns.ListRecallVins(hq, &campaignv1.ListRecallVinsRequest{Campaign: got.Recall, PageSize: 1000,
		State: campaignv1.RecallVinState_RECALL_VIN_STATE_COMPLETED})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range page.GetVins() {
		if at, ok := repaired[v.GetVin()]; !ok || v.GetCompletedDealer() != at || v.GetOwnerDealer() == at {
			t.Errorf("completed %v; want it repaired at %q, not its owner", v, at)
		}
	}
	t.Logf("maintenance reminder %v, stats %v; recall network %v, dealers %v", mc.GetState(), mc.GetStats(), completion.GetNetwork(), completion.GetDealers())
	rc, err := campaigns.GetCampaign(hq, &campaignv1.GetCampaignRequest{Campaign: got.Recall})
	if err != nil || rc.GetState() == campaignv1.CampaignState_CAMPAIGN_STATE_DRAFT {
		t.Errorf("recall %v (%v), want scheduled", rc, err)
	}

	// A second `make run` finds both and adds nothing.
	again, err := demo.LoadCampaigns(hq, campaigns, archive, n, size, managerOf, agentOf, time.Now())
	if err != nil || again != (demo.CampaignsLoaded{}) {
		t.Errorf("second load %+v, %v; want nothing new", again, err)
	}
	for _, owner := range []string{"", demo.MaintenanceDealer} {
		octx := hq
		if owner != "" {
			octx = mgr
		}
		list, err := campaigns.ListCampaigns(octx, &campaignv1.ListCampaignsRequest{Dealer: owner})
		if err != nil {
			t.Fatal(err)
		}
		demos := 0
		for _, c := range list.GetCampaigns() {
			if c.GetCode() == demo.RecallCode || c.GetName() == demo.MaintenanceName {
				demos++
			}
		}
		if demos != 1 {
			t.Errorf("owner %q: %d demo campaigns, want 1", owner, demos)
		}
	}
}
