# The two commands a newcomer needs: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
NPM ?= npm
MEDFCL := node dist/cli/main.js

.PHONY: all install build lint typecheck check-proto test demo clean bench

all: build

# npm ci only when the lockfile changed since the last install.
node_modules/.installed: package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed

build: install
	$(NPM) run build

lint: install
	$(NPM) run lint

typecheck: install
	$(NPM) run typecheck

# The generated gRPC types must match proto/: regenerate into a temp dir and compare.
check-proto: install
	@node scripts/check-proto.mjs

test: build lint typecheck check-proto
	$(NPM) test

demo: build
	node scripts/demo.mjs

bench: build
	@for b in bench/*.ts; do echo "== $$b"; npx tsx $$b || exit 1; done

clean:
	rm -rf dist
