// Package grpc is the campaign service's gRPC port: the REST-facing
// CampaignService and the workflow-only CampaignWorkflowService, converting
// between the API and the campaign package.
package grpc

import (
	"time"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"google.golang.org/protobuf/types/known/durationpb"
)

func kindOf(k campaignv1.CampaignKind) campaign.Kind {
	return campaign.Kind(pbconv.EnumName(k.String(), "CAMPAIGN_KIND_"))
}

func kindToProto(k campaign.Kind) campaignv1.CampaignKind {
	return campaignv1.CampaignKind(pbconv.EnumValue(string(k), "CAMPAIGN_KIND_", campaignv1.CampaignKind_value))
}

func stateOf(s campaignv1.CampaignState) campaign.State {
	return campaign.State(pbconv.EnumName(s.String(), "CAMPAIGN_STATE_"))
}

func stateToProto(s campaign.State) campaignv1.CampaignState {
	return campaignv1.CampaignState(pbconv.EnumValue(string(s), "CAMPAIGN_STATE_", campaignv1.CampaignState_value))
}

func channelOf(c campaignv1.Channel) campaign.Channel {
	return campaign.Channel(pbconv.EnumName(c.String(), "CHANNEL_"))
}

func channelToProto(c campaign.Channel) campaignv1.Channel {
	return campaignv1.Channel(pbconv.EnumValue(string(c), "CHANNEL_", campaignv1.Channel_value))
}

// campaignFromProto reads the caller's fields; output-only ones are ignored.
func campaignFromProto(p *campaignv1.Campaign) campaign.Campaign {
	c := campaign.Campaign{
		ID: p.GetId(), Kind: kindOf(p.GetKind()), Name: p.GetName(), Code: p.GetCode(), ContactPhone: p.GetContactPhone(),
		Template: campaign.Template{Locale: p.GetTemplate().GetLocale(), Title: p.GetTemplate().GetTitle(), Body: p.GetTemplate().GetBody()},
		Audience: audienceFromProto(p.GetAudience()),
	}
	c.Audience.Dealers, c.Audience.Regions = p.GetDealers(), p.GetRegions()
	for _, ch := range p.GetChannels() {
		c.Channels = append(c.Channels, channelOf(ch))
	}
	if p.GetReturnWindow() != nil {
		c.ReturnWindow = p.GetReturnWindow().AsDuration()
	}
	return c
}

func audienceFromProto(s *customerv1.Segment) campaign.Audience {
	a := campaign.Audience{
		Models: s.GetModels(), ModelYearMin: int(s.GetModelYearMin()), ModelYearMax: int(s.GetModelYearMax()),
		PurchaseDateFrom: s.GetPurchaseDateFrom(), PurchaseDateTo: s.GetPurchaseDateTo(),
		LastVisitBefore: pbconv.Time(s.GetLastVisitBefore()), LastVisitAfter: pbconv.Time(s.GetLastVisitAfter()),
		MileageMinKM: int(s.GetMileageMinKm()), MileageMaxKM: int(s.GetMileageMaxKm()),
		Tags: s.GetTags(), ChurnRisk: s.GetChurnRisk(), VINs: s.GetVins(), Birthdays: s.GetBirthdays(),
	}
	for _, t := range s.GetTiers() {
		a.Tiers = append(a.Tiers, pbconv.EnumName(t.String(), "CUSTOMER_TIER_"))
	}
	return a
}

// SegmentToProto is an audience as the customer service's Segment.
func SegmentToProto(a campaign.Audience) *customerv1.Segment {
	s := &customerv1.Segment{
		Models: a.Models, ModelYearMin: int32(a.ModelYearMin), ModelYearMax: int32(a.ModelYearMax),
		PurchaseDateFrom: a.PurchaseDateFrom, PurchaseDateTo: a.PurchaseDateTo,
		LastVisitBefore: pbconv.Timestamp(a.LastVisitBefore), LastVisitAfter: pbconv.Timestamp(a.LastVisitAfter),
		MileageMinKm: int32(a.MileageMinKM), MileageMaxKm: int32(a.MileageMaxKM), Tags: a.Tags, ChurnRisk: a.ChurnRisk, Vins: a.VINs,
		Birthdays: a.Birthdays,
	}
	for _, t := range a.Tiers {
		s.Tiers = append(s.Tiers, customerv1.CustomerTier(pbconv.EnumValue(t, "CUSTOMER_TIER_", customerv1.CustomerTier_value)))
	}
	return s
}

// CampaignToProto converts a campaign and its figures.
func CampaignToProto(c *campaign.Campaign, st *campaign.Stats) *campaignv1.Campaign {
	out := &campaignv1.Campaign{
		Id: c.ID, Dealer: c.Owner, Kind: kindToProto(c.Kind), Name: c.Name, State: stateToProto(c.State),
		Template: &campaignv1.MessageTemplate{Locale: c.Template.Locale, Title: c.Template.Title, Body: c.Template.Body},
		Audience: SegmentToProto(c.Audience), Dealers: c.Audience.Dealers, Regions: c.Audience.Regions,
		StartTime: pbconv.Timestamp(c.StartTime), ReturnWindow: durationpb.New(c.ReturnWindow), Code: c.Code,
		ContactPhone: c.ContactPhone, CreateTime: pbconv.Timestamp(c.CreateTime), UpdateTime: pbconv.Timestamp(c.UpdateTime),
		CancelReason: c.CancelReason, WorkflowId: campaign.WorkflowID(c.Owner, c.ID),
	}
	out.Audience.Vins = nil // a recall's list can be long; the count is in the stats
	for _, ch := range c.Channels {
		out.Channels = append(out.Channels, channelToProto(ch))
	}
	if st != nil {
		out.Stats = &campaignv1.CampaignStats{Targeted: st.Targeted, Sent: st.Sent, Delivered: st.Delivered, Failed: st.Failed,
			Suppressed: st.Suppressed, Pending: st.Pending, Returned: st.Returned}
	}
	return out
}

var recipientStates = map[string]campaignv1.RecipientState{
	campaign.RecipientPending: campaignv1.RecipientState_RECIPIENT_STATE_PENDING, campaign.RecipientSending: campaignv1.RecipientState_RECIPIENT_STATE_SENDING,
	campaign.RecipientSent: campaignv1.RecipientState_RECIPIENT_STATE_SENT, campaign.RecipientSuppressed: campaignv1.RecipientState_RECIPIENT_STATE_SUPPRESSED,
	campaign.RecipientFailed: campaignv1.RecipientState_RECIPIENT_STATE_FAILED,
}

var deliveryStates = map[string]campaignv1.DeliveryState{
	campaign.DeliveryAccepted: campaignv1.DeliveryState_DELIVERY_STATE_ACCEPTED, campaign.DeliveryDelivered: campaignv1.DeliveryState_DELIVERY_STATE_DELIVERED,
	campaign.DeliveryUndelivered: campaignv1.DeliveryState_DELIVERY_STATE_UNDELIVERED,
}

func recipientStateOf(s campaignv1.RecipientState) string {
	for k, v := range recipientStates {
		if v == s {
			return k
		}
	}
	return ""
}

func recipientToProto(r campaign.Recipient) *campaignv1.Recipient {
	out := &campaignv1.Recipient{
		Customer: r.Customer, Dealer: r.Dealer, Vin: r.VIN, State: recipientStates[r.State], SuppressReason: r.SuppressReason,
		Channel: channelToProto(r.Channel), SentTime: pbconv.Timestamp(r.SentTime), Delivery: deliveryStates[r.Delivery],
		ReturnTime: pbconv.Timestamp(r.ReturnTime), ReturnDealer: r.ReturnDealer,
	}
	if r.State == campaign.RecipientPending {
		out.NextAttemptTime = pbconv.Timestamp(r.NextAttemptTime)
	}
	return out
}

func messageToProto(r campaign.Recipient) *campaignv1.Message {
	return &campaignv1.Message{Id: r.MessageID, Customer: r.Customer, Dealer: r.Dealer, Channel: channelToProto(r.Channel),
		ProviderMessageId: r.ProviderID, Delivery: deliveryStates[r.Delivery], SentTime: pbconv.Timestamp(r.SentTime),
		ReceiptTime: pbconv.Timestamp(r.ReceiptTime)}
}

func policyToProto(p campaign.Policy) *campaignv1.MessagingPolicy {
	out := &campaignv1.MessagingPolicy{QuietStart: p.QuietStart, QuietEnd: p.QuietEnd, FrequencyCap: int32(p.FrequencyCap),
		FrequencyWindow: durationpb.New(p.FrequencyWindow), UpdateTime: pbconv.Timestamp(p.UpdateTime),
		GreetingLead: durationpb.New(p.GreetingLead), GreetingHour: int32(p.GreetingHour), GreetingZone: p.GreetingZone}
	for _, k := range p.CapExemptKinds {
		out.CapExemptKinds = append(out.CapExemptKinds, kindToProto(k))
	}
	return out
}

func durationOr(d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.AsDuration()
}
