# Herald — developer and CI entry points.
#
#   make build          bin/herald, its version from git describe (VERSION=... overrides)
#   make run            local services (run profile), migrate, groups, superuser, smtp sink, serve
#                       (see scripts/run.sh for the defaults it sets; .env and the environment win)
#   make test           local services (test profile), go vet, go test -race (browser tests without -race)
#   make bench          local services (test profile), benchmarks once each (BENCH=regexp selects)
#   make soak           local services (test profile), bin/herald serve under a fixed-rate mix for DURATION
#                       (default 10m), a line per INTERVAL (1m, a sixth of a shorter run); fails on any
#                       error or resource growing without bound (RATE=50 requests per second)
#   make faults         the fault suite at full size (internal/faults: private PostgreSQL, Redis and
#                       SMTP sink; every scenario with 10,000 recipients; `make test` runs two small)
#   make lint           gofmt, go vet, staticcheck, and lint-api
#   make lint-api       Redocly CLI lints api/openapi.yaml (redocly.yaml; npm's cache in NPM_CACHE)
#   make services-up / services-down   the run profile's PostgreSQL and Redis
#   make clean          stop all local services, remove .data and bin
#
# Local services: scripts/services.sh {up|down|status} {run|test}
#   run:  PostgreSQL 127.0.0.1:25432, Redis 127.0.0.1:26379
#   test: PostgreSQL 127.0.0.1:25433, Redis 127.0.0.1:26380

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)

# Test services (override on the command line or in the environment).
TEST_PG_PORT ?= 25433
TEST_REDIS_PORT ?= 26380
HERALD_TEST_DATABASE_URL ?= postgres://herald@127.0.0.1:$(TEST_PG_PORT)/herald?sslmode=disable
HERALD_TEST_REDIS_URL ?= redis://127.0.0.1:$(TEST_REDIS_PORT)/0
TEST_ENV := HERALD_TEST_DATABASE_URL='$(HERALD_TEST_DATABASE_URL)' HERALD_TEST_REDIS_URL='$(HERALD_TEST_REDIS_URL)'

# Benchmarks to run (go test -bench regexp).
BENCH ?= .

# The soak test (internal/soak): how long, how often it reports (empty: 1m, or a sixth of a run
# shorter than 6m), requests per second.
DURATION ?= 10m
INTERVAL ?=
RATE ?= 50

# Version stamped into bin/herald (`herald version`); override with VERSION=...
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

# staticcheck version served by the module proxy here.
STATICCHECK_VERSION ?= v0.8.2

# Redocly CLI version (npm package @redocly/cli) that lints the API document, and npm's
# cache for it (npx installs it there once).
REDOCLY_VERSION ?= 2.77.0
NPM_CACHE ?= $(HOME)/.cache/herald/npm

.PHONY: all build run services-up services-down test-services-up test bench soak faults lint lint-api clean

all: build

build:
	go build -ldflags "-X main.version=$(VERSION)" -o bin/herald ./cmd/herald

services-up:
	scripts/services.sh up run

services-down:
	scripts/services.sh down run

test-services-up:
	PG_PORT=$(TEST_PG_PORT) REDIS_PORT=$(TEST_REDIS_PORT) scripts/services.sh up test

run:
	scripts/run.sh

test: test-services-up build
	scripts/mta.sh install
	scripts/browser.sh install
	scripts/deploy-check.sh install
	go vet ./...
	$(TEST_ENV) HERALD_BIN='$(CURDIR)/bin/herald' go test -race -count=1 -timeout 9m -skip '^TestBrowser' ./...
	$(TEST_ENV) go test -count=1 -timeout 9m -run '^TestBrowser' ./web/...

bench: test-services-up
	scripts/mta.sh install
	$(TEST_ENV) HERALD_BENCH=1 go test -run '^$$' -bench '$(BENCH)' -benchtime=1x -count=1 -timeout 90m ./...

soak: test-services-up build
	$(TEST_ENV) HERALD_SOAK_BIN='$(CURDIR)/bin/herald' HERALD_SOAK_DURATION='$(DURATION)' HERALD_SOAK_INTERVAL='$(INTERVAL)' \
		HERALD_SOAK_RATE='$(RATE)' go test -run '^TestSoak$$' -count=1 -v -timeout 0 ./internal/soak

faults:
	HERALD_FAULTS=all go test -count=1 -v -run '^TestFaults$$' -timeout 60m ./internal/faults/

lint:
	@files="$$(find . \( -name .data -o -name .git -o -name vendor -o -name node_modules \) -prune -o -name '*.go' -type f -print)"; \
	if [ -n "$$files" ]; then \
		out="$$(gofmt -l $$files)"; \
		if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi; \
	fi; \
	echo "gofmt ok"
	go vet ./...
	@sc="$$(command -v staticcheck || true)"; \
	if [ -z "$$sc" ]; then \
		echo "installing staticcheck $(STATICCHECK_VERSION)"; \
		go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); \
		sc="$$(go env GOPATH)/bin/staticcheck"; \
		[ -n "$$(go env GOBIN)" ] && sc="$$(go env GOBIN)/staticcheck"; \
	fi; \
	echo "staticcheck ./..."; \
	"$$sc" ./...
	$(MAKE) --no-print-directory lint-api

lint-api:
	@echo "redocly lint api/openapi.yaml (@redocly/cli@$(REDOCLY_VERSION))"
	npm_config_cache='$(NPM_CACHE)' REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		npx --yes @redocly/cli@$(REDOCLY_VERSION) lint --format=stylish api/openapi.yaml

clean:
	-scripts/services.sh down run
	-scripts/services.sh down test
	rm -rf .data bin
