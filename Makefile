# o365logfetch — build, test and demo. Needs only Go (1.26+); staticcheck comes from go.mod's tool.
GO      ?= go
BIN     ?= o365logfetch
DEMO    ?= demo
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Every build of the tool (build, cross, release, package): static, without the C library, so it
# starts on any Linux and in an empty container; no build paths, times or build id inside, so the
# same commit gives the same bytes (the image's binary too). cmd/o365logfetch's static-build test
# reads these three lines.
BUILD_ENV     := CGO_ENABLED=0
BUILD_FLAGS   := -trimpath
BUILD_LDFLAGS := -s -w -buildid=
LDFLAGS := $(BUILD_LDFLAGS) -X github.com/o365logfetch/o365logfetch/internal/cli.version=$(VERSION)

.PHONY: build test vet staticcheck demo clean bench profile cross fuzz

build:
	$(BUILD_ENV) $(GO) build $(BUILD_FLAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/o365logfetch

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
	echo "== o365logfetch --env-file $(DEMO)/.env --summary text   (SSL_CERT_FILE=$(DEMO)/ca.pem)"; \
	SSL_CERT_FILE=$(DEMO)/ca.pem ./$(BIN) --env-file $(DEMO)/.env --summary text; code=$$?; \
	echo "== exit code $$code; a second run right away fetches nothing new:"; \
	SSL_CERT_FILE=$(DEMO)/ca.pem ./$(BIN) --env-file $(DEMO)/.env --summary text; \
	echo "== o365logfetch subscriptions list"; \
	SSL_CERT_FILE=$(DEMO)/ca.pem ./$(BIN) --env-file $(DEMO)/.env subscriptions list; \
	kill $$(cat $(DEMO)/emulator.pid); \
	echo "== output files (one JSON line per audit record):"; ls -l $(DEMO)/out; \
	echo "== first line of $(DEMO)/out/Audit.Exchange.log:"; head -n 1 $(DEMO)/out/Audit.Exchange.log; \
	echo "== run log: $(DEMO)/debug/debug.log; progress: $(DEMO)/state/"; \
	exit $$code

# Every fuzz target of every package (found with go test -list, so new ones join by themselves),
# FUZZTIME each: about 2 minutes in all. A crasher lands in the package's testdata/fuzz/; keep it
# there once fixed, and plain `go test` replays it forever.
FUZZTIME ?= 8s
fuzz:
	@set -e; for pkg in $$($(GO) list ./internal/...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$f  $$pkg"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# Release builds for every platform the tool runs on (CI builds them all).
TARGETS ?= linux/amd64 linux/arm64 windows/amd64 darwin/amd64 darwin/arm64
cross:
	@for target in $(TARGETS); do \
		os=$${target%/*}; arch=$${target#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "build $$os/$$arch"; \
		$(BUILD_ENV) GOOS=$$os GOARCH=$$arch $(GO) build $(BUILD_FLAGS) -ldflags '$(LDFLAGS)' \
			-o dist/o365logfetch-$$os-$$arch$$ext ./cmd/o365logfetch || exit 1; \
	done

# ---- Distribution: packages and release archives in dist/ -------------------------------------
# Every file time inside them is the commit time, so two runs on one commit give identical bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# Package version: tag v1.2.3 gives 1.2.3, anything else 0.0.0.git<describe> (dpkg and rpm both
# want a leading digit).
PKG_VERSION ?= $(subst -,.,$(if $(shell echo '$(VERSION)' | grep -E '^v[0-9]'),$(patsubst v%,%,$(VERSION)),0.0.0.git$(VERSION)))
PKG_ARCHES  := amd64 arm64

.PHONY: package release
# .deb and .rpm for each of PKG_ARCHES (nfpm is a tool of go.mod; see cmd/o365logfetch/package).
package:
	@$(MAKE) --no-print-directory cross TARGETS="$(addprefix linux/,$(PKG_ARCHES))"
	@for arch in $(PKG_ARCHES); do for format in deb rpm; do \
		PKG_ARCH=$$arch PKG_VERSION='$(PKG_VERSION)' SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) \
			$(GO) tool nfpm package -f cmd/o365logfetch/package/nfpm.yaml -p $$format -t dist/ || exit 1; \
	done; done

# From an empty dist/: every platform's archive, the packages, and SHA256SUMS over them all.
release:
	rm -rf dist
	@$(MAKE) --no-print-directory package
	@$(MAKE) --no-print-directory cross
	$(GO) run ./cmd/o365release -dist dist -version '$(VERSION)' -epoch $(SOURCE_DATE_EPOCH) \
		-file README.md -file o365_logs.cfg -file .env.template \
		-file LICENSE=cmd/o365logfetch/package/LICENSE $(TARGETS)
# ------------------------------------------------------------------------------------------------

# Performance against the emulator on loopback (HTTP/2 offered, records shaped like captured
# ones): the real binary next to a minimal downloader, CPU as a ratio to it, memory at 3x the
# data and at 16 and 32 workers, one 100 MB blob, pacing against a quota, and the memory of an
# audit over 7 days of a large tenant. A few minutes on 2 cores; fails only on a memory bound or
# a record not written exactly once. Not part of `make test`. BENCHFLAGS='-http 1.1',
# '-records mix' or '-transports' (the transport comparison at 20 and 150 ms) change what is
# measured.
BENCHFLAGS ?=
bench: build
	$(GO) build -o o365bench ./cmd/o365bench
	./o365bench -bin ./$(BIN) $(BENCHFLAGS)

# The same runs with a CPU profile of each tool run in ./profile (a build with -tags profile, which
# release builds never carry), then the top of the 1x profile. Explore further with
# go tool pprof -http=: o365logfetch-profile profile/tool-1x.prof
profile:
	$(GO) build -tags profile -o $(BIN)-profile ./cmd/o365logfetch
	$(GO) build -o o365bench ./cmd/o365bench
	./o365bench -bin ./$(BIN)-profile -profile profile -pacing 0
	$(GO) tool pprof -top -nodecount=30 $(BIN)-profile profile/tool-1x.prof

clean:
	rm -rf $(BIN) $(BIN)-profile o365emulator o365bench $(DEMO) dist profile

# --- Forwarder end-to-end test and container image ------------------------------------------
# The end-to-end test alone, verbose: real rsyslogd (imfile) tailing the output while real
# logrotate rotates it, the binary run many times against the emulator (some runs killed, some
# meeting API faults). Skips where rsyslogd or logrotate is missing.
.PHONY: e2e image image-test
e2e:
	$(GO) test -race -count=1 -timeout 10m -run 'TestForwarderRsyslogLogrotate' -v ./internal/cli/

# The container image (cmd/o365logfetch/package/Dockerfile): a static binary built here and
# this machine's CA bundle on `scratch`, user 65532. Needs podman or docker; pulls nothing.
CONTAINER ?= $(shell command -v podman 2>/dev/null || command -v docker 2>/dev/null)
IMAGE     ?= o365logfetch:$(VERSION)
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
image:
	@[ -n "$(CONTAINER)" ] || { echo "make image needs podman or docker"; exit 1; }
	rm -rf dist/image && mkdir -p dist/image
	$(BUILD_ENV) $(GO) build $(BUILD_FLAGS) -ldflags '$(LDFLAGS)' -o dist/image/o365logfetch ./cmd/o365logfetch
	cp $(CA_BUNDLE) dist/image/ca-certificates.crt
	$(CONTAINER) build -f cmd/o365logfetch/package/Dockerfile -t $(IMAGE) dist/image

# `o365logfetch version` and a fetch against the emulator inside the image.
image-test: image
	$(GO) build -o dist/image-o365emulator ./cmd/o365emulator
	cmd/o365logfetch/package/image-test.sh $(CONTAINER) $(IMAGE) dist/image-o365emulator
