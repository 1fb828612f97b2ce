# kassa: `make run` serves the demo on-sale, `make test` runs the whole suite.
# Both set everything up on a machine with only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test lint format shell browser bench-smoke smoke-run partner-example clean

run: $(VENV)/.run-deps
	$(BIN)/python -m ticketing.launcher run

test: $(VENV)/.dev-deps browser
	$(BIN)/python -m ticketing.launcher test $(ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# A shell with DATABASE_URL / REDIS_URL / SECRET_KEY exported (embedded
# services are started and left running).
shell: $(VENV)/.dev-deps
	@bash --rcfile <(cat ~/.bashrc 2>/dev/null; $(BIN)/python -m ticketing.launcher env 2>/dev/null; echo 'source $(BIN)/activate') -i

# The on-sale load test, small: asserts the correctness audit only, never timings
# (exit 1 on any oversell/double-sale/..., 2 when nothing could be sold).
bench-smoke: $(VENV)/.dev-deps
	$(BIN)/python bench/onsale.py --places 2000 --visitors 2500 --skip-noop --duration-limit 300

# `make run` on a non-default port with SITE_URL unset, one purchase through the
# site's pages (waiting room, checkout, sandbox card, paid tickets), then Ctrl-C
# and a check that every process it started has stopped. Run by CI.
SMOKE_PORT ?= 8201
smoke-run: $(VENV)/.run-deps
	$(BIN)/python scripts/smoke_purchase.py --make-run $(SMOKE_PORT)

# `make run` on another port, then examples/partner_client.py sells as the
# demo partner app does (waiting room, hold, order, on-account payment, the
# signed order.paid webhook, tickets), then Ctrl-C and the same check that
# every process stopped. Run by CI (docs/partners.md).
PARTNER_EXAMPLE_PORT ?= 8202
partner-example: $(VENV)/.run-deps
	$(BIN)/python examples/partner_client.py --make-run $(PARTNER_EXAMPLE_PORT)

# Browser tests drive Debian's Chromium through Playwright.
browser:
	@sh scripts/ensure-chromium.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

clean:
	rm -rf $(VENV) staticfiles
