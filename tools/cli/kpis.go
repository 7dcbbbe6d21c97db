package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/dealercare/dealercare/gen/go/client"
)

// The KPI commands ask the evaluation service for its files (the
// KpiExportService routes, /v1/...kpis:export and /v1/kpis:exportRanking):
// --out saves the CSV or XLSX it answers as it came, and the terminal
// table is its CSV, so the headers, KPI names and ratings are the
// server's, in the language of --lang (sent as Accept-Language). --json
// prints the JSON routes' own objects instead.

// periodFlags are the flags of a KPI query.
type periodFlags struct {
	granularity, date, out, format string
	periods                        int
}

func (a *api) periodFlagSet(name string, p *periodFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.m.Stderr)
	fs.StringVar(&p.granularity, "granularity", "month", "day, week or month")
	fs.StringVar(&p.date, "date", "", "a date `YYYY-MM-DD` inside the last period (default today)")
	fs.StringVar(&p.out, "out", "", "save the server's export to `FILE` (.csv or .xlsx) instead of printing a table")
	fs.StringVar(&p.format, "format", "", "csv or xlsx (default: from --out's extension)")
	return fs
}

// kpiQuery is a checked KPI query: the values of its parameters, shared
// by the JSON and the export routes.
type kpiQuery struct {
	granularity string // GRANULARITY_MONTH
	date        *string
	format      string // EXPORT_FORMAT_CSV or EXPORT_FORMAT_XLSX
}

// query checks the flags before any call: the granularity and date of
// the query, and the file's format (CSV for the terminal table).
func (p periodFlags) query() (kpiQuery, error) {
	q := kpiQuery{granularity: "GRANULARITY_" + strings.ToUpper(p.granularity), format: "EXPORT_FORMAT_CSV"}
	switch client.GetDealerKpisParamsQueryGranularity(q.granularity) {
	case client.GetDealerKpisParamsQueryGranularityGRANULARITYDAY, client.GetDealerKpisParamsQueryGranularityGRANULARITYWEEK, client.GetDealerKpisParamsQueryGranularityGRANULARITYMONTH:
	default:
		return q, exitError{code: 2, msg: fmt.Sprintf("--granularity %q: want day, week or month", p.granularity)}
	}
	if p.out != "" {
		format := p.format
		if format == "" {
			format = strings.TrimPrefix(strings.ToLower(filepath.Ext(p.out)), ".")
		}
		switch format {
		case "csv", "xlsx":
			q.format = "EXPORT_FORMAT_" + strings.ToUpper(format)
		default:
			return q, exitError{code: 2, msg: fmt.Sprintf("--out %s: name a .csv or .xlsx file (or give --format csv|xlsx)", p.out)}
		}
	}
	if p.date != "" {
		q.date = &p.date
	}
	return q, nil
}

// kpis prints or exports the KPIs of a dealer, a region or the network,
// one row per period and KPI with numerator and denominator.
func (a *api) kpis(ctx context.Context, args []string) error {
	var p periodFlags
	fs := a.periodFlagSet("kpis", &p)
	dealer := fs.String("dealer", "", "a dealer's KPIs")
	region := fs.String("region", "", "a region's KPIs")
	fs.IntVar(&p.periods, "periods", 1, "consecutive periods ending with --date's (at most 400)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || (*dealer != "" && *region != "") {
		return exitError{code: 2, msg: "usage: dealercare kpis [--dealer CODE | --region CODE] [--granularity month] [--date YYYY-MM-DD] [--periods N] [--out FILE.csv|FILE.xlsx]"}
	}
	q, err := p.query()
	if err != nil {
		return err
	}
	periods := int32(p.periods)
	c, err := a.newClient()
	if err != nil {
		return err
	}
	if a.g.json {
		var res result
		var body []byte
		var table *client.KpiTable
		switch {
		case *dealer != "":
			r, err := c.GetDealerKpisWithResponse(ctx, *dealer, &client.GetDealerKpisParams{QueryGranularity: (*client.GetDealerKpisParamsQueryGranularity)(&q.granularity), QueryDate: q.date, QueryPeriods: &periods})
			if err != nil {
				return err
			}
			res, body, table = r, r.Body, r.JSON200
		case *region != "":
			r, err := c.GetRegionKpisWithResponse(ctx, *region, &client.GetRegionKpisParams{QueryGranularity: (*client.GetRegionKpisParamsQueryGranularity)(&q.granularity), QueryDate: q.date, QueryPeriods: &periods})
			if err != nil {
				return err
			}
			res, body, table = r, r.Body, r.JSON200
		default:
			r, err := c.GetNetworkKpisWithResponse(ctx, &client.GetNetworkKpisParams{QueryGranularity: (*client.GetNetworkKpisParamsQueryGranularity)(&q.granularity), QueryDate: q.date, QueryPeriods: &periods})
			if err != nil {
				return err
			}
			res, body, table = r, r.Body, r.JSON200
		}
		if err := check(res, body); err != nil {
			return err
		}
		return a.printJSON(table)
	}
	var res *http.Response
	switch {
	case *dealer != "":
		res, err = c.ExportDealerKpis(ctx, *dealer, &client.ExportDealerKpisParams{QueryGranularity: (*client.ExportDealerKpisParamsQueryGranularity)(&q.granularity), QueryDate: q.date, QueryPeriods: &periods, Format: (*client.ExportDealerKpisParamsFormat)(&q.format)})
	case *region != "":
		res, err = c.ExportRegionKpis(ctx, *region, &client.ExportRegionKpisParams{QueryGranularity: (*client.ExportRegionKpisParamsQueryGranularity)(&q.granularity), QueryDate: q.date, QueryPeriods: &periods, Format: (*client.ExportRegionKpisParamsFormat)(&q.format)})
	default:
		res, err = c.ExportNetworkKpis(ctx, &client.ExportNetworkKpisParams{QueryGranularity: (*client.ExportNetworkKpisParamsQueryGranularity)(&q.granularity), QueryDate: q.date, QueryPeriods: &periods, Format: (*client.ExportNetworkKpisParamsFormat)(&q.format)})
	}
	return a.emit(res, err, p.out)
}

// rank prints or exports the dealers' ranking by composite score.
func (a *api) rank(ctx context.Context, args []string) error {
	var p periodFlags
	fs := a.periodFlagSet("rank", &p)
	region := fs.String("region", "", "rank within this region only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return exitError{code: 2, msg: "usage: dealercare rank [--region CODE] [--granularity month] [--date YYYY-MM-DD] [--out FILE.csv|FILE.xlsx]"}
	}
	q, err := p.query()
	if err != nil {
		return err
	}
	c, err := a.newClient()
	if err != nil {
		return err
	}
	var reg *string
	if *region != "" {
		reg = region
	}
	if a.g.json {
		res, err := c.RankDealersWithResponse(ctx, &client.RankDealersParams{QueryGranularity: (*client.RankDealersParamsQueryGranularity)(&q.granularity), QueryDate: q.date, Region: reg})
		if err != nil {
			return err
		}
		if err := check(res, res.Body); err != nil {
			return err
		}
		return a.printJSON(res.JSON200)
	}
	res, err := c.ExportRanking(ctx, &client.ExportRankingParams{QueryGranularity: (*client.ExportRankingParamsQueryGranularity)(&q.granularity), QueryDate: q.date, Region: reg, Format: (*client.ExportRankingParamsFormat)(&q.format)})
	return a.emit(res, err, p.out)
}

// emit takes an export's answer: saved to path as it came, or, without
// a path, its CSV printed as an aligned table. An answer that is not 2xx
// is the API's error.
func (a *api) emit(res *http.Response, err error, path string) error {
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return apiError(res.StatusCode, body)
	}
	if path != "" {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(a.m.Stdout, a.msg("wrote %s (%d bytes)\n", "已写入 %s（%d 字节）\n"), path, len(body))
		return nil
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		return fmt.Errorf("the server's CSV: %w", err)
	}
	tw := tabwriter.NewWriter(a.m.Stdout, 0, 2, 2, ' ', 0)
	for _, rec := range recs {
		for i, v := range rec {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, short(v))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// short shows a rate to four places on the terminal (the files keep every
// digit); other cells as they are.
func short(s string) string {
	if !strings.Contains(s, ".") || len(s) <= 6 {
		return s
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}
