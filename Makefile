# guardid — two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
# PostgreSQL used by the second test pass (trust auth on this machine).
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
# loadgroup: tests marked xdist_group (one module's shared servers) stay on one worker.
PYTEST_ARGS ?= -n 2 --dist loadgroup
# Debian packages some tests drive for real: a headless browser for the pages (with CJK fonts
# so Chinese renders in screenshots and PDFs), libfprint 2 (its virtual image reader drives the
# real library in the device tests), pdftoppm to
# render PDF reports. Installed by `make test` when missing (as root); otherwise those tests
# skip with a reason.
SYSTEM_PACKAGES ?= chromium poppler-utils fonts-noto-cjk libfprint-2-2 gir1.2-fprint-2.0 python3-gi

.PHONY: run test test-sqlite test-postgres test-milvus setup system-deps lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "guardid needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# face_recognition is only the benchmark baseline; --no-deps keeps pip from building dlib
	# from source (dlib comes from the prebuilt dlib-bin wheel).
	$(PY) -m pip install --quiet --no-deps 'face-recognition==1.3.0'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/guardid migrate
	$(VENV)/bin/guardid demo load
	$(VENV)/bin/guardid serve --host $(HOST) --port $(PORT)

test: $(STAMP) system-deps test-sqlite test-postgres test-milvus

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "== installing system packages:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing) >/dev/null 2>&1 \
	    || echo "== could not install$$missing: the tests that need them will skip"; \
	else echo "== missing system packages$$missing (not root): the tests that need them will skip"; fi

test-sqlite: $(STAMP)
	@echo "== test pass 1: whole suite on SQLite"
	$(PY) -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@if $(VENV)/bin/guardid db ping --url '$(PG_URL)'; then \
	  echo "== test pass 2: database tests on PostgreSQL ($(PG_URL))"; \
	  GUARDID_TEST_PG_URL='$(PG_URL)' $(PY) -m pytest $(PYTEST_ARGS) -m db; \
	else \
	  echo "== test pass 2 SKIPPED: PostgreSQL is not reachable at $(PG_URL)"; \
	fi

# Pass 3: the gallery tests (de-duplication, identify, replicas, races) again with the
# galleries on a real Milvus server, started once for the run by the pytest controller.
test-milvus: $(STAMP)
	@if $(VENV)/bin/guardid db ping --url '$(PG_URL)'; then \
	  echo "== test pass 3: gallery tests on the Milvus backend (PostgreSQL)"; \
	  GUARDID_TEST_PG_URL='$(PG_URL)' GUARDID_TEST_GALLERY_BACKEND=milvus \
	    $(PY) -m pytest $(PYTEST_ARGS) -m gallery; \
	else \
	  echo "== test pass 3 SKIPPED: PostgreSQL is not reachable at $(PG_URL)"; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	@echo "Benchmarks are run one by one; see BENCHMARKS.md for each command."

clean:
	rm -rf $(VENV) var .pytest_cache
