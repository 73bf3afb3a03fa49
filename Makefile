# o365logfetch — build, test and demo. Needs only Go (1.26+); staticcheck comes from go.mod's tool.
GO      ?= go
BIN     ?= o365logfetch
DEMO    ?= demo
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/o365logfetch/o365logfetch/internal/cli.version=$(VERSION)

.PHONY: build test vet staticcheck demo clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/o365logfetch

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

# The one test command: README.md and .ci/run use exactly this.
test: vet staticcheck
	$(GO) test -race -count=1 -timeout 10m ./...

# A real fetch against the emulator: generated audit data, real TLS (the emulator's CA handed
# over with SSL_CERT_FILE), real files under ./demo.
demo: build
	$(GO) build -o o365emulator ./cmd/o365emulator
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@./o365emulator -dir $(DEMO) > $(DEMO)/emulator.out 2>&1 & echo $$! > $(DEMO)/emulator.pid; \
	for i in $$(seq 1 100); do [ -f $(DEMO)/ready ] && break; sleep 0.1; done; \
	[ -f $(DEMO)/ready ] || { echo "emulator did not start:"; cat $(DEMO)/emulator.out; kill $$(cat $(DEMO)/emulator.pid); exit 1; }; \
	echo "== o365logfetch --env-file $(DEMO)/.env   (SSL_CERT_FILE=$(DEMO)/ca.pem)"; \
	SSL_CERT_FILE=$(DEMO)/ca.pem ./$(BIN) --env-file $(DEMO)/.env; code=$$?; \
	echo "== exit code $$code; a second run right away fetches nothing new:"; \
	SSL_CERT_FILE=$(DEMO)/ca.pem ./$(BIN) --env-file $(DEMO)/.env; \
	SSL_CERT_FILE=$(DEMO)/ca.pem ./$(BIN) --env-file $(DEMO)/.env subscriptions list; \
	kill $$(cat $(DEMO)/emulator.pid); \
	echo "== output files (one JSON line per audit record):"; ls -l $(DEMO)/out; \
	echo "== first line of $(DEMO)/out/Audit.Exchange.log:"; head -n 1 $(DEMO)/out/Audit.Exchange.log; \
	echo "== run log: $(DEMO)/debug/debug.log, progress: $(DEMO)/state/"; tail -n 3 $(DEMO)/debug/debug.log; \
	exit $$code

clean:
	rm -rf $(BIN) o365emulator $(DEMO)
