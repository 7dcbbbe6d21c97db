// Command protoc-gen-openapi31 writes the REST API's OpenAPI 3.1 document
// from the protos, as the gateway speaks it on the wire.
//
// It runs protoc-gen-openapiv2 (grpc-gateway's generator, which knows the
// HTTP rules, query parameters and bodies) on the same request, then
// rewrites its Swagger 2.0 output with what only the descriptors tell:
//
//   - property names as the gateway's protojson marshaler writes them
//     (lowerCamel JSON names), query parameters by their proto names (as
//     the README documents them; the gateway reads both);
//   - message fields that protojson writes as null when unset are
//     nullable; oneof members, which it omits, are not required;
//   - required fields from protovalidate (required, min_len, min_items);
//   - one path per resource: paths that differ only in a parameter's name
//     (`{customer}` next to `{customer.id}`) become one, with one name;
//   - an operationId that is the RPC's name in lowerCamel, tags by
//     resource collection, the error responses in google.rpc.Status shape,
//     the bearer scheme, the Idempotency-Key header on mutating calls and
//     the examples of proto/openapi/examples.json.
//
// Everything here is derived from the descriptors and the HTTP rules, so a
// service added later is covered by `make generate` without editing this
// program. Options (buf.gen.yaml `opt`): out=<file name>,
// examples=<path of the examples file, relative to the working directory>.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	// Registers the buf.validate extensions, so field options carry them.
	_ "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
)

// openapiv2Options is how protoc-gen-openapiv2 is asked for the document
// this program converts: one merged JSON file, JSON names, full proto names
// as definition names (so each maps back to its message).
var openapiv2Options = []string{
	"allow_merge=true",
	"merge_file_name=merged",
	"output_format=json",
	"json_names_for_fields=true",
	"openapi_naming_strategy=fqn",
	"disable_default_errors=true",
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "protoc-gen-openapi31:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	raw, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(raw, req); err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	opts := map[string]string{"out": "openapi.json"}
	for _, kv := range strings.Split(req.GetParameter(), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			opts[k] = v
		}
	}
	swagger, err := runOpenAPIv2(req)
	if err != nil {
		return err
	}
	files, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: req.GetProtoFile()})
	if err != nil {
		return fmt.Errorf("descriptors: %w", err)
	}
	var examples map[string]any
	if path := opts["examples"]; path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("examples: %w", err)
		}
		if err := json.Unmarshal(b, &examples); err != nil {
			return fmt.Errorf("examples %s: %w", path, err)
		}
	}
	doc, err := convert(swagger, files, req.GetFileToGenerate(), examples)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	resp := &pluginpb.CodeGeneratorResponse{
		SupportedFeatures: proto.Uint64(uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL)),
		File: []*pluginpb.CodeGeneratorResponse_File{{
			Name:    proto.String(opts["out"]),
			Content: proto.String(string(body) + "\n"),
		}},
	}
	b, err := proto.Marshal(resp)
	if err != nil {
		return err
	}
	_, err = out.Write(b)
	return err
}

// runOpenAPIv2 runs protoc-gen-openapiv2 (from PATH, or beside this
// program) on req and returns its merged document, decoded.
func runOpenAPIv2(req *pluginpb.CodeGeneratorRequest) (map[string]any, error) {
	bin, err := exec.LookPath("protoc-gen-openapiv2")
	if err != nil {
		self, _ := os.Executable()
		bin = filepath.Join(filepath.Dir(self), "protoc-gen-openapiv2")
	}
	sub := proto.Clone(req).(*pluginpb.CodeGeneratorRequest)
	sub.Parameter = proto.String(strings.Join(openapiv2Options, ","))
	in, err := proto.Marshal(sub)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", bin, err, stderr.String())
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(stdout.Bytes(), resp); err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("%s: %s", bin, resp.GetError())
	}
	for _, f := range resp.GetFile() {
		if strings.HasSuffix(f.GetName(), ".json") {
			var doc map[string]any
			if err := json.Unmarshal([]byte(f.GetContent()), &doc); err != nil {
				return nil, fmt.Errorf("%s output: %w", bin, err)
			}
			return doc, nil
		}
	}
	return nil, fmt.Errorf("%s wrote no JSON document", bin)
}

// registry is what convert looks descriptors up in.
type registry = *protoregistry.Files
