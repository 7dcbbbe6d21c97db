package main

// The error side of every operation: google.rpc.Status as the gateway writes
// it (grpc-gateway's error handler and the gateway's own middleware), with
// the detail types the services attach (pkg/grpcserver: BadRequest and
// LocalizedMessage).

type errorStatus struct {
	code, name, description string
	mutatingOnly            bool
	retryAfter              bool
}

var errorStatuses = []errorStatus{
	{code: "400", name: "BadRequest", description: "The request is invalid: `message` and the `google.rpc.BadRequest` detail name the field. A state that does not allow the change (FAILED_PRECONDITION, OUT_OF_RANGE) answers 400 too."},
	{code: "401", name: "Unauthorized", description: "No bearer token, or the token is invalid or expired."},
	{code: "403", name: "Forbidden", description: "The caller's role may not do this."},
	{code: "404", name: "NotFound", description: "No such object, or it belongs to another dealer (existence does not leak)."},
	{code: "409", name: "Conflict", description: "The object exists or changed meanwhile (ALREADY_EXISTS, ABORTED), or a request with the same Idempotency-Key is still running (then `Retry-After`).", retryAfter: true},
	{code: "413", name: "PayloadTooLarge", description: "The request body is over the gateway's limit.", mutatingOnly: true},
	{code: "422", name: "IdempotencyKeyReused", description: "The Idempotency-Key was used before with a different request.", mutatingOnly: true},
	{code: "429", name: "TooManyRequests", description: "Over the tenant's request budget (RESOURCE_EXHAUSTED); retry after `Retry-After` seconds.", retryAfter: true},
	{code: "500", name: "InternalError", description: "An internal error; details are in the services' logs under the request id."},
	{code: "503", name: "Unavailable", description: "A service behind the gateway is unavailable; retry later."},
	{code: "504", name: "GatewayTimeout", description: "A service behind the gateway did not answer in time."},
	{code: "default", name: "Error", description: "Any other error, in the same google.rpc.Status shape."},
}

func errorResponses() obj {
	out := obj{}
	for _, e := range errorStatuses {
		h := commonHeaders()
		if e.retryAfter {
			h["Retry-After"] = obj{"$ref": "#/components/headers/RetryAfter"}
		}
		out[e.name+"Error"] = obj{
			"description": e.description,
			"headers":     h,
			"content":     obj{"application/json": obj{"schema": obj{"$ref": schemaRef + "Status"}}},
		}
	}
	return out
}

func errorSchemas() obj {
	str := obj{"type": "string"}
	return obj{
		"Status": obj{
			"type":        "object",
			"description": "google.rpc.Status: the error of every operation.",
			"required":    []string{"code", "message", "details"},
			"properties": obj{
				"code":    obj{"type": "integer", "format": "int32", "description": "The google.rpc.Code, e.g. 3 (INVALID_ARGUMENT), 5 (NOT_FOUND)."},
				"message": obj{"type": "string", "minLength": 1, "description": "What went wrong, naming the field, in the caller's language (Accept-Language: zh-CN or en)."},
				"details": obj{"type": "array", "items": obj{"$ref": schemaRef + "StatusDetail"}},
			},
			"examples": []any{obj{
				"code": 3, "message": "customer.mobile: must be a China mainland mobile or E.164 number",
				"details": []any{
					obj{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": []any{obj{"field": "customer.mobile", "description": "must be a China mainland mobile or E.164 number", "reason": "", "localizedMessage": nil}}},
					obj{"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en", "message": "customer.mobile: must be a China mainland mobile or E.164 number"},
				},
			}},
		},
		"StatusDetail": obj{
			"description": "A detail of a Status, told apart by `@type`.",
			"oneOf":       []any{obj{"$ref": schemaRef + "BadRequestDetail"}, obj{"$ref": schemaRef + "LocalizedMessageDetail"}},
			"discriminator": obj{"propertyName": "@type", "mapping": obj{
				"type.googleapis.com/google.rpc.BadRequest":       schemaRef + "BadRequestDetail",
				"type.googleapis.com/google.rpc.LocalizedMessage": schemaRef + "LocalizedMessageDetail",
			}},
		},
		"BadRequestDetail": obj{
			"type":        "object",
			"description": "google.rpc.BadRequest: the fields the request got wrong.",
			"required":    []string{"@type", "fieldViolations"},
			"properties": obj{
				"@type": obj{"type": "string", "minLength": 1, "const": "type.googleapis.com/google.rpc.BadRequest"},
				"fieldViolations": obj{"type": "array", "items": obj{
					"type":     "object",
					"required": []string{"field", "description"},
					"properties": obj{
						"field":            obj{"type": "string", "minLength": 1, "description": "The field's path, e.g. `customer.mobile` or `answers[1].rating`."},
						"description":      obj{"type": "string", "minLength": 1, "description": "Why, in the caller's language."},
						"reason":           str,
						"localizedMessage": obj{"anyOf": []any{obj{"$ref": schemaRef + "LocalizedMessage"}, obj{"type": "null"}}},
					},
				}},
			},
		},
		"LocalizedMessage": obj{
			"type":       "object",
			"required":   []string{"locale", "message"},
			"properties": obj{"locale": obj{"type": "string", "minLength": 1}, "message": obj{"type": "string", "minLength": 1}},
		},
		"LocalizedMessageDetail": obj{
			"type":        "object",
			"description": "google.rpc.LocalizedMessage: the message in the language used (`en` or `zh-CN`).",
			"required":    []string{"@type", "locale", "message"},
			"properties": obj{
				"@type":   obj{"type": "string", "minLength": 1, "const": "type.googleapis.com/google.rpc.LocalizedMessage"},
				"locale":  obj{"type": "string", "minLength": 1, "enum": []string{"en", "zh-CN"}},
				"message": obj{"type": "string", "minLength": 1},
			},
		},
	}
}

// commonHeaders are on every answer to /v1: the request id and, when the
// gateway limits requests (GATEWAY_RATE_LIMIT_RPS), the tenant's budget.
func commonHeaders() obj {
	return obj{
		"X-Request-Id":          obj{"$ref": "#/components/headers/RequestId"},
		"X-RateLimit-Limit":     obj{"$ref": "#/components/headers/RateLimitLimit"},
		"X-RateLimit-Remaining": obj{"$ref": "#/components/headers/RateLimitRemaining"},
	}
}

var headers = obj{
	"RateLimitLimit": obj{
		"description": "The tenant's request budget (burst), when the gateway limits requests.",
		"schema":      obj{"type": "integer", "minimum": 0},
	},
	"RateLimitRemaining": obj{
		"description": "Whole requests left in the tenant's budget.",
		"schema":      obj{"type": "integer", "minimum": 0},
	},
	"RequestId": obj{
		"description": "The request's id (the caller's X-Request-Id when sane), also in every service's logs.",
		"schema":      obj{"type": "string"},
	},
	"RetryAfter": obj{
		"description": "Seconds to wait before retrying.",
		"schema":      obj{"type": "integer", "minimum": 0},
	},
	"IdempotentReplayed": obj{
		"description": "`true` when this answer is the first answer to the same Idempotency-Key, replayed.",
		"schema":      obj{"type": "string", "enum": []string{"true"}},
	},
}

var idempotencyKey = obj{
	"name":        "Idempotency-Key",
	"in":          "header",
	"required":    false,
	"description": "Makes a retry safe: the same key with the same request returns the first answer for 24 hours (`Idempotent-Replayed: true`); with a different request, 422; while the first is running, 409 with `Retry-After`.",
	"schema":      obj{"type": "string", "minLength": 1, "maxLength": 255},
}
