package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Loaded counts what Load created; the rest existed already.
type Loaded struct {
	Regions, Dealers, Calendars int
}

// Load creates n's regions and dealers through the dealer network API and
// sets every dealer's calendar. Regions and dealers that exist already are
// left as they are, so loading twice is harmless; calendars are replaced.
// ctx must carry an hq_admin token in its outgoing metadata.
func Load(ctx context.Context, client customerv1.DealerNetworkServiceClient, n DealerNetwork) (Loaded, error) {
	var got Loaded
	for _, r := range n.Regions {
		_, err := client.CreateRegion(ctx, &customerv1.CreateRegionRequest{
			Region: &customerv1.Region{Code: r.Code, Name: r.Name},
		})
		created, err := createdOrExists(err)
		if err != nil {
			return got, fmt.Errorf("create region %s: %w", r.Code, err)
		}
		if created {
			got.Regions++
		}
	}
	for _, d := range n.Dealers {
		_, err := client.CreateDealer(ctx, &customerv1.CreateDealerRequest{
			Dealer: &customerv1.Dealer{Code: d.Code, Name: d.Name, Region: d.Region, City: d.City, TimeZone: d.TimeZone},
		})
		created, err := createdOrExists(err)
		if err != nil {
			return got, fmt.Errorf("create dealer %s: %w", d.Code, err)
		}
		if created {
			got.Dealers++
		}
		cal, err := d.Calendar.proto(d.Code)
		if err != nil {
			return got, fmt.Errorf("calendar of dealer %s: %w", d.Code, err)
		}
		if _, err := client.UpdateBusinessCalendar(ctx, &customerv1.UpdateBusinessCalendarRequest{Calendar: cal}); err != nil {
			return got, fmt.Errorf("update calendar of dealer %s: %w", d.Code, err)
		}
		got.Calendars++
	}
	return got, nil
}

// createdOrExists treats AlreadyExists as success.
func createdOrExists(err error) (created bool, _ error) {
	if err == nil {
		return true, nil
	}
	if status.Code(err) == codes.AlreadyExists {
		return false, nil
	}
	return false, err
}

// proto converts c to the API's calendar of dealer.
func (c Calendar) proto(dealer string) (*customerv1.BusinessCalendar, error) {
	cal := &customerv1.BusinessCalendar{Dealer: dealer, Holidays: append([]string(nil), c.Holidays...)}
	for _, day := range isoWeek {
		intervals, ok := c.Weekly[day]
		if !ok {
			continue
		}
		hours := &customerv1.OpeningHours{Day: dayOfWeek(day)}
		for _, iv := range intervals {
			start, end, ok := strings.Cut(iv, "-")
			if !ok {
				return nil, fmt.Errorf("%s interval %q: want HH:MM-HH:MM", day, iv)
			}
			hours.Intervals = append(hours.Intervals, &customerv1.TimeInterval{Start: start, End: end})
		}
		cal.Weekly = append(cal.Weekly, hours)
	}
	for _, d := range c.WorkingDays {
		cal.AdjustedWorkingDays = append(cal.AdjustedWorkingDays, &customerv1.AdjustedWorkingDay{
			Date: d, HoursOf: customerv1.DayOfWeek_DAY_OF_WEEK_MONDAY,
		})
	}
	return cal, nil
}

// dayOfWeek maps Go's Sunday=0 week to the API's ISO Monday=1..Sunday=7.
func dayOfWeek(d time.Weekday) customerv1.DayOfWeek {
	if d == time.Sunday {
		return customerv1.DayOfWeek_DAY_OF_WEEK_SUNDAY
	}
	return customerv1.DayOfWeek(d)
}
