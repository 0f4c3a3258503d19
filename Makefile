# make run: install, create instance/ with demo data, serve on http://127.0.0.1:8000
# make test: install, then ruff, mypy and pytest (SQLite; PostgreSQL too when one answers):
#   the tests not marked slow, or all of them when CI=true; make test-all: all of them

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# one pytest worker per core (pytest-xdist); PYTEST_JOBS= runs them in one process;
# loadgroup keeps an xdist_group (the browser tests' one browser) on one worker
PYTEST_JOBS ?= -n auto --dist loadgroup
# Which tests: CI (CI=true, 90 minutes) runs them all; elsewhere `make test` leaves out
# those marked slow (browser, end-to-end over a big demo, Dask cluster), and
# `make test-all` runs them too.
ifeq ($(CI),true)
PYTEST_SELECT ?=
else
PYTEST_SELECT ?= -m "not slow"
endif

.PHONY: run test test-all install sysdeps testdeps pdfdeps browserdeps screenshots lint typecheck pytest bench compare clean translations i18n-extract i18n-update

install: sysdeps $(STAMP) translations

# gettext catalogues of the pages (web/i18n.py): .po files are kept in the repository,
# the .mo files are built here and never committed or edited by hand.
TRANSLATIONS := web/translations
translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS)

# messages.pot from the code and templates (babel.cfg), then merged into every .po
i18n-extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output -o $(TRANSLATIONS)/messages.pot .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete

# pyzbar loads libzbar at run time; Debian ships it as libzbar0.
sysdeps:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libzbar\.so\.0'; then \
	  echo "installing libzbar0 (needed by pyzbar to decode barcodes)"; \
	  if ! { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libzbar0) >/dev/null 2>&1; }; then \
	    echo "ERROR: could not install libzbar0 with apt-get; install it by hand (apt-get install libzbar0, or your system's zbar package)" >&2; \
	    exit 1; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/hopchain init
	@if [ ! -f instance/.demo-done ]; then $(BIN)/hopchain demo --units 2000 --distributors 40 --months 3 && $(BIN)/hopchain detect && $(BIN)/hopchain settle --period 2026-10 && touch instance/.demo-done; fi
	$(BIN)/hopchain serve --host 127.0.0.1 --port 8000

# the home pages in English and Chinese, taken by headless Chromium from a served demo world
screenshots: install browserdeps
	$(BIN)/python docs/screenshots/make_screenshots.py

# the statement PDF tests read the PDF back with pdftotext (Debian: poppler-utils);
# without it they skip and say why. Chromium is for the browser tests, which are all
# marked slow: it is installed only when they run (CI=true, make test-all), not for
# every `make test`.
testdeps: pdfdeps $(if $(PYTEST_SELECT),,browserdeps)

pdfdeps:
	@if ! command -v pdftotext >/dev/null 2>&1; then \
	  echo "installing poppler-utils (pdftotext reads statement PDFs back in the tests)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils) >/dev/null 2>&1 \
	    || echo "could not install poppler-utils: the PDF text tests will skip"; \
	fi

browserdeps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  echo "installing chromium and chromium-driver (the browser tests and make screenshots drive them)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
	    || echo "could not install chromium and chromium-driver: the browser tests will skip"; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# PostgreSQL is tested whenever a server answers; otherwise those tests say why they skip.
# Every test that takes db_url runs on both engines. On PostgreSQL each pytest worker migrates
# one database hc_w_<hex> and empties it before each test (tests/conftest.py _PgDatabases);
# tests of db_url alone get a schema hc_test_<hex>. Both are dropped at the end; a killed run
# leaves them behind (DROP DATABASE / DROP SCHEMA by hand).
pytest: install testdeps
	@if [ -n '$(PYTEST_SELECT)' ]; then \
	  echo 'pytest $(PYTEST_SELECT): the tests marked slow are left out; make test-all (or CI=true make test) runs them too'; \
	else \
	  echo "running every test, the slow ones too"; \
	fi
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('postgresql://postgres@127.0.0.1:5432/test', connect_timeout=2).close()" 2>/dev/null; then \
	  echo "PostgreSQL answers on 127.0.0.1:5432: running the PostgreSQL tests too"; \
	  HOPCHAIN_TEST_PG_URL=$${HOPCHAIN_TEST_PG_URL:-$(PG_URL)} $(BIN)/pytest $(PYTEST_JOBS) $(PYTEST_SELECT); \
	else \
	  echo "no PostgreSQL on 127.0.0.1:5432: PostgreSQL tests will skip"; \
	  $(BIN)/pytest $(PYTEST_JOBS) $(PYTEST_SELECT); \
	fi

test: lint typecheck pytest

# the whole suite, slow tests included, as CI runs it
test-all:
	@$(MAKE) --no-print-directory test PYTEST_SELECT=

bench: install
	$(BIN)/pytest benchmarks -o python_files='bench_*.py' --benchmark-only

compare: install
	@for s in benchmarks/compare_*.py; do echo "== $$s"; $(BIN)/python $$s || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
