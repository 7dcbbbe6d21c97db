// Command campaign-provider is the local recording provider the campaign
// service sends to under `make run` and in tests: the SMS gateway and
// WeChat APIs on PROVIDER_HTTP_ADDR (and GET /recorded), SMTP on
// PROVIDER_SMTP_ADDR; accepted messages go to PROVIDER_RECORD_FILE and
// delivery receipts to PROVIDER_RECEIPT_URL; PROVIDER_DELAY adds a
// latency per accepted request, like a real gateway's. `--help` lists the
// variables (the chart's drift test reads it; the chart deploys it in dev
// values only).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	"github.com/dealercare/dealercare/services/campaign/provider"
)

// Config is what the recording provider reads.
type Config struct {
	Telemetry              telemetry.Config
	HTTPAddr, SMTPAddr     string
	RecordFile, ReceiptURL string
	SMSAPIKey, SMSSecret   string
	WeChatAppID, WeChatKey string
	ReceiptSecret          string
	Delay                  time.Duration
}

func loadConfig(l *config.Loader) (Config, error) {
	c := Config{
		Telemetry:     telemetry.LoadConfig(l, "campaign-provider"),
		HTTPAddr:      l.String("PROVIDER_HTTP_ADDR", "127.0.0.1:9185"),
		SMTPAddr:      l.String("PROVIDER_SMTP_ADDR", "127.0.0.1:2525"),
		RecordFile:    l.String("PROVIDER_RECORD_FILE", ""),
		ReceiptURL:    l.String("PROVIDER_RECEIPT_URL", "http://127.0.0.1:9115/v1/receipts"),
		SMSAPIKey:     l.String("SMS_API_KEY", "dev"),
		SMSSecret:     l.String("SMS_API_SECRET", "dev-secret"),
		WeChatAppID:   l.String("WECHAT_APP_ID", "dev"),
		WeChatKey:     l.String("WECHAT_APP_SECRET", "dev-secret"),
		Delay:         l.Duration("PROVIDER_DELAY", 0),
		ReceiptSecret: l.String("CAMPAIGN_RECEIPTS_SECRET", "dev-secret"),
	}
	return c, l.Err()
}

func main() {
	program.Main(program.Program[Config]{
		Name:       "campaign-provider",
		LoadConfig: loadConfig,
		Telemetry:  func(c Config) telemetry.Config { return c.Telemetry },
		New:        func(c Config) program.Process { return &recording{Config: c} },
	})
}

// recording is the provider as a program.Process.
type recording struct {
	Config
	r      *provider.Recorder
	hl, sl net.Listener
}

func (p *recording) Open(context.Context) error {
	r, err := provider.New(p.RecordFile)
	if err != nil {
		return err
	}
	p.r = r
	r.SMSAPIKey, r.SMSSecret = p.SMSAPIKey, p.SMSSecret
	r.WeChatAppID, r.WeChatKey = p.WeChatAppID, p.WeChatKey
	r.Delay, r.ReceiptURL, r.ReceiptSecret = p.Delay, p.ReceiptURL, p.ReceiptSecret
	if p.hl, err = net.Listen("tcp", p.HTTPAddr); err != nil {
		return fmt.Errorf("listen on %s (PROVIDER_HTTP_ADDR): %w", p.HTTPAddr, err)
	}
	if p.sl, err = net.Listen("tcp", p.SMTPAddr); err != nil {
		return fmt.Errorf("listen on %s (PROVIDER_SMTP_ADDR): %w", p.SMTPAddr, err)
	}
	return nil
}

func (p *recording) Run(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("/", p.r.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go p.r.RunReceipts(ctx)
	go func() { _ = p.r.ServeSMTP(ctx, p.sl) }()
	slog.Info("recording provider listening", "http_addr", p.hl.Addr().String(), "smtp_addr", p.sl.Addr().String(), "record_file", p.RecordFile)
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(p.hl); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (p *recording) Close() error {
	var err error
	if p.r != nil {
		err = p.r.Close()
	}
	return err
}
