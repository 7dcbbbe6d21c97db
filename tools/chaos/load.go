package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	complaintv1 "github.com/dealercare/dealercare/gen/go/dealercare/complaint/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/validate"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// LoadConfig configures RunLoad: a steady, open-loop mix of reads and
// writes through the gateway, sent by vegeta (bin/vegeta) at Rate requests
// a second for Duration, against the whole stack from bin/.
type LoadConfig struct {
	Dir, Bin string
	Duration time.Duration
	Rate     int // requests a second
	Dealers  int
	// Customers seeded per dealer (each with a vehicle), read and
	// written to during the load.
	Customers int
	// Sample is how often the processes' memory is read during the load.
	Sample time.Duration
	Log    io.Writer
}

// The mix, in shares of 100: 70 reads, 30 writes.
var loadMix = []struct {
	route string
	share int
}{
	{"GET /v1/dealers/{dealer}", 10},
	{"GET /v1/dealers/{dealer}/customers", 15},
	{"GET /v1/dealers/{dealer}/customers/{customer}", 20},
	{"GET /v1/dealers/{dealer}/customers/{customer}/vehicles", 5},
	{"GET /v1/dealers/{dealer}/complaints", 10},
	{"GET /v1/dealers/{dealer}/callbackTasks", 10},
	{"POST /v1/dealers/{dealer}/customers", 10},
	{"POST /v1/dealers/{dealer}/repairOrders", 8},
	{"POST /v1/dealers/{dealer}/repairOrders/{repairOrder}:close", 5},
	{"POST /v1/dealers/{dealer}/complaints", 7},
}

const closeRoute = "POST /v1/dealers/{dealer}/repairOrders/{repairOrder}:close"

// RouteStats are one route's results.
type RouteStats struct {
	Route    string
	Requests int
	Errors   int // a transport error or a status other than 200
	P50, P99 time.Duration
	Max      time.Duration
	Codes    map[int]int
}

// MemorySample is the resident memory of every component at one moment.
type MemorySample struct {
	At time.Duration // since the load began (negative: before)
	// RSS in KiB by component; for PostgreSQL the postmaster's.
	RSS map[string]int64
	// BackendsAnon is the private (anonymous) memory of PostgreSQL's
	// backends together, in KiB, and Backends how many there were.
	BackendsAnon int64
	Backends     int
	// OpenWorkflows is how many workflows were running on Temporal (-1:
	// unknown): the worker's cache and Temporal's memory follow it.
	OpenWorkflows int64
}

// LoadReport is what a load run measured.
type LoadReport struct {
	Rate         int
	Duration     time.Duration // of the attack, as vegeta timed it
	Requests     int
	Errors       int
	Throughput   float64 // successful requests a second
	P50, P99     time.Duration
	Routes       []RouteStats
	Memory       []MemorySample
	ErrorSamples []string
	Vegeta       string // `vegeta report` of the whole run
}

// OK reports whether every request succeeded.
func (r LoadReport) OK() bool { return r.Requests > 0 && r.Errors == 0 }

// RunLoad starts the stack under cfg.Dir, seeds dealers, customers,
// vehicles and open repair orders through the API, then attacks the
// gateway with vegeta for cfg.Duration and reads its results back. The
// caller stops the Stack.
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadReport, *Stack, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(cfg.Log, "load: "+format+"\n", args...) }
	vegeta := filepath.Join(cfg.Bin, "vegeta")
	if _, err := os.Stat(vegeta); err != nil {
		return LoadReport{}, nil, fmt.Errorf("%s missing: `make load` builds it (tools/vegeta)", vegeta)
	}
	began := time.Now()
	s, err := StartStack(ctx, cfg.Dir, cfg.Bin)
	if err != nil {
		return LoadReport{}, nil, err
	}
	logf("stack ready: gateway %s (%s)", s.GatewayURL(), time.Since(began).Round(time.Millisecond))
	run := fmt.Sprintf("%08x", rand.Uint32())
	w := &workload{c: newClient(s.GatewayURL()), ledger: newLedger(run)}
	if err := w.setUp(ctx, s.Token, cfg.Dealers); err != nil {
		return LoadReport{}, s, fmt.Errorf("set-up: %w", err)
	}
	closes := cfg.Rate*int(cfg.Duration/time.Second)*shareOf(closeRoute)/100 + 20
	seed, err := seedLoad(ctx, w, cfg.Customers, closes)
	if err != nil {
		return LoadReport{}, s, fmt.Errorf("seed: %w", err)
	}
	logf("seeded %d dealers, %d customers with a vehicle each, %d open repair orders (%s)",
		len(w.dealers), len(w.dealers)*cfg.Customers, closes, time.Since(began).Round(time.Millisecond))

	results := filepath.Join(cfg.Dir, "results.bin")
	attack := exec.CommandContext(ctx, "nice", "-n", "10", vegeta, "attack", "-lazy", "-format=json",
		"-rate="+strconv.Itoa(cfg.Rate)+"/1s", "-duration="+cfg.Duration.String(), "-timeout=30s",
		"-max-body=300", "-name=load", "-output="+results)
	stdin, err := attack.StdinPipe()
	if err != nil {
		return LoadReport{}, s, err
	}
	attack.Stderr = cfg.Log
	var rep LoadReport
	rep.Rate = cfg.Rate
	rep.Memory = append(rep.Memory, sampleMemory(s, -time.Second))
	start := time.Now()
	if err := attack.Start(); err != nil {
		return LoadReport{}, s, err
	}
	logf("attack: %d requests a second for %s", cfg.Rate, cfg.Duration)
	gen := &targets{w: w, seed: seed, run: run, rng: rand.New(rand.NewPCG(1, uint64(start.UnixNano())))}
	go gen.write(stdin)
	samplerCtx, stopSampler := context.WithCancel(ctx)
	var sampled sync.WaitGroup
	var mu sync.Mutex
	sampled.Go(func() {
		t := time.NewTicker(cfg.Sample)
		defer t.Stop()
		for {
			select {
			case <-samplerCtx.Done():
				return
			case <-t.C:
				m := sampleMemory(s, time.Since(start))
				mu.Lock()
				rep.Memory = append(rep.Memory, m)
				mu.Unlock()
				logf("%s: %s", m.At.Round(time.Second), m)
			}
		}
	})
	err = attack.Wait()
	stopSampler()
	sampled.Wait()
	if err != nil {
		return LoadReport{}, s, fmt.Errorf("vegeta attack: %w", err)
	}
	rep.Memory = append(rep.Memory, sampleMemory(s, time.Since(start)))
	if exited := s.Exited(); len(exited) > 0 {
		return rep, s, fmt.Errorf("exited during the load: %s", strings.Join(exited, ", "))
	}
	out, err := exec.CommandContext(ctx, vegeta, "report", results).Output()
	if err != nil {
		return rep, s, fmt.Errorf("vegeta report: %w", err)
	}
	rep.Vegeta = string(out)
	if err := readResults(ctx, vegeta, results, &rep); err != nil {
		return rep, s, err
	}
	return rep, s, nil
}

func shareOf(route string) int {
	for _, m := range loadMix {
		if m.route == route {
			return m.share
		}
	}
	return 0
}

// loadSeed is what the targets refer to.
type loadSeed struct {
	customers map[string][]string // ids by dealer
	vehicles  map[string][]string // VINs by dealer
	mu        sync.Mutex
	open      map[string][]string // ids of open repair orders by dealer, taken by closes
}

// seedLoad creates n customers with a vehicle at every dealer, and
// closes open repair orders spread over the dealers, from four clients.
func seedLoad(ctx context.Context, w *workload, n, closes int) (*loadSeed, error) {
	seed := &loadSeed{customers: map[string][]string{}, vehicles: map[string][]string{}, open: map[string][]string{}}
	type job struct {
		dealer string
		i      int
	}
	jobs := make(chan job)
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for j := range jobs {
				if err := seedOne(ctx, w, seed, j.dealer, j.i, j.i < n, j.i < closes/len(w.dealers)+1); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	go func() {
		defer close(jobs)
		for i := range max(n, closes/len(w.dealers)+1) {
			for _, d := range w.dealers {
				select {
				case jobs <- job{d, i}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	wg.Wait()
	select {
	case err := <-errc:
		for range jobs { // let the feeder end
		}
		return nil, err
	default:
	}
	return seed, ctx.Err()
}

func seedOne(ctx context.Context, w *workload, seed *loadSeed, d string, i int, keep, open bool) error {
	tok := w.agent[d]
	var cust customerv1.Customer
	if err := w.c.call(ctx, "POST", "/v1/dealers/"+d+"/customers", tok, &customerv1.Customer{
		Name: fmt.Sprintf("负载%s客户%s-%d", w.ledger.Run, d, i), Mobile: fmt.Sprintf("138%08d", rand.IntN(1e8))}, &cust); err != nil {
		return err
	}
	vin := validate.CompleteVIN(fmt.Sprintf("LLD%s%s%08d", strings.ToUpper(w.ledger.Run[:4]), d[len(d)-2:], i))
	if err := w.c.call(ctx, "POST", "/v1/dealers/"+d+"/customers/"+cust.GetId()+"/vehicles", tok, &customerv1.Vehicle{Vin: vin, Brand: "负载", Model: "L1"}, nil); err != nil {
		return err
	}
	var ro customerv1.RepairOrder
	if open {
		if err := w.c.call(ctx, "POST", "/v1/dealers/"+d+"/repairOrders", tok, &customerv1.RepairOrder{
			Number: fmt.Sprintf("RO-%s-%s-S%d", w.ledger.Run, d, i), Vin: vin, Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_MAINTENANCE,
			OpenTime: timestamppb.New(time.Now().Add(-time.Hour)), MileageKm: 1000}, &ro); err != nil {
			return err
		}
	}
	seed.mu.Lock()
	defer seed.mu.Unlock()
	if keep {
		seed.customers[d] = append(seed.customers[d], cust.GetId())
		seed.vehicles[d] = append(seed.vehicles[d], vin)
	}
	if open {
		seed.open[d] = append(seed.open[d], ro.GetId())
	}
	return nil
}

// vegetaTarget is a line of vegeta's JSON target format.
type vegetaTarget struct {
	Method string      `json:"method"`
	URL    string      `json:"url"`
	Body   []byte      `json:"body,omitempty"`
	Header http.Header `json:"header,omitempty"`
}

// targets writes an endless stream of requests in the mix's shares; vegeta
// reads it lazily, so every write gets a fresh Idempotency-Key and fresh
// data when it is sent.
type targets struct {
	w    *workload
	seed *loadSeed
	run  string
	rng  *rand.Rand
	n    int
}

func (g *targets) write(out io.WriteCloser) {
	defer out.Close()
	enc := json.NewEncoder(out) // one write a target, as vegeta reads them
	for {
		t, err := g.next()
		if err == nil {
			err = enc.Encode(t)
		}
		if err != nil { // vegeta is done (a closed pipe) or a bug
			return
		}
	}
}

func (g *targets) next() (vegetaTarget, error) {
	g.n++
	d := g.w.dealers[g.rng.IntN(len(g.w.dealers))]
	r := g.rng.IntN(100)
	route := loadMix[len(loadMix)-1].route
	for _, m := range loadMix {
		if r < m.share {
			route = m.route
			break
		}
		r -= m.share
	}
	customers, vehicles := g.seed.customers[d], g.seed.vehicles[d]
	cust := customers[g.rng.IntN(len(customers))]
	base := "/v1/dealers/" + d
	page := "?" + url.Values{"page_size": {"20"}}.Encode()
	switch route {
	case "GET /v1/dealers/{dealer}":
		return g.get(base, g.w.hq), nil
	case "GET /v1/dealers/{dealer}/customers":
		return g.get(base+"/customers"+page, g.w.agent[d]), nil
	case "GET /v1/dealers/{dealer}/customers/{customer}":
		return g.get(base+"/customers/"+cust, g.w.agent[d]), nil
	case "GET /v1/dealers/{dealer}/customers/{customer}/vehicles":
		return g.get(base+"/customers/"+cust+"/vehicles", g.w.agent[d]), nil
	case "GET /v1/dealers/{dealer}/complaints":
		return g.get(base+"/complaints"+page, g.w.manager[d]), nil
	case "GET /v1/dealers/{dealer}/callbackTasks":
		return g.get(base+"/callbackTasks"+page, g.w.agent[d]), nil
	case "POST /v1/dealers/{dealer}/customers":
		return g.post(base+"/customers", g.w.agent[d], &customerv1.Customer{
			Name: fmt.Sprintf("负载%s新客户%d", g.run, g.n), Mobile: fmt.Sprintf("137%08d", g.rng.IntN(1e8))})
	case closeRoute:
		g.seed.mu.Lock()
		open := g.seed.open[d]
		var id string
		if len(open) > 0 {
			id, g.seed.open[d] = open[len(open)-1], open[:len(open)-1]
		}
		g.seed.mu.Unlock()
		if id != "" {
			return g.post(base+"/repairOrders/"+id+":close", g.w.agent[d], &customerv1.CloseRepairOrderRequest{CloseTime: timestamppb.Now(), MileageKm: 1200})
		}
		fallthrough // none left: open one instead
	case "POST /v1/dealers/{dealer}/repairOrders":
		return g.post(base+"/repairOrders", g.w.agent[d], &customerv1.RepairOrder{
			Number: fmt.Sprintf("RO-%s-L%d", g.run, g.n), Vin: vehicles[g.rng.IntN(len(vehicles))],
			Type: customerv1.RepairOrderType_REPAIR_ORDER_TYPE_MAINTENANCE, OpenTime: timestamppb.New(time.Now().Add(-time.Hour)), MileageKm: 5000 + int32(g.n)})
	default: // POST complaints
		return g.post(base+"/complaints", g.w.manager[d], &complaintv1.Complaint{
			Channel: complaintv1.Channel_CHANNEL_PHONE, Category: complaintv1.Category_CATEGORY_SERVICE_ATTITUDE,
			Severity: complaintv1.Severity(1 + g.rng.IntN(3)), Description: fmt.Sprintf("负载%s投诉%d: 等待时间过长", g.run, g.n)})
	}
}

func (g *targets) get(path, token string) vegetaTarget {
	return vegetaTarget{Method: "GET", URL: g.w.c.base + path, Header: http.Header{"Authorization": {"Bearer " + token}}}
}

func (g *targets) post(path, token string, body proto.Message) (vegetaTarget, error) {
	raw, err := marshal.Marshal(body)
	if err != nil {
		return vegetaTarget{}, err
	}
	return vegetaTarget{Method: "POST", URL: g.w.c.base + path, Body: raw, Header: http.Header{
		"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}, "Idempotency-Key": {newKey()},
	}}, nil
}

// routeOf turns a request back into its route: the segment after a
// collection is its id.
func routeOf(method, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return method + " ?"
	}
	segs := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	names := map[string]string{"dealers": "{dealer}", "customers": "{customer}", "vehicles": "{vehicle}",
		"complaints": "{complaint}", "repairOrders": "{repairOrder}", "callbackTasks": "{callbackTask}"}
	for i := 1; i < len(segs); i++ {
		if name, ok := names[segs[i-1]]; ok {
			_, verb, hasVerb := strings.Cut(segs[i], ":")
			segs[i] = name
			if hasVerb {
				segs[i] += ":" + verb
			}
		}
	}
	return method + " /" + strings.Join(segs, "/")
}

// vegetaResult is a line of `vegeta encode --to json`.
type vegetaResult struct {
	Code      int           `json:"code"`
	Timestamp time.Time     `json:"timestamp"`
	Latency   time.Duration `json:"latency"`
	Error     string        `json:"error"`
	Body      []byte        `json:"body"`
	Method    string        `json:"method"`
	URL       string        `json:"url"`
}

func readResults(ctx context.Context, vegeta, file string, rep *LoadReport) error {
	cmd := exec.CommandContext(ctx, vegeta, "encode", "--to", "json", file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	byRoute := map[string][]time.Duration{}
	stats := map[string]*RouteStats{}
	var all []time.Duration
	var first, last time.Time
	dec := json.NewDecoder(bufio.NewReader(out))
	for {
		var r vegetaResult
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("vegeta encode: %w", err)
		}
		route := routeOf(r.Method, r.URL)
		st := stats[route]
		if st == nil {
			st = &RouteStats{Route: route, Codes: map[int]int{}}
			stats[route] = st
		}
		st.Requests++
		st.Codes[r.Code]++
		rep.Requests++
		if r.Error != "" || r.Code != http.StatusOK {
			st.Errors++
			rep.Errors++
			if len(rep.ErrorSamples) < 10 {
				rep.ErrorSamples = append(rep.ErrorSamples, fmt.Sprintf("%s: %d %s %s", route, r.Code, r.Error, r.Body))
			}
		}
		byRoute[route] = append(byRoute[route], r.Latency)
		all = append(all, r.Latency)
		if first.IsZero() || r.Timestamp.Before(first) {
			first = r.Timestamp
		}
		if end := r.Timestamp.Add(r.Latency); end.After(last) {
			last = end
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("vegeta encode: %w", err)
	}
	for route, lat := range byRoute {
		st := stats[route]
		st.P50, st.P99, st.Max = percentiles(lat)
		rep.Routes = append(rep.Routes, *st)
	}
	slices.SortFunc(rep.Routes, func(a, b RouteStats) int { return strings.Compare(a.Route, b.Route) })
	rep.P50, rep.P99, _ = percentiles(all)
	rep.Duration = last.Sub(first)
	if rep.Duration > 0 {
		rep.Throughput = float64(rep.Requests-rep.Errors) / rep.Duration.Seconds()
	}
	return nil
}

func percentiles(lat []time.Duration) (p50, p99, maximum time.Duration) {
	if len(lat) == 0 {
		return 0, 0, 0
	}
	slices.Sort(lat)
	at := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	return at(0.50), at(0.99), lat[len(lat)-1]
}

// sampleMemory reads every component's resident memory from /proc.
func sampleMemory(s *Stack, at time.Duration) MemorySample {
	m := MemorySample{At: at, RSS: map[string]int64{}, OpenWorkflows: openWorkflows(s.TemporalAddr())}
	for name, pid := range s.Processes() {
		rss, _ := procMemory(pid)
		m.RSS[name] = rss
		if name == Postgres {
			for _, c := range childrenOf(pid) {
				_, anon := procMemory(c)
				m.BackendsAnon += anon
				m.Backends++
			}
		}
	}
	return m
}

// openWorkflows counts the running workflows, or gives -1.
func openWorkflows(addr string) int64 {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return -1
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := workflowservice.NewWorkflowServiceClient(conn).CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: "default", Query: "ExecutionStatus = 'Running'",
	})
	if err != nil {
		return -1
	}
	return resp.GetCount()
}

// procMemory is VmRSS and RssAnon of pid in KiB.
func procMemory(pid int) (rss, anon int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(data)) {
		field := func(name string) (int64, bool) {
			v, ok := strings.CutPrefix(line, name+":")
			if !ok {
				return 0, false
			}
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n, true
		}
		if v, ok := field("VmRSS"); ok {
			rss = v
		}
		if v, ok := field("RssAnon"); ok {
			anon = v
		}
	}
	return rss, anon
}

func (m MemorySample) String() string {
	var names []string
	for n := range m.RSS {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %.1f MiB, ", n, float64(m.RSS[n])/1024)
	}
	fmt.Fprintf(&b, "%d backends %.1f MiB private; %d open workflows", m.Backends, float64(m.BackendsAnon)/1024, m.OpenWorkflows)
	return b.String()
}

// Print writes the report: totals, a table per route, memory at the
// start, after the first sample and at the end.
func (r LoadReport) Print(w io.Writer) {
	fmt.Fprintf(w, "load: %d requests in %s at %d/s: %.1f ok/s, %d errors, p50 %s, p99 %s\n",
		r.Requests, r.Duration.Round(time.Second), r.Rate, r.Throughput, r.Errors, ms(r.P50), ms(r.P99))
	fmt.Fprintf(w, "\n| route | requests | errors | p50 | p99 | max |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range r.Routes {
		fmt.Fprintf(w, "| `%s` | %d | %d | %s | %s | %s |\n", s.Route, s.Requests, s.Errors, ms(s.P50), ms(s.P99), ms(s.Max))
	}
	if len(r.Memory) > 0 {
		first, last := r.Memory[0], r.Memory[len(r.Memory)-1]
		warm := first
		if len(r.Memory) > 2 {
			warm = r.Memory[1]
		}
		var names []string
		for n := range last.RSS {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprintf(w, "\n| process | RSS before | RSS at %s | RSS at end (%s) | peak |\n| --- | ---: | ---: | ---: | ---: |\n", warm.At.Round(time.Second), last.At.Round(time.Second))
		for _, n := range names {
			var peak int64
			for _, m := range r.Memory {
				peak = max(peak, m.RSS[n])
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", n, mib(first.RSS[n]), mib(warm.RSS[n]), mib(last.RSS[n]), mib(peak))
		}
		var peak int64
		for _, m := range r.Memory {
			peak = max(peak, m.BackendsAnon)
		}
		fmt.Fprintf(w, "| postgres backends (private, together) | %s (%d) | %s (%d) | %s (%d) | %s |\n",
			mib(first.BackendsAnon), first.Backends, mib(warm.BackendsAnon), warm.Backends, mib(last.BackendsAnon), last.Backends, mib(peak))
		fmt.Fprintf(w, "| open workflows (Temporal) | %d | %d | %d | |\n", first.OpenWorkflows, warm.OpenWorkflows, last.OpenWorkflows)
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintln(w, "error:", e)
	}
	fmt.Fprintf(w, "\nvegeta report:\n%s", r.Vegeta)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
