package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/config"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// TestSetupTwice registers a namespace and a search attribute, then runs
// again (as every helm upgrade does) and finds both in place.
func TestSetupTwice(t *testing.T) {
	addr := temporaltest.Address(t)
	ns := fmt.Sprintf("setup-test-%d", time.Now().UnixNano())
	cfg, err := loadConfig(config.FromMap(map[string]string{
		"TEMPORAL_ADDRESS": addr, "TEMPORAL_NAMESPACE": ns,
		"TEMPORAL_NAMESPACE_RETENTION": "48h", "TEMPORAL_SEARCH_ATTRIBUTES": "DealerCode=Keyword",
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		if err := (setup{cfg}).Run(ctx); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	cl, err := client.DialContext(ctx, client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	d, err := cl.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil || d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != 48*time.Hour {
		t.Fatalf("namespace %s: %v %v", ns, d.GetConfig(), err)
	}
	sa, err := cl.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil || sa.GetCustomAttributes()["DealerCode"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Fatalf("search attributes: %v %v", sa.GetCustomAttributes(), err)
	}

	if _, err := loadConfig(config.FromMap(map[string]string{"TEMPORAL_SEARCH_ATTRIBUTES": "Bad=Colour"})); err == nil {
		t.Error("an unknown search attribute type was accepted")
	}
}
