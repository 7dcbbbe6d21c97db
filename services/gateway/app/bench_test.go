package app_test

import (
	"context"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// BenchmarkGatewayOverhead measures the same read (GetDealer) through the
// REST gateway and directly over gRPC, in one run, so the added latency and
// the throughput ratio are comparable on a noisy machine:
//
//	make bench-gateway
func BenchmarkGatewayOverhead(b *testing.B) {
	g := start(b)
	admin := g.token(b, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	if code, body := g.do(b, "POST", "/v1/regions", admin, `{"code":"EAST","name":"华东大区"}`); code != 200 {
		b.Fatalf("seed: %d %v", code, body)
	}
	if code, body := g.do(b, "POST", "/v1/dealers", admin, `{"code":"SH001","name":"上海浦东汽车销售服务有限公司","region":"EAST"}`); code != 200 {
		b.Fatalf("seed: %d %v", code, body)
	}

	conn, err := grpc.NewClient(g.customerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := customerv1.NewDealerNetworkServiceClient(conn)
	ctx := auth.WithToken(context.Background(), admin)

	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	req, err := http.NewRequest("GET", g.url+"/v1/dealers/SH001", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+admin)

	calls := map[string]func() error{
		"direct-grpc": func() error {
			_, err := client.GetDealer(ctx, &customerv1.GetDealerRequest{Dealer: "SH001"})
			return err
		},
		"gateway-rest": func() error {
			resp, err := httpClient.Do(req)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
			return err
		},
	}
	for _, name := range []string{"direct-grpc", "gateway-rest"} {
		call := calls[name]
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				t0 := time.Now()
				if err := call(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
			b.ReportMetric(pct(0.50), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")
		})
	}
}
