package app_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/program/programtest"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/services/campaign/postgres"
	"google.golang.org/grpc"
)

// campaignStack is what the process tests run: the real customer
// service, campaign service, worker and recording provider as processes,
// against one PostgreSQL database (both schemas) and the Temporal dev
// server.
type campaignStack struct {
	db  *pgtest.DB
	id  *authtest.Issuer
	bin map[string]string
	dir string
	// recordFile is the provider's record of every message it received;
	// providerHTTP its HTTP address (also GET /recorded).
	recordFile, providerHTTP   string
	customerAddr, campaignAddr string
	temporalAddr, namespace    string
	// callbackAddr is the callback service's, when the stack runs it.
	callbackAddr string
	// campaignEnv and workerEnv start those programs again (after a kill).
	campaignEnv, workerEnv, callbackEnv  []string
	provider, customer, campaign, worker *programtest.Proc
	callback                             *programtest.Proc
}

// startCampaignStack migrates the campaign schema (the customer service
// migrates its own on start) and starts the four programs, with the
// callback service as a fifth (migrating its own schema) when
// withCallback is set; providerEnv and campaignEnv are added to the
// provider's and the campaign service's environment.
func startCampaignStack(t *testing.T, providerEnv, campaignEnv []string, withCallback bool) *campaignStack {
	t.Helper()
	s := startServices(t, providerEnv, campaignEnv, withCallback)
	s.worker = programtest.Start(t, s.bin["worker"], s.dir, s.workerEnv)
	return s
}

// startServices is startCampaignStack but its worker (s.workerEnv starts
// it), all in a Temporal namespace of their own: the worker's
// network-wide greeting workflows are this stack's.
func startServices(t *testing.T, providerEnv, campaignEnv []string, withCallback bool) *campaignStack {
	t.Helper()
	temporalAddr := temporaltest.Address(t)
	s := &campaignStack{db: pgtest.New(t, "customer", nil), temporalAddr: temporalAddr, namespace: temporaltest.Namespace(t, temporalAddr)}
	fsys, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(context.Background(), s.db.OwnerURL, postgres.Schema, pgtest.AppRole, fsys); err != nil {
		t.Fatal(err)
	}
	s.bin, s.id, s.dir = buildPrograms(t, withCallback), authtest.New(t), t.TempDir()

	ports := programtest.FreePorts(t, 7)
	callbackTarget := "127.0.0.1:1"
	if withCallback {
		s.callbackAddr = ports[6]
		callbackTarget = s.callbackAddr
	}
	receiptsAddr, providerSMTP, workerHealth := ports[2], ports[4], ports[5]
	s.customerAddr, s.campaignAddr, s.providerHTTP = ports[0], ports[1], ports[3]
	providerHTTP := s.providerHTTP
	common := []string{
		"AUTH_JWKS_URL=" + s.id.Config.JWKSURL, "AUTH_ISSUER=" + s.id.Config.Issuer, "AUTH_AUDIENCE=" + s.id.Config.Audience,
		"TEMPORAL_ADDRESS=" + temporalAddr, "TEMPORAL_NAMESPACE=" + s.namespace, "CUSTOMER_GRPC_TARGET=" + s.customerAddr, "CAMPAIGN_GRPC_TARGET=" + s.campaignAddr,
		"CALLBACK_GRPC_TARGET=" + callbackTarget, "COMPLAINT_GRPC_TARGET=127.0.0.1:1", "SERVICE_TOKEN_FILE=" + s.id.ServiceTokenFile,
		"LOG_LEVEL=warn", "PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
	}
	with := func(extra ...[]string) []string {
		env := append([]string(nil), common...)
		for _, e := range extra {
			env = append(env, e...)
		}
		return env
	}
	s.recordFile = filepath.Join(s.dir, "provider.jsonl")
	s.provider = programtest.Start(t, s.bin["campaign-provider"], s.dir, with([]string{"PROVIDER_HTTP_ADDR=" + providerHTTP,
		"PROVIDER_SMTP_ADDR=" + providerSMTP, "PROVIDER_RECORD_FILE=" + s.recordFile,
		"PROVIDER_RECEIPT_URL=http://" + receiptsAddr + "/v1/receipts"}, providerEnv))
	s.customer = programtest.Start(t, s.bin["customer"], s.dir, with(pii.NewRandomKeys().Env(), []string{"CUSTOMER_GRPC_ADDR=" + s.customerAddr,
		"DATABASE_URL=" + s.db.AppURL, "MIGRATE_ON_START=true", "MIGRATE_DATABASE_URL=" + s.db.OwnerURL, "DATABASE_APP_ROLE=" + pgtest.AppRole}))
	if withCallback {
		s.callbackEnv = with([]string{"CALLBACK_GRPC_ADDR=" + s.callbackAddr,
			"DATABASE_URL=" + s.db.AppURL, "MIGRATE_ON_START=true", "MIGRATE_DATABASE_URL=" + s.db.OwnerURL, "DATABASE_APP_ROLE=" + pgtest.AppRole})
		s.callback = programtest.Start(t, s.bin["callback"], s.dir, s.callbackEnv)
	}
	s.campaignEnv = with([]string{"CAMPAIGN_GRPC_ADDR=" + s.campaignAddr, "DATABASE_URL=" + s.db.AppURL,
		"CAMPAIGN_RECEIPTS_ADDR=" + receiptsAddr, "SMS_GATEWAY_URL=http://" + providerHTTP, "WECHAT_API_URL=http://" + providerHTTP,
		"SMTP_ADDR=" + providerSMTP}, campaignEnv)
	s.workerEnv = with([]string{"WORKER_HEALTH_ADDR=" + workerHealth})
	s.campaign = programtest.Start(t, s.bin["campaign"], s.dir, s.campaignEnv)
	return s
}

// hqReady returns an HQ admin's context, the customer service's connection
// and the campaign client, once the customer and campaign services answer.
func (s *campaignStack) hqReady(ctx context.Context, t *testing.T) (context.Context, *grpc.ClientConn, campaignv1.CampaignServiceClient) {
	t.Helper()
	hq := auth.WithToken(ctx, s.id.Token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}}))
	cc := dialGRPC(t, s.customerAddr)
	network := customerv1.NewDealerNetworkServiceClient(cc)
	campaigns := campaignv1.NewCampaignServiceClient(dialGRPC(t, s.campaignAddr))
	temporaltest.WaitFor(ctx, t, func() bool {
		_, err := network.ListRegions(hq, &customerv1.ListRegionsRequest{})
		_, perr := campaigns.GetMessagingPolicy(hq, &campaignv1.GetMessagingPolicyRequest{})
		return err == nil && perr == nil
	})
	return hq, cc, campaigns
}
