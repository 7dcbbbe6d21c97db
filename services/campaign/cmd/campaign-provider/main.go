// Command campaign-provider is the local recording provider the campaign
// service sends to under `make run` and in tests: the SMS gateway and
// WeChat APIs on PROVIDER_HTTP_ADDR (and GET /recorded), SMTP on
// PROVIDER_SMTP_ADDR; accepted messages go to PROVIDER_RECORD_FILE and
// delivery receipts to PROVIDER_RECEIPT_URL; PROVIDER_DELAY adds a
// latency per accepted request, like a real gateway's.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/services/campaign/provider"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "campaign-provider:", err)
		os.Exit(1)
	}
}

func run() error {
	l := config.FromEnv()
	httpAddr := l.String("PROVIDER_HTTP_ADDR", "127.0.0.1:9185")
	smtpAddr := l.String("PROVIDER_SMTP_ADDR", "127.0.0.1:2525")
	file := l.String("PROVIDER_RECORD_FILE", "")
	receiptURL := l.String("PROVIDER_RECEIPT_URL", "http://127.0.0.1:9115/v1/receipts")
	r, err := provider.New(file)
	if err != nil {
		return err
	}
	defer r.Close()
	r.SMSAPIKey = l.String("SMS_API_KEY", "dev")
	r.SMSSecret = l.String("SMS_API_SECRET", "dev-secret")
	r.WeChatAppID = l.String("WECHAT_APP_ID", "dev")
	r.WeChatKey = l.String("WECHAT_APP_SECRET", "dev-secret")
	r.Delay = l.Duration("PROVIDER_DELAY", 0)
	r.ReceiptURL = receiptURL
	r.ReceiptSecret = l.String("CAMPAIGN_RECEIPTS_SECRET", "dev-secret")
	if err := l.Err(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hl, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (PROVIDER_HTTP_ADDR): %w", httpAddr, err)
	}
	sl, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (PROVIDER_SMTP_ADDR): %w", smtpAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", r.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go r.RunReceipts(ctx)
	go func() { _ = r.ServeSMTP(ctx, sl) }()
	slog.Info("recording provider listening", "http_addr", hl.Addr().String(), "smtp_addr", sl.Addr().String(), "record_file", file)
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(hl); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
