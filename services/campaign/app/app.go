// Package app wires the campaign service: configuration, PostgreSQL, the
// customer service (audiences, contacts), the channel providers, the
// delivery-receipt endpoint, the outbox relay to the campaign workflows,
// and the gRPC server. The half every domain service shares is
// pkg/service.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/service"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/campaign/campaign"
	"github.com/dealercare/dealercare/services/campaign/channel"
	"github.com/dealercare/dealercare/services/campaign/customer"
	campaigngrpc "github.com/dealercare/dealercare/services/campaign/grpc"
	"github.com/dealercare/dealercare/services/campaign/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
)

// ServiceName names the process in logs and traces.
const ServiceName = "campaign"

// Providers configures the channels. The defaults are the local recording
// provider (`campaign-provider`) that `make run` starts.
type Providers struct {
	SMSURL, SMSAPIKey, SMSSecret, SMSSignName  string
	SMTPAddr, SMTPFrom, SMTPUser, SMTPPassword string
	WeChatURL, WeChatAppID, WeChatSecret       string
	CallbackTarget                             string
	// ReceiptsAddr is where providers post delivery receipts
	// (CAMPAIGN_RECEIPTS_ADDR); ReceiptsSecret verifies their signature.
	ReceiptsAddr, ReceiptsSecret string
}

// Config of the campaign service.
type Config struct {
	service.Config
	Network   service.NetworkConfig
	Providers Providers
	// SendLease is how long a claimed recipient stays with its sender
	// before another may resend it (CAMPAIGN_SEND_LEASE).
	SendLease time.Duration
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	common, dbErr := service.LoadConfig(l, ServiceName, "CAMPAIGN_GRPC_ADDR", "127.0.0.1:9105")
	c := Config{Config: common, Network: service.LoadNetworkConfig(l),
		Providers: Providers{
			SMSURL:         l.String("SMS_GATEWAY_URL", "http://127.0.0.1:9185"),
			SMSAPIKey:      l.String("SMS_API_KEY", "dev"),
			SMSSecret:      l.String("SMS_API_SECRET", "dev-secret"),
			SMSSignName:    l.String("SMS_SIGN_NAME", "dealercare"),
			SMTPAddr:       l.String("SMTP_ADDR", "127.0.0.1:2525"),
			SMTPFrom:       l.String("SMTP_FROM", "service@dealercare.example"),
			SMTPUser:       l.String("SMTP_USERNAME", ""),
			SMTPPassword:   l.String("SMTP_PASSWORD", ""),
			WeChatURL:      l.String("WECHAT_API_URL", "http://127.0.0.1:9185"),
			WeChatAppID:    l.String("WECHAT_APP_ID", "dev"),
			WeChatSecret:   l.String("WECHAT_APP_SECRET", "dev-secret"),
			CallbackTarget: l.String("CALLBACK_GRPC_TARGET", "127.0.0.1:9102"),
			ReceiptsAddr:   l.String("CAMPAIGN_RECEIPTS_ADDR", "127.0.0.1:9115"),
			ReceiptsSecret: l.String("CAMPAIGN_RECEIPTS_SECRET", "dev-secret"),
		},
		SendLease: l.Duration("CAMPAIGN_SEND_LEASE", 2*time.Minute),
	}
	for _, v := range []struct{ name, url string }{{"SMS_GATEWAY_URL", c.Providers.SMSURL}, {"WECHAT_API_URL", c.Providers.WeChatURL}} {
		l.Check(strings.HasPrefix(v.url, "http://") || strings.HasPrefix(v.url, "https://"), v.name, "%q is not an http(s) URL", v.url)
	}
	_, _, err := net.SplitHostPort(c.Providers.SMTPAddr)
	l.Check(err == nil, "SMTP_ADDR", "%q is not host:port", c.Providers.SMTPAddr)
	_, _, err = net.SplitHostPort(c.Providers.ReceiptsAddr)
	l.Check(err == nil, "CAMPAIGN_RECEIPTS_ADDR", "%q is not host:port", c.Providers.ReceiptsAddr)
	l.Check(c.SendLease >= time.Second, "CAMPAIGN_SEND_LEASE", "must be at least 1s")
	return c, errors.Join(l.Err(), dbErr)
}

var schema = service.Schema{Name: postgres.Schema, Migrations: postgres.Migrations}

// Migrate applies the campaign schema's migrations as the owner.
func Migrate(ctx context.Context, ownerURL, appRole string) error {
	return schema.Migrate(ctx, ownerURL, appRole)
}

// Main is the running campaign service.
type Main struct {
	Config Config
	Log    *slog.Logger
	// Now is the service's clock (time.Now when nil).
	Now func() time.Time

	server   service.NetworkServer
	conns    []*grpc.ClientConn
	receipts *http.Server
	lis      net.Listener
}

// visibility adapts tenancy.Access to campaign.Visibility.
type visibility struct{ access tenancy.Access }

func (v visibility) Visible(ctx context.Context) (*auth.Principal, campaign.Scope, error) {
	p, scope, err := v.access.Visible(ctx)
	if err != nil {
		return nil, campaign.Scope{}, err
	}
	return p, campaign.Scope{All: scope.All(), Dealers: scope.DealerCodes()}, nil
}

func (m *Main) dial(target, variable string) (*grpc.ClientConn, error) {
	conn, err := service.Dial(target, variable)
	if err != nil {
		return nil, err
	}
	m.conns = append(m.conns, conn)
	return conn, nil
}

// Open connects and binds the ports.
func (m *Main) Open(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	now := m.Now
	if now == nil {
		now = time.Now
	}
	customerConn, err := m.dial(m.Config.Network.CustomerTarget, "CUSTOMER_GRPC_TARGET")
	if err != nil {
		return err
	}
	callbackConn, err := m.dial(m.Config.Providers.CallbackTarget, "CALLBACK_GRPC_TARGET")
	if err != nil {
		return err
	}
	tokenFile := m.Config.Network.ServiceTokenFile
	token := func() (string, error) {
		raw, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", fmt.Errorf("read SERVICE_TOKEN_FILE: %w", err)
		}
		return strings.TrimSpace(string(raw)), nil
	}
	p := m.Config.Providers
	senders := map[campaign.Channel]campaign.Sender{
		campaign.ChannelSMS:      &channel.SMS{BaseURL: p.SMSURL, APIKey: p.SMSAPIKey, Secret: p.SMSSecret, SignName: p.SMSSignName},
		campaign.ChannelEmail:    &channel.Email{Addr: p.SMTPAddr, From: p.SMTPFrom, Username: p.SMTPUser, Password: p.SMTPPassword},
		campaign.ChannelWeChat:   &channel.WeChat{BaseURL: p.WeChatURL, AppID: p.WeChatAppID, Secret: p.WeChatSecret},
		campaign.ChannelCallback: &channel.Callback{Client: callbackv1.NewCallbackWorkflowServiceClient(callbackConn), Token: token},
	}
	dir := &customer.Directory{
		Network:   customerv1.NewDealerNetworkServiceClient(customerConn),
		Segments:  customerv1.NewSegmentServiceClient(customerConn),
		TokenFile: tokenFile,
	}
	m.server = service.NetworkServer{
		Server:  service.Server{Name: ServiceName, Config: m.Config.Config, Schema: schema, Log: m.Log},
		Network: m.Config.Network,
	}
	var svc *campaign.Service
	err = m.server.Open(ctx, func(srv *grpc.Server, pool *pgxpool.Pool, network tenancy.NetworkClient) error {
		store := postgres.NewStore(pool)
		svc = campaign.NewService(store, visibility{tenancy.Access{Network: network}}, dir, senders, now)
		svc.Lease = m.Config.SendLease
		campaignv1.RegisterCampaignServiceServer(srv, campaigngrpc.NewServer(svc))
		campaignv1.RegisterCampaignWorkflowServiceServer(srv, campaigngrpc.NewWorkflowServer(svc))
		campaignv1.RegisterCampaignChangeServiceServer(srv, campaigngrpc.NewChangeServer(store))
		return nil
	})
	if err != nil {
		return err
	}
	m.lis, err = net.Listen("tcp", p.ReceiptsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (CAMPAIGN_RECEIPTS_ADDR): %w", p.ReceiptsAddr, err)
	}
	m.receipts = &http.Server{Handler: channel.ReceiptHandler(svc, p.ReceiptsSecret, m.Log), ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// Addr is the bound gRPC address.
func (m *Main) Addr() string { return m.server.Addr() }

// ReceiptsAddr is the bound receipt endpoint.
func (m *Main) ReceiptsAddr() string { return m.lis.Addr().String() }

// Run serves until ctx is cancelled, then drains in-flight calls.
func (m *Main) Run(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- m.receipts.Serve(m.lis) }()
	err := m.server.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.receipts.Shutdown(sctx)
	if rerr := <-served; rerr != nil && !errors.Is(rerr, http.ErrServerClosed) {
		err = errors.Join(err, rerr)
	}
	return err
}

// Close releases connections.
func (m *Main) Close() error {
	err := m.server.Close()
	for _, c := range m.conns {
		err = errors.Join(err, c.Close())
	}
	return err
}
