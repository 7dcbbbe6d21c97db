// Package webhook is the domain of signed webhooks out (SPEC: events for
// DMS/BI): subscriptions of HQ or a dealer to event types, their signing
// secrets, the delivery log, and the rules on URLs. Deliveries themselves
// run in the delivery workflow (package delivery), fed by the services'
// outboxes.
package webhook

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/events"
	pg "github.com/dealercare/dealercare/pkg/postgres"
)

// Subscription states.
const (
	StateActive   = "active"
	StateDisabled = "disabled"
)

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	// DeliverySkipped: the subscription was disabled or deleted before
	// the delivery succeeded.
	DeliverySkipped = "skipped"
)

// HQ is the owner of HQ's subscriptions, which see every dealer's events.
const HQ = ""

// Subscription is an HTTPS endpoint of HQ or a dealer subscribed to event
// types. The secrets never leave the service after creation or rotation.
type Subscription struct {
	Owner       string // dealer code, or HQ
	ID          string
	URL         string
	EventTypes  []string
	Description string
	State       string
	// FailingSince is when deliveries started failing without a success
	// since (zero when the last attempt succeeded).
	FailingSince   time.Time
	DisabledReason string
	DisableTime    time.Time
	// PreviousSecretExpireTime is when the secret replaced by the last
	// rotation stops signing (zero when there is none).
	PreviousSecretExpireTime time.Time
	CreateTime, UpdateTime   time.Time
}

// Delivery is one event for one subscription: the delivery log's row.
type Delivery struct {
	Owner           string
	ID              string
	SubscriptionID  string
	EventID         string
	EventType       string
	Resource        string
	State           string
	Attempts        int
	LastStatusCode  int
	LastError       string
	LastAttemptTime time.Time
	DeliverTime     time.Time
	CreateTime      time.Time
}

// Page is a page of the delivery log: after the token of the previous
// page (empty: the first page), at most Size rows.
type Page struct {
	After string
	Size  int
}

// DefaultPageSize and MaxPageSize bound a page of the delivery log.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Limit is the page's size within bounds: 0 (or less) is
// DefaultPageSize, more than MaxPageSize is MaxPageSize.
func (p Page) Limit() int {
	switch {
	case p.Size <= 0:
		return DefaultPageSize
	case p.Size > MaxPageSize:
		return MaxPageSize
	}
	return p.Size
}

// MaxEventTypes, MaxURLLength and MaxDescription bound a subscription.
const (
	MaxURLLength   = 2048
	MaxDescription = 500
)

// Validate checks a new subscription's fields; allowLoopback is the
// development allowance for http://localhost endpoints (tests, make run).
func (s *Subscription) Validate(allowLoopback bool) error {
	if err := ValidateURL(s.URL, allowLoopback); err != nil {
		return err
	}
	if len(s.EventTypes) == 0 {
		return apperr.Invalid("event_types", "must name at least one event type").
			ZhReason("至少需要一个事件类型")
	}
	for i, t := range s.EventTypes {
		if !slices.Contains(events.WebhookEventTypes, t) {
			return apperr.Invalid("event_types", "unknown event type \""+t+"\" (want one of "+strings.Join(events.WebhookEventTypes, ", ")+")").
				ZhReason("未知的事件类型 \"" + t + "\"")
		}
		if slices.Contains(s.EventTypes[:i], t) {
			return apperr.Invalid("event_types", "\""+t+"\" appears twice").ZhReason("\"" + t + "\" 重复")
		}
	}
	if len([]rune(s.Description)) > MaxDescription {
		return apperr.Invalid("description", "must be at most 500 characters").ZhReason("最多 500 个字符")
	}
	return nil
}

// ValidateURL accepts an absolute https URL without credentials whose host
// is a name or a public address. Names are checked again when a delivery
// connects (PublicDialer), since DNS can point a public name at a private
// address. allowLoopback also accepts http and https to localhost or a
// loopback address.
func ValidateURL(raw string, allowLoopback bool) error {
	bad := func(reason, zh string) error { return apperr.Invalid("url", reason).ZhReason(zh) }
	if raw == "" {
		return bad("is required", "必填")
	}
	if len(raw) > MaxURLLength {
		return bad("must be at most 2048 characters", "最多 2048 个字符")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return bad("must be an absolute https URL", "必须是完整的 https 地址")
	}
	if u.User != nil {
		return bad("must not carry a user name or password", "不能包含用户名或密码")
	}
	if u.Fragment != "" {
		return bad("must not have a fragment", "不能包含片段（#）")
	}
	host := u.Hostname()
	loopback := host == "localhost" || strings.HasSuffix(host, ".localhost")
	if ip, err := netip.ParseAddr(host); err == nil {
		loopback = ip.IsLoopback()
		if !loopback && !IsPublic(ip) {
			return bad("must not point at a private, link-local or reserved address", "不能指向内网、链路本地或保留地址")
		}
	}
	switch {
	case loopback && !allowLoopback:
		return bad("must not point at localhost", "不能指向本机")
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback:
	default:
		return bad("must use https", "必须使用 https")
	}
	return nil
}

// IsPublic reports whether ip is a routable public address: not loopback,
// private (RFC 1918, fc00::/7), link-local (cloud metadata at
// 169.254.169.254), shared (100.64.0.0/10), multicast or unspecified.
func IsPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("64:ff9b::/96"),
}

// PublicDialer is a net.Dialer whose connections go only to public
// addresses (and loopback when allowLoopback), checked after DNS
// resolution, so a name that resolves to an internal address is refused.
func PublicDialer(allowLoopback bool) *net.Dialer {
	return &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if ip := ap.Addr(); IsPublic(ip) || (allowLoopback && ip.Unmap().IsLoopback()) {
				return nil
			}
			return &net.AddrError{Err: "webhook endpoints must be public addresses", Addr: address}
		},
	}
}

// Store keeps subscriptions and their delivery log. Methods take the
// caller's row-level-security scope; not found (or another owner's) is
// apperr.ENOTFOUND.
type Store interface {
	CreateSubscription(ctx context.Context, scope pg.Scope, s Subscription, secret []byte) error
	GetSubscription(ctx context.Context, scope pg.Scope, owner, id string) (Subscription, error)
	ListSubscriptions(ctx context.Context, scope pg.Scope, owner string) ([]Subscription, error)
	DeleteSubscription(ctx context.Context, scope pg.Scope, owner, id string) error
	// RotateSecret makes secret current; the current one stays valid
	// until previousExpire.
	RotateSecret(ctx context.Context, scope pg.Scope, owner, id string, secret []byte, previousExpire, now time.Time) (Subscription, error)
	// Enable makes a disabled subscription active again.
	Enable(ctx context.Context, scope pg.Scope, owner, id string, now time.Time) (Subscription, error)
	// ListDeliveries pages the subscription's log newest first, by
	// keyset: p.After is a previous page's token (pg.EncodePageToken of
	// its last row), p.Size the page's size; the answer's token
	// continues after it, empty on the last page.
	ListDeliveries(ctx context.Context, scope pg.Scope, owner, subscription string, p Page) ([]Delivery, string, error)
	// Redeliver sets a logged delivery pending again and, in the same
	// transaction, records the outbox event that asks its resource's
	// workflow to send it.
	Redeliver(ctx context.Context, scope pg.Scope, owner, subscription, delivery string, now time.Time) (Delivery, error)
}
