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
// REST gateway and directly over gRPC, sequentially, in one run. The two
// paths alternate call by call (the order swapping every call), so both
// see the same machine: on a shared, noisy machine two back-to-back runs
// of a few seconds each can differ by more than the gateway costs. It
// reports each path's p50, p99 and calls a second, and their ratio
// (rest-ratio: the gateway's throughput as a share of direct gRPC's):
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

	direct := func() error {
		_, err := client.GetDealer(ctx, &customerv1.GetDealerRequest{Dealer: "SH001"})
		return err
	}
	rest := func() error {
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
	}
	// Warm both paths (connections, caches) before timing.
	for range 50 {
		if err := direct(); err != nil {
			b.Fatal(err)
		}
		if err := rest(); err != nil {
			b.Fatal(err)
		}
	}
	var directLat, restLat []time.Duration
	timed := func(call func() error, into *[]time.Duration) {
		t0 := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(t0))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			timed(direct, &directLat)
			timed(rest, &restLat)
		} else {
			timed(rest, &restLat)
			timed(direct, &directLat)
		}
	}
	b.StopTimer()
	report := func(name string, lat []time.Duration) float64 {
		var total time.Duration
		for _, d := range lat {
			total += d
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
		perSecond := float64(len(lat)) / total.Seconds()
		b.ReportMetric(pct(0.50), name+"-p50-µs")
		b.ReportMetric(pct(0.99), name+"-p99-µs")
		b.ReportMetric(perSecond, name+"-calls/s")
		return perSecond
	}
	d, r := report("direct", directLat), report("rest", restLat)
	b.ReportMetric(r/d, "rest-ratio")
}
