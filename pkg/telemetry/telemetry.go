// Package telemetry sets up logging, tracing and metrics the same way in every
// dealercare process: slog JSON on stdout carrying the trace id, and
// OpenTelemetry traces and metrics exported over OTLP/gRPC when
// OTEL_EXPORTER_OTLP_ENDPOINT is set (off otherwise, at no cost).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/pii"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Config of logging and telemetry.
type Config struct {
	ServiceName  string
	LogLevel     slog.Level
	OTLPEndpoint string // host:port or URL (http://host:4317) of an OTLP/gRPC collector; empty disables export
	OTLPInsecure bool
}

// LoadConfig reads LOG_LEVEL, OTEL_EXPORTER_OTLP_ENDPOINT and
// OTEL_EXPORTER_OTLP_INSECURE.
func LoadConfig(l *config.Loader, service string) Config {
	c := Config{ServiceName: service}
	lvl := l.String("LOG_LEVEL", "info")
	if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
		l.Check(false, "LOG_LEVEL", "%q is not one of debug, info, warn, error", lvl)
	}
	c.OTLPEndpoint = l.String("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	c.OTLPInsecure = l.Bool("OTEL_EXPORTER_OTLP_INSECURE", true)
	return c
}

// NewLogger returns a JSON logger that adds trace_id and span_id from the
// context of each record and masks personal data (mobiles, ID numbers,
// addresses) that slips into a record, as a safety net behind the rule
// that handlers never log it.
func NewLogger(w io.Writer, service string, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(traceHandler{pii.RedactingHandler(h)}).With("service", service)
}

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(a)}
}
func (h traceHandler) WithGroup(n string) slog.Handler { return traceHandler{h.Handler.WithGroup(n)} }

// Setup installs the global logger, propagator, tracer and meter providers.
// The returned shutdown flushes exporters.
func Setup(ctx context.Context, c Config) (shutdown func(context.Context) error, err error) {
	slog.SetDefault(NewLogger(os.Stdout, c.ServiceName, c.LogLevel))
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	res := resource.NewSchemaless(semconv.ServiceName(c.ServiceName))
	var tpOpts []sdktrace.TracerProviderOption
	var mpOpts []sdkmetric.Option
	tpOpts = append(tpOpts, sdktrace.WithResource(res))
	mpOpts = append(mpOpts, sdkmetric.WithResource(res))
	if c.OTLPEndpoint != "" {
		topts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(c.OTLPEndpoint)}
		mopts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpoint(c.OTLPEndpoint)}
		if strings.Contains(c.OTLPEndpoint, "://") {
			// The specification's form: a URL whose scheme says whether
			// to use TLS (http: plaintext).
			topts = []otlptracegrpc.Option{otlptracegrpc.WithEndpointURL(c.OTLPEndpoint)}
			mopts = []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpointURL(c.OTLPEndpoint)}
		} else if c.OTLPInsecure {
			topts = append(topts, otlptracegrpc.WithInsecure())
			mopts = append(mopts, otlpmetricgrpc.WithInsecure())
		}
		te, err := otlptracegrpc.New(ctx, topts...)
		if err != nil {
			return nil, fmt.Errorf("OTLP trace exporter for %s: %w", c.OTLPEndpoint, err)
		}
		me, err := otlpmetricgrpc.New(ctx, mopts...)
		if err != nil {
			return nil, fmt.Errorf("OTLP metric exporter for %s: %w", c.OTLPEndpoint, err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(te))
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me, sdkmetric.WithInterval(15*time.Second))))
	}
	// Spans are still created (and trace ids logged and propagated) without an
	// exporter, so logs of one request correlate across processes.
	tp := sdktrace.NewTracerProvider(tpOpts...)
	mp := sdkmetric.NewMeterProvider(mpOpts...)
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	return func(ctx context.Context) error {
		return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx))
	}, nil
}
