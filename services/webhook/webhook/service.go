package webhook

import (
	"context"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/outbox"
	pg "github.com/dealercare/dealercare/pkg/postgres"
)

// Sealer encrypts secrets at rest (pii.Cipher).
type Sealer interface {
	Encrypt(plaintext string) ([]byte, error)
	Decrypt(ciphertext []byte) (string, error)
}

// Service applies who may manage which subscriptions: HQ admins manage
// HQ's and any dealer's; a dealer's GM or manager manages the dealer's
// own. Everyone else gets ENOTFOUND for a dealer's and EFORBIDDEN for
// HQ's, so a subscription's existence does not leak across dealers.
type Service struct {
	Store  Store
	Sealer Sealer
	Now    func() time.Time
	// AllowLoopback accepts http://localhost endpoints (development).
	AllowLoopback bool
	// RotationOverlap is how long the previous secret stays valid after
	// a rotation when the caller names no overlap (default 24 h).
	RotationOverlap time.Duration
}

// MaxRotationOverlap bounds how long two secrets sign together.
const MaxRotationOverlap = 7 * 24 * time.Hour

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// scope checks the caller may manage owner's subscriptions and returns the
// row-level-security scope for it.
func (s *Service) scope(ctx context.Context, owner string) (pg.Scope, error) {
	p, ok := auth.PrincipalFromContext(ctx)
	if !ok {
		return pg.Scope{}, apperr.Errorf(apperr.EUNAUTHORIZED, "authentication required")
	}
	if p.HasRole(auth.RoleHQAdmin) {
		if owner == HQ {
			return pg.AllDealers(), nil
		}
		return pg.Dealers(owner), nil
	}
	if owner == HQ {
		return pg.Scope{}, apperr.Errorf(apperr.EFORBIDDEN, "only HQ administrators manage HQ webhook subscriptions")
	}
	if p.Dealer == owner && p.HasRole(auth.RoleDealerGM, auth.RoleDealerManager) {
		return pg.Dealers(owner), nil
	}
	if p.Dealer == owner {
		return pg.Scope{}, apperr.Errorf(apperr.EFORBIDDEN, "only the dealer's general manager or manager manages webhook subscriptions")
	}
	return pg.Scope{}, apperr.NotFound("dealer", "经销商", owner)
}

// Create subscribes sub.URL for owner and returns the subscription with
// its signing secret, which is shown this once. EINVALID names the field.
func (s *Service) Create(ctx context.Context, owner string, sub Subscription) (Subscription, string, error) {
	scope, err := s.scope(ctx, owner)
	if err != nil {
		return Subscription{}, "", err
	}
	if err := sub.Validate(s.AllowLoopback); err != nil {
		return Subscription{}, "", err
	}
	now := s.now()
	sub.Owner, sub.ID, sub.State = owner, outbox.NewID(), StateActive
	sub.CreateTime, sub.UpdateTime = now, now
	sub.FailingSince, sub.DisableTime, sub.DisabledReason, sub.PreviousSecretExpireTime = time.Time{}, time.Time{}, "", time.Time{}
	secret := NewSecret()
	sealed, err := s.Sealer.Encrypt(secret)
	if err != nil {
		return Subscription{}, "", err
	}
	if err := s.Store.CreateSubscription(ctx, scope, sub, sealed); err != nil {
		return Subscription{}, "", err
	}
	return sub, secret, nil
}

// Get returns one subscription (ENOTFOUND).
func (s *Service) Get(ctx context.Context, owner, id string) (Subscription, error) {
	scope, err := s.scope(ctx, owner)
	if err != nil {
		return Subscription{}, err
	}
	return s.Store.GetSubscription(ctx, scope, owner, id)
}

// List returns owner's subscriptions, newest first.
func (s *Service) List(ctx context.Context, owner string) ([]Subscription, error) {
	scope, err := s.scope(ctx, owner)
	if err != nil {
		return nil, err
	}
	return s.Store.ListSubscriptions(ctx, scope, owner)
}

// Delete removes a subscription; its pending deliveries are skipped.
func (s *Service) Delete(ctx context.Context, owner, id string) error {
	scope, err := s.scope(ctx, owner)
	if err != nil {
		return err
	}
	return s.Store.DeleteSubscription(ctx, scope, owner, id)
}

// RotateSecret gives the subscription a new secret, returned this once;
// the old one keeps signing for overlap (0: RotationOverlap), so the
// receiver can switch without losing a delivery.
func (s *Service) RotateSecret(ctx context.Context, owner, id string, overlap time.Duration) (Subscription, string, error) {
	scope, err := s.scope(ctx, owner)
	if err != nil {
		return Subscription{}, "", err
	}
	if overlap == 0 {
		overlap = s.RotationOverlap
		if overlap == 0 {
			overlap = 24 * time.Hour
		}
	}
	if overlap < 0 || overlap > MaxRotationOverlap {
		return Subscription{}, "", apperr.Invalid("overlap", "must be between 0 and 7 days").ZhReason("必须在 0 到 7 天之间")
	}
	secret := NewSecret()
	sealed, err := s.Sealer.Encrypt(secret)
	if err != nil {
		return Subscription{}, "", err
	}
	now := s.now()
	sub, err := s.Store.RotateSecret(ctx, scope, owner, id, sealed, now.Add(overlap), now)
	if err != nil {
		return Subscription{}, "", err
	}
	return sub, secret, nil
}

// Enable reactivates a subscription disabled after failing for a day.
func (s *Service) Enable(ctx context.Context, owner, id string) (Subscription, error) {
	scope, err := s.scope(ctx, owner)
	if err != nil {
		return Subscription{}, err
	}
	return s.Store.Enable(ctx, scope, owner, id, s.now())
}

// ListDeliveries pages the subscription's delivery log, newest first
// (page size as Page.Limit), and returns the next page's token, empty on
// the last.
func (s *Service) ListDeliveries(ctx context.Context, owner, subscription string, p Page) ([]Delivery, string, error) {
	scope, err := s.scope(ctx, owner)
	if err != nil {
		return nil, "", err
	}
	return s.Store.ListDeliveries(ctx, scope, owner, subscription, p)
}

// Redeliver sends a logged delivery again, whatever its state, with the
// same event id (receivers that already have it drop it).
func (s *Service) Redeliver(ctx context.Context, owner, subscription, delivery string) (Delivery, error) {
	scope, err := s.scope(ctx, owner)
	if err != nil {
		return Delivery{}, err
	}
	return s.Store.Redeliver(ctx, scope, owner, subscription, delivery, s.now())
}
