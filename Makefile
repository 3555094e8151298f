# ewr — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/ewr
# Packages with goroutines of their own: run under the race detector too.
RACE_PKGS := ./chainengine/... ./iot/... ./indexer/... ./api/... ./simulators/...

export GOFLAGS ?= -buildvcs=false

.PHONY: run test build deps vet bench soak fuzz chaos clean web screenshots

# Fuzz targets over every decoder that takes outside bytes: package and target.
FUZZ_TARGETS := ./chainengine:FuzzDecodeTx ./chainengine:FuzzProofBundle ./ledger:FuzzDecodeOp \
	./ledger:FuzzDecodeRecord ./iot:FuzzDecodeReading ./warehouse:FuzzWeighTicket \
	./internal/canon:FuzzUnmarshal ./api:FuzzRequestBodies
FUZZTIME ?= 3s

## run: the whole system on embedded defaults (data in .ewr/, API on 127.0.0.1:8080)
run: build
	$(BIN) run

## test: every test, starting the real components they need
test: deps build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...
	$(GO) test -race -short -count=1 -timeout 25m $(RACE_PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s
	$(MAKE) --no-print-directory chaos

## chaos: the fault test, members in their own network namespaces (on
## loopback where namespaces cannot be made): CHAOS_SEEDS one after another
CHAOS_SEEDS ?= 1
CHAOS_DURATION ?= 60s
chaos: build
	@for s in $(CHAOS_SEEDS); do $(BIN) chaos --members 4 --duration $(CHAOS_DURATION) --seed $$s || exit 1; done

## fuzz: each fuzz target for FUZZTIME (make test: 3 s each; make soak: 2 min);
## a crasher is written to the package's testdata/fuzz/ and replayed by go test
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

build: deps web
	@mkdir -p bin
	$(GO) build -o $(BIN) ./cmd/ewr

## web: the offline verifier page's WebAssembly and Go's wasm_exec.js, embedded
## into the binary (api/web/static; not committed)
WEB := api/web/static
web:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags="-s -w" -o $(WEB)/verify.wasm ./chainengine/bundle/wasm
	gzip -9 -n -f $(WEB)/verify.wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(WEB)/wasm_exec.js

## deps: what Go does not fetch by itself (PostgreSQL's server binaries, and
## Chromium for the browser tests)
deps:
	@if ! command -v pg_config >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing PostgreSQL server binaries (the tests and make run start a private cluster)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	fi
	@if ! command -v chromium >/dev/null 2>&1 && [ -z "$$EWR_CHROMIUM" ]; then \
		echo "installing Chromium (the browser tests drive it headless)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@$(GO) mod download

vet:
	$(GO) vet ./...

## bench: every benchmark command; each prints one JSON object on stdout
bench: build
	$(BIN) bench chain --validators 4 --duration 30s
	$(BIN) bench chain --validators 4 --duration 30s --app baseline
	$(BIN) bench chain --validators 4 --duration 30s --rate 1000
	$(BIN) bench iot --duration 30s
	$(BIN) bench query
	$(BIN) bench api --duration 30s

## soak: long runs kept out of make test: the property test at 2M random steps,
## and 1,000 simulated warehouse hours (intakes, deliveries, noise, restarts,
## thefts) through the lock's rules: every theft caught, no false alarm
soak:
	$(GO) test -count=1 -timeout 3h ./ledger -run 'Property' -rapid.checks=2000 -rapid.steps=1000
	$(GO) test -count=1 -timeout 3h ./simulators -run 'TestWarehouseDays' -v -days.hours=1000
	$(MAKE) --no-print-directory fuzz FUZZTIME=2m
	$(MAKE) --no-print-directory chaos CHAOS_SEEDS="2 3 4 5 6 7 8 9 10 11" CHAOS_DURATION=120s

## screenshots: a PNG of every console page the browser tests visit, in .ewr/screenshots
screenshots: build
	EWR_SCREENSHOTS=$(CURDIR)/.ewr/screenshots $(GO) test -count=1 -run 'TestConsoleInTheBrowser|TestDemoStoryInTheConsole' ./api/web
	@ls $(CURDIR)/.ewr/screenshots

clean:
	rm -rf bin
