package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

type obj = map[string]any

// method is an RPC with its HTTP rule.
type method struct {
	desc protoreflect.MethodDescriptor
	rule *annotations.HttpRule
}

type converter struct {
	files    registry
	defs     obj                                       // the Swagger document's definitions
	names    map[string]string                         // definition -> component name
	defMsg   map[string]protoreflect.MessageDescriptor // definition -> its message
	methods  map[string]method                         // "Service_Method" -> RPC
	examples map[string]any                            // message full name -> example
	tags     map[string]string                         // tag -> description
	opIDs    map[string]bool
	// paramDocs: path parameter -> its description where not renamed.
	paramDocs map[string]string
}

const schemaRef = "#/components/schemas/"

// convert turns protoc-gen-openapiv2's merged document into OpenAPI 3.1.
func convert(sw obj, files registry, generate []string, examples map[string]any) (obj, error) {
	c := &converter{
		files: files, defs: asObj(sw["definitions"]),
		names: map[string]string{}, defMsg: map[string]protoreflect.MessageDescriptor{},
		methods: map[string]method{}, examples: examples, tags: map[string]string{}, opIDs: map[string]bool{}, paramDocs: map[string]string{},
	}
	for _, name := range generate {
		fd, err := files.FindFileByPath(name)
		if err != nil {
			return nil, err
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
				c.methods[string(sd.Name())+"_"+string(md.Name())] = method{desc: md, rule: rule}
			}
		}
	}
	c.nameDefinitions()
	paths, err := c.paths(asObj(sw["paths"]))
	if err != nil {
		return nil, err
	}
	schemas := obj{}
	for def, name := range c.names {
		if strings.HasPrefix(def, "google.rpc.") || def == "google.protobuf.Any" {
			continue // the error shape is written below, exactly as the gateway answers
		}
		if def == string(httpBody) {
			continue // a file answer: its content types are declared per operation
		}
		s := c.schema(asObj(c.defs[def]), c.defMsg[def])
		if md := c.defMsg[def]; md != nil {
			if ex, ok := c.examples[string(md.FullName())]; ok {
				s["examples"] = []any{ex}
			}
		}
		schemas[name] = s
	}
	for name, s := range errorSchemas() {
		schemas[name] = s
	}
	var tags []any
	for _, t := range sortedKeys(c.tags) {
		tags = append(tags, obj{"name": t, "description": c.tags[t]})
	}
	pruneSchemas(schemas, paths)
	info := asObj(sw["info"])
	return obj{
		"openapi": "3.1.0",
		"info":    info,
		"servers": []any{obj{"url": "/", "description": "The gateway this document was fetched from (`make run`: http://127.0.0.1:8080)."}},
		"tags":    tags,
		"paths":   paths,
		"components": obj{
			"schemas":         schemas,
			"responses":       errorResponses(),
			"parameters":      obj{"IdempotencyKey": idempotencyKey},
			"headers":         headers,
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "A JWT from the brand's identity provider (`make token` in development)."}},
		},
		"security": []any{obj{"bearer": []any{}}},
	}, nil
}

// pruneSchemas drops the schemas no operation reaches: a request message
// whose fields all became path or query parameters (PeriodQuery) would be
// a component without a use, which strict linters reject.
func pruneSchemas(schemas obj, paths obj) {
	reached := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case obj:
			for k, x := range v {
				if r, ok := x.(string); ok && k == "$ref" && strings.HasPrefix(r, schemaRef) {
					name := strings.TrimPrefix(r, schemaRef)
					if !reached[name] {
						reached[name] = true
						walk(schemas[name])
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(paths)
	walk(errorResponses())
	for name := range schemas {
		if !reached[name] {
			delete(schemas, name)
		}
	}
}

// nameDefinitions gives each definition its component name: the message's
// name within its package (nested names joined), prefixed with its
// package's area where two packages use the same name.
func (c *converter) nameDefinitions() {
	simple := map[string][]string{}
	for def := range c.defs {
		name := def
		if d, err := c.files.FindDescriptorByName(protoreflect.FullName(def)); err == nil {
			if md, ok := d.(protoreflect.MessageDescriptor); ok {
				c.defMsg[def] = md
			}
			name = strings.ReplaceAll(strings.TrimPrefix(def, string(d.ParentFile().Package())+"."), ".", "")
		} else if i := strings.LastIndex(def, "."); i >= 0 {
			// A body protoc-gen-openapiv2 made up (`pkg.Service.MethodBody`).
			name = def[i+1:]
		}
		simple[name] = append(simple[name], def)
	}
	for name, defs := range simple {
		for _, def := range defs {
			if len(defs) == 1 {
				c.names[def] = name
				continue
			}
			d, _ := c.files.FindDescriptorByName(protoreflect.FullName(def))
			prefix := ""
			if d != nil {
				for _, seg := range strings.Split(string(d.ParentFile().Package()), ".") {
					if seg != "dealercare" && !regexp.MustCompile(`^v\d+`).MatchString(seg) {
						prefix += upperFirst(seg)
					}
				}
			}
			c.names[def] = prefix + name
		}
	}
}

// ref converts a Swagger reference to a component reference.
func (c *converter) ref(r string) string {
	def := strings.TrimPrefix(r, "#/definitions/")
	if strings.HasPrefix(def, "google.rpc.Status") {
		return schemaRef + "Status"
	}
	return schemaRef + c.names[def]
}

// schema converts a Swagger schema of message md (nil when unknown).
func (c *converter) schema(s obj, md protoreflect.MessageDescriptor) obj {
	out := obj{}
	if r, ok := s["$ref"].(string); ok {
		out["$ref"] = c.ref(r)
		for _, k := range []string{"description", "readOnly", "title"} {
			if v, ok := s[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	for k, v := range s {
		switch k {
		case "properties", "items", "additionalProperties", "required", "x-nullable", "example":
		default:
			out[k] = v
		}
	}
	if props := asObj(s["properties"]); props != nil {
		conv := obj{}
		var required []string
		for name, p := range props {
			var fd protoreflect.FieldDescriptor
			if md != nil {
				fd = md.Fields().ByJSONName(name)
			}
			var child protoreflect.MessageDescriptor
			if fd != nil {
				child = fd.Message()
				if fd.IsMap() {
					child = fd.MapValue().Message()
				}
			}
			ps := c.schema(asObj(p), child)
			if fd != nil && nullable(fd) {
				ps = withNull(ps)
			}
			if d, _ := ps["description"].(string); outputOnly.MatchString(d) {
				ps["readOnly"] = true
			}
			if fd != nil {
				constrain(ps, fd)
				if isRequired(fd) {
					required = append(required, name)
				}
			}
			conv[name] = ps
		}
		out["properties"] = conv
		for _, r := range asSlice(s["required"]) {
			if _, ok := props[r.(string)]; ok && !contains(required, r.(string)) {
				required = append(required, r.(string))
			}
		}
		if len(required) > 0 {
			sort.Strings(required)
			out["required"] = required
		}
	}
	if items := asObj(s["items"]); items != nil {
		out["items"] = c.schema(items, md)
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		// A proto map: generators read additionalProperties; the same
		// schema as a pattern declares every key, so a strict validator
		// accepts the map's keys instead of reporting each as undeclared.
		v := c.schema(ap, md)
		out["additionalProperties"] = v
		out["patternProperties"] = obj{"^.*$": v}
	} else if b, ok := s["additionalProperties"].(bool); ok {
		out["additionalProperties"] = b
	}
	return out
}

// nullable tells a field protojson writes as null when unset: a singular
// message outside a oneof (EmitUnpopulated).
func nullable(fd protoreflect.FieldDescriptor) bool {
	return fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && fd.ContainingOneof() == nil
}

// withNull lets s also be null.
func withNull(s obj) obj {
	if r, ok := s["$ref"]; ok {
		out := obj{"anyOf": []any{obj{"$ref": r}, obj{"type": "null"}}}
		for k, v := range s {
			if k != "$ref" {
				out[k] = v
			}
		}
		return out
	}
	if t, ok := s["type"].(string); ok {
		s["type"] = []any{t, "null"}
	}
	return s
}

// isRequired tells a field protovalidate requires: `required`, a minimum
// length or a minimum number of items.
func isRequired(fd protoreflect.FieldDescriptor) bool {
	rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
	if rules == nil {
		return false
	}
	if rules.GetRequired() {
		return true
	}
	if s := rules.GetString(); s != nil && (s.GetMinLen() > 0 || s.GetLen() > 0 || s.GetMinBytes() > 0) {
		return true
	}
	if b := rules.GetBytes(); b != nil && (b.GetMinLen() > 0 || b.GetLen() > 0) {
		return true
	}
	return rules.GetRepeated().GetMinItems() > 0
}

// outputOnly finds the AIP phrase in a field's comment wherever a sentence
// starts with it ("Output only; change with AssignComplaint."), not only
// as the leading "Output only." protoc-gen-openapiv2 looks for.
var outputOnly = regexp.MustCompile(`(^|[.;:!?]\s+)Output only\b`)

// constrain copies protovalidate's bounds of a scalar or repeated field
// into its schema, so a client (and a linter) sees what the API rejects:
// string lengths (min_len, max_len, len; bytes: a minimum length), item
// counts, and the bounds of 32-bit numbers and doubles (64-bit integers
// are JSON strings, where minimum would not apply). A `required` string
// is at least one character long. Patterns stay out: protovalidate's are
// RE2, JSON Schema's ECMA-262.
func constrain(s obj, fd protoreflect.FieldDescriptor) {
	rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
	if rules == nil {
		return
	}
	if _, ok := s["$ref"]; ok {
		return
	}
	if fd.IsList() {
		if r := rules.GetRepeated(); r != nil {
			if r.HasMinItems() {
				s["minItems"] = r.GetMinItems()
			}
			if r.HasMaxItems() {
				s["maxItems"] = r.GetMaxItems()
			}
		}
		return
	}
	if fd.IsMap() {
		return
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		r := rules.GetString()
		switch {
		case r.HasLen():
			s["minLength"], s["maxLength"] = r.GetLen(), r.GetLen()
		case r.HasMinLen():
			s["minLength"] = r.GetMinLen()
		case rules.GetRequired():
			s["minLength"] = 1
		}
		if r.HasMaxLen() {
			s["maxLength"] = r.GetMaxLen()
		}
	case protoreflect.BytesKind:
		if r := rules.GetBytes(); r.GetMinLen() > 0 || r.GetLen() > 0 || rules.GetRequired() {
			s["minLength"] = 1
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		r := rules.GetInt32()
		bound(s, r.HasGte(), float64(r.GetGte()), r.HasGt(), float64(r.GetGt()), r.HasLte(), float64(r.GetLte()), r.HasLt(), float64(r.GetLt()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		r := rules.GetUint32()
		bound(s, r.HasGte(), float64(r.GetGte()), r.HasGt(), float64(r.GetGt()), r.HasLte(), float64(r.GetLte()), r.HasLt(), float64(r.GetLt()))
	case protoreflect.DoubleKind:
		r := rules.GetDouble()
		bound(s, r.HasGte(), r.GetGte(), r.HasGt(), r.GetGt(), r.HasLte(), r.GetLte(), r.HasLt(), r.GetLt())
	case protoreflect.FloatKind:
		r := rules.GetFloat()
		bound(s, r.HasGte(), float64(r.GetGte()), r.HasGt(), float64(r.GetGt()), r.HasLte(), float64(r.GetLte()), r.HasLt(), float64(r.GetLt()))
	}
}

// bound sets a number's JSON Schema bounds from protovalidate's.
func bound(s obj, hasGte bool, gte float64, hasGt bool, gt float64, hasLte bool, lte float64, hasLt bool, lt float64) {
	if hasGte {
		s["minimum"] = gte
	}
	if hasGt {
		s["exclusiveMinimum"] = gt
	}
	if hasLte {
		s["maximum"] = lte
	}
	if hasLt {
		s["exclusiveMaximum"] = lt
	}
}

var pathParam = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// canonicalNames maps each path to its parameter names in one path per
// resource: paths of the same shape take, at each position, the name
// without a dot (`customer` over `customer.id`), or else the field the
// dotted name selects (`calendar.dealer` is `dealer`, `vehicle.id` is
// `vehicle`).
func canonicalNames(paths []string) map[string][]string {
	shape := func(p string) string { return pathParam.ReplaceAllString(p, "{}") }
	groups := map[string][]string{}
	for _, p := range paths {
		groups[shape(p)] = append(groups[shape(p)], p)
	}
	out := map[string][]string{}
	for _, group := range groups {
		var canon []string
		for _, p := range group {
			for i, m := range pathParam.FindAllStringSubmatch(p, -1) {
				name := m[1]
				if i == len(canon) {
					canon = append(canon, "")
				}
				if !strings.Contains(name, ".") && (canon[i] == "" || strings.Contains(canon[i], ".")) {
					canon[i] = name
				} else if canon[i] == "" {
					canon[i] = name
				}
			}
		}
		for i, name := range canon {
			if strings.Contains(name, ".") {
				segs := strings.Split(name, ".")
				last := segs[len(segs)-1]
				if (last == "id" || last == "code" || last == "name") && len(segs) > 1 {
					last = segs[len(segs)-2]
				}
				canon[i] = last
			}
		}
		for _, p := range group {
			out[p] = canon
		}
	}
	return out
}

var mutating = map[string]bool{"post": true, "put": true, "patch": true, "delete": true}

// paths converts the Swagger paths.
func (c *converter) paths(sw obj) (obj, error) {
	canon := canonicalNames(sortedKeys(sw))
	// A renamed parameter takes the description of one named so already
	// (`customer`: "Customer id.", not customer.id's "Server-assigned id.").
	for _, p := range sortedKeys(sw) {
		ops := asObj(sw[p])
		for _, verb := range sortedKeys(ops) {
			for _, q := range asSlice(asObj(ops[verb])["parameters"]) {
				q := asObj(q)
				name, _ := q["name"].(string)
				if d, ok := q["description"].(string); ok && q["in"] == "path" && !strings.Contains(name, ".") {
					if _, seen := c.paramDocs[name]; !seen {
						c.paramDocs[name] = d
					}
				}
			}
		}
	}
	out := obj{}
	for _, p := range sortedKeys(sw) {
		names := canon[p]
		rename := map[string]string{}
		i := 0
		path := pathParam.ReplaceAllStringFunc(p, func(m string) string {
			rename[pathParam.FindStringSubmatch(m)[1]] = names[i]
			i++
			return "{" + names[i-1] + "}"
		})
		item := asObj(out[path])
		if item == nil {
			item = obj{}
			out[path] = item
		}
		ops := asObj(sw[p])
		for _, verb := range sortedKeys(ops) {
			if _, dup := item[verb]; dup {
				return nil, fmt.Errorf("%s %s: two operations", strings.ToUpper(verb), path)
			}
			op, err := c.operation(verb, path, asObj(ops[verb]), rename)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(verb), p, err)
			}
			item[verb] = op
		}
	}
	return out, nil
}

// rpcOf finds the RPC behind a Swagger operation id (`Service_Method`, a
// digit appended for additional bindings).
func (c *converter) rpcOf(opID string) (method, error) {
	for id := opID; id != ""; id = id[:len(id)-1] {
		if m, ok := c.methods[id]; ok {
			return m, nil
		}
		if last := id[len(id)-1]; last < '0' || last > '9' {
			break
		}
	}
	return method{}, fmt.Errorf("no RPC for operation %q", opID)
}

func (c *converter) operation(verb, path string, op obj, rename map[string]string) (obj, error) {
	rpc, err := c.rpcOf(op["operationId"].(string))
	if err != nil {
		return nil, err
	}
	md := rpc.desc
	id := lowerFirst(string(md.Name()))
	if c.opIDs[id] {
		id = lowerFirst(strings.TrimSuffix(string(md.Parent().Name()), "Service")) + string(md.Name())
	}
	c.opIDs[id] = true
	tag := resourceTag(path)
	if _, ok := c.tags[tag]; !ok {
		c.tags[tag] = fmt.Sprintf("Served by `%s`.", md.Parent().FullName())
	}
	out := obj{
		"operationId":   id,
		"tags":          []any{tag},
		"x-grpc-method": string(md.FullName()),
	}
	for _, k := range []string{"summary", "description", "deprecated"} {
		if v, ok := op[k]; ok {
			out[k] = v
		}
	}
	if _, ok := out["description"]; !ok {
		// A one-paragraph comment is all summary to protoc-gen-openapiv2;
		// linters and documentation tools read the description.
		if v, ok := out["summary"]; ok {
			out["description"] = v
		}
	}
	var params []any
	for _, p := range asSlice(op["parameters"]) {
		p := asObj(p)
		switch p["in"] {
		case "body":
			bodyMsg := md.Input()
			if b := rpc.rule.GetBody(); b != "*" && b != "" {
				bodyMsg = md.Input().Fields().ByName(protoreflect.Name(b)).Message()
			}
			s := asObj(p["schema"])
			if def := string(bodyMsg.FullName()); rpc.rule.GetBody() != "*" && c.names[def] != "" {
				// The resource itself, not a copy without the fields the
				// path sets: a client sends the object it got.
				s = obj{"$ref": "#/definitions/" + def}
			}
			if r, ok := s["$ref"].(string); ok {
				if def := strings.TrimPrefix(r, "#/definitions/"); c.defMsg[def] == nil {
					c.defMsg[def] = bodyMsg
				}
			}
			body := obj{
				"required": true,
				"content":  obj{"application/json": obj{"schema": c.schema(s, bodyMsg)}},
			}
			if d, ok := p["description"]; ok {
				body["description"] = d
			}
			out["requestBody"] = body
		case "path":
			name := p["name"].(string)
			q := obj{"name": rename[name], "in": "path", "required": true, "schema": paramSchema(p)}
			if d, ok := c.paramDocs[rename[name]]; ok {
				q["description"] = d
			} else if d, ok := p["description"]; ok {
				q["description"] = d
			}
			params = append(params, q)
		case "query":
			name := protoPath(md.Input(), p["name"].(string))
			q := obj{"name": name, "in": "query", "schema": paramSchema(p)}
			if d, ok := p["description"]; ok {
				q["description"] = d
			}
			if p["type"] == "array" {
				q["style"], q["explode"] = "form", true
			}
			params = append(params, q)
		default:
			return nil, fmt.Errorf("parameter %v in %v", p["name"], p["in"])
		}
	}
	if mutating[verb] {
		params = append(params, obj{"$ref": "#/components/parameters/IdempotencyKey"})
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	ok := asObj(asObj(op["responses"])["200"])
	success := obj{
		"description": "The " + string(md.Output().Name()) + ".",
		"headers":     commonHeaders(),
		"content":     obj{"application/json": obj{"schema": c.schema(asObj(ok["schema"]), md.Output())}},
	}
	if md.Output().FullName() == httpBody {
		// A file, not JSON: grpc-gateway writes HttpBody's data as the
		// body with its content type.
		success["description"] = "The file."
		success["content"] = fileContent()
	} else if r, ok := asObj(ok["schema"])["$ref"].(string); ok {
		if def := strings.TrimPrefix(r, "#/definitions/"); c.defMsg[def] == nil {
			c.defMsg[def] = md.Output()
		}
	}
	if mutating[verb] {
		success["headers"].(obj)["Idempotent-Replayed"] = obj{"$ref": "#/components/headers/IdempotentReplayed"}
	}
	responses := obj{"200": success}
	for _, e := range errorStatuses {
		if !e.mutatingOnly || mutating[verb] {
			responses[e.code] = obj{"$ref": "#/components/responses/" + e.name + "Error"}
		}
	}
	out["responses"] = responses
	return out, nil
}

// paramSchema is a Swagger parameter's type as a schema.
func paramSchema(p obj) obj {
	s := obj{}
	for _, k := range []string{"type", "format", "enum", "default", "items", "pattern", "minimum", "maximum"} {
		if v, ok := p[k]; ok {
			s[k] = v
		}
	}
	if items := asObj(s["items"]); items != nil {
		delete(items, "collectionFormat")
	}
	return s
}

// protoPath turns a query parameter's JSON field path (`pageSize`,
// `filter.minLevel`) into its proto field path (`page_size`), the names
// the README and SPEC use; the gateway reads either.
func protoPath(md protoreflect.MessageDescriptor, jsonPath string) string {
	var out []string
	for _, seg := range strings.Split(jsonPath, ".") {
		if md == nil {
			out = append(out, seg)
			continue
		}
		fd := md.Fields().ByJSONName(seg)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(seg))
		}
		if fd == nil {
			out = append(out, seg)
			md = nil
			continue
		}
		out = append(out, string(fd.Name()))
		md = fd.Message()
	}
	return strings.Join(out, ".")
}

// resourceTag names the collection a path acts on: its last literal
// segment that follows a parameter (or /v1), e.g. `customers` for
// /v1/dealers/{dealer}/customers/{customer}:merge; a literal after a
// literal is a singleton's id (`/v1/callbackPolicies/default`).
func resourceTag(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if n := len(segs) - 1; strings.Contains(segs[n], ":") {
		segs[n] = segs[n][:strings.Index(segs[n], ":")]
	}
	isParam := func(s string) bool { return strings.HasPrefix(s, "{") || s == "-" || s == "v1" }
	tag := segs[0]
	for i := 1; i < len(segs); i++ {
		if segs[i] != "" && !isParam(segs[i]) && isParam(segs[i-1]) {
			tag = segs[i]
		}
	}
	return humanize(tag)
}

// humanize turns `callbackTasks` into `Callback tasks`.
func humanize(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case i == 0:
			b.WriteRune(unicode.ToUpper(r))
		case unicode.IsUpper(r):
			b.WriteRune(' ')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func asObj(v any) obj {
	o, _ := v.(map[string]any)
	return o
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// httpBody is google.api.HttpBody, the answer of methods that return a
// file (the evaluation's exports).
const httpBody protoreflect.FullName = "google.api.HttpBody"

// fileContent declares the file types an HttpBody answer carries.
func fileContent() obj {
	file := func(media string) obj {
		return obj{"schema": obj{"type": "string", "contentMediaType": media}}
	}
	return obj{
		"text/csv": file("text/csv"),
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": file("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
	}
}
