package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	"github.com/dealercare/dealercare/pkg/auth"
)

// InboxNotifier tells the owner in the inbox its staff read over REST:
// the complaint service's notifications (NoticeService.PostNotice, read
// at /v1/dealers/{dealer}/notifications, HQ's at /v1/dealers/-/...). A
// dealer's subscription notifies the roles that may manage it
// (dealer_gm, dealer_manager), an HQ subscription hq_admin. The notice's
// key is the subscription and the time it was disabled, so a retried or
// repeated call posts nothing twice, and a later disabling (after
// :enable) is a new notice.
type InboxNotifier struct {
	Client complaintv1.NoticeServiceClient
	// TokenFile holds the service's own token (SERVICE_TOKEN_FILE),
	// re-read on each call (it is rotated).
	TokenFile string
	Log       *slog.Logger
}

// maxReason bounds the reason quoted in a notice (PostNotice takes 1,000
// characters).
const maxReason = 300

// SubscriptionDisabled posts the notices.
func (n InboxNotifier) SubscriptionDisabled(ctx context.Context, owner, subscription, reason string, at time.Time) error {
	raw, err := os.ReadFile(n.TokenFile)
	if err != nil {
		return fmt.Errorf("read SERVICE_TOKEN_FILE: %w", err)
	}
	ctx = auth.WithToken(ctx, strings.TrimSpace(string(raw)))
	subject, roles := "webhookSubscriptions/"+subscription, []auth.Role{auth.RoleHQAdmin}
	if owner != "" {
		subject, roles = "dealers/"+owner+"/"+subject, []auth.Role{auth.RoleDealerGM, auth.RoleDealerManager}
	}
	if utf8.RuneCountInString(reason) > maxReason {
		reason = string([]rune(reason)[:maxReason]) + "…"
	}
	message := fmt.Sprintf("Webhook subscription %s was disabled: %s. Fix the endpoint, then enable it (:enable) and redeliver what failed. / "+
		"Webhook 订阅 %s 已停用：%s。请修复接收端后启用（:enable）并重新投递失败的事件。", subscription, reason, subscription, reason)
	for _, r := range roles {
		if _, err := n.Client.PostNotice(ctx, &complaintv1.PostNoticeRequest{Dealer: owner, RecipientRole: string(r), Subject: subject,
			Message: message, Key: fmt.Sprintf("webhook-disabled/%s/%d", subscription, at.UnixMicro())}); err != nil {
			return fmt.Errorf("post the notice to %s: %w", r, err)
		}
	}
	if n.Log != nil {
		n.Log.Info("webhook subscription disabled: owner notified", "owner", owner, "subscription", subscription)
	}
	return nil
}
