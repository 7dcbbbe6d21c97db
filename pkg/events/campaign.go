package events

import "time"

// Campaign events go to the campaign's sending workflow, whose id is
// campaign/<owner dealer or HQ>/<campaign id>: scheduling starts it, a
// cancellation stops it.
const (
	CampaignWorkflowType = "CampaignSend"
	CampaignTaskQueue    = "dealercare-campaigns"
	CampaignSignal       = "campaign-event"

	KindCampaignScheduled = "campaign.scheduled"
	KindCampaignCancelled = "campaign.cancelled"
)

// CampaignOutboxDealer is the outbox dealer_id of an HQ campaign's events
// (the outbox needs a dealer; HQ campaigns have none).
const CampaignOutboxDealer = "HQ"

// CampaignStart is the workflow's input: the campaign's owner ("" for HQ)
// and id.
type CampaignStart struct {
	Owner    string `json:"owner"`
	Campaign string `json:"campaign"`
}

// CampaignChanged: a campaign was scheduled (StartTime set) or cancelled.
type CampaignChanged struct {
	Owner     string    `json:"owner"`
	Campaign  string    `json:"campaign"`
	State     string    `json:"state"`
	StartTime time.Time `json:"start_time,omitzero"`
	Version   int64     `json:"version"`
}
