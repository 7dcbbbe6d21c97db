package cli

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strconv"
)

func init() { commands["webhooks"] = (*api).webhooks }

const webhooksUsage = `usage: dealercare webhooks list [--dealer CODE]
       dealercare webhooks deliveries SUBSCRIPTION [--dealer CODE] [--limit N] [--page-token T | --all]
       dealercare webhooks redeliver SUBSCRIPTION DELIVERY [--dealer CODE]
(without --dealer: HQ's subscriptions)`

// webhooks runs `dealercare webhooks list|deliveries|redeliver`: a
// dealer's (or, without --dealer, HQ's) webhook subscriptions, one
// subscription's delivery log (newest first, a page of --limit rows, the
// next from --page-token, or every page with --all), and a manual redelivery,
// which sends the delivery's event again with the same event id (the
// REST `:redeliver` custom method).
func (a *api) webhooks(ctx context.Context, args []string) error {
	bad := exitError{code: 2, msg: webhooksUsage}
	if len(args) == 0 {
		return bad
	}
	sub, args := args[0], args[1:]
	want := map[string]int{"list": 0, "deliveries": 1, "redeliver": 2}
	n, ok := want[sub]
	if !ok {
		return bad
	}
	fs := flag.NewFlagSet("webhooks "+sub, flag.ContinueOnError)
	fs.SetOutput(a.m.Stderr)
	dealer := fs.String("dealer", "", "the subscriptions' dealer (empty: HQ's)")
	limit := fs.Int("limit", 50, "deliveries: rows per page, newest first (1-1000)")
	pageToken := fs.String("page-token", "", "deliveries: continue after the page that gave this nextPageToken")
	all := fs.Bool("all", false, "deliveries: follow nextPageToken to the last page")
	// Flags may follow the positional arguments.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return bad
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != n {
		return bad
	}
	path := "/v1/webhookSubscriptions"
	if *dealer != "" {
		path = "/v1/dealers/" + url.PathEscape(*dealer) + "/webhookSubscriptions"
	}
	var out map[string]any
	var rows []map[string]any
	switch sub {
	case "list":
		if err := a.call(ctx, "GET", path, nil, &out); err != nil {
			return err
		}
		rows = items(out["subscriptions"])
	case "deliveries":
		q := url.Values{"page_size": {strconv.Itoa(*limit)}}
		ps, err := pages(*all, func(token string) (map[string]any, error) {
			if token == "" {
				token = *pageToken
			}
			if token != "" {
				q.Set("page_token", token)
			}
			var page map[string]any
			err := a.call(ctx, "GET", path+"/"+url.PathEscape(pos[0])+"/deliveries?"+q.Encode(), nil, &page)
			return page, err
		})
		if err != nil {
			return err
		}
		list := []any{}
		for _, page := range ps {
			ds, _ := page["deliveries"].([]any)
			list = append(list, ds...)
		}
		rows, out = items(list), ps[0]
		if *all {
			out = map[string]any{"deliveries": list}
		} else if next, _ := out["nextPageToken"].(string); next != "" && !a.g.json {
			fmt.Fprintf(a.m.Stderr, "more: --page-token %s\n", next)
		}
	case "redeliver":
		p := path + "/" + url.PathEscape(pos[0]) + "/deliveries/" + url.PathEscape(pos[1]) + ":redeliver"
		if err := a.call(ctx, "POST", p, map[string]any{}, &out); err != nil {
			return err
		}
		rows = []map[string]any{out}
	}
	if a.g.json {
		return a.printJSON(out)
	}
	printTable(a.m.Stdout, rows)
	return nil
}

// items is a JSON array of objects (nil when absent).
func items(v any) []map[string]any {
	var rows []map[string]any
	list, _ := v.([]any)
	for _, it := range list {
		if row, ok := it.(map[string]any); ok {
			rows = append(rows, row)
		}
	}
	return rows
}
