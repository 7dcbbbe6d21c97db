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
	"slices"
	"strings"
	"sync"
	"time"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	campaignv1 "github.com/dealercare/dealercare/gen/go/dealercare/campaign/v1"
	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	webhookv1 "github.com/dealercare/dealercare/gen/go/dealercare/webhook/v1"
	"github.com/dealercare/dealercare/gen/go/openapi"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/dealerlist"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/pkg/tenancy"
	"github.com/dealercare/dealercare/services/gateway/idempotency"
	"github.com/dealercare/dealercare/services/gateway/middleware"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
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
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
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
	api := bodyLimit(m.Config.MaxBodyBytes, m.Config.MaxImportBytes, idempotency.Middleware(m.store, m.Config.Idempotency.Options(m.Log))(mux))
	api = dealerPathGuard(&visibleDealers{client: customerv1.NewDealerNetworkServiceClient(customer), cache: map[string]dealersEntry{}}, api)
	if m.Config.RateLimit.Enabled() {
		api = middleware.RateLimit(m.Config.RateLimit)(api)
	}
	api = middleware.UTF8()(api)
	api = middleware.LogPrincipal()(api)
	root.Handle("/v1/", routeFallback(m.authenticate(verifier, api)))

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

// authenticate rejects requests without a valid bearer token with 401 in the
// google.rpc.Status shape. The token itself travels on to the services.
func (m *Main) authenticate(v auth.TokenVerifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := auth.BearerToken(r.Header.Get("Authorization"))
		if err == nil {
			var p *auth.Principal
			if p, err = v.Verify(r.Context(), raw); err == nil {
				next.ServeHTTP(w, r.WithContext(auth.NewContextWithPrincipal(r.Context(), p)))
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="dealercare"`)
		msg := err.Error()
		if apperr.ParseAcceptLanguage(r.Header.Get("Accept-Language")) == apperr.LangZH {
			msg = tokenErrorZh(err)
		}
		middleware.WriteStatus(w, http.StatusUnauthorized, codes.Unauthenticated, msg)
	})
}

// bodyLimit caps request bodies: imports (POST .../imports) get their own,
// larger limit.
func bodyLimit(limit, importLimit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The body is kept for the path of a field it gets wrong
		// (errorHandler); an import's file is not.
		n, isImport := limit, r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/imports")
		if isImport {
			n = importLimit
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, withBody(r, &requestBody{limit: n}, !isImport))
	})
}

// dealerPathGuard answers 404 at the edge when a user addresses a dealer
// outside their view by path (/v1/dealers/{other}/...): for dealer staff
// another dealer, for a region manager a dealer of another region, for HQ a
// dealer that does not exist (whose lists would otherwise answer empty, as
// if a mistyped code were a dealer without complaints). The services check
// again (and PostgreSQL row-level security below them); answering here
// keeps the answer uniform, whatever a service would have validated
// first, and saves the call.
func dealerPathGuard(network *visibleDealers, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFromContext(r.Context())
		rest, scoped := strings.CutPrefix(r.URL.Path, "/v1/dealers/")
		if !ok || !scoped || p.IsService() {
			next.ServeHTTP(w, r)
			return
		}
		code, _, _ := strings.Cut(rest, "/")
		code, _, _ = strings.Cut(code, ":")
		visible := code == "" || (p.IsDealer() && code == p.Dealer) || acrossDealers(r)
		if !visible && (p.IsRegion() || p.IsHQ()) {
			var err error
			visible, err = network.sees(r.Context(), p, r.Header.Get("Authorization"), code)
			if err != nil {
				middleware.WriteStatus(w, http.StatusServiceUnavailable, codes.Unavailable, "dealer network unavailable, retry later")
				return
			}
		}
		if !visible {
			msg := fmt.Sprintf("dealer %q not found", code)
			if apperr.ParseAcceptLanguage(r.Header.Get("Accept-Language")) == apperr.LangZH {
				msg = fmt.Sprintf("经销商“%s”不存在", code)
			}
			middleware.WriteStatus(w, http.StatusNotFound, codes.NotFound, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// acrossDealers reports whether r reads a collection across every dealer
// the caller sees (/v1/dealers/-/complaints): the service scopes it.
func acrossDealers(r *http.Request) bool {
	switch r.URL.Path {
	case "/v1/dealers/" + tenancy.AnyDealer + "/complaints", "/v1/dealers/" + tenancy.AnyDealer + "/notifications":
		return r.Method == http.MethodGet
	}
	return false
}

// visibleDealers caches, per region, the dealers the customer service says
// a region manager sees, for a short while: a dealer moved between regions
// is seen within dealerCacheTTL, and a code missing from a list older than
// dealerRecheck is asked again. HQ sees every dealer, so for HQ it caches
// the network's codes the same way, and asks the customer service for a
// code missing from them (one dealer: a dealer just created is found at
// once, and a mistyped code costs one lookup).
type visibleDealers struct {
	client customerv1.DealerNetworkServiceClient
	mu     sync.Mutex
	cache  map[string]dealersEntry
}

type dealersEntry struct {
	codes []string
	at    time.Time
}

const (
	dealerCacheTTL = 30 * time.Second
	dealerRecheck  = 2 * time.Second
)

// sees reports whether p (a region manager or HQ) sees dealer code.
func (vd *visibleDealers) sees(ctx context.Context, p *auth.Principal, authorization, code string) (bool, error) {
	key := "region:" + p.Region
	if p.IsHQ() {
		key = "hq"
	}
	vd.mu.Lock()
	e, ok := vd.cache[key]
	vd.mu.Unlock()
	age := time.Since(e.at)
	fresh := ok && age < dealerCacheTTL
	switch {
	case fresh && slices.Contains(e.codes, code):
		return true, nil
	case fresh && p.IsHQ():
		return vd.exists(ctx, authorization, code)
	case fresh && age < dealerRecheck:
		return false, nil
	}
	// Asked with the caller's own token: the customer service applies its
	// visibility rule to exactly this principal.
	raw, _ := auth.BearerToken(authorization)
	list, err := dealerlist.Codes(auth.WithToken(ctx, raw), vd.client)
	if err != nil {
		return false, err
	}
	vd.mu.Lock()
	vd.cache[key] = dealersEntry{codes: list, at: time.Now()}
	vd.mu.Unlock()
	return slices.Contains(list, code), nil
}

// exists asks the customer service whether dealer code exists, with the
// caller's (HQ's) token.
func (vd *visibleDealers) exists(ctx context.Context, authorization, code string) (bool, error) {
	raw, _ := auth.BearerToken(authorization)
	_, err := vd.client.GetDealer(auth.WithToken(ctx, raw), &customerv1.GetDealerRequest{Dealer: code})
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.NotFound, codes.InvalidArgument:
		return false, nil
	}
	return false, err
}

// tokenErrorZh is the Chinese message of a token error, by its kind.
func tokenErrorZh(err error) string {
	for kind, msg := range map[error]string{
		auth.ErrMissingToken:         "缺少 Bearer 令牌（Authorization 请求头）",
		auth.ErrMalformedToken:       "令牌格式错误",
		auth.ErrUnsupportedAlgorithm: "不支持的签名算法",
		auth.ErrUnknownKey:           "未知的签名密钥",
		auth.ErrInvalidSignature:     "令牌签名无效",
		auth.ErrTokenExpired:         "令牌已过期",
		auth.ErrTokenNotYetValid:     "令牌尚未生效",
		auth.ErrUntrustedIssuer:      "令牌签发方不受信任",
		auth.ErrWrongAudience:        "令牌受众不匹配",
		auth.ErrInvalidClaims:        "令牌声明无效",
	} {
		if errors.Is(err, kind) {
			return msg
		}
	}
	return "令牌无效"
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
