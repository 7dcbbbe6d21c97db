// Package evaluationtest brings a running evaluation service up to date
// in tests, as its feed and rollup workflows would (the tests that use it
// run no worker).
package evaluationtest

import (
	"context"
	"testing"

	evaluationv1 "github.com/dealercare/dealercare/gen/go/dealercare/evaluation/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// CatchUp refreshes the dealers, pulls each source's change feed
// ("customer", "callback", "complaint", "campaign") to its end and rolls up, calling
// the evaluation service at addr with serviceToken (a "service" role).
func CatchUp(t testing.TB, addr, serviceToken string, sources ...string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := auth.WithToken(context.Background(), serviceToken)
	c := evaluationv1.NewEvaluationWorkflowServiceClient(conn)
	if _, err := c.SyncDealers(ctx, &evaluationv1.SyncDealersRequest{}); err != nil {
		t.Fatal(err)
	}
	for _, source := range sources {
		for range 100 {
			res, err := c.SyncFeed(ctx, &evaluationv1.SyncFeedRequest{Source: source})
			if err != nil {
				t.Fatalf("sync %s: %v", source, err)
			}
			if !res.GetMore() {
				break
			}
		}
	}
	for range 100 {
		res, err := c.Rollup(ctx, &evaluationv1.RollupRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.GetMore() && res.GetDealers() == 0 {
			return
		}
	}
	t.Fatal("the rollup did not settle in 100 rounds")
}
