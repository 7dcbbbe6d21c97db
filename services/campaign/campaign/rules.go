package campaign

import (
	"fmt"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/callhours"
)

// Policy is HQ's messaging policy: quiet hours in the customer's zone and
// the marketing frequency cap.
type Policy struct {
	// QuietStart and QuietEnd are local "HH:MM"; quiet hours run from
	// QuietStart over midnight to QuietEnd (default 21:00-09:00).
	QuietStart string
	QuietEnd   string
	// FrequencyCap is the most marketing messages a customer gets per
	// FrequencyWindow; 0 means no cap.
	FrequencyCap    int
	FrequencyWindow time.Duration
	// CapExemptKinds are outside the cap.
	CapExemptKinds []Kind
	// GreetingLead is how long before a holiday its greeting is scheduled;
	// GreetingHour the local hour greetings go out at (a holiday's in
	// GreetingZone, a birthday's in the customer's zone); GreetingZone the
	// network's zone for holiday greetings, in which the holiday greeting
	// workflow reads a holiday's date and the hour.
	GreetingLead time.Duration
	GreetingHour int
	GreetingZone string
	UpdateTime   time.Time
}

// DefaultPolicy is HQ's default.
func DefaultPolicy() Policy {
	return Policy{QuietStart: "21:00", QuietEnd: "09:00", FrequencyCap: 3, FrequencyWindow: 7 * 24 * time.Hour,
		CapExemptKinds: []Kind{KindRecall, KindServiceReminder},
		GreetingLead:   30 * 24 * time.Hour, GreetingHour: 10, GreetingZone: "Asia/Shanghai"}
}

// Sendable is the window messages may go out in: the complement of the
// quiet hours.
func (p Policy) Sendable() (callhours.Window, error) {
	w, err := callhours.Parse(p.QuietEnd, p.QuietStart)
	if err != nil {
		return callhours.Window{}, apperr.Invalid("policy.quiet_start", "quiet hours must run from quiet_start over midnight to quiet_end (HH:MM), e.g. 21:00-09:00").
			ZhReason("免打扰时段须从 quiet_start 跨午夜到 quiet_end（HH:MM），例如 21:00-09:00")
	}
	return w, nil
}

// Validate names the first bad field.
func (p Policy) Validate() error {
	if _, err := p.Sendable(); err != nil {
		return err
	}
	switch {
	case p.FrequencyCap < 0:
		return apperr.Invalid("policy.frequency_cap", "must not be negative").ZhReason("不能为负数")
	case p.FrequencyCap > 0 && (p.FrequencyWindow < time.Second || p.FrequencyWindow > 366*24*time.Hour):
		return apperr.Invalid("policy.frequency_window", "must be between 1s and 366 days").ZhReason("须在 1 秒到 366 天之间")
	}
	switch {
	case p.GreetingLead < time.Hour || p.GreetingLead > 90*24*time.Hour:
		return apperr.Invalid("policy.greeting_lead", "must be between 1h and 90 days").ZhReason("须在 1 小时到 90 天之间")
	case p.GreetingHour < 0 || p.GreetingHour > 23:
		return apperr.Invalid("policy.greeting_hour", "must be an hour 0-23").ZhReason("须为 0-23 点")
	}
	if _, err := time.LoadLocation(p.GreetingZone); err != nil || p.GreetingZone == "" {
		return apperr.Invalid("policy.greeting_zone", "must be an IANA time zone, e.g. Asia/Shanghai").ZhReason("须为 IANA 时区，例如 Asia/Shanghai")
	}
	for i, k := range p.CapExemptKinds {
		if k == "" {
			return apperr.Invalid(fmt.Sprintf("policy.cap_exempt_kinds[%d]", i), "is not a kind").ZhReason("不是有效的活动类型")
		}
	}
	return nil
}

// Suppression reasons, counted per campaign.
const (
	SuppressNoConsent    = "no_consent"
	SuppressOptedOut     = "opted_out"
	SuppressFrequencyCap = "frequency_cap"
	SuppressNoAddress    = "no_address"
	SuppressCancelled    = "cancelled"
)

// Contact is what the archive says about a recipient at send time.
type Contact struct {
	Customer   string
	Dealer     string
	DealerName string
	TimeZone   string
	Name       string
	Mobile     string
	Email      string
	// WeChatOpenID is the customer's id in the brand's WeChat service
	// account; the archive has no such field yet, so WeChat goes to the
	// customer id the account binds at follow time.
	WeChatOpenID string
	Consents     map[string]bool // archive consent channel -> granted
	VIN          string
	Plate        string
	Model        string
	DueDate      string
	LastVisit    time.Time
	Found        bool // the archive still has the customer
}

// Decision is what happens to one recipient now.
type Decision struct {
	// Channel to send on; empty when suppressed or deferred.
	Channel Channel
	// Suppress is the reason it will never be sent.
	Suppress string
	// NotBefore defers it out of the quiet hours.
	NotBefore time.Time
}

// Decide applies the rules, in this order: the channels the customer
// consents to and can be reached on (the first of the campaign's order
// wins), opt-outs, the frequency cap (recentMarketing messages within the
// window), then quiet hours in the customer's zone. A channel with neither
// consent record nor opt-out counts as no consent: marketing needs an
// explicit yes (PIPL).
func Decide(c *Campaign, p Policy, ct Contact, optedOut map[Channel]bool, recentMarketing int, now time.Time) (Decision, error) {
	if !ct.Found {
		return Decision{Suppress: SuppressNoAddress}, nil
	}
	var ch Channel
	reason := SuppressNoConsent
	for _, cand := range c.Channels {
		if !ct.Consents[cand.ConsentChannel()] {
			continue
		}
		if optedOut[cand] || optedOut[""] {
			reason = SuppressOptedOut
			continue
		}
		if !reachable(cand, ct) {
			if reason == SuppressNoConsent {
				reason = SuppressNoAddress
			}
			continue
		}
		ch = cand
		break
	}
	if ch == "" {
		return Decision{Suppress: reason}, nil
	}
	if p.FrequencyCap > 0 && !c.Kind.CapExempt(p) && recentMarketing >= p.FrequencyCap {
		return Decision{Suppress: SuppressFrequencyCap}, nil
	}
	w, err := p.Sendable()
	if err != nil {
		return Decision{}, err
	}
	// A callback task is a call the dealer's calling hours govern, not a
	// message at the customer's phone now.
	if ch != ChannelCallback {
		loc := calendar.Zone(ct.TimeZone)
		if !w.Contains(now, loc) {
			return Decision{NotBefore: callhours.Next(now, w, loc).UTC()}, nil
		}
	}
	return Decision{Channel: ch}, nil
}

func reachable(ch Channel, ct Contact) bool {
	switch ch {
	case ChannelSMS:
		return ct.Mobile != ""
	case ChannelEmail:
		return ct.Email != ""
	}
	return true
}

// Vars are the template variables for a contact.
func (c *Campaign) Vars(ct Contact) map[string]string {
	return map[string]string{
		VarCustomerName: ct.Name, VarPlate: ct.Plate, VarDueDate: ct.DueDate,
		VarDealerName: ct.DealerName, VarDealerPhone: c.ContactPhone, VarCampaignCode: c.Code,
	}
}
