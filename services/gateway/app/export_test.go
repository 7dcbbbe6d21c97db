package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/xuri/excelize/v2"
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// file GETs an export: the status, the content type and the bytes.
func (g *gw) file(t *testing.T, path, token, lang string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", g.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}

// xlsxRows reads an exported workbook's only sheet back with excelize.
func xlsxRows(t *testing.T, raw []byte) [][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// row finds the row whose cell col is value.
func row(rows [][]string, col int, value string) []string {
	for _, r := range rows {
		if len(r) > col && r[col] == value {
			return r
		}
	}
	return nil
}

// TestKpiExports: KPI tables and rankings as XLSX and CSV through the
// REST API, headers in the caller's language (zh-CN by default), cut to
// what the caller may read, errors naming the field, and no personal data
// in an HQ file.
func TestKpiExports(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	analyst := g.token(t, auth.Principal{Subject: "analyst", Roles: []auth.Role{auth.RoleHQAnalyst}})
	region := g.token(t, auth.Principal{Subject: "rm", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"})
	tokens := map[string]string{}
	for _, d := range []string{"SH001", "BJ001"} {
		manager := g.token(t, auth.Principal{Subject: "mgr-" + d, Roles: []auth.Role{auth.RoleDealerManager}, Dealer: d})
		tokens[d] = g.token(t, auth.Principal{Subject: "agent-" + d, Roles: []auth.Role{auth.RoleAgent}, Dealer: d})
		must(t, 200)(g.do(t, "POST", "/v1/dealers/"+d+"/callbackAgents", manager, `{"subject":"agent-`+d+`"}`))
	}
	must(t, 200)(g.do(t, "POST", "/v1/kpiTargets", admin, `{"effectiveMonth":"2020-01","targets":[{"kpi":"callback_rate_3dc","target":0.9,"weight":1}]}`))
	sh := "/v1/dealers/SH001"
	cust := must(t, 200)(g.do(t, "POST", sh+"/customers", tokens["SH001"], `{"name":"欧阳振华","mobile":"13912345678"}`))
	must(t, 200)(g.do(t, "POST", sh+"/customers/"+cust["id"].(string)+"/vehicles", tokens["SH001"], `{"vin":"`+vinA+`","plate":"沪A12345"}`))
	completeTask(t, g, "SH001", g.seedCallbackTask(t, "SH001", "ro-x1").GetId(), tokens["SH001"])
	g.seedCallbackTask(t, "SH001", "ro-x2")
	completeTask(t, g, "BJ001", g.seedCallbackTask(t, "BJ001", "ro-x3").GetId(), tokens["BJ001"])
	g.evaluate(t)

	// A dealer's table as XLSX, Chinese without Accept-Language: the 3DC
	// row carries its numerator and denominator.
	code, ctype, raw := g.file(t, sh+"/kpis:export?format=EXPORT_FORMAT_XLSX&query.periods=3", tokens["SH001"], "")
	if code != 200 || ctype != xlsxType {
		t.Fatalf("dealer export: %d %q %s", code, ctype, raw)
	}
	rows := xlsxRows(t, raw)
	if rows[0][5] != "指标" || rows[0][6] != "分子" || rows[0][7] != "分母" {
		t.Errorf("zh header %q", rows[0])
	}
	perPeriod := len(evaluation.KPIs) + 1 // every KPI and the composite
	if len(rows) != 1+3*perPeriod {
		t.Errorf("%d rows, want a header and 3 periods of %d KPIs and the composite", len(rows), len(evaluation.KPIs))
	}
	r3 := rows[len(rows)-perPeriod]
	if r3[4] != "callback_rate_3dc" || r3[5] != "3DC回访率" || r3[6] != "1" || r3[7] != "2" || r3[8] != "0.5" || r3[10] != "红" {
		t.Errorf("SH001 3DC row %q", r3)
	}
	// The same table as CSV in English.
	code, ctype, raw = g.file(t, sh+"/kpis:export?query.periods=3", tokens["SH001"], "en")
	if code != 200 || !strings.HasPrefix(ctype, "text/csv") || !bytes.HasPrefix(raw, []byte("\uFEFFScope,Granularity,Start date,End date,KPI code,KPI,Numerator,Denominator")) {
		t.Fatalf("dealer CSV: %d %q %.200s", code, ctype, raw)
	}
	if !bytes.Contains(raw, []byte(",callback_rate_3dc,3DC callback rate,1,2,0.5,0.9,red\n")) {
		t.Errorf("CSV lacks the 3DC row: %s", raw)
	}

	// The region's and the network's sums.
	_, _, raw = g.file(t, "/v1/regions/EAST/kpis:export?format=EXPORT_FORMAT_XLSX", region, "en")
	if r := row(xlsxRows(t, raw), 4, "callback_rate_3dc"); r == nil || r[0] != "regions/EAST" || r[6] != "1" || r[7] != "2" {
		t.Errorf("EAST 3DC row %q", r)
	}
	_, _, raw = g.file(t, "/v1/kpis:export?format=EXPORT_FORMAT_XLSX", analyst, "en")
	if r := row(xlsxRows(t, raw), 4, "callback_rate_3dc"); r == nil || r[0] != "network" || r[6] != "2" || r[7] != "3" {
		t.Errorf("network 3DC row %q", r)
	}

	// The ranking: HQ sees both dealers; a dealer its own row, with the
	// count and the median, and no other dealer.
	_, ctype, raw = g.file(t, "/v1/kpis:exportRanking?format=EXPORT_FORMAT_XLSX", admin, "")
	rows = xlsxRows(t, raw)
	if ctype != xlsxType || len(rows) != 3 || rows[0][0] != "排名" || rows[1][1] != "BJ001" || rows[1][0] != "1" || rows[2][1] != "SH001" ||
		rows[1][2] != "北京朝阳汽车销售服务有限公司" {
		t.Errorf("HQ ranking %q", rows)
	}
	_, _, raw = g.file(t, "/v1/kpis:exportRanking?format=EXPORT_FORMAT_XLSX", tokens["SH001"], "en")
	rows = xlsxRows(t, raw)
	if len(rows) != 2 || rows[1][1] != "SH001" || rows[1][0] != "2" || rows[0][9] != "Dealers ranked" || rows[1][9] != "2" {
		t.Errorf("SH001's ranking %q", rows)
	}
	_, _, raw = g.file(t, "/v1/kpis:exportRanking", tokens["SH001"], "en")
	if bytes.Contains(raw, []byte("BJ001")) {
		t.Errorf("SH001's ranking file shows BJ001: %s", raw)
	}

	// Who may not read may not export; errors name the field.
	for _, tc := range []struct {
		path, token string
		want        int
		field       string
	}{
		{"/v1/kpis:export", region, 403, ""},
		{"/v1/kpis:export", tokens["SH001"], 403, ""},
		{"/v1/dealers/BJ001/kpis:export", tokens["SH001"], 404, ""},
		{"/v1/regions/NORTH/kpis:export", region, 404, ""},
		{sh + "/kpis:export?format=EXPORT_FORMAT_PDF", tokens["SH001"], 400, "format"},
		{sh + "/kpis:export?query.date=2026-02-30", tokens["SH001"], 400, "query.date"},
		{"/v1/kpis:exportRanking?query.periods=401", admin, 400, "query.periods"},
	} {
		code, ctype, raw := g.file(t, tc.path, tc.token, "en")
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil || code != tc.want || !strings.HasPrefix(ctype, "application/json") {
			t.Errorf("GET %s: %d %q %s, want %d as JSON", tc.path, code, ctype, raw, tc.want)
			continue
		}
		if tc.field != "" {
			wantField(t, code, body, tc.field)
		}
	}

	// No personal data in any file HQ exports.
	for _, p := range []string{sh + "/kpis:export?query.periods=12", sh + "/kpis:export?format=EXPORT_FORMAT_XLSX&query.granularity=GRANULARITY_DAY&query.periods=31",
		"/v1/regions/EAST/kpis:export", "/v1/kpis:export?format=EXPORT_FORMAT_XLSX", "/v1/kpis:exportRanking", "/v1/kpis:exportRanking?format=EXPORT_FORMAT_XLSX&region=EAST"} {
		for _, tok := range []string{analyst, admin} {
			code, ctype, raw := g.file(t, p, tok, "")
			if code != 200 {
				t.Fatalf("GET %s: %d %s", p, code, raw)
			}
			text := string(raw)
			if ctype == xlsxType {
				var cells []string
				for _, r := range xlsxRows(t, raw) {
					cells = append(cells, strings.Join(r, ","))
				}
				text = strings.Join(cells, "\n")
			}
			for _, secret := range []string{"欧阳振华", "13912345678", vinA, cust["id"].(string)} {
				if strings.Contains(text, secret) {
					t.Errorf("GET %s answers HQ with %q", p, secret)
				}
			}
		}
	}
}
