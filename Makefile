# `make run` and `make test` work on a fresh machine with only Python 3.11, pip and gcc:
# each creates .venv when missing and installs the project (editable, with test extras) into it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test check clean bench fuzz soak

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/fenliu serve --rules rules

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/fenliu check rules/

# Benchmarks (under 10 minutes): rewrites BENCHMARKS.md and docs/bench-*.png; raw output in bench/results/.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.run_all
	$(BIN)/python bench/simulate_day.py
	$(BIN)/python -m bench.run_all --render-only

# Longer fuzzing of the running service from its OpenAPI than `make test` does (not CI).
fuzz: $(STAMP)
	FENLIU_FUZZ_EXAMPLES=1000 $(BIN)/python -m pytest -q -s tests/test_fuzz.py

# A million decisions and a thousand reloads in one server; plots docs/soak-rss.png (not CI).
soak: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
