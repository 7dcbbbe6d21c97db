package grpcserver

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"buf.build/go/protovalidate"
	"github.com/dealercare/dealercare/pkg/apperr"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

var codeOf = map[string]codes.Code{
	apperr.EINVALID:       codes.InvalidArgument,
	apperr.ENOTFOUND:      codes.NotFound,
	apperr.ECONFLICT:      codes.AlreadyExists,
	apperr.EUNAUTHORIZED:  codes.Unauthenticated,
	apperr.EFORBIDDEN:     codes.PermissionDenied,
	apperr.EUNAVAILABLE:   codes.Unavailable,
	apperr.EFAILEDPRECOND: codes.FailedPrecondition,
	apperr.EINTERNAL:      codes.Internal,
}

// ToStatus maps err to a status with English messages.
func ToStatus(err error) *status.Status { return ToLocalizedStatus(err, apperr.LangEN) }

// ToLocalizedStatus is the one place application errors become gRPC
// statuses, with the message in lang (zh-CN or en) and a LocalizedMessage
// detail. An error that is neither an *apperr.Error nor already a status
// becomes a generic internal error: its text may hold internals and is only
// logged.
func ToLocalizedStatus(err error, lang string) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if e, ok := apperr.As(err); ok {
		code, known := codeOf[e.Code]
		if !known || code == codes.Internal {
			return internalStatus(lang)
		}
		msg := e.Localized(lang)
		st := status.New(code, msg)
		var details []protoadapt.MessageV1
		if len(e.Violations) > 0 {
			br := &errdetails.BadRequest{}
			for _, v := range e.Violations {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.LocalizedReason(lang)})
			}
			details = append(details, br)
		}
		details = append(details, &errdetails.LocalizedMessage{Locale: lang, Message: msg})
		if withDetails, err := st.WithDetails(details...); err == nil {
			st = withDetails
		}
		return st
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	}
	return internalStatus(lang)
}

func internalStatus(lang string) *status.Status {
	if lang == apperr.LangZH {
		return status.New(codes.Internal, "服务器内部错误")
	}
	return status.New(codes.Internal, "internal error")
}

// validationError turns protovalidate violations into an INVALID_ARGUMENT
// whose message names every bad field.
func validationError(err error, lang string) error {
	var verr *protovalidate.ValidationError
	if !errors.As(err, &verr) {
		return ToLocalizedStatus(apperr.Errorf(apperr.EINVALID, "invalid request").Zh("请求无效"), lang).Err()
	}
	e := &apperr.Error{Code: apperr.EINVALID}
	var msgs, msgsZh []string
	for _, v := range verr.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		reason := v.Proto.GetMessage()
		reasonZh := ruleReasonZh(v.Proto.GetRuleId(), reason)
		e.Violations = append(e.Violations, apperr.FieldViolation{Field: field, Reason: reason, ReasonZh: reasonZh})
		msgs = append(msgs, fmt.Sprintf("%s: %s", field, reason))
		msgsZh = append(msgsZh, fmt.Sprintf("%s: %s", field, reasonZh))
	}
	e.Message = strings.Join(msgs, "; ")
	e.MessageZh = strings.Join(msgsZh, "; ")
	return ToLocalizedStatus(e, lang).Err()
}

var number = regexp.MustCompile(`-?[0-9]+(\.[0-9]+)?s?`)

// ruleReasonZh translates a protovalidate violation by its rule id; the
// rule's limits are taken from the English message.
func ruleReasonZh(ruleID, en string) string {
	nums := number.FindAllString(en, -1)
	arg := func(i int) string {
		if i < len(nums) {
			return nums[i]
		}
		return "?"
	}
	_, kind, _ := strings.Cut(ruleID, ".")
	switch {
	case ruleID == "required":
		return "为必填项"
	case kind == "min_len":
		return "长度至少为 " + arg(0) + " 个字符"
	case kind == "max_len":
		return "长度不能超过 " + arg(0) + " 个字符"
	case kind == "pattern":
		return "格式不正确"
	case kind == "defined_only" || kind == "not_in" || kind == "in":
		return "取值无效"
	case kind == "max_items":
		return "最多 " + arg(0) + " 项"
	case kind == "min_items":
		return "至少 " + arg(0) + " 项"
	case strings.HasPrefix(kind, "gte_lte") || strings.HasPrefix(kind, "gt_lt"):
		return "必须在 " + arg(0) + " 到 " + arg(1) + " 之间"
	case kind == "gte" || kind == "gt":
		return "不能小于 " + arg(0)
	case kind == "lte" || kind == "lt":
		return "不能大于 " + arg(0)
	}
	return "取值无效"
}
