// Package archive holds the customer archive's rules (客户档案): customers,
// vehicles, repair orders and deliveries, their validation, consent,
// loyalty points, duplicates and merges, and what each role may see.
package archive

import (
	"errors"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/validate"
)

// Enumerations are stored as their lower-case names.
const (
	KindIndividual = "individual"
	KindEnterprise = "enterprise"

	TierKey       = "key"
	TierRegular   = "regular"
	TierPotential = "potential"
	TierTemporary = "temporary"

	ChannelSMS    = "sms"
	ChannelCall   = "call"
	ChannelEmail  = "email"
	ChannelWeChat = "wechat"
)

// Consent is a customer's yes or no for one channel, with when and how it
// was recorded.
type Consent struct {
	Channel    string
	Granted    bool
	Source     string
	UpdateTime time.Time
}

// Problem is a failed archive validation: a missing or invalid field.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Customer is one archive. IDNumber holds the clear value only between the
// API and the store, which keeps it encrypted.
type Customer struct {
	ID               string
	Dealer           string
	Kind             string
	Name             string
	Gender           string
	Birthday         string // YYYY-MM-DD
	Mobile           string // E.164
	Email            string
	Address          string
	IDNumber         string
	Source           string
	Tier             string
	Tags             []string
	PreferredChannel string
	PreferredHours   string
	Consents         []Consent
	LoyaltyPoints    int64
	ContactName      string
	DMSID            string
	TriggerTime      time.Time
	CreateTime       time.Time
	UpdateTime       time.Time
	Problems         []Problem
	MergedInto       string
	// ChurnRiskSince is the earliest churn mark of its vehicles (read only).
	ChurnRiskSince time.Time
}

// invalid wraps a validator's problem with the field name, in both
// languages.
func invalid(field string, err error) error {
	var p *validate.Problem
	if errors.As(err, &p) {
		return apperr.Invalid(field, p.Reason).ZhReason(p.ReasonZh)
	}
	return apperr.Invalid(field, err.Error())
}

// Normalize validates the fields given and puts them in canonical form
// (E.164 mobile, upper-case ID number). A bad value is rejected with the
// field named; a missing value is not an error here but an archive
// problem (see Check), because DMS data is often incomplete and the
// archive must still be kept.
func (c *Customer) Normalize(now time.Time) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.Kind == "" {
		c.Kind = KindIndividual
	}
	if c.Tier == "" {
		c.Tier = TierRegular
	}
	if c.Mobile != "" {
		m, err := validate.Mobile(c.Mobile)
		if err != nil {
			return invalid("customer.mobile", err)
		}
		c.Mobile = m
	}
	if c.Email != "" {
		e, err := validate.Email(c.Email)
		if err != nil {
			return invalid("customer.email", err)
		}
		c.Email = e
	}
	if c.IDNumber != "" {
		id, err := validate.IDNumber(c.IDNumber)
		if err != nil {
			return invalid("customer.id_number", err)
		}
		c.IDNumber = id
	}
	if c.Birthday != "" {
		if _, err := validate.BirthDate(c.Birthday, now); err != nil {
			return invalid("customer.birthday", err)
		}
	}
	// The archive-timeliness KPI counts from the trigger time; an hour of
	// clock skew is allowed, as for closing and delivery times.
	if !c.TriggerTime.IsZero() {
		if err := validate.EventTime(c.TriggerTime, now.Add(time.Hour)); err != nil {
			return invalid("customer.trigger_time", err)
		}
	}
	if c.PreferredHours != "" {
		if _, _, ok := parseHours(c.PreferredHours); !ok {
			return apperr.Invalid("customer.preferred_hours", "must be HH:MM-HH:MM, e.g. 09:00-18:00").ZhReason("格式须为 HH:MM-HH:MM，例如 09:00-18:00")
		}
	}
	if len([]rune(c.Name)) > 100 {
		return apperr.Invalid("customer.name", "must be at most 100 characters").ZhReason("不能超过 100 个字符")
	}
	seen := map[string]bool{}
	tags := make([]string, 0, len(c.Tags))
	for _, t := range c.Tags {
		if t = strings.TrimSpace(t); t != "" && !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	c.Tags = tags
	return nil
}

// Check lists the archive problems HQ's archive-accuracy KPI counts: the
// fields a complete archive has. It assumes Normalize passed.
func (c *Customer) Check() []Problem {
	var ps []Problem
	if c.Name == "" {
		ps = append(ps, Problem{"name", "missing"})
	}
	if c.Mobile == "" {
		ps = append(ps, Problem{"mobile", "missing"})
	}
	if c.Kind == KindIndividual {
		if c.Gender == "" {
			ps = append(ps, Problem{"gender", "missing"})
		}
		if c.Birthday == "" {
			ps = append(ps, Problem{"birthday", "missing"})
		}
	}
	if c.Kind == KindEnterprise && c.ContactName == "" {
		ps = append(ps, Problem{"contact_name", "missing"})
	}
	if c.Address == "" {
		ps = append(ps, Problem{"address", "missing"})
	}
	if c.TriggerTime.IsZero() {
		ps = append(ps, Problem{"trigger_time", "missing: when the sale or first visit happened"})
	}
	return ps
}

func parseHours(s string) (time.Duration, time.Duration, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, false
	}
	ta, err1 := time.Parse("15:04", a)
	tb, err2 := time.Parse("15:04", b)
	if err1 != nil || err2 != nil || !tb.After(ta) {
		return 0, 0, false
	}
	return time.Duration(ta.Hour())*time.Hour + time.Duration(ta.Minute())*time.Minute,
		time.Duration(tb.Hour())*time.Hour + time.Duration(tb.Minute())*time.Minute, true
}

// CustomerFields are the fields UpdateCustomer may change.
var CustomerFields = []string{"kind", "name", "gender", "birthday", "mobile", "email", "address", "id_number", "source", "tier", "tags", "preferred_channel", "preferred_hours", "contact_name", "dms_id", "trigger_time"}

// cannotUpdate is the error for an update-mask path Apply does not know.
func cannotUpdate(f string) error {
	return apperr.Invalid("update_mask", `cannot update field "`+f+`"`).ZhReason(`不能更新字段 "` + f + `"`)
}

// Apply copies the masked fields of in onto c.
func (c *Customer) Apply(in *Customer, mask []string) error {
	for _, f := range mask {
		switch f {
		case "kind":
			c.Kind = in.Kind
		case "name":
			c.Name = in.Name
		case "gender":
			c.Gender = in.Gender
		case "birthday":
			c.Birthday = in.Birthday
		case "mobile":
			c.Mobile = in.Mobile
		case "email":
			c.Email = in.Email
		case "address":
			c.Address = in.Address
		case "id_number":
			c.IDNumber = in.IDNumber
		case "source":
			c.Source = in.Source
		case "tier":
			c.Tier = in.Tier
		case "tags":
			c.Tags = in.Tags
		case "preferred_channel":
			c.PreferredChannel = in.PreferredChannel
		case "preferred_hours":
			c.PreferredHours = in.PreferredHours
		case "contact_name":
			c.ContactName = in.ContactName
		case "dms_id":
			c.DMSID = in.DMSID
		case "trigger_time":
			c.TriggerTime = in.TriggerTime
		default:
			return cannotUpdate(f)
		}
	}
	return nil
}
