// Package app wires the evaluation service: configuration, PostgreSQL,
// the clients of the source services' change feeds, and the gRPC server.
// The half every domain service shares (pool, gRPC server) is
// pkg/service, whose outbox relay hands the kpi_period.published webhook
// events to the webhook service's delivery workflows.
package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/service"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/dealercare/dealercare/services/evaluation/feeds"
	evaluationgrpc "github.com/dealercare/dealercare/services/evaluation/grpc"
	"github.com/dealercare/dealercare/services/evaluation/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
)

// ServiceName names the process in logs and traces.
const ServiceName = "evaluation"

// Config of the evaluation service.
type Config struct {
	service.Config
	// Network is how handlers reach the dealer network (and the archive's
	// change feed: the customer service).
	Network service.NetworkConfig
	// CallbackTarget and ComplaintTarget are where the other change feeds
	// are (CALLBACK_GRPC_TARGET, COMPLAINT_GRPC_TARGET).
	CallbackTarget, ComplaintTarget string
	// CampaignTarget is where the campaign targets' feed is
	// (CAMPAIGN_GRPC_TARGET); empty when no campaign service runs (the
	// chart's campaign component is off by default), which leaves
	// campaign_return_count without targets instead of stalling the feeds.
	CampaignTarget string
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	common, dbErr := service.LoadConfig(l, ServiceName, "EVALUATION_GRPC_ADDR", "127.0.0.1:9104")
	c := Config{Config: common, Network: service.LoadNetworkConfig(l),
		CallbackTarget:  l.String("CALLBACK_GRPC_TARGET", "127.0.0.1:9102"),
		ComplaintTarget: l.String("COMPLAINT_GRPC_TARGET", "127.0.0.1:9103"),
		CampaignTarget:  l.String("CAMPAIGN_GRPC_TARGET", ""),
	}
	return c, errors.Join(l.Err(), dbErr)
}

var schema = service.Schema{Name: postgres.Schema, Migrations: postgres.Migrations}

// Migrate applies the evaluation schema's migrations as the owner.
func Migrate(ctx context.Context, ownerURL, appRole string) error {
	return schema.Migrate(ctx, ownerURL, appRole)
}

// Main is the running evaluation service.
type Main struct {
	Config Config
	Log    *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	server service.NetworkServer
	conns  []*grpc.ClientConn
}

// Open connects (lazily) to the source services and PostgreSQL and binds
// the port.
func (m *Main) Open(ctx context.Context) error {
	if m.Now == nil {
		m.Now = time.Now
	}
	conns := map[string]*grpc.ClientConn{}
	for variable, target := range map[string]string{
		"CUSTOMER_GRPC_TARGET": m.Config.Network.CustomerTarget, "CALLBACK_GRPC_TARGET": m.Config.CallbackTarget,
		"COMPLAINT_GRPC_TARGET": m.Config.ComplaintTarget, "CAMPAIGN_GRPC_TARGET": m.Config.CampaignTarget,
	} {
		if target == "" {
			continue
		}
		conn, err := service.Dial(target, variable)
		if err != nil {
			return err
		}
		conns[variable] = conn
		m.conns = append(m.conns, conn)
	}
	m.server = service.NetworkServer{
		Server:  service.Server{Name: ServiceName, Config: m.Config.Config, Schema: schema, Log: m.Log},
		Network: m.Config.Network,
	}
	return m.server.Open(ctx, func(srv *grpc.Server, pool *pgxpool.Pool, network tenancy.NetworkClient) error {
		store := postgres.NewStore(pool)
		store.Now = m.Now
		f := &feeds.Feeds{
			Callback:  callbackv1.NewCallbackChangeServiceClient(conns["CALLBACK_GRPC_TARGET"]),
			Complaint: complaintv1.NewComplaintChangeServiceClient(conns["COMPLAINT_GRPC_TARGET"]),
			Customer:  customerv1.NewArchiveChangeServiceClient(conns["CUSTOMER_GRPC_TARGET"]),
			TokenFile: m.Config.Network.ServiceTokenFile, Store: store,
		}
		if conn := conns["CAMPAIGN_GRPC_TARGET"]; conn != nil {
			f.Campaign = campaignv1.NewCampaignChangeServiceClient(conn)
		}
		svc := evaluation.NewService(store, tenancy.Access{Network: network}, m.Now)
		evaluationv1.RegisterKpiServiceServer(srv, evaluationgrpc.NewServer(svc))
		evaluationv1.RegisterKpiExportServiceServer(srv, evaluationgrpc.NewExportServer(svc))
		evaluationv1.RegisterKpiFactServiceServer(srv, evaluationgrpc.NewFactServer(svc, store))
		evaluationv1.RegisterRankingSettingsServiceServer(srv, evaluationgrpc.NewSettingsServer(svc))
		evaluationv1.RegisterSurveyAnalysisServiceServer(srv, evaluationgrpc.NewSurveyServer(evaluation.NewSurveys(svc, store)))
		evaluationv1.RegisterInspectionServiceServer(srv, evaluationgrpc.NewInspectionServer(evaluation.NewInspections(svc, store)))
		evaluationv1.RegisterEvaluationWorkflowServiceServer(srv, evaluationgrpc.NewWorkflowServer(store, f,
			customerv1.NewDealerNetworkServiceClient(conns["CUSTOMER_GRPC_TARGET"]), m.Config.Network.ServiceTokenFile, m.Now))
		return nil
	})
}

// Addr is the bound gRPC address.
func (m *Main) Addr() string { return m.server.Addr() }

// Run serves until ctx is cancelled, then drains in-flight calls.
func (m *Main) Run(ctx context.Context) error { return m.server.Run(ctx) }

// Close releases connections.
func (m *Main) Close() error {
	err := m.server.Close()
	for _, c := range m.conns {
		err = errors.Join(err, c.Close())
	}
	return err
}
