# Every target sets up what it needs: a local virtualenv with the package, and
# promtool/amtool (Debian's prometheus packages) when a target runs them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# Binaries `make tools` checks (an absolute path is tested as such) and the Debian packages that provide them.
# The exporter tests (tests/exporters) run PostgreSQL 15, Redis and Debian's exporters.
TOOLS  := promtool amtool prometheus prometheus-alertmanager docker-compose \
          prometheus-postgres-exporter prometheus-redis-exporter prometheus-node-exporter \
          prometheus-blackbox-exporter prometheus-pushgateway redis-server psql mkfs.ext4 \
          /usr/lib/postgresql/15/bin/postgres victoria-metrics vmalert
PACKAGES := prometheus prometheus-alertmanager docker-compose \
          prometheus-postgres-exporter prometheus-redis-exporter prometheus-node-exporter \
          prometheus-blackbox-exporter prometheus-pushgateway redis-server postgresql-15 e2fsprogs victoria-metrics

.PHONY: help generate check lint test e2e tools venv bench clean grafana-schema

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# The library, then Sergas's generated metrics module as the application installs
# it: a distribution of its own (editable, so a `generate` is seen at once).
$(STAMP): pyproject.toml generated/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet -e generated/python
	touch $(STAMP)

venv: $(STAMP) ## create .venv with the package, its dependencies and the generated sergas_metrics

tools: ## install promtool, amtool, the servers, the exporters, PostgreSQL, Redis and docker-compose when missing (apt-get, as root)
	@missing=""; for t in $(TOOLS); do \
	  case $$t in /*) [ -x "$$t" ] ;; *) command -v $$t >/dev/null 2>&1 ;; esac || missing="$$missing $$t"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(strip $(PACKAGES)) (missing:$$missing)"; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $(PACKAGES) >/dev/null; \
	  else \
	    echo "error: missing$$missing. Install them with:" >&2; \
	    echo "  sudo apt-get install -y --no-install-recommends $(strip $(PACKAGES))" >&2; \
	    exit 1; \
	  fi; \
	fi

generate: $(STAMP) ## compile definitions/ into generated/
	$(BIN)/sergas-obs generate

check: $(STAMP) tools ## generated/ up to date, valid for promtool and amtool, definitions lint clean
	$(BIN)/sergas-obs generate --check
	$(BIN)/sergas-obs check
	$(BIN)/sergas-obs lint

lint: $(STAMP) tools ## lint the definitions: unknown metrics/labels, alert and dashboard hygiene, latency budgets
	$(BIN)/sergas-obs lint $(if $(FORMAT),--format $(FORMAT))

test: $(STAMP) tools ## the whole test suite with the real promtool and amtool (in parallel: pytest-xdist)
	$(BIN)/pytest -q -n auto --maxprocesses 4 --dist worksteal

e2e: $(STAMP) tools ## only the live-stack tests: real Prometheus, Alertmanager, an instrumented app
	$(BIN)/pytest -q tests/e2e

grafana-schema: $(STAMP) ## type-check the dashboards against npm @grafana/schema (needs npm + registry)
	$(BIN)/python tests/grafana_schema/check_dashboards.py generated/grafana/dashboards

bench: $(STAMP) tools ## performance measurements (ratios against a baseline)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache *.egg-info
