package app_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dealercare/dealercare/pkg/auth"
)

// completeWithRating claims and completes a callback task through the REST
// API, giving the questionnaire's 10-point question rating, every yes/no
// question yesNo, every choice its first option and every text question
// text; it returns the 10-point question's code and the questionnaire.
func completeWithRating(t *testing.T, g *gw, dealer, task, agent string, rating int, yesNo, text string) (string, map[string]any) {
	t.Helper()
	p := "/v1/dealers/" + dealer + "/callbackTasks/" + task
	full := must(t, 200)(g.do(t, "GET", p, agent, ""))
	questionnaire := full["questionnaire"].(map[string]any)
	var answers []string
	nps := ""
	for _, raw := range questionnaire["questions"].([]any) {
		q := raw.(map[string]any)
		switch q["type"] {
		case "QUESTION_TYPE_RATING":
			r := 5
			if q["scale"] == float64(10) && nps == "" {
				nps, r = q["code"].(string), rating
			}
			answers = append(answers, fmt.Sprintf(`{"question":%q,"rating":%d}`, q["code"], r))
		case "QUESTION_TYPE_YES_NO":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"yesNo":%q}`, q["code"], yesNo))
		case "QUESTION_TYPE_CHOICE":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"choice":%q}`, q["code"], q["options"].([]any)[0].(map[string]any)["code"]))
		case "QUESTION_TYPE_TEXT":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"text":%q}`, q["code"], text))
		}
	}
	if nps == "" {
		t.Fatalf("the %s questionnaire has no 10-point question: %v", dealer, questionnaire)
	}
	must(t, 200)(g.do(t, "POST", p+":claim", agent, `{}`))
	must(t, 200)(g.do(t, "POST", p+":recordAttempt", agent, `{"number":1,"outcome":"ATTEMPT_OUTCOME_ANSWERED"}`))
	must(t, 200)(g.do(t, "POST", p+":complete", agent, `{"answers":[`+strings.Join(answers, ",")+`],"findings":"已转服务经理"}`))
	return nps, questionnaire
}

// question finds a question's analysis in the last period of an answer.
func question(t *testing.T, body map[string]any, code string) map[string]any {
	t.Helper()
	periods := body["periods"].([]any)
	qs, _ := periods[len(periods)-1].(map[string]any)["questions"].([]any)
	for _, raw := range qs {
		if q := raw.(map[string]any); q["question"] == code && q["dealerQuestion"] != true {
			return q
		}
	}
	t.Fatalf("no %s in %v", code, body)
	return nil
}

// npsFigures is what a 10-point question's analysis should say.
type npsFigures struct {
	ratings                         map[int]int
	responses, sum, low             int
	promoters, passives, detractors int
	mean, lowShare, score           float64
}

func near(a any, b float64) bool { f, ok := a.(float64); return ok && math.Abs(f-b) < 1e-9 }

// checkNPS compares one question's analysis with hand-computed figures.
func checkNPS(t *testing.T, where string, q map[string]any, want npsFigures) {
	t.Helper()
	str := func(v any) string { return fmt.Sprint(v) }
	if q["type"] != "rating" || q["scale"] != float64(10) || q["kind"] != "3DC" || q["lowScoreMax"] != float64(6) {
		t.Errorf("%s: %v", where, q)
	}
	if str(q["responses"]) != fmt.Sprint(want.responses) || str(q["ratingSum"]) != fmt.Sprint(want.sum) || !near(q["mean"], want.mean) {
		t.Errorf("%s: responses %v sum %v mean %v, want %d %d %v", where, q["responses"], q["ratingSum"], q["mean"], want.responses, want.sum, want.mean)
	}
	if str(q["lowCount"]) != fmt.Sprint(want.low) || !near(q["lowShare"], want.lowShare) {
		t.Errorf("%s: low %v share %v, want %d %v", where, q["lowCount"], q["lowShare"], want.low, want.lowShare)
	}
	dist := map[string]string{}
	for _, raw := range q["distribution"].([]any) {
		d := raw.(map[string]any)
		dist[d["answer"].(string)] = str(d["count"])
	}
	for r := 1; r <= 10; r++ {
		if got := dist[fmt.Sprint(r)]; got != fmt.Sprint(want.ratings[r]) {
			t.Errorf("%s: %d answered %s times, want %d (%v)", where, r, got, want.ratings[r], dist)
		}
	}
	n := q["nps"].(map[string]any)
	if str(n["promoters"]) != fmt.Sprint(want.promoters) || str(n["passives"]) != fmt.Sprint(want.passives) ||
		str(n["detractors"]) != fmt.Sprint(want.detractors) || str(n["responses"]) != fmt.Sprint(want.responses) || !near(n["score"], want.score) {
		t.Errorf("%s: NPS %v, want %+v", where, n, want)
	}
}

// TestSurveyAnalysisEndToEnd: callbacks completed through the REST API with
// scored answers reach the survey analysis through the callback change
// feed; the dealer's, region's and network's figures match hand-computed
// ones; periods select; bad input is a 400 naming the field; each role
// sees its own scope only; no answer carries a text answer's words.
func TestSurveyAnalysisEndToEnd(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	admin := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	analyst := g.token(t, auth.Principal{Subject: "analyst", Roles: []auth.Role{auth.RoleHQAnalyst}})
	east := g.token(t, auth.Principal{Subject: "rm", Roles: []auth.Role{auth.RoleRegionManager}, Region: "EAST"})
	must(t, 200)(g.do(t, "POST", "/v1/dealers", admin, `{"code":"SH002","name":"上海徐汇汽车销售服务有限公司","region":"EAST","city":"上海"}`))
	agents := map[string]string{}
	for _, d := range []string{"SH001", "SH002", "BJ001"} {
		manager := g.token(t, auth.Principal{Subject: "mgr-" + d, Roles: []auth.Role{auth.RoleDealerManager}, Dealer: d})
		agents[d] = g.token(t, auth.Principal{Subject: "agent-" + d, Roles: []auth.Role{auth.RoleAgent}, Dealer: d})
		must(t, 200)(g.do(t, "POST", "/v1/dealers/"+d+"/callbackAgents", manager, `{"subject":"agent-`+d+`"}`))
	}
	const secret = "欧阳振华说很满意，电话13912345678"
	var npsQ string
	var questionnaire map[string]any
	calls := []struct {
		dealer string
		rating int
		yesNo  string
	}{
		{"SH001", 10, "yes"}, {"SH001", 7, "no"}, {"SH001", 3, "no"},
		{"SH002", 9, "yes"}, {"SH002", 9, "yes"},
		{"BJ001", 1, "no"},
	}
	for i, c := range calls {
		task := g.seedCallbackTask(t, c.dealer, fmt.Sprintf("ro-survey-%d", i)).GetId()
		npsQ, questionnaire = completeWithRating(t, g, c.dealer, task, agents[c.dealer], c.rating, c.yesNo, secret)
	}
	g.evaluate(t)

	// Today's day in the dealers' zone (Asia/Shanghai, the default).
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(zone).Format("2006-01-02")

	// SH001: 10, 7 and 3 of 10: mean 20/3, one low score (≤ 6), NPS
	// (1 promoter - 1 detractor) / 3 = 0.
	dealer := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/surveyAnalysis", agents["SH001"], ""))
	if dealer["scope"] != "dealers/SH001" || dealer["granularity"] != "GRANULARITY_MONTH" || len(dealer["periods"].([]any)) != 1 {
		t.Errorf("SH001's analysis: %v", dealer)
	}
	q := question(t, dealer, npsQ)
	if q["questionnaireVersion"] != questionnaire["version"] {
		t.Errorf("SH001 %s version %v, want the task's %v", npsQ, q["questionnaireVersion"], questionnaire["version"])
	}
	sh001Figures := npsFigures{ratings: map[int]int{10: 1, 7: 1, 3: 1}, responses: 3, sum: 20, low: 1,
		promoters: 1, passives: 1, detractors: 1, mean: 20.0 / 3, lowShare: 1.0 / 3, score: 0}
	checkNPS(t, "SH001", q, sh001Figures)
	// EAST: SH001's and SH002's 9 and 9: mean 38/5, NPS (3-1)/5 = 40.
	eastFigures := npsFigures{ratings: map[int]int{10: 1, 9: 2, 7: 1, 3: 1}, responses: 5, sum: 38, low: 1,
		promoters: 3, passives: 1, detractors: 1, mean: 7.6, lowShare: 0.2, score: 40}
	region := must(t, 200)(g.do(t, "GET", "/v1/regions/EAST/surveyAnalysis", east, ""))
	checkNPS(t, "EAST", question(t, region, npsQ), eastFigures)
	// The network: and BJ001's 1: mean 39/6, NPS (3-2)/6.
	network := must(t, 200)(g.do(t, "GET", "/v1/surveyAnalysis", analyst, ""))
	if network["scope"] != "network" {
		t.Errorf("network scope %v", network["scope"])
	}
	networkFigures := npsFigures{ratings: map[int]int{10: 1, 9: 2, 7: 1, 3: 1, 1: 1}, responses: 6, sum: 39, low: 2,
		promoters: 3, passives: 1, detractors: 2, mean: 6.5, lowShare: 2.0 / 6, score: 100.0 / 6}
	checkNPS(t, "network", question(t, network, npsQ), networkFigures)
	// A region manager's network is its region.
	checkNPS(t, "EAST's network", question(t, must(t, 200)(g.do(t, "GET", "/v1/surveyAnalysis", east, "")), npsQ), eastFigures)

	// SH001's yes/no answers: one yes, two noes; the low ones are the
	// question's problem answers. Text answers are counted, nothing more.
	problems := map[string]string{}
	for _, raw := range questionnaire["questions"].([]any) {
		qq := raw.(map[string]any)
		problems[qq["code"].(string)] = fmt.Sprint(qq["problemAnswer"])
	}
	seen := map[string]bool{}
	for _, raw := range dealer["periods"].([]any)[0].(map[string]any)["questions"].([]any) {
		yq := raw.(map[string]any)
		seen[fmt.Sprint(yq["type"])] = true
		switch yq["type"] {
		case "yes_no":
			dist := map[string]string{}
			for _, d := range yq["distribution"].([]any) {
				dist[d.(map[string]any)["answer"].(string)] = fmt.Sprint(d.(map[string]any)["count"])
			}
			low, share := "0", 0.0
			switch problems[yq["question"].(string)] {
			case "YES_NO_PROBLEM_YES":
				low, share = "1", 1.0/3
			case "YES_NO_PROBLEM_NO":
				low, share = "2", 2.0/3
			}
			if dist["yes"] != "1" || dist["no"] != "2" || yq["responses"] != "3" || fmt.Sprint(yq["lowCount"]) != low || !near(yq["lowShare"], share) {
				t.Errorf("SH001 %s (problem %s): %v", yq["question"], problems[yq["question"].(string)], yq)
			}
		case "text":
			if yq["responses"] != "3" || len(asList(yq["distribution"])) != 0 || yq["mean"] != nil {
				t.Errorf("SH001 text question %s: %v", yq["question"], yq)
			}
		}
	}
	if !seen["yes_no"] {
		t.Errorf("SH001's analysis has no yes/no question: %v", dealer)
	}

	// Periods: today's day has the answers, January has none, and three
	// months end with this one.
	day := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/surveyAnalysis?query.granularity=GRANULARITY_DAY&query.date="+today, admin, ""))
	if p := day["periods"].([]any)[0].(map[string]any); p["startDate"] != today || p["endDate"] != today {
		t.Errorf("today's period %v", p)
	}
	checkNPS(t, "SH001 today", question(t, day, npsQ), sh001Figures)
	jan := must(t, 200)(g.do(t, "GET", "/v1/regions/EAST/surveyAnalysis?query.date=2026-01-15", admin, ""))
	if p := jan["periods"].([]any)[0].(map[string]any); p["startDate"] != "2026-01-01" || p["endDate"] != "2026-01-31" || len(asList(p["questions"])) != 0 {
		t.Errorf("January: %v", p)
	}
	three := must(t, 200)(g.do(t, "GET", "/v1/surveyAnalysis?query.periods=3&kind=3DC", admin, ""))
	if ps := three["periods"].([]any); len(ps) != 3 || len(asList(ps[0].(map[string]any)["questions"])) != 0 {
		t.Errorf("three months: %v", three)
	}
	checkNPS(t, "network, 3DC, this month", question(t, three, npsQ), networkFigures)
	if other := must(t, 200)(g.do(t, "GET", "/v1/dealers/SH001/surveyAnalysis?kind=7DC", admin, "")); len(asList(other["periods"].([]any)[0].(map[string]any)["questions"])) != 0 {
		t.Errorf("SH001's 7DC analysis: %v", other)
	}

	// Per questionnaire version and question: the task's version and the
	// 10-point question give that question alone, with the same figures;
	// another version or question gives nothing of it.
	version := fmt.Sprint(questionnaire["version"])
	only := must(t, 200)(g.do(t, "GET", "/v1/regions/EAST/surveyAnalysis?questionnaireVersion="+version+"&question="+npsQ, east, ""))
	if qs := asList(only["periods"].([]any)[0].(map[string]any)["questions"]); len(qs) != 1 {
		t.Errorf("EAST, version %s, question %s: %d questions, want 1: %v", version, npsQ, len(qs), qs)
	}
	checkNPS(t, "EAST, version "+version+", "+npsQ, question(t, only, npsQ), eastFigures)
	for _, path := range []string{"/v1/surveyAnalysis?questionnaireVersion=99", "/v1/dealers/SH001/surveyAnalysis?question=NOSUCH"} {
		if none := must(t, 200)(g.do(t, "GET", path, admin, "")); len(asList(none["periods"].([]any)[0].(map[string]any)["questions"])) != 0 {
			t.Errorf("%s: %v", path, none)
		}
	}
	byVersion := must(t, 200)(g.do(t, "GET", "/v1/surveyAnalysis?questionnaireVersion="+version, analyst, ""))
	checkNPS(t, "network, version "+version, question(t, byVersion, npsQ), networkFigures)

	// Bad input names the field.
	code, body := g.do(t, "GET", "/v1/surveyAnalysis?questionnaireVersion=-1", admin, "")
	wantField(t, code, body, "questionnaire_version")
	code, body = g.do(t, "GET", "/v1/dealers/SH001/surveyAnalysis?question=Q1%20OR%201", admin, "")
	wantField(t, code, body, "question")
	code, body = g.do(t, "GET", "/v1/dealers/SH001/surveyAnalysis?query.date=2026-13-01", admin, "")
	wantField(t, code, body, "query.date")
	code, body = g.do(t, "GET", "/v1/regions/EAST/surveyAnalysis?query.periods=401", admin, "")
	wantField(t, code, body, "query.periods")
	code, body = g.do(t, "GET", "/v1/surveyAnalysis?kind=BOGUS", admin, "")
	wantField(t, code, body, "kind")

	// Access: dealer staff their own dealer only, a region manager its
	// region only, HQ everything.
	for _, c := range []struct {
		path, token, who string
		want             []int
	}{
		{"/v1/dealers/SH002/surveyAnalysis", agents["SH001"], "SH001's agent", []int{403, 404}},
		{"/v1/dealers/BJ001/surveyAnalysis", agents["SH001"], "SH001's agent", []int{403, 404}},
		{"/v1/regions/EAST/surveyAnalysis", agents["SH001"], "SH001's agent", []int{403}},
		{"/v1/surveyAnalysis", agents["SH001"], "SH001's agent", []int{403}},
		{"/v1/dealers/BJ001/surveyAnalysis", east, "EAST's manager", []int{403, 404}},
		{"/v1/regions/NORTH/surveyAnalysis", east, "EAST's manager", []int{404}},
	} {
		if code, body := g.do(t, "GET", c.path, c.token, ""); !slices.Contains(c.want, code) {
			t.Errorf("%s: GET %s answered %d, want %v: %v", c.who, c.path, code, c.want, body)
		}
	}
	must(t, 200)(g.do(t, "GET", "/v1/dealers/SH002/surveyAnalysis", east, ""))
	must(t, 200)(g.do(t, "GET", "/v1/dealers/BJ001/surveyAnalysis", analyst, ""))
	must(t, 200)(g.do(t, "GET", "/v1/regions/NORTH/surveyAnalysis", admin, ""))

	// No answer carries the text answer's words, a name or a mobile; above
	// a dealer, no dealer's code either.
	for _, c := range []struct{ path, token string }{
		{"/v1/dealers/SH001/surveyAnalysis?query.granularity=GRANULARITY_DAY&query.periods=31", agents["SH001"]},
		{"/v1/dealers/SH001/surveyAnalysis?query.granularity=GRANULARITY_WEEK", analyst},
		{"/v1/regions/EAST/surveyAnalysis", east}, {"/v1/surveyAnalysis?query.periods=12", admin},
	} {
		raw, _ := json.Marshal(must(t, 200)(g.do(t, "GET", c.path, c.token, "")))
		for _, s := range []string{"欧阳振华", "13912345678", "很满意", "电话"} {
			if strings.Contains(string(raw), s) {
				t.Errorf("GET %s carries %q: %s", c.path, s, raw)
			}
		}
		if !strings.Contains(c.path, "/dealers/") && (strings.Contains(string(raw), "SH00") || strings.Contains(string(raw), "BJ001")) {
			t.Errorf("GET %s names a dealer: %s", c.path, raw)
		}
	}
}
