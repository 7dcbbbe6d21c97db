package app_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dealercare/dealercare/gen/go/openapi"
	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/telemetry/telemetrytest"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// wire checks every response a test of this package gets from a gateway
// against the served OpenAPI document, strictly: an undeclared property or
// header, a wrong type, an unknown enum value or an undeclared status
// fails the request (the transport returns an error) and the run.
var wire *conformance

// TestMain puts the check into http.DefaultTransport, which every helper
// of these tests sends through, and after a whole run fails it when an
// operation of the document was never called.
//
// Every log line of the run (the services, the gateway and the worker run
// in this process and log through slog's default logger, set up as every
// process's is) is scanned: a mobile number, resident ID number or email
// address in clear fails the run.
func TestMain(m *testing.M) {
	flag.Parse()
	logs := telemetrytest.CaptureLogs(os.Stderr, slog.LevelInfo)
	if raceDetector {
		os.Exit(logs.ExitCode(m.Run(), os.Stderr))
	}
	var err error
	if wire, err = newConformance(openapi.Document); err != nil {
		fmt.Fprintln(os.Stderr, "openapi document:", err)
		os.Exit(1)
	}
	http.DefaultTransport = &checkedTransport{next: http.DefaultTransport, c: wire}
	code := m.Run()
	failed, msg := wire.report(flag.Lookup("test.run").Value.String() == "" && !testing.Short())
	fmt.Fprint(os.Stderr, msg)
	if failed && code == 0 {
		code = 1
	}
	os.Exit(logs.ExitCode(code, os.Stderr))
}

type conformance struct {
	v     validator.Validator
	model *libopenapi.DocumentModel[v3.Document]

	mu       sync.Mutex
	gateways map[string]bool            // host:port of the gateways the tests started
	calls    map[string]map[string]bool // "GET /v1/..." (document path) -> statuses seen
	routes   map[string]*regexp.Regexp
	failures []string
}

// newConformance builds the strict validator of doc.
func newConformance(doc []byte) (*conformance, error) {
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		return nil, err
	}
	model, err := d.BuildV3Model()
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(d,
		config.WithStrictMode(),
		// Transport headers every answer may carry, not part of the API.
		config.WithStrictIgnoredHeadersExtra("X-Content-Type-Options", "Vary", "Www-Authenticate", "Grpc-Metadata-Content-Type", "Traceparent", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers"),
	)
	if len(errs) > 0 {
		return nil, fmt.Errorf("validator: %v", errs)
	}
	c := &conformance{v: v, model: model, gateways: map[string]bool{}, calls: map[string]map[string]bool{}, routes: map[string]*regexp.Regexp{}}
	return c, nil
}

// route finds the operation of req the way grpc-gateway does: a path
// parameter is one segment, a custom method (`{task}:claim`) ends the
// last one. (libopenapi-validator's own matching takes `{task}` for the
// whole `id:claim` segment.) The path with the most literal text wins.
func (c *conformance) route(req *http.Request) (*v3.PathItem, string) {
	var best *v3.PathItem
	bestPath, bestLen := "", -1
	for p, item := range c.model.Model.Paths.PathItems.FromOldest() {
		re, ok := c.routes[p]
		if !ok {
			var expr strings.Builder
			expr.WriteString("^")
			for i, lit := range docParam.Split(p, -1) {
				if i > 0 {
					expr.WriteString("[^/:]+")
				}
				expr.WriteString(regexp.QuoteMeta(lit))
			}
			expr.WriteString("$")
			re = regexp.MustCompile(expr.String())
			c.routes[p] = re
		}
		if !re.MatchString(req.URL.EscapedPath()) {
			continue
		}
		if op := item.GetOperations().GetOrZero(strings.ToLower(req.Method)); op == nil {
			continue
		}
		if n := len(docParam.ReplaceAllString(p, "")); n > bestLen {
			best, bestPath, bestLen = item, p, n
		}
	}
	return best, bestPath
}

// docParam is a path parameter of the document.
var docParam = regexp.MustCompile(`\{[^}]*\}`)

// watch adds the gateway at url to those whose answers are checked.
func (c *conformance) watch(url string) {
	if c == nil { // no wire check in this run (race detector)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gateways[strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")] = true
}

func (c *conformance) watched(host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gateways[host]
}

// check validates one answer; req is the request sent.
func (c *conformance) check(req *http.Request, resp *http.Response, body []byte) error {
	item, docPath := c.route(req)
	if item == nil {
		// Not an operation of the document (a made-up path a test sends
		// on purpose).
		return nil
	}
	r := resp
	r.Body = io.NopCloser(bytes.NewReader(body))
	ok, verrs := c.v.GetResponseBodyValidator().ValidateResponseBodyWithPathItem(req, r, item, docPath)
	r.Body = io.NopCloser(bytes.NewReader(body))
	key := req.Method + " " + docPath
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls[key] == nil {
		c.calls[key] = map[string]bool{}
	}
	c.calls[key][resp.Status[:3]] = true
	if ok {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s answered %d against the OpenAPI document:", req.Method, req.URL.Path, resp.StatusCode)
	for _, e := range verrs {
		fmt.Fprintf(&b, "\n  %s: %s", e.Message, e.Reason)
		for _, s := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n    %s: %s", s.FieldPath, s.Reason)
		}
	}
	fmt.Fprintf(&b, "\n  body: %.600s", body)
	c.failures = append(c.failures, b.String())
	return fmt.Errorf("%s", b.String())
}

// report lists the failures and, after a whole run (all), the operations
// of the document no test called (listed, not yet failing the run: the
// scenario tests do not reach every operation).
func (c *conformance) report(all bool) (failed bool, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, f := range c.failures {
		fmt.Fprintf(&b, "conformance: %s\n", f)
	}
	if all {
		var missing []string
		for _, op := range c.operations() {
			if c.calls[op] == nil {
				missing = append(missing, op)
			}
		}
		sort.Strings(missing)
		for _, op := range missing {
			fmt.Fprintf(&b, "conformance: no test called %s\n", op)
		}
	}
	return len(c.failures) > 0, b.String()
}

// operations lists "METHOD path" for every operation of the document.
func (c *conformance) operations() []string {
	var out []string
	for p, item := range c.model.Model.Paths.PathItems.FromOldest() {
		for m := range item.GetOperations().FromOldest() {
			out = append(out, strings.ToUpper(m)+" "+p)
		}
	}
	return out
}

// checkedTransport validates the answers of watched gateways.
type checkedTransport struct {
	next http.RoundTripper
	c    *conformance
}

func (t *checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || !t.c.watched(req.URL.Host) || !strings.HasPrefix(req.URL.Path, "/v1/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := t.c.check(req, resp, body); err != nil {
		return nil, err
	}
	return resp, nil
}

// TestOpenAPIWireCheckCatchesARename shows the check can fail: a real
// answer of the gateway passes the served document and fails the same
// document with one property of the resource (Dealer's timeZone) renamed.
func TestOpenAPIWireCheckCatchesARename(t *testing.T) {
	if raceDetector {
		t.Skip("the wire check runs in make test's pass without -race")
	}
	var doc map[string]any
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	props := doc["components"].(map[string]any)["schemas"].(map[string]any)["Dealer"].(map[string]any)["properties"].(map[string]any)
	if props["timeZone"] == nil {
		t.Fatal("Dealer has no timeZone property to rename")
	}
	props["timezone"] = props["timeZone"]
	delete(props, "timeZone")
	renamed, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	strict, err := newConformance(renamed)
	if err != nil {
		t.Fatal(err)
	}
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	req, _ := http.NewRequest("GET", g.url+"/v1/dealers/SH001", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	// Past the checking transport, to check the raw answer twice.
	resp, err := http.DefaultTransport.(*checkedTransport).next.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := wire.check(req, resp, body); err != nil {
		t.Fatalf("served document: %v", err)
	}
	if err := strict.check(req, resp, body); err == nil || !strings.Contains(err.Error(), "timeZone") {
		t.Errorf("the document with timeZone renamed accepted %s: %v", body, err)
	}
}
