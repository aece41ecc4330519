# One task runner for developers and CI. A fresh machine needs only `make demo` or `make test`:
# both create the virtual environment and install the project first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck unit format fuzz bench faults audit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/ews demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest

test: lint typecheck unit

# Coverage-guided fuzzing (atheris) of every adapter and entry point, FUZZ_SECONDS each;
# a crash or hang fails the target and its input is written under var/fuzz/.
FUZZ_SECONDS ?= 20
FUZZ_TARGETS ?= fhir hl7v2 json psv normalize ingest state
fuzz: $(STAMP)
	@mkdir -p var/fuzz
	@for t in $(FUZZ_TARGETS); do \
		$(PY) -m fuzz.run $$t --seconds $(FUZZ_SECONDS) > var/fuzz/$$t.log 2>&1 \
			|| { tail -40 var/fuzz/$$t.log; echo "fuzz $$t: FAILED"; exit 1; }; \
		echo "fuzz $$t: $$(grep -Eo 'number_of_executed_units: *[0-9]+' var/fuzz/$$t.log | grep -Eo '[0-9]+') inputs in $(FUZZ_SECONDS) s, no crash or hang"; \
	done

# Throughput, latency and memory against baselines measured in the same run (a command,
# not a timed test): raw aiokafka, an empty Faust agent, a naive table-per-message worker.
bench: $(STAMP)
	$(PY) -m load_tests report --out var/load-tests

# Fault scenarios against the real broker and workers (worker kill, rebalance, broker restart,
# pager outage, poison messages, burst): one report of what was injected, counted and lost.
faults: $(STAMP)
	$(PY) -m faults report --out var/faults

# Known vulnerabilities in the installed environment (pip-audit in a scratch venv); exits 3 when
# the advisory service cannot be reached (AUDIT_FLAGS=--allow-unreachable: a loud warning).
AUDIT_FLAGS ?=
audit: $(STAMP)
	$(PYTHON) scripts/audit.py $(AUDIT_FLAGS)

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis var out
