# Tradewind developer commands. Every target creates .venv when it is missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: demo test lint api-fuzz bench soak soak-venues chaos venv clean ml-report

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found; set PY=/path/to/python3.11"; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev,ml]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

## Run the main job on the embedded defaults: bundled real data, SQLite, no exchange, no network.
demo: $(STAMP)
	$(BIN)/tradewind demo

## Run the whole test suite.
# pytest exits 5 when it collects no tests, which is not a failure of the code.
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS); code=$$?; if [ $$code -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$code

## schemathesis against a running bot's API (the demo's paper session, served on loopback): 40 s of
## fuzzing every operation with a token; fails on any 5xx or any auth bypass.
api-fuzz: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash .ci/api-fuzz.sh

## ruff, the import-linter ring contracts, mypy (strict) on core, and bandit (no medium or high
## severity finding in src: no eval, exec, pickle, unsafe YAML or shell on any input), hadolint.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/bandit -q -r src --severity-level medium
	$(BIN)/hadolint Dockerfile

## Benchmarks against the peers; prints a table.
# vectorbt pins plotly < 6, which clashes with ours: it gets its own virtualenv.
bench: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,ml,bench]'
	@test -x .bench-venv-vbt/bin/python || { $(PY) -m venv .bench-venv-vbt && .bench-venv-vbt/bin/pip install -q vectorbt "plotly<6"; }
	$(BIN)/python -m benchmarks

## Long soaks: the exchange simulator (20 clients, faults), the live market feed (every listed
## market at 100x with faults) and a paper session trading six markets at 100x, an hour each unless
## SOAK_SECONDS says otherwise (pytest's 300 s test timeout is lifted to fit); then three
## venues at once (Binance, Bybit, a second Binance; 10 ccxt clients each, 5 % faults), 60 s unless
## VENUE_SOAK_SECONDS says otherwise (`make soak-venues` runs that one alone); then the CLI fuzz
## over every command at 200 examples each (the test suite runs 12: TRADEWIND_FUZZ_EXAMPLES).
SOAK_SECONDS ?= 3600
VENUE_SOAK_SECONDS ?= 60
soak: $(STAMP)
	TRADEWIND_SOAK_SECONDS=$(SOAK_SECONDS) TRADEWIND_VENUE_SOAK_SECONDS=$(VENUE_SOAK_SECONDS) \
		$(BIN)/python -m pytest -m slow -s -p no:randomly --timeout=$$(( $(SOAK_SECONDS) + 900 )) \
		tests/integration/exchange_sim/test_soak.py tests/integration/live_feed/test_feed_soak.py \
		tests/integration/session/test_paper_soak.py \
		tests/integration/bybit_sim/test_venue_soak.py
	TRADEWIND_FUZZ_EXAMPLES=200 $(BIN)/python -m pytest -q -p no:randomly --timeout=3600 \
		tests/integration/cli/test_cli_fuzz.py -k every

soak-venues: $(STAMP)
	TRADEWIND_VENUE_SOAK_SECONDS=$(VENUE_SOAK_SECONDS) $(BIN)/python -m pytest -m slow -s \
		-p no:randomly --timeout=$$(( $(VENUE_SOAK_SECONDS) + 900 )) \
		tests/integration/bybit_sim/test_venue_soak.py

## Live trading under faults at full counts: every injected fault many times per order shape,
## with random visibility delays (the CI run does each once).
chaos: $(STAMP)
	TRADEWIND_CHAOS=1 $(BIN)/python -m pytest -q -p no:randomly tests/integration/live

## The full ML study (every model and target on the bundled month and the 5m files) as ml-report.html.
ml-report: $(STAMP)
	$(BIN)/tradewind ml report --out ml-report.html

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
