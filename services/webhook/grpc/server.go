// Package grpc is the webhook service's gRPC port: proto <-> domain. Access
// rules and errors come from webhook.Service (another dealer's
// subscription is NOT_FOUND); pkg/grpcserver maps apperr codes to status.
package grpc

import (
	"context"

	webhookv1 "github.com/dealercare/dealercare/gen/go/dealercare/webhook/v1"
	"github.com/dealercare/dealercare/pkg/pbconv"
	"github.com/dealercare/dealercare/services/webhook/webhook"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Server implements webhookv1.WebhookServiceServer.
type Server struct {
	webhookv1.UnimplementedWebhookServiceServer
	svc *webhook.Service
}

// NewServer returns the webhook API over svc.
func NewServer(svc *webhook.Service) *Server { return &Server{svc: svc} }

// SubscriptionToProto converts a subscription; it has no secret to leak.
func SubscriptionToProto(s webhook.Subscription) *webhookv1.WebhookSubscription {
	state := webhookv1.WebhookSubscriptionState_WEBHOOK_SUBSCRIPTION_STATE_ACTIVE
	if s.State == webhook.StateDisabled {
		state = webhookv1.WebhookSubscriptionState_WEBHOOK_SUBSCRIPTION_STATE_DISABLED
	}
	return &webhookv1.WebhookSubscription{
		Id: s.ID, Dealer: s.Owner, Url: s.URL, EventTypes: s.EventTypes, Description: s.Description, State: state,
		DisabledReason: s.DisabledReason, DisableTime: pbconv.Timestamp(s.DisableTime),
		FailingSince: pbconv.Timestamp(s.FailingSince), PreviousSecretExpireTime: pbconv.Timestamp(s.PreviousSecretExpireTime),
		CreateTime: pbconv.Timestamp(s.CreateTime), UpdateTime: pbconv.Timestamp(s.UpdateTime),
	}
}

var deliveryStates = map[string]webhookv1.WebhookDeliveryState{
	webhook.DeliveryPending:   webhookv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_PENDING,
	webhook.DeliveryDelivered: webhookv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DELIVERED,
	webhook.DeliveryFailed:    webhookv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_FAILED,
	webhook.DeliverySkipped:   webhookv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_SKIPPED,
}

// DeliveryToProto converts a delivery log row.
func DeliveryToProto(d webhook.Delivery) *webhookv1.WebhookDelivery {
	return &webhookv1.WebhookDelivery{
		Id: d.ID, Subscription: d.SubscriptionID, EventId: d.EventID, EventType: d.EventType, Resource: d.Resource,
		State: deliveryStates[d.State], Attempts: int32(d.Attempts), LastStatusCode: int32(d.LastStatusCode),
		LastError: d.LastError, LastAttemptTime: pbconv.Timestamp(d.LastAttemptTime),
		DeliverTime: pbconv.Timestamp(d.DeliverTime), CreateTime: pbconv.Timestamp(d.CreateTime),
	}
}

// CreateWebhookSubscription implements the RPC.
func (s *Server) CreateWebhookSubscription(ctx context.Context, req *webhookv1.CreateWebhookSubscriptionRequest) (*webhookv1.CreateWebhookSubscriptionResponse, error) {
	in := req.GetSubscription()
	sub, secret, err := s.svc.Create(ctx, req.GetDealer(), webhook.Subscription{URL: in.GetUrl(),
		EventTypes: in.GetEventTypes(), Description: in.GetDescription()})
	if err != nil {
		return nil, err
	}
	return &webhookv1.CreateWebhookSubscriptionResponse{Subscription: SubscriptionToProto(sub), Secret: secret}, nil
}

// GetWebhookSubscription implements the RPC.
func (s *Server) GetWebhookSubscription(ctx context.Context, req *webhookv1.GetWebhookSubscriptionRequest) (*webhookv1.WebhookSubscription, error) {
	sub, err := s.svc.Get(ctx, req.GetDealer(), req.GetSubscription())
	if err != nil {
		return nil, err
	}
	return SubscriptionToProto(sub), nil
}

// ListWebhookSubscriptions implements the RPC.
func (s *Server) ListWebhookSubscriptions(ctx context.Context, req *webhookv1.ListWebhookSubscriptionsRequest) (*webhookv1.ListWebhookSubscriptionsResponse, error) {
	subs, err := s.svc.List(ctx, req.GetDealer())
	if err != nil {
		return nil, err
	}
	out := &webhookv1.ListWebhookSubscriptionsResponse{}
	for _, sub := range subs {
		out.Subscriptions = append(out.Subscriptions, SubscriptionToProto(sub))
	}
	return out, nil
}

// DeleteWebhookSubscription implements the RPC.
func (s *Server) DeleteWebhookSubscription(ctx context.Context, req *webhookv1.DeleteWebhookSubscriptionRequest) (*emptypb.Empty, error) {
	if err := s.svc.Delete(ctx, req.GetDealer(), req.GetSubscription()); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// RotateWebhookSecret implements the RPC.
func (s *Server) RotateWebhookSecret(ctx context.Context, req *webhookv1.RotateWebhookSecretRequest) (*webhookv1.RotateWebhookSecretResponse, error) {
	sub, secret, err := s.svc.RotateSecret(ctx, req.GetDealer(), req.GetSubscription(), req.GetOverlap().AsDuration())
	if err != nil {
		return nil, err
	}
	return &webhookv1.RotateWebhookSecretResponse{Subscription: SubscriptionToProto(sub), Secret: secret}, nil
}

// EnableWebhookSubscription implements the RPC.
func (s *Server) EnableWebhookSubscription(ctx context.Context, req *webhookv1.EnableWebhookSubscriptionRequest) (*webhookv1.WebhookSubscription, error) {
	sub, err := s.svc.Enable(ctx, req.GetDealer(), req.GetSubscription())
	if err != nil {
		return nil, err
	}
	return SubscriptionToProto(sub), nil
}

// ListWebhookDeliveries implements the RPC.
func (s *Server) ListWebhookDeliveries(ctx context.Context, req *webhookv1.ListWebhookDeliveriesRequest) (*webhookv1.ListWebhookDeliveriesResponse, error) {
	ds, next, err := s.svc.ListDeliveries(ctx, req.GetDealer(), req.GetSubscription(),
		webhook.Page{After: req.GetPageToken(), Size: int(req.GetPageSize())})
	if err != nil {
		return nil, err
	}
	out := &webhookv1.ListWebhookDeliveriesResponse{NextPageToken: next}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, DeliveryToProto(d))
	}
	return out, nil
}

// RedeliverWebhookDelivery implements the RPC.
func (s *Server) RedeliverWebhookDelivery(ctx context.Context, req *webhookv1.RedeliverWebhookDeliveryRequest) (*webhookv1.WebhookDelivery, error) {
	d, err := s.svc.Redeliver(ctx, req.GetDealer(), req.GetSubscription(), req.GetDelivery())
	if err != nil {
		return nil, err
	}
	return DeliveryToProto(d), nil
}
