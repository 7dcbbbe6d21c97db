package cli_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
	"github.com/dealercare/dealercare/pkg/validate"
	"github.com/dealercare/dealercare/services/evaluation/evaluation"
	"github.com/xuri/excelize/v2"
)

var han = regexp.MustCompile(`\p{Han}`)

// Sign in with the dev key, list and show in a table and as JSON, and the
// API's errors in the caller's language.
func TestLoginListShowAndErrors(t *testing.T) {
	s := startStack(t)
	s.network(t)
	cfg := filepath.Join(t.TempDir(), "config.json")

	// A token the gateway does not trust: its 401, nothing saved.
	r := s.cli(t, cfg, "--lang", "en", "login", "--url", s.url, "--token", "not-a-jwt")
	if r.code != 1 || !strings.Contains(r.stderr, "dealercare: ") {
		t.Fatalf("login with a bad token: %+v", r)
	}
	if _, err := os.Stat(cfg); err == nil {
		t.Fatal("a refused sign-in was saved")
	}
	r = s.cli(t, cfg, "list", "customers", "--dealer", "SH001")
	if r.code != 2 || !strings.Contains(r.stderr, "not signed in") {
		t.Fatalf("list before login: %+v", r)
	}

	// The dev key, as `make run` prints it.
	r = s.cli(t, cfg, "--lang", "en", "login", "--url", s.url, "--dev", "--keys", s.keysDir(), "--role", "agent", "--dealer", "SH001")
	if r.code != 0 || !strings.Contains(r.stdout, "signed in to "+s.url) {
		t.Fatalf("login --dev: %+v", r)
	}
	agent := s.token(t, auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	ids := map[string]string{}
	for _, c := range []struct{ name, mobile string }{{"欧阳振华", "13912345678"}, {"李建国", "13812345678"}} {
		ids[c.name] = s.post(t, agent, "/v1/dealers/SH001/customers", fmt.Sprintf(`{"name":%q,"mobile":%q}`, c.name, c.mobile))["id"].(string)
	}
	s.post(t, s.token(t, auth.Principal{Subject: "a2", Roles: []auth.Role{auth.RoleAgent}, Dealer: "HZ001"}), "/v1/dealers/HZ001/customers", `{"name":"王芳","mobile":"13712345678"}`)

	// A table with a header row and one line per customer, masked mobiles.
	r = s.cli(t, cfg, "list", "customers", "--dealer", "SH001")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "NAME") {
		t.Fatalf("list customers: %+v", r)
	}
	for name, id := range ids {
		if !strings.Contains(r.stdout, name) || !strings.Contains(r.stdout, id) {
			t.Errorf("list customers lacks %s (%s):\n%s", name, id, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "王芳") || strings.Contains(r.stdout, "13912345678") {
		t.Errorf("list shows another dealer's customer or a mobile in clear:\n%s", r.stdout)
	}

	// --json: the API's page as it came, for scripts.
	r = s.cli(t, cfg, "--json", "list", "customers", "--dealer", "SH001")
	var page struct {
		Customers []struct{ ID, Name string } `json:"customers"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || r.code != 0 || len(page.Customers) != 2 {
		t.Fatalf("list --json: %v %+v", err, r)
	}
	id := ids["欧阳振华"]
	r = s.cli(t, cfg, "show", "customers", id, "--dealer", "SH001")
	if r.code != 0 || !regexp.MustCompile(`(?m)^name\s+欧阳振华$`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^id\s+`+id+`$`).MatchString(r.stdout) {
		t.Fatalf("show: %+v", r)
	}
	r = s.cli(t, cfg, "--json", "show", "customers", id, "--dealer", "SH001")
	var one map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &one); err != nil || one["id"] != id || one["name"] != "欧阳振华" {
		t.Fatalf("show --json: %v %+v", err, r)
	}
	r = s.cli(t, cfg, "--json", "list", "dealers")
	if !strings.Contains(r.stdout, `"SH001"`) || strings.Contains(r.stdout, `"HZ001"`) {
		t.Errorf("an SH001 agent's dealers: %+v", r)
	}

	// Errors: the API's message, in the language asked for, exit 1.
	for _, c := range []struct {
		args []string
		en   string
	}{
		// A bad field, named in the message.
		{[]string{"kpis", "--dealer", "SH001", "--date", "2026-13-01"}, "query.date"},
		// Another dealer's customer: not found (existence does not leak).
		{[]string{"show", "customers", ids["李建国"], "--dealer", "HZ001"}, "not found"},
	} {
		en := s.cli(t, cfg, append([]string{"--lang", "en"}, c.args...)...)
		zh := s.cli(t, cfg, append([]string{"--lang", "zh-CN"}, c.args...)...)
		if en.code != 1 || !strings.Contains(strings.ToLower(en.stderr), c.en) || han.MatchString(en.stderr) {
			t.Errorf("%v in English: %+v", c.args, en)
		}
		if zh.code != 1 || !han.MatchString(zh.stderr) || zh.stderr == en.stderr {
			t.Errorf("%v in Chinese: %+v", c.args, zh)
		}
		t.Logf("%v:\n  en: %s  zh: %s", c.args, en.stderr, zh.stderr)
	}
	// $LANG picks the language when --lang is not given.
	if r := s.cli(t, cfg, "show", "customers", "nope", "--dealer", "SH001"); r.code != 1 || han.MatchString(r.stderr) {
		t.Errorf("show without --lang: %+v", r)
	}
	// A usage error names the missing parameter.
	if r := s.cli(t, cfg, "list", "customers"); r.code != 2 || !strings.Contains(r.stderr, "--dealer") {
		t.Errorf("list customers without --dealer: %+v", r)
	}
}

// KPI reports to CSV and XLSX, headers in the caller's language, read
// back; the ranking too.
func TestKpiExport(t *testing.T) {
	s := startStack(t)
	s.network(t)
	admin := s.admin(t)
	cfg := filepath.Join(t.TempDir(), "config.json")
	if r := s.cli(t, cfg, "login", "--url", s.url, "--token", admin); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	s.post(t, admin, "/v1/kpiTargets", `{"effectiveMonth":"2020-01","targets":[{"kpi":"appointment_rate","target":0.5,"weight":1},{"kpi":"archive_accuracy_rate","target":0.9,"weight":1}]}`)
	// SH001: two archives, one visit booked by appointment; HZ001: one
	// archive, one walk-in visit.
	for i, d := range []struct {
		dealer      string
		appointment bool
	}{{"SH001", true}, {"SH001", false}, {"HZ001", false}} {
		agent := s.token(t, auth.Principal{Subject: "agent", Roles: []auth.Role{auth.RoleAgent}, Dealer: d.dealer})
		base := "/v1/dealers/" + d.dealer
		c := s.post(t, agent, base+"/customers", fmt.Sprintf(`{"name":"客户%d","mobile":"1391234567%d"}`, i, i))
		vin := validate.CompleteVIN(fmt.Sprintf("LSVAB2BM0MN12345%d", i))
		s.post(t, agent, base+"/customers/"+c["id"].(string)+"/vehicles", `{"vin":"`+vin+`"}`)
		if d.dealer == "SH001" && i == 1 {
			continue // a customer without a visit
		}
		s.post(t, agent, base+"/repairOrders", fmt.Sprintf(`{"number":"RO-%d","vin":%q,"type":"REPAIR_ORDER_TYPE_MAINTENANCE","mileageKm":100,"byAppointment":%v}`, i, vin, d.appointment))
	}
	s.evaluate(t)
	dir := t.TempDir()

	// CSV in English: the server's file, saved as it came.
	csvPath := filepath.Join(dir, "sh001.csv")
	r := s.cli(t, cfg, "--lang", "en", "kpis", "--dealer", "SH001", "--out", csvPath)
	if r.code != 0 || !strings.Contains(r.stdout, "wrote "+csvPath) {
		t.Fatalf("kpis --out csv: %+v", r)
	}
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(raw), "\ufeff") {
		t.Error("the CSV has no byte-order mark (Excel would garble Chinese)")
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Scope", "Granularity", "Start date", "End date", "KPI code", "KPI", "Numerator", "Denominator", "Value", "Target", "Rating"}
	if strings.Join(recs[0], "|") != strings.Join(want, "|") {
		t.Errorf("CSV header %q", recs[0])
	}
	byKPI := map[string][]string{}
	for _, rec := range recs[1:] {
		byKPI[rec[4]] = rec
	}
	if got := byKPI["appointment_rate"]; got == nil || got[0] != "dealers/SH001" || got[1] != "month" || got[5] != "Appointment rate" || got[6] != "1" || got[7] != "1" || got[8] != "1" || got[9] != "0.5" || got[10] != "green" {
		t.Errorf("appointment_rate row %q", got)
	}
	if got := byKPI["archive_accuracy_rate"]; got == nil || got[7] != "2" {
		t.Errorf("archive_accuracy_rate row %q (want 2 archives)", got)
	}
	if got := byKPI["composite_score"]; len(recs) != 1+len(evaluation.KPIs)+1 || got == nil || got[5] != "Composite score" || got[8] == "" {
		t.Errorf("%d rows, composite %q", len(recs), got)
	}
	// The terminal table is the same CSV, aligned, in the same language.
	r = s.cli(t, cfg, "--lang", "en", "kpis", "--dealer", "SH001")
	if r.code != 0 || !regexp.MustCompile(`(?m)^dealers/SH001\s+month\s+\S+\s+\S+\s+appointment_rate\s+Appointment rate\s+1\s+1\s+1\s+0\.5\s+green$`).MatchString(r.stdout) {
		t.Errorf("kpis table:\n%+v", r)
	}

	// XLSX in Chinese, read back with excelize: headers, names, numbers
	// as numbers.
	xlsxPath := filepath.Join(dir, "east.xlsx")
	r = s.cli(t, cfg, "--lang", "zh-CN", "kpis", "--region", "EAST", "--periods", "3", "--out", xlsxPath)
	if r.code != 0 || !strings.Contains(r.stdout, "已写入 "+xlsxPath) {
		t.Fatalf("kpis --out xlsx: %+v", r)
	}
	f, err := excelize.OpenFile(xlsxPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != 1 {
		t.Fatalf("sheets %v", sheets)
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], "|") != "范围|周期类型|开始日期|结束日期|指标代码|指标|分子|分母|值|目标|评级" {
		t.Errorf("XLSX header %q", rows[0])
	}
	var last []string
	var lastRow int
	for i, row := range rows {
		if len(row) > 5 && row[4] == "appointment_rate" {
			last, lastRow = row, i+1
		}
	}
	// Three months, the current one last: the region's sum (1 of 2 visits).
	if last == nil || last[0] != "regions/EAST" || last[1] != "月" || last[5] != "预约率" || last[6] != "1" || last[7] != "2" || last[8] != "0.5" || last[10] != "绿" {
		t.Errorf("EAST appointment_rate row %q", last)
	}
	if len(rows) != 1+3*(len(evaluation.KPIs)+1) {
		t.Errorf("%d rows for 3 months of %d KPIs and a composite", len(rows), len(evaluation.KPIs))
	}
	if typ, err := f.GetCellType(sheets[0], "H"+strconv.Itoa(lastRow)); err != nil || typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("denominator cell type %v %v, want a number", typ, err)
	}
	if v, err := f.CalcCellValue(sheets[0], "H"+strconv.Itoa(lastRow)); err != nil || v != "2" {
		t.Errorf("denominator %q %v", v, err)
	}

	// The ranking: SH001 (all visits booked) above HZ001, as a table (in
	// English) and as XLSX (in Chinese, with the server's KPI names).
	r = s.cli(t, cfg, "--lang", "en", "rank")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "Rank ") || !strings.Contains(lines[0], "Appointment rate") ||
		!strings.HasPrefix(lines[1], "1 ") || !strings.Contains(lines[1], "SH001") || !strings.Contains(lines[2], "HZ001") {
		t.Fatalf("rank: %+v", r)
	}
	rankPath := filepath.Join(dir, "rank.xlsx")
	if r := s.cli(t, cfg, "--lang", "zh-CN", "rank", "--region", "EAST", "--out", rankPath); r.code != 0 {
		t.Fatalf("rank --out: %+v", r)
	}
	rf, err := excelize.OpenFile(rankPath)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	rrows, _ := rf.GetRows(rf.GetSheetList()[0])
	if len(rrows) != 3 || rrows[0][0] != "排名" || rrows[0][1] != "经销商" || !slices.Contains(rrows[0], "预约率") || rrows[1][0] != "1" || rrows[1][1] != "SH001" || rrows[2][1] != "HZ001" {
		t.Errorf("ranking sheet %q", rrows)
	}
	if i := slices.Index(rrows[0], "预约率"); i < 0 || len(rrows[1]) <= i || rrows[1][i] != "1" || len(rrows[2]) <= i || rrows[2][i] != "0" {
		t.Errorf("ranking appointment rates %q", rrows)
	}
	// The CSV ranking in English, the same rows.
	rankCSV := filepath.Join(dir, "rank.csv")
	if r := s.cli(t, cfg, "--lang", "en", "rank", "--region", "EAST", "--out", rankCSV); r.code != 0 {
		t.Fatalf("rank --out csv: %+v", r)
	}
	raw, err = os.ReadFile(rankCSV)
	if err != nil {
		t.Fatal(err)
	}
	rrecs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	if err != nil || len(rrecs) != 3 || rrecs[0][0] != "Rank" || rrecs[0][1] != "Dealer" || !slices.Contains(rrecs[0], "Appointment rate") || rrecs[1][1] != "SH001" || rrecs[2][1] != "HZ001" {
		t.Errorf("ranking CSV %q %v", rrecs, err)
	}
	// --json prints the API's own object.
	r = s.cli(t, cfg, "--json", "kpis")
	var table struct {
		Scope   string `json:"scope"`
		Periods []any  `json:"periods"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &table); err != nil || table.Scope != "network" || len(table.Periods) != 1 {
		t.Errorf("kpis --json: %v %+v", err, r)
	}
	// A file name that is neither CSV nor XLSX is a usage error, before
	// any call.
	if r := s.cli(t, cfg, "kpis", "--out", filepath.Join(dir, "x.pdf")); r.code != 2 || !strings.Contains(r.stderr, ".xlsx") {
		t.Errorf("kpis --out x.pdf: %+v", r)
	}
}
