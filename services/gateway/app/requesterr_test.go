package app

import (
	"net/url"
	"strings"
	"testing"

	callbackv1 "github.com/dealercare/dealercare/gen/go/dealercare/callback/v1"
	customerv1 "github.com/dealercare/dealercare/gen/go/dealercare/customer/v1"
	"github.com/dealercare/dealercare/pkg/apperr"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TestRequestErrorsNameTheField decodes bad bodies and query strings with
// the gateway's own marshaler and query parser, so the decoders' real
// messages are what requestError reads.
func TestRequestErrorsNameTheField(t *testing.T) {
	jsonpb := &runtime.JSONPb{UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false}}
	complete := func() proto.Message { return &callbackv1.CompleteCallbackTaskRequest{} }
	customer := func() proto.Message { return &customerv1.Customer{} }
	for _, c := range []struct {
		into          func() proto.Message
		body          string
		field, reason string
	}{
		{complete, `{"answers":[{"question":"Q1","rating":3},{"question":"Q2","rating":3.5}]}`, "answers[1].rating", "whole number"},
		{complete, `{"answers":[{"question":"Q1","rating":99999999999}]}`, "answers[0].rating", "whole number"},
		{complete, `{"answers":[{"question":"Q1","yesNo":false}]}`, "answers[0].yesNo", "must be a string"},
		{complete, `{"answers":[{"question":"Q1","bogus":{"a":[1,2]}}]}`, "answers[0].bogus", "not a field"},
		{complete, `{"answers":[{"question":"Q1"}, 7]}`, "answers[1]", "cannot be 7"},
		{complete, `{"answers":{"question":"Q1"}}`, "answers", "cannot be {"},
		{complete, `{"problemReported":"yes"}`, "problemReported", "true or false"},
		{complete, `{"findings":"a","findings":"b"}`, "findings", "more than once"},
		{complete, `[]`, "body", "JSON object"},
		{complete, `null`, "body", "JSON object"},
		{complete, `not json`, "body", "not valid JSON"},
		{complete, `{"answers":`, "body", "not valid JSON"},
		{customer, `{"name":"张伟","triggerTime":"yesterday"}`, "triggerTime", "RFC 3339"},
		{customer, "\n  {\n  \"name\": \"张伟\",\n  \"address\": \"上海市人民路1号\", \"birthday\": 5\n}", "birthday", "must be a string"},
		{customer, `{"consents":[{"channel":"CHANNEL_SMS"},{"channel":"FAX"}]}`, "consents[1].channel", "not one of its values"},
		{customer, `{"tags":["vip", 3]}`, "tags[1]", "must be a string"},
	} {
		err := jsonpb.NewDecoder(strings.NewReader(c.body)).Decode(c.into())
		if err == nil {
			t.Errorf("%s: decoded", c.body)
			continue
		}
		// protobuf-go writes "proto:" and a space or a no-break space,
		// whichever this binary's hash picks.
		msg := strings.Replace(err.Error(), "proto:\u00a0", "proto: ", 1)
		for _, msg := range []string{msg, strings.Replace(msg, "proto: ", "proto:\u00a0", 1)} {
			got := requestError(msg, []byte(c.body))
			if len(got.Violations) != 1 || got.Violations[0].Field != c.field || !strings.Contains(got.Violations[0].Reason, c.reason) {
				t.Errorf("%s\n  decoder: %q\n  got %+v, want field %s, reason with %q", c.body, msg, got.Violations, c.field, c.reason)
			}
		}
		got := requestError(err.Error(), []byte(c.body))
		if zh := got.Localized(apperr.LangZH); zh == got.Localized(apperr.LangEN) && c.field != "body" {
			t.Errorf("%s: no Chinese message: %s", c.body, zh)
		}
	}

	for _, c := range []struct{ query, field, reason string }{
		{"page_size=abc", "page_size", "whole number"},
		{"page_size=99999999999", "page_size", "out of range"},
		{"due_only=maybe", "due_only", "true or false"},
		{"kind=FOO", "kind", "not one of its values"},
	} {
		q, _ := url.ParseQuery(c.query)
		err := runtime.PopulateQueryParameters(&callbackv1.ListCallbackTasksRequest{}, q, utilities.NewDoubleArray(nil))
		if err == nil {
			t.Errorf("%s: parsed", c.query)
			continue
		}
		got := requestError(err.Error(), nil)
		if len(got.Violations) != 1 || got.Violations[0].Field != c.field || !strings.Contains(got.Violations[0].Reason, c.reason) {
			t.Errorf("?%s\n  parser: %v\n  got %+v, want field %s, reason with %q", c.query, err, got.Violations, c.field, c.reason)
		}
	}
}

// TestPathAt checks paths at every kind of position, including past the
// end and in a body cut short.
func TestPathAt(t *testing.T) {
	body := `{"a":1,"b":{"c":[10,{"d":true}],"e":"x"},"f":[]}`
	for _, c := range []struct {
		at   string // the first occurrence of this text starts the position
		want string
	}{
		{`"a"`, "a"}, {`1,`, "a"}, {`"b"`, "b"}, {`{"c"`, "b"}, {`"c"`, "b.c"}, {`10`, "b.c[0]"},
		{`{"d"`, "b.c[1]"}, {`"d"`, "b.c[1].d"}, {`true`, "b.c[1].d"}, {`"e"`, "b.e"}, {`"x"`, "b.e"}, {`"f"`, "f"},
	} {
		if got := pathAt([]byte(body), strings.Index(body, c.at)); got != c.want {
			t.Errorf("at %s: %q, want %q", c.at, got, c.want)
		}
	}
	if got := pathAt([]byte(body), len(body)+5); got != "" {
		t.Errorf("past the end: %q", got)
	}
	if got := pathAt([]byte(`{"a":{"b":`), 100); got != "a.b" {
		t.Errorf("cut short: %q, want a.b", got)
	}
	if got := pathAt([]byte(body), -1); got != "" {
		t.Errorf("no position: %q", got)
	}
	if got := offsetOf([]byte("{\n  \"名\": 1}"), 2, 8); got != strings.Index("{\n  \"名\": 1}", "1") {
		t.Errorf("offset of line 2, column 8: %d", got)
	}
}
