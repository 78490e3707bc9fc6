# `make run` and `make test` work on a fresh machine with only Python 3.11, pip and gcc: each creates
# .venv when missing and installs exactly the hash-checked versions in requirements.lock, then
# Fenliu itself (editable, no dependency resolution). `make lock` refreshes the lock.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
RULES ?= $(or $(FENLIU_RULES_DIR),rules)
PIP_TOOLS := pip-tools==7.6.2

.PHONY: run test check clean bench fuzz soak lock

$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -c "import fenliu.cli"
	touch $(STAMP)

# Every direct and transitive dependency of the runtime, test and bench sets, pinned with hashes.
lock:
	test -x .venv-lock/bin/pip-compile || ($(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet $(PIP_TOOLS))
	.venv-lock/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras --all-build-deps \
		--extra test --extra bench --no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml

run: $(STAMP)
	$(BIN)/fenliu serve --rules $(RULES)

test: $(STAMP)
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/fenliu check $(RULES)

# Benchmarks (under 10 minutes): rewrites BENCHMARKS.md and docs/bench-*.png; raw output in bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench.run_all
	$(BIN)/python bench/simulate_day.py
	$(BIN)/python bench/batch_scaling.py
	$(BIN)/python -m bench.run_all --render-only

# Longer fuzzing of the running service from its OpenAPI than `make test` does (not CI).
fuzz: $(STAMP)
	FENLIU_FUZZ_EXAMPLES=1000 $(BIN)/python -m pytest -q -s tests/test_fuzz.py

# A million decisions and a thousand reloads in one server; plots docs/soak-rss.png (not CI).
soak: $(STAMP)
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .venv-lock .pytest_cache .hypothesis
