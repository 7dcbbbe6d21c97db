package campaign

import (
	"context"
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
	id := HolidayCampaignID(holiday, date)
	c, err := s.store.Get(ctx, all, HQOwner, id)
	if apperr.Code(err) == apperr.ENOTFOUND {
		draft, nerr := New(Campaign{ID: id, Owner: HQOwner, Kind: KindHolidayGreeting, Name: name + "祝福 " + date,
			Channels: []Channel{ChannelWeChat, ChannelSMS},
			Template: Template{Locale: LocaleZH, Title: name + "祝福", Body: "{{customer_name}}您好，{{dealer_name}}祝您" + name + "快乐！"}}, s.now())
		if nerr != nil {
			return nil, nerr
		}
		if c, err = s.store.Create(ctx, all, draft); apperr.Code(err) == apperr.ECONFLICT {
			c, err = s.store.Get(ctx, all, HQOwner, id) // made meanwhile by a retry
		}
	}
	if err != nil || c.State != StateDraft {
		return c, err
	}
	return s.store.Update(ctx, all, HQOwner, id, func(c *Campaign) error { return c.Schedule(start, s.now()) })
}
