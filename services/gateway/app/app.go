// Package app is the REST gateway: grpc-gateway routes for every service,
// bearer-token verification at the edge (each service verifies the
// forwarded token again), the merged OpenAPI document and health endpoints.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	webhookv1 "github.com/dealercare/dealercare/gen/go/dealercare/webhook/v1"
	"github.com/dealercare/dealercare/gen/go/openapi"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/grpcclient"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/gateway/idempotency"
	"github.com/dealercare/dealercare/services/gateway/middleware"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
)

// ServiceName names the process in logs and traces.
const ServiceName = "gateway"

// Config of the gateway.
type Config struct {
	Telemetry       telemetry.Config
	Auth            auth.VerifierConfig
	HTTPAddr        string
	CustomerTarget  string
	ComplaintTarget string
	CallbackTarget  string
	CampaignTarget  string
	// WebhookTarget is the webhook service (WEBHOOK_GRPC_TARGET).
	WebhookTarget   string
	ShutdownTimeout time.Duration
	MaxBodyBytes    int64
	// MaxImportBytes limits DMS import uploads (base64 in JSON), which are
	// larger than any other request.
	MaxImportBytes int64
	RateLimit      middleware.RateLimitConfig
	CORS           middleware.CORSConfig
	Idempotency    idempotency.Config
	// Database holds idempotency records (schema gateway).
	Database pg.Config
	// MigrateURL, AppRole, MigrateOnStart: as in the services.
	MigrateURL     string
	AppRole        string
	MigrateOnStart bool

	// EvaluationTarget is the evaluation service (EVALUATION_GRPC_TARGET).
	EvaluationTarget string
}

// LoadConfig reads the environment; the error names every bad variable.
func LoadConfig(l *config.Loader) (Config, error) {
	c := Config{
		Telemetry:       telemetry.LoadConfig(l, ServiceName),
		Auth:            auth.LoadVerifierConfig(l),
		HTTPAddr:        l.String("GATEWAY_HTTP_ADDR", "127.0.0.1:8080"),
		CustomerTarget:  l.String("CUSTOMER_GRPC_TARGET", "127.0.0.1:9101"),
		ComplaintTarget: l.String("COMPLAINT_GRPC_TARGET", "127.0.0.1:9103"),
		CallbackTarget:  l.String("CALLBACK_GRPC_TARGET", "127.0.0.1:9102"),
		CampaignTarget:  l.String("CAMPAIGN_GRPC_TARGET", "127.0.0.1:9105"),
		WebhookTarget:   l.String("WEBHOOK_GRPC_TARGET", "127.0.0.1:9106"),
		ShutdownTimeout: l.Duration("SHUTDOWN_TIMEOUT", 20*time.Second),
		MaxBodyBytes:    int64(l.Int("GATEWAY_MAX_BODY_BYTES", 1<<20)),
		MaxImportBytes:  int64(l.Int("GATEWAY_MAX_IMPORT_BYTES", 280<<20)),
		RateLimit:       middleware.LoadRateLimitConfig(l),
		CORS:            middleware.LoadCORSConfig(l),
		Idempotency:     idempotency.LoadConfig(l),
		MigrateURL:      l.String("MIGRATE_DATABASE_URL", ""),
		AppRole:         l.String("DATABASE_APP_ROLE", "dealercare_app"),
		MigrateOnStart:  l.Bool("MIGRATE_ON_START", false),
	}
	c.EvaluationTarget = l.String("EVALUATION_GRPC_TARGET", "127.0.0.1:9104")
	_, _, err := net.SplitHostPort(c.HTTPAddr)
	l.Check(err == nil, "GATEWAY_HTTP_ADDR", "%q is not host:port", c.HTTPAddr)
	l.Check(c.MaxBodyBytes > 0, "GATEWAY_MAX_BODY_BYTES", "must be positive")
	l.Check(c.MaxImportBytes > 0, "GATEWAY_MAX_IMPORT_BYTES", "must be positive")
	l.Check(!c.MigrateOnStart || c.MigrateURL != "", "MIGRATE_DATABASE_URL", "is required when MIGRATE_ON_START=true")
	db, dbErr := pg.ConfigFromEnv(l.Getenv)
	db.ApplicationName = ServiceName
	c.Database = db
	return c, errors.Join(l.Err(), dbErr)
}

// Main is the running gateway.
type Main struct {
	Config Config
	Log    *slog.Logger

	lis   net.Listener
	srv   *http.Server
	conns []*grpc.ClientConn
	pool  *pgxpool.Pool
	store *idempotency.Store
}

// dial opens a client connection to a service with trace propagation.
func dial(target string) (*grpc.ClientConn, error) {
	conn, err := grpcclient.Dial(target,
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(grpcserver.DefaultMaxRecvBytes), grpc.MaxCallRecvMsgSize(64<<20)),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}

// Open dials the services, builds the routes and binds the port.
func (m *Main) Open(ctx context.Context) error {
	if m.Log == nil {
		m.Log = slog.Default()
	}
	verifier, err := auth.NewVerifier(ctx, m.Config.Auth)
	if err != nil {
		return fmt.Errorf("token verifier (AUTH_JWKS_URL): %w", err)
	}
	if m.Config.MigrateOnStart {
		if err := idempotency.Migrate(ctx, m.Config.MigrateURL, m.Config.AppRole); err != nil {
			return err
		}
	}
	m.Config.Database.SearchPath = idempotency.Schema
	if m.pool, err = pg.Open(ctx, m.Config.Database); err != nil {
		return err
	}
	if err := pg.VerifyServiceRole(ctx, m.pool, idempotency.Schema); err != nil {
		return err
	}
	m.store = idempotency.NewStore(m.pool)
	m.store.Log = m.Log
	customer, err := dial(m.Config.CustomerTarget)
	if err != nil {
		return fmt.Errorf("CUSTOMER_GRPC_TARGET: %w", err)
	}
	m.conns = append(m.conns, customer)
	complaints, err := dial(m.Config.ComplaintTarget)
	if err != nil {
		return fmt.Errorf("COMPLAINT_GRPC_TARGET: %w", err)
	}
	m.conns = append(m.conns, complaints)
	callbacks, err := dial(m.Config.CallbackTarget)
	if err != nil {
		return fmt.Errorf("CALLBACK_GRPC_TARGET: %w", err)
	}
	m.conns = append(m.conns, callbacks)
	evaluations, err := dial(m.Config.EvaluationTarget)
	if err != nil {
		return fmt.Errorf("EVALUATION_GRPC_TARGET: %w", err)
	}
	m.conns = append(m.conns, evaluations)
	campaigns, err := dial(m.Config.CampaignTarget)
	if err != nil {
		return fmt.Errorf("CAMPAIGN_GRPC_TARGET: %w", err)
	}
	m.conns = append(m.conns, campaigns)
	webhooks, err := dial(m.Config.WebhookTarget)
	if err != nil {
		return fmt.Errorf("WEBHOOK_GRPC_TARGET: %w", err)
	}
	m.conns = append(m.conns, webhooks)

	mux := runtime.NewServeMux(
		// HTTPBodyMarshaler writes a google.api.HttpBody answer (the
		// evaluation's exports) as its bytes with its content type.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
		runtime.WithMetadata(middleware.ForwardRequestID),
		runtime.WithMetadata(idempotency.ForwardKey),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithMiddlewares(routeLabel),
	)
	for _, register := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		customerv1.RegisterDealerNetworkServiceHandler,
		customerv1.RegisterArchiveServiceHandler,
		customerv1.RegisterImportServiceHandler,
	} {
		if err := register(ctx, mux, customer); err != nil {
			return fmt.Errorf("register customer routes: %w", err)
		}
	}
	if err := complaintv1.RegisterComplaintServiceHandler(ctx, mux, complaints); err != nil {
		return fmt.Errorf("register complaint routes: %w", err)
	}
	if err := callbackv1.RegisterCallbackServiceHandler(ctx, mux, callbacks); err != nil {
		return fmt.Errorf("register callback routes: %w", err)
	}
	if err := evaluationv1.RegisterKpiServiceHandler(ctx, mux, evaluations); err != nil {
		return fmt.Errorf("register evaluation routes: %w", err)
	}
	if err := evaluationv1.RegisterKpiExportServiceHandler(ctx, mux, evaluations); err != nil {
		return fmt.Errorf("register evaluation export routes: %w", err)
	}
	if err := evaluationv1.RegisterKpiFactServiceHandler(ctx, mux, evaluations); err != nil {
		return fmt.Errorf("register evaluation fact routes: %w", err)
	}
	if err := evaluationv1.RegisterRankingSettingsServiceHandler(ctx, mux, evaluations); err != nil {
		return fmt.Errorf("register evaluation settings routes: %w", err)
	}
	if err := evaluationv1.RegisterSurveyAnalysisServiceHandler(ctx, mux, evaluations); err != nil {
		return fmt.Errorf("register survey analysis routes: %w", err)
	}
	if err := evaluationv1.RegisterInspectionServiceHandler(ctx, mux, evaluations); err != nil {
		return fmt.Errorf("register inspection routes: %w", err)
	}
	if err := campaignv1.RegisterCampaignServiceHandler(ctx, mux, campaigns); err != nil {
		return fmt.Errorf("register campaign routes: %w", err)
	}
	if err := webhookv1.RegisterWebhookServiceHandler(ctx, mux, webhooks); err != nil {
		return fmt.Errorf("register webhook routes: %w", err)
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Document)
	})
	root.HandleFunc("GET /openapi/v2.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.Swagger)
	})
	root.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	})
	// /healthz checks every upstream service, each by name.
	root.Handle("GET /healthz", healthz([]upstream{
		{"customer", customer},
		{"complaint", complaints},
		{"callback", callbacks},
		{"evaluation", evaluations},
		{"campaign", campaigns},
		{"webhook", webhooks},
	}))
	// Order matters: CORS answers preflights before authentication; the
	// rate limit is per tenant, so it follows authentication.
	// Idempotency keys by the caller, so it follows authentication, and
	// reads the whole body, so it sits inside the body limit.
	api := middleware.BodyLimit(m.Config.MaxBodyBytes, m.Config.MaxImportBytes)(idempotency.Middleware(m.store, m.Config.Idempotency.Options(m.Log))(mux))
	api = middleware.DealerPathGuard(customerv1.NewDealerNetworkServiceClient(customer))(api)
	if m.Config.RateLimit.Enabled() {
		api = middleware.RateLimit(m.Config.RateLimit)(api)
	}
	api = middleware.UTF8()(api)
	api = middleware.LogPrincipal()(api)
	root.Handle("/v1/", routeFallback(middleware.Authenticate(verifier)(api)))

	var h http.Handler = root
	if m.Config.CORS.Enabled() {
		h = middleware.CORS(m.Config.CORS)(h)
	}
	h = middleware.Recover(m.Log)(h)
	h = middleware.AccessLog(m.Log)(h)
	h = middleware.RequestID()(h)
	m.srv = &http.Server{
		Handler:           otelhttp.NewHandler(h, "gateway"),
		ReadHeaderTimeout: 10 * time.Second,
	}
	lis, err := net.Listen("tcp", m.Config.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (GATEWAY_HTTP_ADDR): %w", m.Config.HTTPAddr, err)
	}
	m.lis = lis
	return nil
}

// URL is the gateway's base URL.
func (m *Main) URL() string { return "http://" + m.lis.Addr().String() }

// Run serves until ctx is cancelled, then lets in-flight requests finish.
func (m *Main) Run(ctx context.Context) error {
	m.Log.Info("gateway listening", "url", m.URL())
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	swept := make(chan error, 1)
	go func() { swept <- m.store.RunSweeper(sweepCtx, m.Config.Idempotency.SweepInterval) }()
	defer func() { stopSweep(); <-swept }()
	errc := make(chan error, 1)
	go func() { errc <- m.srv.Serve(m.lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	err := m.srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Close releases the client connections.
func (m *Main) Close() error {
	var errs []error
	for _, c := range m.conns {
		errs = append(errs, c.Close())
	}
	if m.pool != nil {
		m.pool.Close()
	}
	return errors.Join(errs...)
}

// routeLabel adds the matched route's pattern (/v1/dealers/{dealer}/...,
// never the path with its ids) as the "route" attribute of otelhttp's
// request metrics (http.server.request.duration: rate, errors and latency
// per route; deploy/monitoring).
func routeLabel(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if pat, ok := runtime.HTTPPattern(r.Context()); ok {
			if l, ok := otelhttp.LabelerFromContext(r.Context()); ok {
				l.Add(attribute.String("route", r.Method+" "+pat.String()))
			}
		}
		next(w, r, params)
	}
}

// routeFallback labels the requests /v1/ answers before a route matched
// (authentication, the dealer-path guard, the rate limit, no such route)
// as "<method> /v1/*", so they are counted and never by their raw path.
func routeFallback(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		l, ok := otelhttp.LabelerFromContext(r.Context())
		if !ok {
			return
		}
		for _, a := range l.Get() {
			if a.Key == "route" {
				return
			}
		}
		l.Add(attribute.String("route", r.Method+" /v1/*"))
	})
}
