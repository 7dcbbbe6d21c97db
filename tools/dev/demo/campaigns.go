package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The demo's campaigns (SPEC "campaign: reminders and campaigns"): a
// dealer's maintenance reminder sent at start-up, and HQ's recall of a few
// hundred archive VINs, part of them already repaired at another dealer
// than the owner. The next holiday greeting needs nothing here: the
// worker's greetings/holidays workflow schedules it.
const (
	// MaintenanceDealer runs the demo's maintenance-reminder campaign.
	MaintenanceDealer = "SH001"
	// MaintenanceName names it; the loader finds it by this name.
	MaintenanceName = "冬季保养提醒（演示）"
	// RecallCode is the demo recall's code, quoted by its repair orders;
	// the loader finds the recall by it.
	RecallCode = "RC2026-DEMO"
	// RecallVINsPerDealer is how many of each service dealer's vehicles
	// the recall lists.
	RecallVINsPerDealer = 20
	// RecallRepairedEvery: one VIN in this many is repaired at the next
	// dealer of its owner's region before the recall is sent.
	RecallRepairedEvery = 3
	// hotline is the demo network's hotline, a dealer record without
	// workshop: no recall VINs, no repairs.
	hotline = "HL001"
	// maintenanceDueAfter: the reminder's audience last visited longer ago
	// than this (the default plan is due six months after a visit).
	maintenanceDueAfter = 5 * 30 * 24 * time.Hour
)

// CampaignsLoaded says what LoadCampaigns created.
type CampaignsLoaded struct {
	// Maintenance and Recall are the campaigns' ids when this call created
	// them; empty when they existed.
	Maintenance, Recall string
	// RecallVINs were put on the recall; Repaired of them were repaired at
	// a dealer other than their owner.
	RecallVINs, Repaired int
}

// LoadCampaigns creates the demo campaigns through the campaign service
// and the archive: hq carries an HQ admin's token, managerOf a dealer
// manager's of a dealer, agentOf an agent's. A campaign that exists (found
// by MaintenanceName at MaintenanceDealer, by RecallCode at HQ) is left as
// it is, so a second `make run` adds nothing.
func LoadCampaigns(hq context.Context, campaigns campaignv1.CampaignServiceClient, archive customerv1.ArchiveServiceClient, n DealerNetwork, size ArchiveSize, managerOf, agentOf TokenFor, now time.Time) (CampaignsLoaded, error) {
	var got CampaignsLoaded
	mctx, err := managerOf(hq, MaintenanceDealer)
	if err != nil {
		return got, err
	}
	existing, err := findCampaign(mctx, campaigns, MaintenanceDealer, func(c *campaignv1.Campaign) bool { return c.GetName() == MaintenanceName })
	if err != nil {
		return got, fmt.Errorf("maintenance reminder: %w", err)
	}
	if existing == nil {
		if got.Maintenance, err = loadMaintenance(mctx, campaigns, now); err != nil {
			return got, fmt.Errorf("maintenance reminder: %w", err)
		}
	}
	existing, err = findCampaign(hq, campaigns, "", func(c *campaignv1.Campaign) bool { return c.GetCode() == RecallCode })
	if err != nil {
		return got, fmt.Errorf("recall: %w", err)
	}
	resume := ""
	if existing != nil && existing.GetState() == campaignv1.CampaignState_CAMPAIGN_STATE_DRAFT {
		// A load stopped before the VIN upload: carry on with its draft.
		listed, err := campaigns.ListRecallVins(hq, &campaignv1.ListRecallVinsRequest{Campaign: existing.GetId(), PageSize: 1})
		if err != nil {
			return got, fmt.Errorf("recall %s: %w", RecallCode, err)
		}
		if len(listed.GetVins()) == 0 {
			resume = existing.GetId()
		}
	}
	if existing == nil || resume != "" {
		if err := loadRecall(hq, campaigns, archive, n, size, agentOf, now, resume, &got); err != nil {
			return got, fmt.Errorf("recall %s: %w", RecallCode, err)
		}
	}
	return got, nil
}

// findCampaign returns the first of dealer's campaigns (HQ's when dealer
// is empty) that match, or nil.
func findCampaign(ctx context.Context, client campaignv1.CampaignServiceClient, dealer string, match func(*campaignv1.Campaign) bool) (*campaignv1.Campaign, error) {
	token := ""
	for {
		res, err := client.ListCampaigns(ctx, &campaignv1.ListCampaignsRequest{Dealer: dealer, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, c := range res.GetCampaigns() {
			if match(c) {
				return c, nil
			}
		}
		if token = res.GetNextPageToken(); token == "" {
			return nil, nil
		}
	}
}

// loadMaintenance drafts MaintenanceDealer's reminder to the customers
// whose last visit is older than maintenanceDueAfter and schedules it
// without a start time (now, by the service's clock), so its workflow
// sends it at start-up (customers in their quiet hours wait for them to
// end, the campaign running meanwhile).
func loadMaintenance(ctx context.Context, client campaignv1.CampaignServiceClient, now time.Time) (string, error) {
	c, err := client.CreateCampaign(ctx, &campaignv1.CreateCampaignRequest{Dealer: MaintenanceDealer, Campaign: &campaignv1.Campaign{
		Kind: campaignv1.CampaignKind_CAMPAIGN_KIND_SERVICE_REMINDER, Name: MaintenanceName,
		Channels: []campaignv1.Channel{campaignv1.Channel_CHANNEL_WECHAT, campaignv1.Channel_CHANNEL_SMS},
		Template: &campaignv1.MessageTemplate{Locale: "zh-CN", Title: "保养提醒",
			Body: "{{customer_name}}您好，您的爱车{{plate}}已临近保养周期，入冬前请到{{dealer_name}}做一次保养检查，预约电话{{dealer_phone}}。"},
		Audience:     &customerv1.Segment{LastVisitBefore: timestamppb.New(now.Add(-maintenanceDueAfter))},
		ContactPhone: "021-5888-0001",
	}})
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	if _, err := client.ScheduleCampaign(ctx, &campaignv1.ScheduleCampaignRequest{Dealer: MaintenanceDealer, Campaign: c.GetId()}); err != nil {
		return c.GetId(), fmt.Errorf("schedule %s: %w", c.GetId(), err)
	}
	return c.GetId(), nil
}

// RecallVIN is one VIN of the demo recall: owned by Owner, repaired at
// RepairedAt before the recall is sent ("" when still open).
type RecallVIN struct {
	VIN, Owner, RepairedAt string
}

// RecallVINs lists the demo recall's VINs: RecallVINsPerDealer vehicles
// of every service dealer's archive of size (not those that visited another dealer
// today, which that dealer would own), every RecallRepairedEvery-th
// repaired at the next service dealer of the owner's region.
func RecallVINs(n DealerNetwork, size ArchiveSize) []RecallVIN {
	var service DealerNetwork
	index := map[string]int{}
	for i, d := range n.Dealers {
		if d.Code != hotline {
			index[d.Code] = i
			service.Dealers = append(service.Dealers, d)
		}
	}
	var out []RecallVIN
	for si, d := range service.Dealers {
		j := nextInRegion(service, si)
		for c, k := 1, 0; k < RecallVINsPerDealer && c < size.CustomersPerDealer; c++ {
			if c%visitElsewhereEvery == 0 {
				continue
			}
			v := RecallVIN{VIN: demoVIN(index[d.Code], c), Owner: d.Code}
			if j >= 0 && k%RecallRepairedEvery == 0 {
				v.RepairedAt = service.Dealers[j].Code
			}
			out = append(out, v)
			k++
		}
	}
	return out
}

// loadRecall drafts HQ's recall, uploads its VIN list as the CSV HQ would,
// has the repaired VINs' recall repair orders opened and closed at the
// repairing dealers (whose vehicle workflows complete them, attributed to
// that dealer), then schedules the recall (draft: the id of one a load
// left before its VIN upload, to carry on with): the open VINs' owners message
// their customers and get a callback task to chase each.
func loadRecall(hq context.Context, campaigns campaignv1.CampaignServiceClient, archive customerv1.ArchiveServiceClient, n DealerNetwork, size ArchiveSize, agentOf TokenFor, now time.Time, draft string, got *CampaignsLoaded) error {
	got.Recall = draft
	if draft == "" {
		rc, err := campaigns.CreateCampaign(hq, &campaignv1.CreateCampaignRequest{Campaign: &campaignv1.Campaign{
			Kind: campaignv1.CampaignKind_CAMPAIGN_KIND_RECALL, Name: "2026年制动软管召回（演示）", Code: RecallCode,
			Channels: []campaignv1.Channel{campaignv1.Channel_CHANNEL_SMS},
			Template: &campaignv1.MessageTemplate{Locale: "zh-CN", Title: "召回通知",
				Body: "{{customer_name}}您好，您的爱车{{plate}}属于召回活动{{campaign_code}}范围，请联系{{dealer_name}}（{{dealer_phone}}）预约免费检修。"},
			ContactPhone: "400-820-1234",
		}})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		got.Recall = rc.GetId()
	}
	vins := RecallVINs(n, size)
	var csv strings.Builder
	csv.WriteString("vin\n")
	for _, v := range vins {
		csv.WriteString(v.VIN + "\n")
	}
	res, err := campaigns.ImportRecallVins(hq, &campaignv1.ImportRecallVinsRequest{Campaign: got.Recall, Csv: csv.String()})
	if err != nil {
		return fmt.Errorf("import VINs: %w", err)
	}
	got.RecallVINs = int(res.GetTotal())
	// The repairs come after the import, so the owners stay the owners.
	open := now.Add(-3 * time.Hour)
	for _, v := range vins {
		if v.RepairedAt == "" {
			continue
		}
		homeCtx, err := agentOf(hq, v.Owner)
		if err != nil {
			return err
		}
		awayCtx, err := agentOf(hq, v.RepairedAt)
		if err != nil {
			return err
		}
		veh, err := archiveVisitor(homeCtx, awayCtx, archive, v.Owner, v.RepairedAt, v.VIN, open)
		if err != nil {
			return err
		}
		ro, err := archive.CreateRepairOrder(awayCtx, &customerv1.CreateRepairOrderRequest{Dealer: v.RepairedAt, RepairOrder: &customerv1.RepairOrder{
			Number: fmt.Sprintf("RO%s-R%05d", v.RepairedAt, got.Repaired+1), Vin: v.VIN, Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_RECALL,
			CampaignCode: RecallCode, OpenTime: timestamppb.New(open), MileageKm: veh.GetMileageKm() + 800, Advisor: "召回专员",
		}})
		if err != nil {
			return fmt.Errorf("dealer %s: open the recall repair of %s: %w", v.RepairedAt, v.VIN, err)
		}
		if _, err := archive.CloseRepairOrder(awayCtx, &customerv1.CloseRepairOrderRequest{Dealer: v.RepairedAt, RepairOrder: ro.GetId(),
			CloseTime: timestamppb.New(open.Add(2 * time.Hour))}); err != nil {
			return fmt.Errorf("dealer %s: close the recall repair of %s: %w", v.RepairedAt, v.VIN, err)
		}
		got.Repaired++
	}
	if _, err := campaigns.ScheduleCampaign(hq, &campaignv1.ScheduleCampaignRequest{Campaign: got.Recall}); err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	return nil
}
