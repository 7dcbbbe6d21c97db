package export

import (
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
)

// label is a text in both of the API's languages.
type label struct{ zh, en string }

func (l label) in(lang string) string {
	if lang == apperr.LangEN {
		return l.en
	}
	return l.zh
}

// kpiNames are SPEC's names of the KPIs (evaluation: KPIs and rankings):
// one for each of evaluation.KPIs, and the composite score.
var kpiNames = map[string]label{
	evaluation.CallbackRate3DC:            {"3DC回访率", "3DC callback rate"},
	evaluation.CallbackRate7DC:            {"7DC回访率", "7DC callback rate"},
	evaluation.NewCustomerCallbackRate:    {"新客户回访率", "New customer callback rate"},
	evaluation.SSI:                        {"售后满意度(SSI)", "After-sales satisfaction (SSI)"},
	evaluation.CSI:                        {"销售满意度(CSI)", "Sales satisfaction (CSI)"},
	evaluation.ComplaintOneTimeClosure:    {"抱怨一次关闭率", "Complaint one-time closure rate"},
	evaluation.ComplaintResponseSLARate:   {"抱怨及时响应率", "Complaint response within target"},
	evaluation.ComplaintResolutionSLARate: {"抱怨及时解决率", "Complaint resolution within target"},
	evaluation.ReturnRate:                 {"回站率", "Return rate"},
	evaluation.ChurnRate:                  {"流失率", "Churn rate"},
	evaluation.CampaignReturnCount:        {"服务活动回站人数", "Campaign returns"},
	evaluation.FirstTimeFixRate:           {"一次达标率", "First-time fix rate"},
	evaluation.ArchiveTimelinessRate:      {"档案上传及时率", "Archive timeliness rate"},
	evaluation.ArchiveAccuracyRate:        {"档案填写准确率", "Archive accuracy rate"},
	evaluation.AppointmentRate:            {"预约率", "Appointment rate"},
	evaluation.InspectionScore:            {"检核得分", "Inspection score"},
	compositeKPI:                          {"综合得分", "Composite score"},
}

// compositeKPI is the row of a KPI table that holds the period's
// composite score.
const compositeKPI = "composite_score"

// KPIName is a KPI's name in lang (its code when unknown).
func KPIName(kpi, lang string) string {
	if l, ok := kpiNames[kpi]; ok {
		return l.in(lang)
	}
	return kpi
}

var ratings = map[string]label{"green": {"绿", "green"}, "amber": {"黄", "amber"}, "red": {"红", "red"}}

var granularities = map[string]label{"day": {"日", "day"}, "week": {"周", "week"}, "month": {"月", "month"}}

// Column headers.
var (
	hScope       = label{"范围", "Scope"}
	hGranularity = label{"周期类型", "Granularity"}
	hStart       = label{"开始日期", "Start date"}
	hEnd         = label{"结束日期", "End date"}
	hKPICode     = label{"指标代码", "KPI code"}
	hKPI         = label{"指标", "KPI"}
	hNumerator   = label{"分子", "Numerator"}
	hDenominator = label{"分母", "Denominator"}
	hValue       = label{"值", "Value"}
	hTarget      = label{"目标", "Target"}
	hRating      = label{"评级", "Rating"}
	hRank        = label{"排名", "Rank"}
	hDealer      = label{"经销商", "Dealer"}
	hDealerName  = label{"经销商名称", "Dealer name"}
	hRegion      = label{"大区", "Region"}
	hScore       = kpiNames[compositeKPI]
	hPercentile  = label{"百分位", "Percentile"}
	hPrevious    = label{"上期排名", "Previous rank"}
	hMovement    = label{"名次变化", "Movement"}
	hMedian      = label{"中位数得分", "Median score"}
	hCount       = label{"参评经销商数", "Dealers ranked"}
	hVersion     = label{"目标版本", "Target version"}
)

func headers(lang string, ls ...label) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.in(lang)
	}
	return out
}
