package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dealercare/dealercare/pkg/auth"
)

// TestCallbackScenario drives an agent's and a manager's callback work
// through the REST gateway: bad input names its field (in Chinese on
// request), state errors answer 409, and the finished task carries its
// score, findings, instruction and rectification into the day's report.
func TestCallbackScenario(t *testing.T) {
	g := start(t)
	seedNetwork(t, g)
	hq := g.token(t, auth.Principal{Subject: "hq", Roles: []auth.Role{auth.RoleHQAdmin}})
	manager := g.token(t, auth.Principal{Subject: "mgr-sh", Roles: []auth.Role{auth.RoleDealerManager}, Dealer: "SH001"})
	agent := g.token(t, auth.Principal{Subject: "agent-sh", Roles: []auth.Role{auth.RoleAgent}, Dealer: "SH001"})
	service := g.token(t, auth.Principal{Subject: "svc-mgr-sh", Roles: []auth.Role{auth.RoleServiceManager}, Dealer: "SH001"})
	base := "/v1/dealers/SH001"

	// Policies: bad values name their field; a good one is the dealer's.
	code, body := g.do(t, "PUT", base+"/callbackPolicy", manager, `{"maxAttempts":3,"retryInterval":"3600s","callingStart":"21:00","callingEnd":"09:00","scoreThreshold":80}`)
	wantField(t, code, body, "calling_start")
	code, body = g.do(t, "PUT", base+"/callbackPolicy", manager, `{"maxAttempts":0,"retryInterval":"3600s","callingStart":"09:00","callingEnd":"21:00","scoreThreshold":80}`)
	wantField(t, code, body, "max_attempts")
	code, body = g.doLang(t, "PUT", base+"/callbackPolicy", manager, `{"maxAttempts":3,"retryInterval":"3600s","callingStart":"9点","callingEnd":"21:00","scoreThreshold":80}`, "zh-CN")
	if msg, _ := body["message"].(string); code != 400 || !strings.Contains(msg, "calling_start") || !strings.ContainsFunc(msg, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
		t.Errorf("zh-CN policy error: %d %q", code, msg)
	}
	pol := must(t, 200)(g.do(t, "PUT", base+"/callbackPolicy", manager, `{"maxAttempts":4,"retryInterval":"7200s","callingStart":"09:30","callingEnd":"20:00","scoreThreshold":85}`))
	if pol["overridden"] != true || pol["maxAttempts"] != float64(4) || pol["callingStart"] != "09:30" {
		t.Errorf("dealer policy: %v", pol)
	}
	if code, _ := g.do(t, "PUT", base+"/callbackPolicy", agent, `{"maxAttempts":4,"retryInterval":"7200s","callingStart":"09:30","callingEnd":"20:00"}`); code != 403 {
		t.Errorf("agent changed the policy: %d, want 403", code)
	}
	// HQ questionnaires: a choice question needs options.
	code, body = g.do(t, "POST", "/v1/questionnaires", hq, `{"kind":"CALLBACK_KIND_3DC","title":"SSI 2027","questions":[{"code":"Q1","text":"您最满意哪一项?","type":"QUESTION_TYPE_CHOICE","weight":1}]}`)
	wantField(t, code, body, "questions[0].options")

	// The agent joins the rotation; a due task lands in the agent's queue.
	must(t, 200)(g.do(t, "POST", base+"/callbackAgents", manager, `{"subject":"agent-sh","displayName":"王晓"}`))
	task := g.seedCallbackTask(t, "SH001", "ro-1")
	queue := must(t, 200)(g.do(t, "GET", base+"/callbackTasks?assignee=me&due_only=true", agent, ""))
	if tasks, _ := queue["tasks"].([]any); len(tasks) != 1 || tasks[0].(map[string]any)["id"] != task.GetId() {
		t.Fatalf("agent queue: %v", queue)
	}
	p := base + "/callbackTasks/" + task.GetId()
	full := must(t, 200)(g.do(t, "GET", p, agent, ""))
	q := full["questionnaire"].(map[string]any)
	if q["script"] == "" || len(q["questions"].([]any)) == 0 {
		t.Fatalf("task without script or questions: %v", q)
	}

	must(t, 200)(g.do(t, "POST", p+":claim", agent, `{}`))
	code, body = g.do(t, "POST", p+":recordAttempt", agent, `{"number":1,"outcome":"ATTEMPT_OUTCOME_CALL_BACK_LATER"}`)
	wantField(t, code, body, "call_back_time")
	if code, body := g.do(t, "POST", p+":recordAttempt", agent, `{"number":2,"outcome":"ATTEMPT_OUTCOME_ANSWERED"}`); code != 409 || !strings.Contains(fmt.Sprint(body["message"]), "number") {
		t.Errorf("attempt 2 first: %d %v, want 409 naming number", code, body)
	}
	if code, _ := g.do(t, "POST", p+":complete", agent, `{"answers":[]}`); code != 409 {
		t.Errorf("complete before an answered call: %d, want 409", code)
	}
	must(t, 200)(g.do(t, "POST", p+":recordAttempt", agent, `{"number":1,"outcome":"ATTEMPT_OUTCOME_ANSWERED"}`))
	code, body = g.do(t, "POST", p+":complete", agent, `{"answers":[{"question":"NO-SUCH","rating":3}]}`)
	wantField(t, code, body, "answers[0].question")

	// Answer every question in the middle, report a problem.
	var answers []string
	for _, raw := range q["questions"].([]any) {
		qu := raw.(map[string]any)
		switch qu["type"] {
		case "QUESTION_TYPE_RATING":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"rating":2}`, qu["code"]))
		case "QUESTION_TYPE_YES_NO":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"yesNo":"yes"}`, qu["code"]))
		case "QUESTION_TYPE_CHOICE":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"choice":%q}`, qu["code"], qu["options"].([]any)[0].(map[string]any)["code"]))
		case "QUESTION_TYPE_TEXT":
			answers = append(answers, fmt.Sprintf(`{"question":%q,"text":"等待时间太长"}`, qu["code"]))
		}
	}
	code, body = g.do(t, "POST", p+":complete", agent, `{"answers":[`+strings.Join(answers, ",")+`],"problemReported":true}`)
	wantField(t, code, body, "findings")
	done := must(t, 200)(g.do(t, "POST", p+":complete", agent, `{"answers":[`+strings.Join(answers, ",")+`],"problemReported":true,"findings":"取车等待 40 分钟"}`))
	if done["status"] != "CALLBACK_STATUS_COMPLETED" || done["satisfied"] != false || done["problemReported"] != true || done["feedbackRole"] != "service_manager" {
		t.Fatalf("completed: %v", done)
	}
	if score := done["score"].(float64); score <= 0 || score >= 85 {
		t.Errorf("score %v, want between 0 and the threshold", score)
	}

	// The finding waits for the service manager's instruction, then the
	// rectification.
	waiting := must(t, 200)(g.do(t, "GET", base+"/callbackTasks?awaiting_instruction=true", service, ""))
	if tasks, _ := waiting["tasks"].([]any); len(tasks) != 1 {
		t.Errorf("awaiting instruction: %v", waiting)
	}
	if code, _ := g.do(t, "POST", p+":instruct", agent, `{"instruction":"x"}`); code != 403 {
		t.Errorf("agent instructed: %d, want 403", code)
	}
	if code, _ := g.do(t, "POST", p+":rectify", service, `{"rectification":"x"}`); code != 409 {
		t.Errorf("rectified before an instruction: %d, want 409", code)
	}
	must(t, 200)(g.do(t, "POST", p+":instruct", service, `{"instruction":"交车区增加一名服务顾问"}`))
	fixed := must(t, 200)(g.do(t, "POST", p+":rectify", service, `{"rectification":"已调整排班，高峰期两人交车"}`))
	if fixed["instructedBy"] != "svc-mgr-sh" || fixed["rectifiedBy"] != "svc-mgr-sh" || fixed["instruction"] == "" || fixed["rectification"] == "" {
		t.Errorf("feedback loop: %v", fixed)
	}
	waiting = must(t, 200)(g.do(t, "GET", base+"/callbackTasks?awaiting_instruction=true", service, ""))
	if tasks, _ := waiting["tasks"].([]any); len(tasks) != 0 {
		t.Errorf("still awaiting instruction: %v", waiting)
	}

	report := must(t, 200)(g.do(t, "GET", base+"/callbackReport?period=REPORT_PERIOD_DAY", manager, ""))
	tot := report["total"].(map[string]any)
	if tot["due"] != float64(1) || tot["completed"] != float64(1) || tot["attempts"] != float64(1) || tot["problemsFound"] != float64(1) || tot["averageScore"] != done["score"] {
		t.Errorf("daily report: %v", report)
	}
	code, body = g.do(t, "GET", base+"/callbackReport?date=2026-02-30", manager, "")
	wantField(t, code, body, "date")
}
