# OPE: two commands do all the set-up on a fresh machine.
#   make run   builds OPE, prepares the Python virtualenv and starts the server on http://127.0.0.1:8080
#   make test  installs what the tests need and runs every test

SWIFT ?= swift
DATA ?= .ope-data
PORT ?= 8080
HOST ?= 127.0.0.1
OPE := .build/debug/ope

.PHONY: run test build deps venv tools bench lint format proto clean

deps:
	@scripts/install-deps.sh

venv: deps
	@scripts/setup-venv.sh

# Test-only tools in their own virtualenvs, apart from the workspaces' Python: schemathesis, and the
# Kubernetes client and manifest validators.
tools: deps
	@scripts/setup-tools-venv.sh
	@scripts/setup-kube-tools.sh

build: deps
	$(SWIFT) build --product ope

run: venv build
	$(OPE) serve --host $(HOST) --port $(PORT) --data $(DATA) --modules examples/modules

# `--build-tests` builds every target, ope-bench too (the CLI tests run it beside OPE_BIN).
# At most 6 tests run at once (swift-testing's experimental width; unset, it starts them all):
# the tests with JupyterLabs, Chromiums and OPE processes then no longer start together, and a
# full run's load average on 2 cores peaks near 19 instead of 60, in the same wall time.
TEST_WIDTH ?= 6
test: venv tools
	$(SWIFT) build --build-tests
	SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$(TEST_WIDTH) OPE_BIN=$(CURDIR)/$(OPE) OPE_VENV=$(CURDIR)/.venv \
		OPE_TOOLS_VENV=$(CURDIR)/.venv-tools $(SWIFT) test --skip-build

# Benchmarks run on an optimised build of ope-bench, the tools apart from the product; they are not
# part of `make test`. Each appends its rows to one file, printed at the end as one table.
BENCH_SUMMARY := .build/bench-summary.jsonl
bench: venv
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product ope-bench
	$(SWIFT) build -c release --product ope
	rm -f $(BENCH_SUMMARY)
	.build/release/ope-bench events --summary $(BENCH_SUMMARY)
	.build/release/ope-bench proxy --venv .venv --summary $(BENCH_SUMMARY)
	.build/release/ope-bench activity --venv .venv --summary $(BENCH_SUMMARY)
	ulimit -n "$$(ulimit -Hn)"; .build/release/ope-bench loadtest --users 1000 --summary $(BENCH_SUMMARY)
	ulimit -n "$$(ulimit -Hn)"; .build/release/ope-bench loadtest --users 10000 --interval 10 --messages 3 \
		--module python-intro,sql-joins --layouts all,bad,cluster --reconnect-storm --summary $(BENCH_SUMMARY)
	.build/release/ope-bench table $(BENCH_SUMMARY)

# House style (.swift-format; the toolchain ships swift-format). CI runs `make lint`; `make format` fixes.
lint:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Package.swift

format:
	$(SWIFT) format format --in-place --recursive --parallel Sources Tests Package.swift

# The Swift code of the gRPC contracts in proto/ (Sources/OPEGrading/Generated), committed so that
# building and testing need no protoc. Run it after changing a .proto; it needs protoc (installed
# with apt if missing) and builds the plugins in .build-proto/.
proto:
	@scripts/generate-proto.sh

clean:
	rm -rf .build
