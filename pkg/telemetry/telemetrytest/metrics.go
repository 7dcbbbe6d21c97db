// Package telemetrytest checks that what operators alert on exists: the
// metric names deploy/monitoring's alert rules and dashboard reference,
// against what a running component exported to an OpenTelemetry reader,
// as the OpenTelemetry Collector's Prometheus exporter names them.
package telemetrytest

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Reader installs a meter provider with a manual reader as the global one
// for the rest of the test (set it before starting the components: they
// take their meters when they start) and restores the previous one after.
func Reader(t testing.TB) *sdkmetric.ManualReader {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(mp)
	t.Cleanup(func() {
		otel.SetMeterProvider(prev)
		_ = mp.Shutdown(context.Background())
	})
	return r
}

// Exported collects r and returns the Prometheus name of every metric in
// it: the OpenTelemetry name with dots as underscores, the unit's suffix
// (s: _seconds, By: _bytes; {annotations} and 1 add none) and _total for
// a monotonic sum, as the Collector's Prometheus exporter writes them.
// Histograms are named without _bucket, _sum and _count.
func Exported(t testing.TB, r *sdkmetric.ManualReader) map[string]bool {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names[PrometheusName(m)] = true
		}
	}
	return names
}

var notNameChar = regexp.MustCompile(`[^a-zA-Z0-9_:]`)

// PrometheusName is m's name as Prometheus sees it (see Exported).
func PrometheusName(m metricdata.Metrics) string {
	name := notNameChar.ReplaceAllString(m.Name, "_")
	suffix := map[string]string{"s": "seconds", "ms": "milliseconds", "By": "bytes"}[m.Unit]
	if suffix != "" && !strings.HasSuffix(name, "_"+suffix) {
		name += "_" + suffix
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		if d.IsMonotonic {
			name += "_total"
		}
	case metricdata.Sum[float64]:
		if d.IsMonotonic {
			name += "_total"
		}
	}
	return name
}

// metricRef finds the metric names in PromQL: this project's, the
// gateway's HTTP server metrics and the Temporal SDK's.
var metricRef = regexp.MustCompile(`\b((?:dealercare|http_server|temporal)_[a-zA-Z0-9_]+)\b`)

// Referenced returns every metric name (histograms without _bucket, _sum,
// _count) deploy/monitoring's files reference, sorted; root is the
// repository.
func Referenced(t testing.TB, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "deploy", "monitoring", "*"))
	if err != nil || len(files) < 2 {
		t.Fatalf("deploy/monitoring: %v %v", files, err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range metricRef.FindAllStringSubmatch(string(b), -1) {
			n := m[1]
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				n = strings.TrimSuffix(n, s)
			}
			seen[n] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// RequireExported fails t for each name in want that exported lacks.
func RequireExported(t testing.TB, want []string, exported map[string]bool) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("no metric names to check")
	}
	for _, n := range want {
		if !exported[n] {
			t.Errorf("deploy/monitoring references %s, which no component exported (exported: %v)", n, slices.Sorted(maps.Keys(exported)))
		}
	}
}
