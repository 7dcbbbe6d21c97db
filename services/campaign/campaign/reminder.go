package campaign

import (
	"context"
	"crypto/sha1"
	"fmt"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/calendar"
)

// Maintenance reminders (保养提醒) are campaigns too: each dealer has one
// service-reminder campaign per due date and step (before_7d, before_1d),
// created when its first vehicle is reminded. Its recipients are the
// vehicles' customers, so each gets the step's reminder at most once,
// under the same consent, quiet-hour and opt-out rules, and a repair
// order within the return window counts as the campaign's return.

// ReminderCampaignID is the id of dealer's service-reminder campaign for a
// due date and step: derived, so every vehicle of that day finds it.
func ReminderCampaignID(dealer, due, step string) string {
	return nameUUID("dealercare/service-reminder", dealer, due, step)
}

// nameUUID is a name-based (version 5 layout, SHA-1) UUID of space and
// parts, for ids that every retry derives alike.
func nameUUID(space string, parts ...string) string {
	h := sha1.Sum([]byte(space + "\x00" + strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// reminderTemplate is the reminder's default message (zh-CN).
var reminderTemplate = Template{Locale: LocaleZH, Title: "保养提醒",
	Body: "{{customer_name}}您好，您的爱车{{plate}}将于{{due_date}}到期保养，{{dealer_name}}期待您的光临。"}

// ReminderResult is what RemindVehicle did.
type ReminderResult struct {
	Campaign   string
	Recipients int
	// NextAttempt is set when some recipients wait for their quiet hours.
	NextAttempt time.Time
}

// RemindVehicle sends the step's reminder to the customers of vin at
// dealer (the workflow of the vehicle calls it; idempotent).
func (s *Service) RemindVehicle(ctx context.Context, vin, dealer, due, step string) (ReminderResult, error) {
	if _, err := calendar.ParseDate(due); err != nil {
		return ReminderResult{}, apperr.Invalid("due_date", "must be a date YYYY-MM-DD").ZhReason("须为日期 YYYY-MM-DD")
	}
	id := ReminderCampaignID(dealer, due, step)
	now := s.now()
	c, err := New(Campaign{ID: id, Owner: dealer, Kind: KindServiceReminder, Name: "保养提醒 " + due + " " + step,
		Channels: []Channel{ChannelSMS, ChannelWeChat}, Template: reminderTemplate}, now)
	if err != nil {
		return ReminderResult{}, err
	}
	c.State, c.StartTime = StateRunning, now.UTC()
	if _, err := s.store.Ensure(ctx, c); err != nil {
		return ReminderResult{}, err
	}
	members, _, err := s.dir.Members(ctx, []string{dealer}, Audience{VINs: []string{vin}}, now, "", 50)
	if err != nil {
		return ReminderResult{}, err
	}
	rs := make([]Recipient, 0, len(members))
	for _, m := range members {
		rs = append(rs, Recipient{Owner: dealer, Campaign: id, Dealer: m.Dealer, Customer: m.Customer, VIN: m.VIN, State: RecipientPending, NextAttemptTime: now})
	}
	if _, err := s.store.AddRecipients(ctx, dealer, id, rs, "", true); err != nil {
		return ReminderResult{}, err
	}
	b, err := s.Dispatch(ctx, dealer, id, 200)
	if err != nil {
		return ReminderResult{}, err
	}
	res := ReminderResult{Campaign: id, Recipients: len(members)}
	if b.Remaining > 0 {
		res.NextAttempt = b.NextDue
		if res.NextAttempt.IsZero() {
			res.NextAttempt = now.Add(s.Lease)
		}
	}
	return res, nil
}
