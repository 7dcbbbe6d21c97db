# dealercare: the two commands a newcomer needs are `make run` and `make test`.
# Tools are pinned in tools/go.mod (generators) and tools/temporal/go.mod (the
# Temporal dev server) and built into the git-ignored bin/ once; later runs
# reuse them.

SHELL := /bin/bash
BIN := $(CURDIR)/bin
export GOTOOLCHAIN := local

# Every Go module of the workspace (tools/ and tools/temporal are outside it
# on purpose: their dependency graphs must not enter the services' build list).
MODULES := gen/go pkg services/customer services/complaint services/callback services/evaluation services/campaign services/gateway workflows services/webhook tools/dev tools/cli
# Programs `make build` produces.
COMMANDS := services/customer/cmd/customer services/complaint/cmd/complaint services/callback/cmd/callback services/evaluation/cmd/evaluation services/campaign/cmd/campaign services/campaign/cmd/campaign-provider services/gateway/cmd/gateway services/webhook/cmd/webhook workflows/cmd/worker tools/dev/cmd/devstack tools/dev/cmd/devtoken tools/cli/cmd/dealercare

# Tool builds (generators, the Temporal CLI, helm, kube-apiserver...) compile
# in a build cache and temp dir of their own under bin/, dropped once make test
# has its tools: their dependency graphs are several GB of compiled packages
# nobody needs again (bin/ keeps the binaries). Binaries are stripped.
TOOL_CACHE := $(BIN)/.tool-cache
TOOL_GO := mkdir -p $(TOOL_CACHE)/tmp && GOWORK=off GOCACHE=$(TOOL_CACHE)/build GOTMPDIR=$(TOOL_CACHE)/tmp go

GENERATORS := $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2 $(BIN)/protoc-gen-openapi31 $(BIN)/oapi-codegen

.PHONY: all run test test-go build tools generate check-generate lint token bench-gateway bench-search bench-import bench-escalation bench-relay bench-kpi bench-campaign clean-run
.PHONY: images chart-test chart-test-go chart-tools
.PHONY: lint-openapi test-cli-import
.PHONY: chaos
.PHONY: load

all: build

## run: build everything, start PostgreSQL, Temporal, the services, the worker
## and the gateway, load the demo network, print the URL and a dev token.
run: build $(BIN)/temporal
	@$(BIN)/devstack run

## test: unit and integration tests against a real PostgreSQL and Temporal
## dev server that it starts itself (unless DEALERCARE_TEST_DATABASE_URL and
## DEALERCARE_TEST_TEMPORAL_ADDRESS are given), plus the generated-code check.
test: build $(BIN)/temporal check-generate lint lint-openapi chart-tools $(BIN)/temporal-setup
	@rm -rf $(TOOL_CACHE)
	@$(BIN)/devstack testenv -- $(MAKE) --no-print-directory test-go chart-test-go

# Runs inside the environment `devstack testenv` provides.
test-go:
	@set -e; for m in $(MODULES); do \
		echo "== go test $$m"; \
		(cd $$m && go test -count=1 -race -timeout 20m ./...); \
	done
	@# The strict OpenAPI wire check of every gateway answer, without -race
	@# (libopenapi-validator under the race detector outran the timeout).
	@echo "== go test services/gateway/app (OpenAPI wire check)"
	@cd services/gateway && go test -count=1 -timeout 20m ./app/

## build: every program into bin/.
build:
	@for c in $(COMMANDS); do \
		mod=$${c%%/cmd/*}; name=$${c##*/}; \
		(cd $$mod && go build -o $(BIN)/$$name ./cmd/$$name) || exit 1; \
	done

## tools: the pinned code generators.
tools: $(GENERATORS)

$(BIN)/buf: tools/go.mod
	cd tools && $(TOOL_GO) build -ldflags "-s -w" -o $(BIN)/buf github.com/bufbuild/buf/cmd/buf
$(BIN)/protoc-gen-go: tools/go.mod
	cd tools && $(TOOL_GO) build -ldflags "-s -w" -o $@ google.golang.org/protobuf/cmd/protoc-gen-go
$(BIN)/protoc-gen-go-grpc: tools/go.mod
	cd tools && $(TOOL_GO) build -ldflags "-s -w" -o $@ google.golang.org/grpc/cmd/protoc-gen-go-grpc
$(BIN)/protoc-gen-grpc-gateway: tools/go.mod
	cd tools && $(TOOL_GO) build -ldflags "-s -w" -o $@ github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway
$(BIN)/protoc-gen-openapiv2: tools/go.mod
	cd tools && $(TOOL_GO) build -ldflags "-s -w" -o $@ github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2
$(BIN)/protoc-gen-openapi31: tools/go.mod $(wildcard tools/openapi/*.go)
	cd tools && $(TOOL_GO) build -ldflags "-s -w" -o $@ ./openapi
$(BIN)/oapi-codegen: tools/clientgen/go.mod
	cd tools/clientgen && $(TOOL_GO) build -ldflags "-s -w" -o $@ github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen

# The Temporal CLI (dev server): about 8 minutes cold, cached in bin/.
$(BIN)/temporal: tools/temporal/go.mod
	cd tools/temporal && $(TOOL_GO) build -ldflags "-s -w" -o $@ github.com/temporalio/cli/cmd/temporal

## generate: lint the protos and regenerate gen/go (offline).
generate: $(GENERATORS)
	cd proto && $(BIN)/buf lint
	rm -rf gen/go/dealercare gen/go/openapi/*.json gen/go/client/*.gen.go
	PATH=$(BIN):$$PATH $(BIN)/buf generate proto --template proto/buf.gen.yaml --path proto/dealercare
	$(BIN)/oapi-codegen -config tools/clientgen/client.yaml gen/go/openapi/dealercare.openapi.json

## check-generate: fails when regenerating changes a committed file.
check-generate: generate
	@git diff --exit-code --stat -- gen/ || { echo "generated code is stale: run 'make generate' and commit gen/"; exit 1; }
	@test -z "$$(git status --porcelain -- gen/)" || { git status --porcelain -- gen/; echo "generated files not committed: run 'make generate' and commit gen/"; exit 1; }

## lint: go vet and gofmt over every module.
# Go files git tracks or would track (new files before `git add` too).
GO_SOURCES = git ls-files --cached --others --exclude-standard '*.go' | grep -v '^gen/'

lint:
	@test -z "$$(gofmt -l $$($(GO_SOURCES)))" || { gofmt -l $$($(GO_SOURCES)); echo "gofmt needed"; exit 1; }
	@for m in $(MODULES); do (cd $$m && go vet ./...) || exit 1; done

## lint-openapi: the OpenAPI 3.1 document through two strict linters
## (Redocly recommended-strict and more, Spectral's whole OpenAPI ruleset;
## rule sets in tools/openapilint), no error and no warning allowed.
OPENAPI_DOC := gen/go/openapi/dealercare.openapi.json
OPENAPI_LINT := $(BIN)/openapi-lint
lint-openapi: $(OPENAPI_LINT)/.done
	@REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(OPENAPI_LINT)/node_modules/.bin/redocly lint --config tools/openapilint/redocly.yaml --max-problems 1000 --format stylish $(OPENAPI_DOC) 2>&1 | grep -v -e '^ *║' -e '^ *[╔╚]'; test $${PIPESTATUS[0]} -eq 0
	@$(OPENAPI_LINT)/node_modules/.bin/spectral lint --ruleset tools/openapilint/spectral.yaml --fail-severity warn --format stylish $(OPENAPI_DOC)

# The linters' pinned versions (package-lock.json) with npm ci: about a
# minute on a fresh machine, cached in bin/.
$(OPENAPI_LINT)/.done: tools/openapilint/package.json tools/openapilint/package-lock.json
	rm -rf $(OPENAPI_LINT) && mkdir -p $(OPENAPI_LINT)
	cp tools/openapilint/package.json tools/openapilint/package-lock.json $(OPENAPI_LINT)/
	cd $(OPENAPI_LINT) && npm ci --no-audit --no-fund --ignore-scripts --loglevel error
	touch $@

## test-cli-import: the CLI follows a DMS import of DEALERCARE_CLI_IMPORT_ROWS
## rows (default 100,000; make test imports 20,000 under -race) to its end.
test-cli-import: build $(BIN)/temporal
	@$(BIN)/devstack testenv -- sh -c 'cd tools/cli && DEALERCARE_CLI_IMPORT_ROWS=$${DEALERCARE_CLI_IMPORT_ROWS:-100000} go test -count=1 -timeout 30m -run TestImportFollowedToItsEnd -v . | grep -E "import_test|^(---|ok|FAIL)"'

## token: a dev JWT, e.g. make token ROLE=agent DEALER=SH001 (or REGION=EAST).
token:
	@cd tools/dev && go build -o $(BIN)/devtoken ./cmd/devtoken
	@$(BIN)/devtoken -role "$(or $(ROLE),hq_admin)" -dealer "$(DEALER)" -region "$(REGION)"

## bench-gateway: the same read through the gateway and directly over gRPC,
## alternating call by call, DEALERCARE_GATEWAY_BENCH_COUNT runs (default 5),
## and the median of the runs' ratios.
bench-gateway: build $(BIN)/temporal
	@$(BIN)/devstack testenv -- sh -c 'cd services/gateway && go test -run "^$$" -bench GatewayOverhead -benchtime 3s -count $${DEALERCARE_GATEWAY_BENCH_COUNT:-5} ./app/ 2>/dev/null | grep -E "ns/op|^ok|FAIL"' | \
		awk 'function median(a, n,   i, j, t) { for (i = 1; i < n; i++) for (j = i; j > 0 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } return a[int((n-1)/2)] } { print } { for (i = 2; i <= NF; i++) { if ($$i == "rest-ratio") r[n++] = $$(i-1) + 0; if ($$i == "floor-ratio") f[m++] = $$(i-1) + 0 } } END { if (!n) exit 1; printf "median of %d runs: gateway %.2f of direct gRPC'"'"'s throughput; the floor (a bare HTTP hop to the same gRPC call) %.2f\n", n, median(r, n), median(f, m) }'

## bench-search: archive search p50/p99 at DEALERCARE_SEARCH_BENCH customers (default 10 million).
bench-search: build $(BIN)/temporal
	@$(BIN)/devstack testenv -- sh -c 'cd services/customer && DEALERCARE_SEARCH_BENCH=$${DEALERCARE_SEARCH_BENCH:-10000000} go test -count=1 -timeout 120m -run SearchAt10M -v ./postgres/ | grep -E "search_bench|ok|FAIL"'

## bench-import: DMS import of DEALERCARE_IMPORT_BENCH_ROWS rows (default 1 million) next to psql \copy of the same file.
bench-import: build $(BIN)/temporal
	@$(BIN)/devstack testenv -- sh -c 'cd services/customer && DEALERCARE_IMPORT_BENCH=1 go test -count=1 -timeout 60m -run TestImportBench -v ./importer/ | grep -E "bench_test|ok|FAIL"'

## bench-escalation: lateness of DEALERCARE_ESCALATION_BENCH complaints (default 10,000) escalating in the same minute, next to bare starts and bare timers on the same server.
bench-escalation: build $(BIN)/temporal
	@$(BIN)/devstack testenv -- sh -c 'cd workflows && DEALERCARE_ESCALATION_BENCH=$${DEALERCARE_ESCALATION_BENCH:-10000} go test -count=1 -timeout 3h -run EscalationLateness10k -v ./app/ | grep --line-buffered -vE "^(=== |\{)"'

## bench-kpi: KPI rollups at DEALERCARE_KPI_BENCH dealers (default 5,000: 10 million callback and 20 million repair-order facts): rebuild, ranking via REST next to ad hoc, late facts.
bench-kpi: build $(BIN)/temporal
	@$(BIN)/devstack testenv -- sh -c 'cd services/gateway && DEALERCARE_KPI_BENCH=$${DEALERCARE_KPI_BENCH:-5000} go test -count=1 -timeout 240m -run TestKpiBench -v ./app/ | grep -E "kpi_bench|ok|FAIL|Error|error"'

## bench-relay: the outbox relay's delivery rate next to bare SignalWithStart calls on the same server.
bench-relay: build $(BIN)/temporal
	@$(BIN)/devstack testenv -- sh -c 'cd pkg && DEALERCARE_RELAY_BENCH=$${DEALERCARE_RELAY_BENCH:-5000} go test -count=1 -timeout 60m -run TestRelayRate -v ./outbox/ | grep -E "rate_test|ok|FAIL"'

## bench-campaign: a campaign to DEALERCARE_CAMPAIGN_BENCH_RECIPIENTS customers (default 1,000,000) through the real processes, next to writing the same message rows straight into the table; peak RSS of the worker and the service.
bench-campaign: build $(BIN)/temporal
	@$(BIN)/devstack testenv -- sh -c 'cd services/campaign && DEALERCARE_CAMPAIGN_BENCH=1 DEALERCARE_CAMPAIGN_BENCH_RECIPIENTS=$${DEALERCARE_CAMPAIGN_BENCH_RECIPIENTS:-1000000} go test -count=1 -timeout 180m -run TestCampaignBench -v ./app/ | grep -E "campaign_bench|ok|FAIL|Error|error"'

## chaos: DEALERCARE_CHAOS_OPS (default 10,000) mixed operations through the
## REST API while every program, Temporal and PostgreSQL are killed with
## SIGKILL at random moments; then checks that nothing acknowledged was lost
## or done twice. Not in make test: its runs still find losses (README, Chaos).
chaos: build $(BIN)/temporal
	@cd tools/chaos && go build -o $(BIN)/chaos ./cmd/chaos
	@$(BIN)/chaos -ops $${DEALERCARE_CHAOS_OPS:-10000}

## load: a steady mix of reads and writes through the gateway for
## DEALERCARE_LOAD_DURATION (default 10m) at DEALERCARE_LOAD_RATE requests a
## second (default 20), sent by vegeta against the whole stack from bin/ on its
## own ports; prints throughput, p50/p99 per route, errors and every
## process's memory before, during and after. Not in make test.
load: build $(BIN)/temporal $(BIN)/vegeta
	@cd tools/chaos && go build -o $(BIN)/load ./cmd/load
	@nice $(BIN)/load -duration $${DEALERCARE_LOAD_DURATION:-10m} -rate $${DEALERCARE_LOAD_RATE:-20}

# vegeta (HTTP load), pinned in tools/vegeta and cached in bin/.
$(BIN)/vegeta: tools/vegeta/go.mod
	cd tools/vegeta && $(TOOL_GO) build -ldflags "-s -w" -o $@ github.com/tsenart/vegeta/v12

clean-run:
	rm -rf .run

# --- Images and the Helm chart (charts/dealercare, deploy/) ---------------
# One entry per program: name=module/cmd/name. A program not yet in the
# tree is skipped with a notice, so services being written can be listed.
IMAGES := customer=services/customer/cmd/customer
IMAGES += complaint=services/complaint/cmd/complaint
IMAGES += callback=services/callback/cmd/callback
IMAGES += evaluation=services/evaluation/cmd/evaluation
IMAGES += campaign=services/campaign/cmd/campaign
IMAGES += campaign-provider=services/campaign/cmd/campaign-provider
IMAGES += gateway=services/gateway/cmd/gateway
IMAGES += webhook=services/webhook/cmd/webhook
IMAGES += worker=workflows/cmd/worker
IMAGES += temporal-setup=workflows/cmd/temporal-setup

# helm and kubeconform (tools/helm: k8s.io v0.37), kube-apiserver and etcd
# (tools/k8s: k8s.io/kubernetes v1.36.3), the image builder; cached in bin/.
CHART_TOOLS := $(BIN)/helm $(BIN)/kubeconform $(BIN)/kube-apiserver $(BIN)/etcd $(BIN)/imagebuild $(BIN)/kube-schemas/.done $(BIN)/crd-schemas/.done
chart-tools: $(CHART_TOOLS)

$(BIN)/helm: tools/helm/go.mod
	cd tools/helm && $(TOOL_GO) build -ldflags "-s -w" -o $@ helm.sh/helm/v3/cmd/helm
$(BIN)/kubeconform: tools/helm/go.mod
	cd tools/helm && $(TOOL_GO) build -ldflags "-s -w" -o $@ github.com/yannh/kubeconform/cmd/kubeconform
# About 5 minutes cold on an idle 2-core machine.
$(BIN)/kube-apiserver: tools/k8s/go.mod
	cd tools/k8s && $(TOOL_GO) build -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v1.36.3 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36" -o $@ k8s.io/kubernetes/cmd/kube-apiserver
$(BIN)/etcd: tools/k8s/go.mod tools/k8s/cmd/etcd/main.go
	cd tools/k8s && $(TOOL_GO) build -ldflags "-s -w" -o $@ ./cmd/etcd
$(BIN)/imagebuild: tools/k8s/go.mod $(wildcard tools/k8s/images/*.go tools/k8s/cmd/imagebuild/*.go)
	cd tools/k8s && $(TOOL_GO) build -ldflags "-s -w" -o $@ ./cmd/imagebuild
# Strict standalone JSON schemas for kubeconform from Kubernetes v1.36.3's
# api/openapi-spec (in the module cache of tools/k8s).
$(BIN)/kube-schemas/.done: tools/k8s/go.mod $(wildcard tools/k8s/cmd/kubeschema/*.go)
	cd tools/k8s && $(TOOL_GO) run ./cmd/kubeschema -out $(BIN)/kube-schemas
	touch $@

# The prometheus-operator CRDs the chart's ServiceMonitor and PrometheusRule
# need, from that module's zip on the Go module proxy (bin/crds, created on
# the test API server), and their strict kubeconform schemas (bin/crd-schemas).
PROMETHEUS_OPERATOR := github.com/prometheus-operator/prometheus-operator@v0.94.0
PROMETHEUS_CRDS := example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml,example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml
$(BIN)/crd-schemas/.done: tools/k8s/go.mod $(wildcard tools/k8s/cmd/kubeschema/*.go)
	cd tools/k8s && $(TOOL_GO) run ./cmd/kubeschema -crd-module $(PROMETHEUS_OPERATOR) -crd-files $(PROMETHEUS_CRDS) -crds $(BIN)/crds -out $(BIN)/crd-schemas
	touch $@

# The Temporal setup hook's program (namespace, search attributes).
$(BIN)/temporal-setup: $(wildcard workflows/cmd/temporal-setup/*.go)
	cd workflows && go build -o $@ ./cmd/temporal-setup

## images: an OCI image per program into bin/images/<name>/ (OCI layout) and
## bin/images/<name>.tar (docker load), offline and reproducibly.
images: $(BIN)/imagebuild
	$(BIN)/imagebuild -repo . -out $(BIN)/images $(IMAGES)

## chart-test: helm lint, helm template of every deploy/ values file,
## kubeconform (strict, Kubernetes 1.36), every object created on a real
## kube-apiserver in a PodSecurity-restricted namespace, a bad values file
## refused, the chart's probes/ports/env against the programs, the images.
chart-test: build chart-tools $(BIN)/temporal $(BIN)/temporal-setup
	@$(BIN)/devstack testenv -- $(MAKE) --no-print-directory chart-test-go

# Runs inside the environment `devstack testenv` provides (make test too).
chart-test-go:
	@echo "== chart and images (tools/k8s)"
	@cd tools/k8s && GOWORK=off DEALERCARE_BIN=$(BIN) DEALERCARE_IMAGES="$(IMAGES)" go test -count=1 -timeout 30m ./...
