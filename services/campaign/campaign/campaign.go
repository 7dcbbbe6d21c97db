// Package campaign holds the rules of campaigns (活动): kinds and states,
// the transitions between them, message templates, the audience, and the
// rules every message obeys (consent, opt-out, quiet hours, frequency cap).
// It imports no database, transport or workflow code: postgres/ stores it,
// grpc/ serves it and workflows/campaign drives its sending.
package campaign

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
)

// Kind is what a campaign is for.
type Kind string

// Kinds (SPEC "campaign").
const (
	KindMaintenancePromotion Kind = "maintenance_promotion"
	KindRecall               Kind = "recall"
	KindHolidayGreeting      Kind = "holiday_greeting"
	KindBirthdayGreeting     Kind = "birthday_greeting"
	KindCareEvent            Kind = "care_event"
	KindWinBack              Kind = "win_back"
	KindSurvey               Kind = "survey"
	KindServiceReminder      Kind = "service_reminder"
)

// Kinds lists every kind.
var Kinds = []Kind{KindMaintenancePromotion, KindRecall, KindHolidayGreeting, KindBirthdayGreeting,
	KindCareEvent, KindWinBack, KindSurvey, KindServiceReminder}

// State of a campaign.
type State string

// States: draft → scheduled → running → completed, or cancelled from any
// state before completed.
const (
	StateDraft     State = "draft"
	StateScheduled State = "scheduled"
	StateRunning   State = "running"
	StateCompleted State = "completed"
	StateCancelled State = "cancelled"
)

// Channel is how a message reaches the customer.
type Channel string

// Channels.
const (
	ChannelSMS      Channel = "sms"
	ChannelEmail    Channel = "email"
	ChannelWeChat   Channel = "wechat"
	ChannelCallback Channel = "callback"
)

// Channels lists every channel.
var Channels = []Channel{ChannelSMS, ChannelEmail, ChannelWeChat, ChannelCallback}

// ConsentChannel is the archive's consent channel a message channel needs
// (a callback task is a phone call).
func (c Channel) ConsentChannel() string {
	if c == ChannelCallback {
		return "call"
	}
	return string(c)
}

// HQOwner is the owner of an HQ (network-wide) campaign: no dealer. The
// row-level-security scope of dealer staff can never name it.
const HQOwner = ""

// DefaultReturnWindow is how long after the start a repair order counts as
// the campaign's return when the campaign does not say.
const DefaultReturnWindow = 30 * 24 * time.Hour

// Campaign is one campaign. Fields are set through New and the transition
// methods, so a stored campaign always satisfies the rules.
type Campaign struct {
	ID           string
	Owner        string // dealer code, or HQOwner
	Kind         Kind
	Name         string
	State        State
	Channels     []Channel
	Template     Template
	Audience     Audience
	StartTime    time.Time
	ReturnWindow time.Duration
	Code         string
	ContactPhone string
	CancelReason string
	CreateTime   time.Time
	UpdateTime   time.Time
	// Version counts changes; the workflow's reads are judged by it.
	Version int64
}

// IsHQ reports whether HQ owns the campaign.
func (c *Campaign) IsHQ() bool { return c.Owner == HQOwner }

// WorkflowID is the business key of the campaign's sending workflow.
func WorkflowID(owner, id string) string {
	if owner == HQOwner {
		owner = "HQ"
	}
	return "campaign/" + owner + "/" + id
}

// New validates a draft. now stamps it.
func New(c Campaign, now time.Time) (*Campaign, error) {
	c.State = StateDraft
	c.CreateTime, c.UpdateTime = now, now
	if c.Template.Locale == "" {
		c.Template.Locale = LocaleZH
	}
	if c.ReturnWindow == 0 {
		c.ReturnWindow = DefaultReturnWindow
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// validate checks what a draft must satisfy; scheduling checks more
// (readyToSend).
func (c *Campaign) validate() error {
	switch {
	case !slices.Contains(Kinds, c.Kind):
		return apperr.Invalid("campaign.kind", "is required: one of the campaign kinds").ZhReason("必填：活动类型")
	case strings.TrimSpace(c.Name) == "":
		return apperr.Invalid("campaign.name", "is required").ZhReason("必填")
	case c.ReturnWindow < 0 || c.ReturnWindow > 366*24*time.Hour:
		return apperr.Invalid("campaign.return_window", "must be between 0 and 366 days").ZhReason("须在 0 到 366 天之间")
	}
	seen := map[Channel]bool{}
	for i, ch := range c.Channels {
		if !slices.Contains(Channels, ch) {
			return apperr.Invalid(fmt.Sprintf("campaign.channels[%d]", i), "is not a channel").ZhReason("不是有效渠道")
		}
		if seen[ch] {
			return apperr.Invalid(fmt.Sprintf("campaign.channels[%d]", i), "repeats a channel").ZhReason("渠道重复")
		}
		seen[ch] = true
	}
	if err := c.Template.Validate("campaign.template"); err != nil {
		return err
	}
	if err := c.Audience.Validate("campaign.audience"); err != nil {
		return err
	}
	if !c.IsHQ() && (len(c.Audience.Dealers) > 0 || len(c.Audience.Regions) > 0) {
		return apperr.Invalid("campaign.dealers", "only an HQ campaign names dealers or regions; a dealer's campaign reaches its own customers").
			ZhReason("只有总部活动可指定经销商或大区")
	}
	if c.Kind == KindRecall && len(c.Audience.VINs) == 0 && c.State != StateDraft {
		return apperr.Invalid("campaign.audience.vins", "a recall needs its VIN list").ZhReason("召回活动需要 VIN 清单")
	}
	return nil
}

// readyToSend is what scheduling needs beyond a valid draft.
func (c *Campaign) readyToSend() error {
	switch {
	case len(c.Channels) == 0:
		return apperr.Invalid("campaign.channels", "at least one channel is required to schedule").ZhReason("排期前至少需要一个渠道")
	case strings.TrimSpace(c.Template.Body) == "" && slices.ContainsFunc(c.Channels, func(ch Channel) bool { return ch != ChannelCallback }):
		return apperr.Invalid("campaign.template.body", "is required to schedule").ZhReason("排期前必填")
	case c.Kind == KindRecall && len(c.Audience.VINs) == 0:
		return apperr.Invalid("campaign.audience.vins", "a recall needs its VIN list").ZhReason("召回活动需要 VIN 清单")
	case c.Kind == KindRecall && c.Code == "":
		return apperr.Invalid("campaign.code", "a recall needs its code, which recall repair orders quote").ZhReason("召回活动需要活动代码")
	}
	return nil
}

// Editable fields of a draft (UpdateCampaign's field mask).
var Editable = []string{"kind", "name", "channels", "template", "audience", "dealers", "regions", "return_window", "code", "contact_phone"}

// Update applies edit to a draft; any other state is ECONFLICT.
func (c *Campaign) Update(now time.Time, edit func(*Campaign)) error {
	if c.State != StateDraft {
		return conflict(c, "update")
	}
	next := *c
	edit(&next)
	next.ID, next.Owner, next.State, next.CreateTime = c.ID, c.Owner, c.State, c.CreateTime
	if next.Template.Locale == "" {
		next.Template.Locale = LocaleZH
	}
	if next.ReturnWindow == 0 {
		next.ReturnWindow = DefaultReturnWindow
	}
	if err := next.validate(); err != nil {
		return err
	}
	next.UpdateTime = now
	next.Version++
	*c = next
	return nil
}

// Schedule moves a draft to scheduled, sending from start (now if zero;
// not in the past).
func (c *Campaign) Schedule(start, now time.Time) error {
	if c.State != StateDraft {
		return conflict(c, "schedule")
	}
	if err := c.readyToSend(); err != nil {
		return err
	}
	if start.IsZero() {
		start = now
	}
	if start.Before(now.Add(-time.Minute)) {
		return apperr.Invalid("start_time", "must not be in the past").ZhReason("不能早于当前时间")
	}
	c.StartTime = start.UTC()
	return c.move(StateScheduled, now)
}

// Start moves a scheduled campaign to running; running already is no
// change (the workflow retries).
func (c *Campaign) Start(now time.Time) (changed bool, err error) {
	switch c.State {
	case StateRunning:
		return false, nil
	case StateScheduled:
		return true, c.move(StateRunning, now)
	}
	return false, conflict(c, "start")
}

// Complete moves a running campaign to completed; completed already is no
// change.
func (c *Campaign) Complete(now time.Time) (changed bool, err error) {
	switch c.State {
	case StateCompleted:
		return false, nil
	case StateRunning:
		return true, c.move(StateCompleted, now)
	}
	return false, conflict(c, "complete")
}

// Cancel stops a campaign that has not ended. A recall may also be
// cancelled (withdrawn) once sent: its VINs are then no longer completed
// or chased, and its chase tasks still open are ended.
func (c *Campaign) Cancel(reason string, now time.Time) error {
	switch {
	case c.State == StateDraft, c.State == StateScheduled, c.State == StateRunning:
	case c.State == StateCompleted && c.Kind == KindRecall:
	default:
		return conflict(c, "cancel")
	}
	if len(reason) > 500 {
		return apperr.Invalid("reason", "must be at most 500 characters").ZhReason("最多 500 个字符")
	}
	c.CancelReason = reason
	return c.move(StateCancelled, now)
}

func (c *Campaign) move(to State, now time.Time) error {
	c.State = to
	c.UpdateTime = now
	c.Version++
	return nil
}

// conflict is the 409 of an illegal transition, naming both states.
func conflict(c *Campaign, action string) error {
	return apperr.Errorf(apperr.ECONFLICT, "cannot %s campaign %s: it is %s", action, c.ID, c.State).
		Zh(fmt.Sprintf("活动 %s 当前为“%s”，不能%s", c.ID, stateZh[c.State], actionZh[action]))
}

var stateZh = map[State]string{StateDraft: "草稿", StateScheduled: "已排期", StateRunning: "进行中", StateCompleted: "已完成", StateCancelled: "已取消"}

var actionZh = map[string]string{"update": "修改", "schedule": "排期", "start": "开始", "complete": "完成", "cancel": "取消", "import VINs into": "导入 VIN"}

// CapExempt reports whether the kind is outside the frequency cap by
// default: safety (recalls) and service reminders are not marketing.
func (k Kind) CapExempt(policy Policy) bool { return slices.Contains(policy.CapExemptKinds, k) }
