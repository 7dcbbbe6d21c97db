package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
)

// HolidayCampaignID is the id of HQ's greeting campaign for a holiday on a
// date: derived, so the greeting workflow's retries find the one made.
func HolidayCampaignID(holiday, date string) string {
	return nameUUID("dealercare/holiday-greeting", holiday, date)
}

// EnsureHolidayGreeting makes HQ's network-wide greeting for a holiday
// (the greeting workflow, as the service), scheduled to start at start:
// drafted with its derived id, then scheduled, which starts its campaign
// workflow through the outbox. A repeat returns it as it stands.
func (s *Service) EnsureHolidayGreeting(ctx context.Context, holiday, name, date string, start time.Time) (*Campaign, error) {
	if _, err := calendar.ParseDate(date); err != nil {
		return nil, apperr.Invalid("date", "must be a date YYYY-MM-DD").ZhReason("须为日期 YYYY-MM-DD")
	}
	return s.ensureGreeting(ctx, Campaign{ID: HolidayCampaignID(holiday, date), Kind: KindHolidayGreeting, Name: name + "祝福 " + date,
		Template: Template{Locale: LocaleZH, Title: name + "祝福", Body: "{{customer_name}}您好，{{dealer_name}}祝您" + name + "快乐！"}}, start)
}

// ensureGreeting drafts HQ's greeting g (WeChat, then SMS) under its
// derived id unless it exists, and schedules it to start at start while it
// is a draft; a repeat returns it as it stands.
func (s *Service) ensureGreeting(ctx context.Context, g Campaign, start time.Time) (*Campaign, error) {
	c, err := s.store.Get(ctx, all, HQOwner, g.ID)
	if apperr.Code(err) == apperr.ENOTFOUND {
		g.Owner, g.Channels = HQOwner, []Channel{ChannelWeChat, ChannelSMS}
		draft, nerr := New(g, s.now())
		if nerr != nil {
			return nil, nerr
		}
		if c, err = s.store.Create(ctx, all, draft); apperr.Code(err) == apperr.ECONFLICT {
			c, err = s.store.Get(ctx, all, HQOwner, g.ID) // made meanwhile by a retry
		}
	}
	if err != nil || c.State != StateDraft {
		return c, err
	}
	return s.store.Update(ctx, all, HQOwner, g.ID, func(c *Campaign) error { return c.Schedule(start, s.now()) })
}

// BirthdayCampaignID is the id of HQ's birthday greeting of a date.
func BirthdayCampaignID(date string) string {
	return nameUUID("dealercare/birthday-greeting", date)
}

// BirthdayDays are the birthdays greeted on d: its month and day, and on
// 28 February of a year without a 29th, 29 February's too (so a leap-day
// birthday is greeted every year, a day early in three of four).
func BirthdayDays(d calendar.Date) []string {
	days := []string{fmt.Sprintf("%02d-%02d", int(d.Month), d.Day)}
	if d.Month == time.February && d.Day == 28 && d.AddDays(1).Month == time.March {
		days = append(days, "02-29")
	}
	return days
}

// latestZone is the zone whose clock is furthest ahead (Pacific/Kiritimati,
// UTC+14): a birthday campaign starts when its hour comes there first, and
// each recipient waits for it in their own zone.
var latestZone = time.FixedZone("UTC+14", 14*3600)

// EnsureBirthdayGreeting makes HQ's network-wide birthday greeting of a
// date (the birthday workflow, as the service): the customers born on
// that day of the year (BirthdayDays), every dealer, each sent at the
// policy's greeting hour in their own time zone through the normal send
// path (consent, quiet hours, cap, once per customer). Drafted with its
// derived id, then scheduled; a repeat returns it as it stands.
func (s *Service) EnsureBirthdayGreeting(ctx context.Context, date string) (*Campaign, error) {
	d, err := calendar.ParseDate(date)
	if err != nil {
		return nil, apperr.Invalid("date", "must be a date YYYY-MM-DD").ZhReason("须为日期 YYYY-MM-DD")
	}
	policy, err := s.store.Policy(ctx)
	if err != nil {
		return nil, err
	}
	local := time.Date(d.Year, d.Month, d.Day, policy.GreetingHour, 0, 0, 0, time.UTC)
	start := time.Date(d.Year, d.Month, d.Day, policy.GreetingHour, 0, 0, 0, latestZone)
	if now := s.now(); start.Before(now) {
		start = now // scheduled late (the worker was down): recipients whose hour passed go at once
	}
	return s.ensureGreeting(ctx, Campaign{ID: BirthdayCampaignID(date), Kind: KindBirthdayGreeting, Name: "生日祝福 " + date,
		Audience: Audience{Birthdays: BirthdayDays(d), LocalSend: local.Format(localSendLayout)},
		Template: Template{Locale: LocaleZH, Title: "生日祝福", Body: "{{customer_name}}您好，{{dealer_name}}祝您生日快乐！"}}, start)
}

// GreetingPolicy returns HQ's messaging policy to the greeting workflows
// (the service identity, which the RPC checks).
func (s *Service) GreetingPolicy(ctx context.Context) (Policy, error) {
	return s.store.Policy(ctx)
}
