package cli

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/dealercare/dealercare/gen/go/client"
)

// kpiNames are the KPIs of SPEC in the two languages of the API.
var kpiNames = map[string][2]string{
	"callback_rate_3dc":               {"3DC callback rate", "3DC回访率"},
	"callback_rate_7dc":               {"7DC callback rate", "7DC回访率"},
	"new_customer_callback_rate":      {"New-customer callback rate", "新客户回访率"},
	"ssi":                             {"SSI (after-sales satisfaction)", "售后满意度(SSI)"},
	"csi":                             {"CSI (sales satisfaction)", "销售满意度(CSI)"},
	"complaint_one_time_closure_rate": {"Complaint one-time closure rate", "抱怨一次关闭率"},
	"complaint_response_sla_rate":     {"Complaint response within SLA", "抱怨及时响应率"},
	"complaint_resolution_sla_rate":   {"Complaint resolution within SLA", "抱怨及时解决率"},
	"return_rate":                     {"Return rate", "回站率"},
	"churn_rate":                      {"Churn rate", "流失率"},
	"campaign_return_count":           {"Campaign returns", "服务活动回站人数"},
	"first_time_fix_rate":             {"First-time fix rate", "一次达标率"},
	"archive_timeliness_rate":         {"Archive timeliness rate", "档案上传及时率"},
	"archive_accuracy_rate":           {"Archive accuracy rate", "档案填写准确率"},
	"appointment_rate":                {"Appointment rate", "预约率"},
}

// kpiName is a KPI's name in the caller's language (the code itself for a
// KPI this CLI does not know yet).
func (a *api) kpiName(kpi string) string {
	if n, ok := kpiNames[kpi]; ok {
		return a.msg(n[0], n[1])
	}
	return kpi
}

func (a *api) rating(r *client.Rating) any {
	switch deref(r) {
	case client.RATINGGREEN:
		return a.msg("green", "绿")
	case client.RATINGAMBER:
		return a.msg("amber", "黄")
	case client.RATINGRED:
		return a.msg("red", "红")
	}
	return nil
}

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
	fs.StringVar(&p.out, "out", "", "write the report to `FILE` (.csv or .xlsx) instead of a table")
	fs.StringVar(&p.format, "format", "", "csv or xlsx (default: from --out's extension)")
	return fs
}

// query checks the flags before any call: the granularity and date of
// the query, and the export format when --out is given.
func (p periodFlags) query() (g *client.GetDealerKpisParamsQueryGranularity, date *string, format string, err error) {
	gran := client.GetDealerKpisParamsQueryGranularity("GRANULARITY_" + strings.ToUpper(p.granularity))
	switch gran {
	case client.GetDealerKpisParamsQueryGranularityGRANULARITYDAY, client.GetDealerKpisParamsQueryGranularityGRANULARITYWEEK, client.GetDealerKpisParamsQueryGranularityGRANULARITYMONTH:
	default:
		return nil, nil, "", exitError{code: 2, msg: fmt.Sprintf("--granularity %q: want day, week or month", p.granularity)}
	}
	if p.out != "" {
		if format, err = exportFormat(p.out, p.format); err != nil {
			return nil, nil, "", err
		}
	}
	if p.date != "" {
		date = &p.date
	}
	return &gran, date, format, nil
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
	g, date, out, err := p.query()
	if err != nil {
		return err
	}
	periods := int32(p.periods)
	c, err := a.newClient()
	if err != nil {
		return err
	}
	var table *client.KpiTable
	switch {
	case *dealer != "":
		res, err := c.GetDealerKpisWithResponse(ctx, *dealer, &client.GetDealerKpisParams{QueryGranularity: g, QueryDate: date, QueryPeriods: &periods})
		if err != nil {
			return err
		}
		if err := check(res, res.Body); err != nil {
			return err
		}
		table = res.JSON200
	case *region != "":
		res, err := c.GetRegionKpisWithResponse(ctx, *region, &client.GetRegionKpisParams{QueryGranularity: (*client.GetRegionKpisParamsQueryGranularity)(g), QueryDate: date, QueryPeriods: &periods})
		if err != nil {
			return err
		}
		if err := check(res, res.Body); err != nil {
			return err
		}
		table = res.JSON200
	default:
		res, err := c.GetNetworkKpisWithResponse(ctx, &client.GetNetworkKpisParams{QueryGranularity: (*client.GetNetworkKpisParamsQueryGranularity)(g), QueryDate: date, QueryPeriods: &periods})
		if err != nil {
			return err
		}
		if err := check(res, res.Body); err != nil {
			return err
		}
		table = res.JSON200
	}
	if a.g.json {
		return a.printJSON(table)
	}
	r := report{
		sheet: a.msg("KPIs", "KPI指标"),
		headers: []string{a.msg("Scope", "范围"), a.msg("Period start", "开始日期"), a.msg("Period end", "结束日期"),
			a.msg("KPI code", "指标代码"), a.msg("KPI", "指标"), a.msg("Numerator", "分子"), a.msg("Denominator", "分母"),
			a.msg("Value", "值"), a.msg("Target", "目标"), a.msg("Rating", "评级")},
	}
	scope := deref(table.Scope)
	for _, per := range deref(table.Periods) {
		for _, v := range deref(per.Values) {
			r.rows = append(r.rows, []any{scope, deref(per.StartDate), deref(per.EndDate), deref(v.Kpi), a.kpiName(deref(v.Kpi)),
				deref(v.Numerator), count(v.Denominator), num(v.Value), num(v.Target), a.rating(v.Rating)})
		}
		if per.CompositeScore != nil {
			r.rows = append(r.rows, []any{scope, deref(per.StartDate), deref(per.EndDate), "composite_score", a.msg("Composite score", "综合得分"),
				nil, nil, *per.CompositeScore, nil, nil})
		}
	}
	return a.emit(r, out, p.out)
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
	g, date, out, err := p.query()
	if err != nil {
		return err
	}
	c, err := a.newClient()
	if err != nil {
		return err
	}
	params := &client.RankDealersParams{QueryGranularity: (*client.RankDealersParamsQueryGranularity)(g), QueryDate: date}
	if *region != "" {
		params.Region = region
	}
	res, err := c.RankDealersWithResponse(ctx, params)
	if err != nil {
		return err
	}
	if err := check(res, res.Body); err != nil {
		return err
	}
	ranking := res.JSON200
	if a.g.json {
		return a.printJSON(ranking)
	}
	r := report{
		sheet: a.msg("Ranking", "排名"),
		headers: []string{a.msg("Rank", "排名"), a.msg("Dealer", "经销商"), a.msg("Region", "大区"), a.msg("Composite score", "综合得分"),
			a.msg("Percentile", "百分位"), a.msg("Previous rank", "上期排名"), a.msg("Movement", "变化"),
			a.msg("Period start", "开始日期"), a.msg("Period end", "结束日期")},
	}
	for _, d := range deref(ranking.Ranks) {
		r.rows = append(r.rows, []any{int64(deref(d.Rank)), deref(d.Dealer), deref(d.Region), deref(d.CompositeScore),
			deref(d.Percentile), int64(deref(d.PreviousRank)), int64(deref(d.Movement)), deref(ranking.StartDate), deref(ranking.EndDate)})
	}
	return a.emit(r, out, p.out)
}

// emit prints r as a table, or writes it to path in format.
func (a *api) emit(r report, format, path string) error {
	if path == "" {
		return r.print(a.m.Stdout)
	}
	if err := r.write(path, format); err != nil {
		return err
	}
	fmt.Fprintf(a.m.Stdout, a.msg("wrote %d rows to %s\n", "已写入 %d 行到 %s\n"), len(r.rows), path)
	return nil
}

// count is an int64 the API writes as a JSON string (protojson), as a
// number for the sheet.
func count(s *string) any {
	if s == nil {
		return int64(0)
	}
	n, err := strconv.ParseInt(*s, 10, 64)
	if err != nil {
		return *s
	}
	return n
}

// num is an optional number: an empty cell when unset.
func num(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}
