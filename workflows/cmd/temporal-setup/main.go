// Command temporal-setup prepares a Temporal cluster for dealercare, as the
// chart's pre-install/pre-upgrade hook: it registers the namespace
// (TEMPORAL_NAMESPACE, retention TEMPORAL_NAMESPACE_RETENTION) and the
// custom search attributes (TEMPORAL_SEARCH_ATTRIBUTES, Name=Type,...), and
// leaves what exists alone, so every upgrade may run it again.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/program"
	"github.com/dealercare/dealercare/pkg/telemetry"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Config of the setup.
type Config struct {
	Telemetry        telemetry.Config
	Temporal         dctemporal.Config
	Retention        time.Duration
	SearchAttributes map[string]enumspb.IndexedValueType
}

func loadConfig(l *config.Loader) (Config, error) {
	c := Config{
		Telemetry:        telemetry.LoadConfig(l, "temporal-setup"),
		Temporal:         dctemporal.LoadConfig(l),
		Retention:        l.Duration("TEMPORAL_NAMESPACE_RETENTION", 720*time.Hour),
		SearchAttributes: map[string]enumspb.IndexedValueType{},
	}
	l.Check(c.Retention >= 24*time.Hour, "TEMPORAL_NAMESPACE_RETENTION", "must be at least 24h, got %s", c.Retention)
	for _, a := range l.List("TEMPORAL_SEARCH_ATTRIBUTES", nil) {
		name, typ, ok := strings.Cut(a, "=")
		v, known := enumspb.IndexedValueType_value["INDEXED_VALUE_TYPE_"+strings.ToUpper(strings.TrimSpace(typ))]
		l.Check(ok && known && name != "", "TEMPORAL_SEARCH_ATTRIBUTES", "%q is not Name=Type (Keyword, Text, Int, Double, Bool, Datetime, KeywordList)", a)
		if ok && known {
			c.SearchAttributes[strings.TrimSpace(name)] = enumspb.IndexedValueType(v)
		}
	}
	return c, l.Err()
}

type setup struct{ cfg Config }

func (s setup) Open(ctx context.Context) error { return nil }
func (s setup) Close() error                   { return nil }

// Run registers the namespace and the missing search attributes, then ends.
func (s setup) Run(ctx context.Context) error {
	cl, err := client.DialContext(ctx, client.Options{HostPort: s.cfg.Temporal.Address})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", s.cfg.Temporal.Address, err)
	}
	defer cl.Close()
	ns := s.cfg.Temporal.Namespace
	_, err = cl.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(s.cfg.Retention),
		Description: "dealercare workflows",
	})
	var exists *serviceerror.NamespaceAlreadyExists
	switch {
	case errors.As(err, &exists):
		slog.Info("namespace exists", "namespace", ns)
	case err != nil:
		return fmt.Errorf("register namespace %s (TEMPORAL_NAMESPACE): %w", ns, err)
	default:
		slog.Info("namespace registered", "namespace", ns, "retention", s.cfg.Retention)
	}
	if len(s.cfg.SearchAttributes) == 0 {
		return nil
	}
	have, err := cl.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return fmt.Errorf("list search attributes of %s: %w", ns, err)
	}
	add := map[string]enumspb.IndexedValueType{}
	for name, typ := range s.cfg.SearchAttributes {
		if got, ok := have.GetCustomAttributes()[name]; ok {
			if got != typ {
				return fmt.Errorf("TEMPORAL_SEARCH_ATTRIBUTES: %s exists as %s, not %s", name, got, typ)
			}
			continue
		}
		add[name] = typ
	}
	if len(add) == 0 {
		return nil
	}
	if _, err := cl.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns, SearchAttributes: add}); err != nil {
		return fmt.Errorf("add search attributes %v to %s: %w", add, ns, err)
	}
	slog.Info("search attributes added", "namespace", ns, "count", len(add))
	return nil
}

func main() {
	program.Main(program.Program[Config]{
		Name:       "temporal-setup",
		LoadConfig: loadConfig,
		Telemetry:  func(c Config) telemetry.Config { return c.Telemetry },
		New:        func(c Config) program.Process { return setup{c} },
	})
}
