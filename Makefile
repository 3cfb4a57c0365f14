# ActorSwarm build, test and code generation. CI runs .ci/run, which calls
# these targets; every target also works on a developer machine.

GO      ?= go
BUF     ?= buf
BIN     := bin
CMDS    := swarmd swarmctl swarm-http swarmbench
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/actorswarm/swarm/internal/version.Version=$(VERSION)

.PHONY: all build test e2e demo bench proto proto-check lint clean

all: build

build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ $(addprefix ./cmd/,$(CMDS))

# The race detector needs cgo and a C compiler; without one (a bare machine
# with only Go) the tests still run, without -race. CI installs gcc.
RACE := $(shell command -v gcc >/dev/null 2>&1 && echo -race)

# The e2e package skips itself unless SWARM_E2E=1, so nothing is excluded here.
test:
	$(GO) test $(RACE) -shuffle=on -count=1 ./...

e2e: build
	SWARM_E2E=1 SWARM_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -v -timeout 20m ./e2e/... ./bench/...

demo: build
	./scripts/demo.sh

# The standard set of docs/benchmarks.md: the loopback scenarios; as root
# also Docker Swarm side by side and the network-namespace scenarios; then
# the Go benchmarks. Reports (JSON, Markdown, SVG plots) go to bench-results/.
bench: build
	$(BIN)/swarmbench run --out bench-results/loopback raft-propose converge scale node-down node-crash node-freeze clock-jump leader-crash chaos mesh-throughput rolling-update-under-load
	@if [ "$$(id -u)" = 0 ]; then \
		$(BIN)/swarmbench run --out bench-results/dockerswarm --target actorswarm,dockerswarm node-crash leader-crash partition node-freeze lossy-node-crash latency-node-crash disk-full chaos converge-containers scale-containers && \
		$(BIN)/swarmbench run --out bench-results/netns overlay-throughput overlay-rtt; \
	else echo "not root: the Docker Swarm comparison and the network-namespace scenarios are skipped"; fi
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

PROTO_TOOLS = command -v $(BUF) >/dev/null 2>&1 || { echo "buf not found: npm install -g @bufbuild/buf@1.75.0 (or go install github.com/bufbuild/buf/cmd/buf@v1.75.0)" >&2; exit 1; }; \
	command -v protoc-gen-go >/dev/null 2>&1 || { echo "protoc-gen-go not found: go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12 and put $$($(GO) env GOPATH)/bin on PATH" >&2; exit 1; }

proto:
	@$(PROTO_TOOLS)
	$(BUF) generate

# Fails when messages/ differs from what buf generates from the .proto files,
# as git sees it: in a fresh clone (CI) that means stale committed code;
# locally, uncommitted changes under messages/ fail it too.
proto-check:
	@if ! command -v $(BUF) >/dev/null 2>&1; then \
		echo "proto-check: SKIPPED: buf is not installed (npm install -g @bufbuild/buf@1.75.0)"; \
	else \
		set -e; \
		$(PROTO_TOOLS); \
		echo "$(BUF) lint"; $(BUF) lint; \
		echo "$(BUF) generate"; $(BUF) generate; \
		git diff --exit-code -- messages/ || { echo "proto-check: messages/ differs from the generated code: run make proto and commit the result" >&2; exit 1; }; \
		untracked=$$(git ls-files --others --exclude-standard -- messages/); \
		if [ -n "$$untracked" ]; then echo "proto-check: files in messages/ not committed:" >&2; echo "$$untracked" >&2; exit 1; fi; \
		echo "proto-check: generated code is up to date"; \
	fi

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l: these files need gofmt -w:" >&2; echo "$$out" >&2; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
