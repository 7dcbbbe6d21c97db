package app_test

import (
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/telemetry/telemetrytest"
)

// TestOperatorMetricsExported sends requests through the real gateway and
// checks that the HTTP server metrics deploy/monitoring's alert rules and
// dashboard reference were exported, each request labelled with its
// route's pattern (never the path with its ids) and status. The workflows
// module's test of the same name checks the other names.
func TestOperatorMetricsExported(t *testing.T) {
	reader := telemetrytest.Reader(t) // before the gateway takes its meter
	var want []string
	for _, n := range telemetrytest.Referenced(t, filepath.Join("..", "..", "..")) {
		if strings.HasPrefix(n, "http_server_") {
			want = append(want, n)
		}
	}
	g := start(t)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	if code, body := g.do(t, "POST", "/v1/regions", admin, `{"code":"EAST","name":"华东大区"}`); code != 200 {
		t.Fatalf("create region: %d %v", code, body)
	}
	if code, _ := g.do(t, "GET", "/v1/dealers/NOPE01", admin, ""); code != 404 {
		t.Fatalf("missing dealer: %d", code)
	}
	telemetrytest.RequireExported(t, want, telemetrytest.Exported(t, reader))

	// The route attribute: the pattern, with the status code beside it.
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	routes := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			h, ok := m.Data.(metricdata.Histogram[float64])
			if m.Name != "http.server.request.duration" || !ok {
				continue
			}
			for _, p := range h.DataPoints {
				route, _ := p.Attributes.Value(attribute.Key("route"))
				status, _ := p.Attributes.Value(attribute.Key("http.response.status_code"))
				routes[route.AsString()+" "+status.Emit()] += int64(p.Count)
			}
		}
	}
	for _, want := range []string{"POST /v1/regions 200", "GET /v1/* 404"} {
		if routes[want] == 0 {
			t.Errorf("no request counted as %q; counted: %v", want, routes)
		}
	}
}
