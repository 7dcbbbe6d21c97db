package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/auth/authtest"
	"github.com/dealercare/dealercare/pkg/events"
	"github.com/dealercare/dealercare/pkg/grpcserver"
	"github.com/dealercare/dealercare/pkg/pgtest"
	"github.com/dealercare/dealercare/pkg/pii"
	pg "github.com/dealercare/dealercare/pkg/postgres"
	"github.com/dealercare/dealercare/pkg/service"
	dctemporal "github.com/dealercare/dealercare/pkg/temporal"
	"github.com/dealercare/dealercare/pkg/temporal/temporaltest"
	"github.com/dealercare/dealercare/pkg/validate"
	customer "github.com/dealercare/dealercare/services/customer/app"
	customerpg "github.com/dealercare/dealercare/services/customer/postgres"
	"github.com/dealercare/dealercare/workflows/app"
	"github.com/dealercare/dealercare/workflows/vehicle"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestRepairOrderEventsReachTheVehicleAcrossDealers: a vehicle archived at
// two dealers visits both. The first close happens while Temporal is
// unreachable (the customer service's relay points at a dead port): the
// repair order still closes and its event waits in the outbox. A second
// customer-service process with a working relay delivers it; the vehicle's
// workflow applies each event exactly once, and both dealers' vehicle
// resources show the latest visit and the next service due, read from
// PostgreSQL.
func TestRepairOrderEventsReachTheVehicleAcrossDealers(t *testing.T) {
	temporalAddr := temporaltest.Address(t)
	db := pgtest.NewFrom(t, customerpg.Schema, customerpg.Migrations)
	id := authtest.New(t)
	mint := func(p auth.Principal) string { return id.Token(t, p) }
	authCfg := id.Config
	piiKeys := pii.NewRandomKeys()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	newCustomer := func(temporalAt string) *customer.Main {
		return &customer.Main{Config: customer.Config{
			Config: service.Config{GRPC: grpcserver.Config{Addr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}, Auth: authCfg, Database: pg.Config{URL: db.AppURL}, Temporal: dctemporal.Config{Address: temporalAt, Namespace: "default"}, RelayEnabled: true},
			PII:    piiKeys,
		}, Log: quiet}
	}

	// 1. Temporal unreachable for this process's relay.
	down := newCustomer("127.0.0.1:1")
	ctxDown, stopDown := context.WithCancel(context.Background())
	if err := down.Open(ctxDown); err != nil {
		t.Fatal(err)
	}
	doneDown := make(chan error, 1)
	go func() { doneDown <- down.Run(ctxDown) }()

	conn, err := grpc.NewClient(down.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	network := customerv1.NewDealerNetworkServiceClient(conn)
	archive := customerv1.NewArchiveServiceClient(conn)
	hq := auth.WithToken(context.Background(), mint(auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}}))
	if _, err := network.CreateRegion(hq, &customerv1.CreateRegionRequest{Region: &customerv1.Region{Code: "EAST", Name: "华东大区"}}); err != nil {
		t.Fatal(err)
	}
	// A VIN of this run only: vehicle workflows live on in the shared dev
	// server between test runs.
	vin := validate.CompleteVIN(fmt.Sprintf("LSVAU2180N%07d", time.Now().UnixNano()%10000000))
	agents := map[string]context.Context{}
	vehicles := map[string]*customerv1.Vehicle{}
	for _, d := range []string{"SH001", "HZ001"} {
		if _, err := network.CreateDealer(hq, &customerv1.CreateDealerRequest{Dealer: &customerv1.Dealer{Code: d, Name: d + " 4S", Region: "EAST"}}); err != nil {
			t.Fatal(err)
		}
		agents[d] = auth.WithToken(context.Background(), mint(auth.Principal{Subject: "a-" + d, Roles: []auth.Role{auth.RoleAgent}, Dealer: d}))
		c, err := archive.CreateCustomer(agents[d], &customerv1.CreateCustomerRequest{Dealer: d, Customer: &customerv1.Customer{Name: "陈静", Mobile: "13912345678"}})
		if err != nil {
			t.Fatal(err)
		}
		if vehicles[d], err = archive.CreateVehicle(agents[d], &customerv1.CreateVehicleRequest{Dealer: d, Customer: c.GetId(), Vehicle: &customerv1.Vehicle{Vin: vin}}); err != nil {
			t.Fatal(err)
		}
	}
	visit := func(d, number string, open time.Time, km int32) {
		t.Helper()
		ro, err := archive.CreateRepairOrder(agents[d], &customerv1.CreateRepairOrderRequest{Dealer: d, RepairOrder: &customerv1.RepairOrder{
			Number: number, Vin: vin, Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_MAINTENANCE, OpenTime: timestamppb.New(open), MileageKm: km}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := archive.CloseRepairOrder(agents[d], &customerv1.CloseRepairOrderRequest{Dealer: d, RepairOrder: ro.GetId(), CloseTime: timestamppb.New(open.Add(3 * time.Hour))}); err != nil {
			t.Fatal(err)
		}
	}
	// Dates are relative to now so the plan stays in range whenever the test runs.
	first := time.Now().Add(-60 * 24 * time.Hour).Truncate(time.Hour)
	second := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Hour)
	visit("SH001", "RO-SH-1", first, 10000)
	conn.Close()
	stopDown()
	if err := <-doneDown; err != nil {
		t.Fatalf("customer service (Temporal down): %v", err)
	}
	down.Close()

	// 2. The worker, and a customer process whose relay reaches Temporal.
	up := newCustomer(temporalAddr)
	background(t, up.Open, up.Run, up.Close)
	tokenFile := id.ServiceTokenFile
	w := &app.Main{Config: app.Config{
		Temporal: dctemporal.Config{Address: temporalAddr, Namespace: "default"}, CustomerTarget: up.Addr(),
		ServiceTokenFile: tokenFile, HealthAddr: "127.0.0.1:0",
	}, Log: quiet}
	background(t, w.Open, w.Run, w.Close)

	conn2, err := grpc.NewClient(up.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	archive = customerv1.NewArchiveServiceClient(conn2)

	tc, err := client.Dial(client.Options{HostPort: temporalAddr, Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	t.Cleanup(func() {
		_ = tc.TerminateWorkflow(context.Background(), events.VehicleWorkflowID(vin), "", "test done")
	})
	// The visit saved while Temporal was down arrives first (the relay
	// hands events off in parallel, and the workflow rightly ignores a visit
	// older than one it already has), then the second dealer's visit.
	waitUntil := time.Now().Add(30 * time.Second)
	for {
		var st vehicle.State
		q, err := tc.QueryWorkflow(context.Background(), events.VehicleWorkflowID(vin), "", vehicle.QueryState)
		if err == nil && q.Get(&st) == nil && st.Applied == 1 {
			break
		}
		if time.Now().After(waitUntil) {
			t.Fatalf("the visit saved while Temporal was down never arrived: %+v (%v)", st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	visit("HZ001", "RO-HZ-1", second, 12500)

	// Both events applied once, and the state recorded on both archives.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st vehicle.State
		q, err := tc.QueryWorkflow(context.Background(), events.VehicleWorkflowID(vin), "", vehicle.QueryState)
		if err == nil {
			err = q.Get(&st)
		}
		sh, _ := archive.GetVehicle(agents["SH001"], &customerv1.GetVehicleRequest{Dealer: "SH001", Customer: vehicles["SH001"].GetCustomer(), Vehicle: vehicles["SH001"].GetId()})
		hz, _ := archive.GetVehicle(agents["HZ001"], &customerv1.GetVehicleRequest{Dealer: "HZ001", Customer: vehicles["HZ001"].GetCustomer(), Vehicle: vehicles["HZ001"].GetId()})
		if err == nil && st.Applied == 2 && sh.GetLastVisitDealer() == "HZ001" && hz.GetLastVisitDealer() == "HZ001" && sh.GetNextServiceDueDate() != "" {
			if st.Redeliveries != 0 || len(st.Visits) != 2 {
				t.Errorf("state: %+v", st)
			}
			if sh.GetNextServiceDueDate() != hz.GetNextServiceDueDate() || sh.GetNextServiceDueMileageKm() != 17500 {
				t.Errorf("service state: SH %s/%d, HZ %s/%d", sh.GetNextServiceDueDate(), sh.GetNextServiceDueMileageKm(), hz.GetNextServiceDueDate(), hz.GetNextServiceDueMileageKm())
			}
			// Each archive's mileage history has both visits once, its own
			// with the repair order's number, and its latest reading is the
			// network's.
			for d, want := range map[string]string{
				"SH001": "HZ001/12500/ SH001/10000/RO-SH-1",
				"HZ001": "HZ001/12500/RO-HZ-1 SH001/10000/",
			} {
				res, err := archive.ListMileageReadings(agents[d], &customerv1.ListMileageReadingsRequest{Dealer: d, Customer: vehicles[d].GetCustomer(), Vehicle: vehicles[d].GetId()})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range res.GetReadings() {
					got = append(got, fmt.Sprintf("%s/%d/%s", r.GetReadDealer(), r.GetMileageKm(), r.GetRepairOrderNumber()))
				}
				if strings.Join(got, " ") != want {
					t.Errorf("%s mileage readings: %v, want %s", d, got, want)
				}
			}
			if sh.GetMileageKm() != 12500 {
				t.Errorf("SH001's latest reading: %d km, want the network's 12500", sh.GetMileageKm())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: state %+v (%v); SH001 %v; HZ001 %v", st, err, sh, hz)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
