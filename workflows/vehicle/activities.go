package vehicle

import (
	"context"
	"fmt"
	"math"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/calendar"
	"github.com/dealercare/dealercare/pkg/validate"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Activities records the vehicle's state with the customer service, which
// owns the archives.
type Activities struct {
	VehicleState customerv1.VehicleStateServiceClient
}

// Non-retryable failure types of RecordServiceState: retrying cannot help,
// someone has to fix the configuration or the data.
const (
	// ErrTypeForbidden: the worker's token lacks the "service" role.
	ErrTypeForbidden = "Forbidden"
	// ErrTypeInvalidState: the service rejected the state (say, a VIN that
	// is not 17 characters).
	ErrTypeInvalidState = "InvalidServiceState"
)

// RecordServiceStateInput is the state to write onto every dealer's
// archive of the VIN.
type RecordServiceStateInput struct {
	VIN              string        `json:"vin"`
	LastVisitTime    time.Time     `json:"last_visit_time"`
	LastVisitDealer  string        `json:"last_visit_dealer"`
	NextDueDate      calendar.Date `json:"next_due_date"`
	NextDueMileageKM int           `json:"next_due_mileage_km"`
	// Readings are the odometer readings of the visits the state keeps.
	Readings []Visit `json:"readings,omitempty"`
}

// RecordServiceStateResult says how many archives were updated; zero when
// no dealer has an archive of the VIN yet, or all hold a later state.
type RecordServiceStateResult struct {
	UpdatedArchives int `json:"updated_archives"`
}

// RecordServiceState calls VehicleStateService.RecordServiceState, which is
// idempotent and ignores a state older than the stored one, so a retry or a
// replayed call is harmless. PermissionDenied and InvalidArgument are
// non-retryable (ErrTypeForbidden, ErrTypeInvalidState); every other error
// (unavailable, deadline, a token being rotated) is retried.
func (a *Activities) RecordServiceState(ctx context.Context, in RecordServiceStateInput) (*RecordServiceStateResult, error) {
	if in.NextDueMileageKM < 0 || in.NextDueMileageKM > math.MaxInt32 {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("record service state of %s: due mileage %d km out of range", in.VIN, in.NextDueMileageKM),
			ErrTypeInvalidState, nil)
	}
	req := &customerv1.RecordServiceStateRequest{
		Vin:                     in.VIN,
		LastVisitTime:           timestamppb.New(in.LastVisitTime),
		LastVisitDealer:         in.LastVisitDealer,
		NextServiceDueDate:      in.NextDueDate.String(),
		NextServiceDueMileageKm: int32(in.NextDueMileageKM),
	}
	for _, v := range in.Readings {
		// The archive keys readings by the visit's repair order or sale id;
		// a visit without one (an event from before ids were carried) or
		// with a reading out of range is left out rather than failing the
		// whole state.
		if !v.hasReading() || !validate.IsUUID(v.Ref) || v.MileageKM > math.MaxInt32 || v.Dealer == "" || len(v.Dealer) > 32 {
			continue
		}
		src := customerv1.MileageSource_MILEAGE_SOURCE_REPAIR_ORDER
		if v.Type == VisitDelivery {
			src = customerv1.MileageSource_MILEAGE_SOURCE_DELIVERY
		}
		req.Readings = append(req.Readings, &customerv1.VisitReading{
			ReadTime: timestamppb.New(v.Time), MileageKm: int32(v.MileageKM), Dealer: v.Dealer, Ref: v.Ref, Source: src,
		})
	}
	res, err := a.VehicleState.RecordServiceState(ctx, req)
	switch status.Code(err) {
	case codes.OK:
		return &RecordServiceStateResult{UpdatedArchives: int(res.GetUpdatedArchives())}, nil
	case codes.PermissionDenied:
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("record service state of %s: permission denied (the worker's token needs the service role)", in.VIN),
			ErrTypeForbidden, err)
	case codes.InvalidArgument:
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("record service state of %s: rejected: %s", in.VIN, status.Convert(err).Message()),
			ErrTypeInvalidState, err)
	default:
		return nil, fmt.Errorf("record service state of %s: %w", in.VIN, err)
	}
}
