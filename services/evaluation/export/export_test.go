package export

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/xuri/excelize/v2"
)

func month(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

func table() *evaluation.Table {
	set := &evaluation.TargetSet{Version: 3, EffectiveMonth: month("2026-01-01"), Targets: []evaluation.Target{
		{KPI: evaluation.CallbackRate3DC, Target: 0.9, Weight: 1, AmberRatio: 0.9},
		{KPI: evaluation.SSI, Target: 90, Weight: 1, AmberRatio: 0.9},
	}}
	return &evaluation.Table{Scope: "dealers/SH001", Granularity: evaluation.Month, Periods: []evaluation.Period{
		{Start: month("2026-10-01"), End: month("2026-10-31"), Targets: set, Figures: evaluation.Figures{
			evaluation.CallbackRate3DC: {Numerator: 3, Denominator: 4},
			evaluation.SSI:             {Numerator: 17050, Denominator: 2},
		}},
		{Start: month("2026-11-01"), End: month("2026-11-30"), Targets: set, Figures: evaluation.Figures{}},
	}}
}

// readXLSX reads a workbook's only sheet back with excelize.
func readXLSX(t *testing.T, b []byte) (string, [][]string) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("open xlsx: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != 1 {
		t.Fatalf("sheets %v, want one", sheets)
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		t.Fatal(err)
	}
	return sheets[0], rows
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	s, ok := strings.CutPrefix(string(b), bom)
	if !ok {
		t.Fatal("CSV has no UTF-8 byte-order mark")
	}
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("read csv: %v", err)
	}
	return rows
}

func TestKPITableBothFormatsBothLanguages(t *testing.T) {
	for _, lang := range []string{apperr.LangZH, apperr.LangEN} {
		s := KPITable(table(), lang)
		x, err := Write(XLSX, s)
		if err != nil {
			t.Fatal(err)
		}
		name, xrows := readXLSX(t, x)
		c, err := Write(CSV, s)
		if err != nil {
			t.Fatal(err)
		}
		crows := readCSV(t, c)
		if name != "dealers-SH001" {
			t.Errorf("sheet name %q", name)
		}
		// Every KPI and the composite per period, two periods, one header.
		if want := 1 + 2*(len(evaluation.KPIs)+1); len(xrows) != want || len(crows) != want {
			t.Fatalf("%s: xlsx %d rows, csv %d, want %d", lang, len(xrows), len(crows), want)
		}
		wantHeader := map[string]string{apperr.LangZH: "指标", apperr.LangEN: "KPI"}[lang]
		if xrows[0][5] != wantHeader || crows[0][5] != wantHeader {
			t.Errorf("%s header %q / %q, want %q", lang, xrows[0][5], crows[0][5], wantHeader)
		}
		row3dc := crows[1]
		wantName := map[string]string{apperr.LangZH: "3DC回访率", apperr.LangEN: "3DC callback rate"}[lang]
		// 0.75 of a 0.9 target is 83 %, under the 0.9 amber band: red.
		if got := strings.Join(row3dc, "|"); got != "dealers/SH001|"+granularities["month"].in(lang)+"|2026-10-01|2026-10-31|callback_rate_3dc|"+wantName+"|3|4|0.75|0.9|"+ratings["red"].in(lang) {
			t.Errorf("%s 3DC row %q", lang, got)
		}
		// ssi: the numerator is points, the value the mean.
		ssi := crows[4]
		if ssi[4] != "ssi" || ssi[6] != "170.5" || ssi[7] != "2" || ssi[8] != "85.25" || ssi[10] != ratings["amber"].in(lang) {
			t.Errorf("%s ssi row %q", lang, ssi)
		}
		// The XLSX holds the same cells, numbers as numbers.
		if xrows[1][8] != "0.75" || xrows[4][8] != "85.25" {
			t.Errorf("xlsx values %q %q", xrows[1][8], xrows[4][8])
		}
		f, _ := excelize.OpenReader(bytes.NewReader(x))
		if typ, _ := f.GetCellType(name, "I2"); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
			t.Errorf("value cell type %v, want a number", typ)
		}
		f.Close()
		// The composite row: (0.75/0.9 + 85.25/90) ÷ 2.
		comp := crows[len(evaluation.KPIs)+1]
		if comp[4] != compositeKPI || !strings.HasPrefix(comp[8], "89.02") {
			t.Errorf("%s composite row %q", lang, comp)
		}
		// A period without facts has empty values, not zeros.
		if empty := crows[len(evaluation.KPIs)+2]; empty[2] != "2026-11-01" || empty[8] != "" || empty[10] != "" || empty[9] != "0.9" {
			t.Errorf("%s empty period row %q", lang, empty)
		}
	}
}

func TestRankingSheet(t *testing.T) {
	r := &evaluation.RankingResult{Granularity: evaluation.Month, Start: month("2026-11-01"), End: month("2026-11-30"),
		DealerCount: 19, Median: 71.5, TargetVersion: 2, Ranks: []evaluation.Rank{
			{Dealer: "SH001", Name: "上海浦东汽车销售服务有限公司", Region: "EAST", Score: 88, Rank: 1, Percentile: 100, PreviousRank: 3, Movement: 2,
				Figures: evaluation.Figures{evaluation.CallbackRate3DC: {Numerator: 9, Denominator: 10}}},
			{Dealer: "BJ001", Region: "NORTH", Score: 60, Rank: 2, Percentile: 50},
		}}
	x, err := Write(XLSX, Ranking(r, apperr.LangZH))
	if err != nil {
		t.Fatal(err)
	}
	name, rows := readXLSX(t, x)
	if name != "ranking" || len(rows) != 3 {
		t.Fatalf("sheet %q rows %v", name, rows)
	}
	if h := strings.Join(rows[0][:11], "|"); h != "排名|经销商|经销商名称|大区|综合得分|百分位|上期排名|名次变化|中位数得分|参评经销商数|目标版本" {
		t.Errorf("header %q", h)
	}
	if rows[0][13] != "3DC回访率" || rows[1][13] != "0.9" {
		t.Errorf("3DC column %q %q", rows[0][13], rows[1][13])
	}
	if got := strings.Join(rows[1][:10], "|"); got != "1|SH001|上海浦东汽车销售服务有限公司|EAST|88|100|3|2|71.5|19" {
		t.Errorf("first row %q", got)
	}
	// Not ranked before: the previous rank is empty, not 0.
	if rows[2][2] != "" || rows[2][6] != "" || rows[2][7] != "0" {
		t.Errorf("second row %q", rows[2])
	}
	c, _ := Write(CSV, Ranking(r, apperr.LangEN))
	if crows := readCSV(t, c); crows[0][0] != "Rank" || crows[0][13] != "3DC callback rate" || len(crows) != 3 {
		t.Errorf("csv %q", crows)
	}
}

// Every KPI the evaluation computes has its name in both languages, and
// no name is left for a KPI it does not.
func TestEveryKPIHasAName(t *testing.T) {
	for _, k := range evaluation.KPIs {
		if l, ok := kpiNames[k]; !ok || l.zh == "" || l.en == "" {
			t.Errorf("%s has no name (%+v)", k, l)
		}
	}
	if len(kpiNames) != len(evaluation.KPIs)+1 {
		t.Errorf("%d names for %d KPIs and the composite", len(kpiNames), len(evaluation.KPIs))
	}
}

func TestUnknownFormatNamesTheField(t *testing.T) {
	_, err := Write("pdf", Sheet{})
	if e, ok := err.(*apperr.Error); !ok || e.Code != apperr.EINVALID || len(e.Violations) != 1 || e.Violations[0].Field != "format" {
		t.Errorf("err %#v", err)
	}
}

func TestSheetName(t *testing.T) {
	if got := sheetName("regions/EAST:x*" + strings.Repeat("y", 40)); got != "regions-EAST-x-"+strings.Repeat("y", 16) {
		t.Errorf("%q", got)
	}
}
