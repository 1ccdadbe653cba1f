# The two commands a newcomer needs: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
NPM ?= npm
MEDFCL := node dist/cli/main.js

# onnxruntime-node's postinstall fetches CUDA 12 add-ons on linux/x64 from a host these machines
# cannot reach; the CPU build is in the package itself. ONNXRUNTIME_NODE_INSTALL is the switch its
# install script reads (npm warns on an unknown key in .npmrc, so it is not set there). A GPU host
# installs with `make install ONNXRUNTIME_NODE_INSTALL=cuda12`.
export ONNXRUNTIME_NODE_INSTALL ?= skip

.PHONY: all install build lint typecheck check-proto check-cycles test demo clean bench

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

# No import cycle under services/, coordinator/ or site-agent/ (issue 26): prints each cycle found.
check-cycles: install
	@node scripts/check-cycles.mjs

test: build lint typecheck check-proto check-cycles
	$(NPM) test

demo: build
	node scripts/demo.mjs

bench: build
	@for b in bench/*.ts; do echo "== $$b"; npx tsx $$b || exit 1; done

clean:
	rm -rf dist
