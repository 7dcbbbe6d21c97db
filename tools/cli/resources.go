package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/dealercare/dealercare/gen/go/openapi"
)

// api calls the gateway as the signed-in caller.
type api struct {
	m     *Main
	g     globals
	base  string
	token string
	ops   []operation
}

// operation is a GET operation of the OpenAPI document.
type operation struct {
	path   string   // /v1/dealers/{dealer}/customers/{customer}
	id     string   // getCustomer
	params []string // path parameter names, in order
	query  map[string]bool
	// collection is the path's last literal segment; item tells whether
	// an id of it follows (show) or not (list).
	collection string
	item       bool
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func newAPI(m *Main, g globals, s signIn) (*api, error) {
	ops, err := getOperations()
	if err != nil {
		return nil, err
	}
	return &api{m: m, g: g, base: strings.TrimRight(s.URL, "/"), token: s.Token, ops: ops}, nil
}

// getOperations reads the GET operations of the embedded document.
func getOperations() ([]operation, error) {
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		return nil, err
	}
	var out []operation
	for path, ops := range doc.Paths {
		get, ok := ops["get"]
		if !ok {
			continue
		}
		op := operation{path: path, id: get.OperationID, query: map[string]bool{}}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			op.params = append(op.params, m[1])
		}
		for _, p := range get.Parameters {
			if p.In == "query" {
				op.query[p.Name] = true
			}
		}
		segs := strings.Split(path, "/")
		last := segs[len(segs)-1]
		if strings.Contains(last, ":") {
			continue // a custom method, not a collection
		}
		if strings.HasPrefix(last, "{") && len(segs) > 1 {
			op.item, op.collection = true, segs[len(segs)-2]
		} else {
			op.collection = last
		}
		out = append(out, op)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// normalize lets `repair-orders`, `repair_orders` and `repairorders` name
// repairOrders.
func normalize(s string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s))
}

// find picks the operation on collection (item or not) whose path
// parameters the caller gave; several candidates (/v1/dealers/-/complaints
// next to /v1/dealers/{dealer}/complaints) go to the one using most of them.
func (a *api) find(collection string, item bool, given map[string]string) (operation, error) {
	var best *operation
	var known []string
	for i := range a.ops {
		op := &a.ops[i]
		if op.item != item {
			continue
		}
		known = append(known, op.collection)
		if normalize(op.collection) != normalize(collection) {
			continue
		}
		ok := true
		for _, p := range op.params[:len(op.params)-btoi(item)] {
			if _, has := given[p]; !has {
				ok = false
			}
		}
		if ok && (best == nil || len(op.params) > len(best.params)) {
			best = op
		}
	}
	if best != nil {
		return *best, nil
	}
	for i := range a.ops {
		if a.ops[i].item == item && normalize(a.ops[i].collection) == normalize(collection) {
			var need []string
			for _, p := range a.ops[i].params[:len(a.ops[i].params)-btoi(item)] {
				need = append(need, "--"+p)
			}
			return operation{}, exitError{code: 2, msg: fmt.Sprintf("%s needs %s (-p name=value)", collection, strings.Join(need, ", "))}
		}
	}
	return operation{}, exitError{code: 2, msg: fmt.Sprintf("no collection %q; try `dealercare collections`", collection)}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pairs collects -p name=value flags.
type pairs map[string]string

func (p pairs) String() string { return "" }
func (p pairs) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("-p %q: want name=value", v)
	}
	p[k] = val
	return nil
}

// resourceFlags parses the flags of list and show.
func (a *api) resourceFlags(name string, args []string) (*flag.FlagSet, pairs, *bool, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.m.Stderr)
	params := pairs{}
	dealer := fs.String("dealer", "", "dealer code ({dealer} of the path)")
	fs.Var(params, "p", "a path or query parameter, name=value (repeatable)")
	all := fs.Bool("all", false, "follow nextPageToken to the last page")
	// Flags may follow the positional arguments.
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, nil, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *dealer != "" {
		params["dealer"] = *dealer
	}
	_ = fs.Parse(pos)
	return fs, params, all, nil
}

func (a *api) list(ctx context.Context, args []string) error {
	fs, params, all, err := a.resourceFlags("list", args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return exitError{code: 2, msg: "usage: dealercare list COLLECTION [--dealer CODE] [-p name=value]"}
	}
	op, err := a.find(fs.Arg(0), false, params)
	if err != nil {
		return err
	}
	ps, err := pages(*all, func(token string) (map[string]any, error) {
		if token != "" {
			params["page_token"] = token
		}
		var page map[string]any
		err := a.get(ctx, op, params, &page)
		return page, err
	})
	if err != nil {
		return err
	}
	var rows []map[string]any
	for _, page := range ps {
		for _, v := range page {
			rows = append(rows, items(v)...)
		}
	}
	if a.g.json {
		if *all {
			return a.printJSON(rows)
		}
		return a.printJSON(ps[0])
	}
	printTable(a.m.Stdout, rows)
	return nil
}

// pages gets a list's first page and, with all, each next one
// (nextPageToken) to the last; get fetches the page after token (empty:
// the first page asked for).
func pages(all bool, get func(token string) (map[string]any, error)) ([]map[string]any, error) {
	var out []map[string]any
	token := ""
	for {
		page, err := get(token)
		if err != nil {
			return nil, err
		}
		out = append(out, page)
		token, _ = page["nextPageToken"].(string)
		if !all || token == "" {
			return out, nil
		}
	}
}

func (a *api) show(ctx context.Context, args []string) error {
	fs, params, _, err := a.resourceFlags("show", args)
	if err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return exitError{code: 2, msg: "usage: dealercare show COLLECTION ID [--dealer CODE]"}
	}
	op, err := a.find(fs.Arg(0), true, params)
	if err != nil {
		return err
	}
	params[op.params[len(op.params)-1]] = fs.Arg(1)
	var obj map[string]any
	if err := a.get(ctx, op, params, &obj); err != nil {
		return err
	}
	if a.g.json {
		return a.printJSON(obj)
	}
	tw := tabwriter.NewWriter(a.m.Stdout, 0, 2, 2, ' ', 0)
	for _, k := range sortedFields(obj) {
		fmt.Fprintf(tw, "%s\t%s\n", k, cell(obj[k]))
	}
	return tw.Flush()
}

// get calls op with params: path parameters in the path, the others in
// the query.
func (a *api) get(ctx context.Context, op operation, params map[string]string, out any) error {
	path := pathParam.ReplaceAllStringFunc(op.path, func(m string) string {
		return url.PathEscape(params[m[1:len(m)-1]])
	})
	q := url.Values{}
	inPath := map[string]bool{}
	for _, p := range op.params {
		inPath[p] = true
	}
	for k, v := range params {
		if !inPath[k] {
			q.Set(k, v)
		}
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return a.call(ctx, "GET", path, nil, out)
}

// call sends one request and decodes the answer into out; an error answer
// becomes an error carrying the API's message.
func (a *api) call(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	a.authorize(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.m.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return apiError(resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

func (a *api) authorize(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept-Language", a.g.lang)
}

// apiError is the API's google.rpc.Status message (in the language asked
// for), with its field violations.
func apiError(code int, raw []byte) error {
	var st struct {
		Message string `json:"message"`
		Details []struct {
			Type            string `json:"@type"`
			FieldViolations []struct {
				Field       string `json:"field"`
				Description string `json:"description"`
			} `json:"fieldViolations"`
		} `json:"details"`
	}
	if json.Unmarshal(raw, &st) != nil || st.Message == "" {
		return exitError{code: 1, msg: fmt.Sprintf("HTTP %d: %.200s", code, raw)}
	}
	msg := st.Message
	for _, d := range st.Details {
		for _, v := range d.FieldViolations {
			if !strings.Contains(msg, v.Description) {
				msg += fmt.Sprintf("\n  %s: %s", v.Field, v.Description)
			}
		}
	}
	return exitError{code: 1, msg: msg}
}

func (a *api) printJSON(v any) error {
	enc := json.NewEncoder(a.m.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (m *Main) collections(g globals) error {
	ops, err := getOperations()
	if err != nil {
		return err
	}
	seen := map[string][]string{}
	for _, op := range ops {
		if !op.item {
			seen[op.collection] = append(seen[op.collection], op.path)
		}
	}
	if g.json {
		return (&api{m: m, g: g}).printJSON(seen)
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "COLLECTION\tPATH")
	for _, c := range sortedKeys(seen) {
		for _, p := range seen[c] {
			fmt.Fprintf(tw, "%s\t%s\n", c, p)
		}
	}
	return tw.Flush()
}

// leading columns, in this order, when a row has them.
var leading = []string{"id", "code", "number", "row", "name", "fileName", "vin", "plate", "kind", "type", "channel", "category", "severity", "state", "status", "level", "field", "reason", "dealer", "region", "customer", "assignee", "totalRows", "processedRows", "failedRows", "createTime"}

// printTable prints rows with the leading columns they have, then up to
// eight columns in all.
func printTable(w io.Writer, rows []map[string]any) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "(none)")
		return
	}
	var cols []string
	for _, c := range leading {
		if v, ok := rows[0][c]; ok && scalar(v) && len(cols) < 8 {
			cols = append(cols, c)
		}
	}
	for _, c := range sortedFields(rows[0]) {
		if len(cols) >= 8 {
			break
		}
		if scalar(rows[0][c]) && !contains(cols, c) {
			cols = append(cols, c)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	for i, c := range cols {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, strings.ToUpper(c))
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		for i, c := range cols {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, cell(r[c]))
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
}

func scalar(v any) bool {
	switch v.(type) {
	case string, float64, bool:
		return true
	}
	return false
}

func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64, bool:
		return fmt.Sprint(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedFields(m map[string]any) []string { return sortedKeys(m) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
