package importer_test

import (
	"context"
	"testing"
	"time"

	otelcodes "go.opentelemetry.io/otel/codes"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/dealercare/dealercare/services/customer/importer"
)

// An import is one span with a child span per batch, and its rows and
// batches are counted: what an operator's dashboards read.
func TestImportTelemetry(t *testing.T) {
	e := newEnv(t)
	const dealer = "D001"
	content := []byte(testCSV(20, 5) + "C99999999,坏,13800000000,,,,,,个人,V99999999,LSVAB2BMIMN123456,,,,,\n")
	imp, err := e.svc.CreateImport(agentOf(dealer), dealer, "t.csv", content, "")
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	reader := sdkmetric.NewManualReader()
	r := newRunner(t, e, importer.RunnerConfig{BatchSize: 3, Writers: 2})
	if err := importer.SetTelemetry(r, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
		sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var got *importer.Import
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, err = e.store.GetImport(context.Background(), dealer, imp.ID); err != nil {
			t.Fatal(err)
		}
		if got.State != importer.StateRunning {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantCounts(t, got, 21, 20, 0, 0, 1)

	attr := func(s sdktrace.ReadOnlySpan, key string) attribute.Value {
		for _, kv := range s.Attributes() {
			if string(kv.Key) == key {
				return kv.Value
			}
		}
		return attribute.Value{}
	}
	var root sdktrace.ReadOnlySpan
	var batches []sdktrace.ReadOnlySpan
	failedBatches := uint64(0)
	for _, s := range spans.Ended() {
		switch s.Name() {
		case "import":
			if root != nil {
				t.Fatalf("two import spans")
			}
			root = s
		case "import batch":
			if s.Status().Code == otelcodes.Error {
				failedBatches++ // retried (a busy machine's lock or lease timeout); its rows are in a later batch
				continue
			}
			batches = append(batches, s)
		}
	}
	if root == nil || attr(root, "dealercare.import.id").AsString() != imp.ID || attr(root, "dealercare.import.lanes").AsInt64() != 3 ||
		attr(root, "dealercare.import.total_rows").AsInt64() != 21 {
		t.Fatalf("import span = %v", root)
	}
	rows := int64(0)
	for _, b := range batches {
		if b.Parent().SpanID() != root.SpanContext().SpanID() {
			t.Errorf("batch span %v is not a child of the import's", b.Attributes())
		}
		rows += attr(b, "dealercare.import.rows").AsInt64()
	}
	if rows != 21 || len(batches) < 8 { // 21 rows in batches of 3 over 2 lanes and lane 0's closing batch
		t.Errorf("%d batch spans over %d rows, want every row in one (at least 8 batches)", len(batches), rows)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	byOutcome := map[string]int64{}
	var committed, failed uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == "dealercare.import.rows" {
					for _, dp := range data.DataPoints {
						v, _ := dp.Attributes.Value("outcome")
						byOutcome[v.AsString()] += dp.Value
					}
				}
			case metricdata.Histogram[float64]:
				if m.Name == "dealercare.import.batch.duration" {
					for _, dp := range data.DataPoints {
						switch v, _ := dp.Attributes.Value("result"); v.AsString() {
						case "committed":
							committed += dp.Count
						case "failed":
							failed += dp.Count
						}
					}
				}
			}
		}
	}
	if byOutcome["inserted"] != 20 || byOutcome["failed"] != 1 || len(byOutcome) != 2 {
		t.Errorf("rows by outcome = %v, want 20 inserted and 1 failed", byOutcome)
	}
	if committed != uint64(len(batches)) || failed != failedBatches {
		t.Errorf("%d committed and %d failed batches timed, %d and %d batch spans", committed, failed, len(batches), failedBatches)
	}
}
