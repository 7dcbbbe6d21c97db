package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// BenchmarkGatewayOverhead measures the same read (GetDealer) through the
// REST gateway and directly over gRPC, sequentially, in one run, next to
// the floor (a bare HTTP hop making the same gRPC call). The paths
// alternate call by call (the order rotating every call), so all
// see the same machine: on a shared, noisy machine two back-to-back runs
// of a few seconds each can differ by more than the gateway costs. It
// reports each path's p50, p99 and calls a second, and the ratios to
// direct gRPC's throughput (rest-ratio for the gateway, floor-ratio for
// the bare hop):
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

	// The floor: a bare HTTP handler that makes the same gRPC call and
	// writes the answer's protobuf bytes, with no authentication, routing,
	// JSON, logs or telemetry. It is what the extra process hop alone
	// costs on this machine; no gateway can beat it.
	floorSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := client.GetDealer(auth.WithToken(r.Context(), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")), &customerv1.GetDealerRequest{Dealer: "SH001"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, _ := proto.Marshal(d)
		_, _ = w.Write(out)
	}))
	defer floorSrv.Close()
	floorReq, err := http.NewRequest("GET", floorSrv.URL+"/v1/dealers/SH001", nil)
	if err != nil {
		b.Fatal(err)
	}
	floorReq.Header.Set("Authorization", "Bearer "+admin)
	get := func(req *http.Request) error {
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: status %d", req.URL, resp.StatusCode)
		}
		return err
	}

	direct := func() error {
		_, err := client.GetDealer(ctx, &customerv1.GetDealerRequest{Dealer: "SH001"})
		return err
	}
	rest := func() error { return get(req) }
	floor := func() error { return get(floorReq) }
	// Warm both paths (connections, caches) before timing.
	for range 50 {
		if err := direct(); err != nil {
			b.Fatal(err)
		}
		if err := rest(); err != nil {
			b.Fatal(err)
		}
		if err := floor(); err != nil {
			b.Fatal(err)
		}
	}
	var directLat, restLat, floorLat []time.Duration
	timed := func(call func() error, into *[]time.Duration) {
		t0 := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(t0))
	}
	b.ResetTimer()
	paths := []struct {
		call func() error
		lat  *[]time.Duration
	}{{direct, &directLat}, {rest, &restLat}, {floor, &floorLat}}
	for i := 0; b.Loop(); i++ {
		for j := range paths {
			p := paths[(i+j)%len(paths)]
			timed(p.call, p.lat)
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
	d, r, f := report("direct", directLat), report("rest", restLat), report("floor", floorLat)
	b.ReportMetric(r/d, "rest-ratio")
	b.ReportMetric(f/d, "floor-ratio")
}
