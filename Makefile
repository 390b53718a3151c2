# Every target is one line; CI runs the same targets (.ci/run -> make test).
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
RUN := $(UV) run --frozen --no-sync
export UV_PYTHON_DOWNLOADS := never
export EXPO_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: install up test lint unit integration e2e test-faults browser promtool screenshots bench clean

$(UV):
	$(PYTHON) -m venv .tools && .tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.installed: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON) && touch $@

install: .venv/.installed

up: install
	$(RUN) expo up

lint: install
	$(RUN) ruff check . && $(RUN) ruff format --check . && $(RUN) mypy .

test: lint browser promtool
	$(RUN) pytest -n 2 --dist loadfile

browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver fonts-noto-cjk)

# promtool from Debian's prometheus; the package's daemon is stopped and disabled (tests need only promtool).
promtool:
	command -v promtool >/dev/null || (apt-get update && apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 prometheus && (invoke-rc.d prometheus stop || true) && update-rc.d prometheus disable)

screenshots: install browser
	$(RUN) python -m tests.browser.screenshots screenshots

unit: install
	$(RUN) pytest tests/unit

integration: install
	$(RUN) pytest tests/integration

e2e: install promtool
	$(RUN) pytest tests/e2e

test-faults: install
	EXPO_FAULTS=full $(RUN) pytest tests/faults

# Not part of make test: figures beside their limits (bench/README.md). wrk from Debian.
bench: install
	(command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)) && $(RUN) python -m bench $(BENCH_ARGS)

clean:
	rm -rf .venv .tools var .mypy_cache .pytest_cache .ruff_cache .hypothesis screenshots
