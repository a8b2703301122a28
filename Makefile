# The two commands: `make run` (serve the API with the seed data) and `make test`.
# Both install what they need; with no DATABASE_URL they use a project-local PostgreSQL.

UV_VERSION := 0.13.9
TOOLS := .tools
# A working uv on PATH is used as is; otherwise one is installed into .tools/.
UV := $(shell uv --version >/dev/null 2>&1 && command -v uv || echo $(TOOLS)/bin/uv)
PY := .venv/bin/python
WITH_DB := $(PY) -m config.localdb run --
HOST ?= 127.0.0.1
PORT ?= 8000


.PHONY: screenshots browser install run test test-fast check lint-openapi deploy-check lint format typecheck migrations-check schema schema-check db db-stop manage clean

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

install: $(UV)
	@$(UV) sync --frozen --quiet

## Serve the API with the seed data on http://127.0.0.1:8000/ (PORT=8001 for another port),
## with the worker that sends webhook deliveries
# Served as in production, by gunicorn (DEBUG off, problem+json errors, static files by
# WhiteNoise), but over plain HTTP on the loopback, with a secret key kept in .data/ for
# this checkout. WEB_CONCURRENCY sync workers (default 3) hold one database connection
# each, so a burst of requests queues instead of opening a connection per request.
# The task worker (manage.py run_worker) runs beside it. This is for a developer's machine,
# so webhook targets on the loopback are allowed (WEBHOOK_ALLOWED_TARGET_NETWORKS).
WEB_CONCURRENCY ?= 3
WEBHOOK_ALLOWED_TARGET_NETWORKS ?= 127.0.0.0/8,::1/128
run: install .data/secret-key
	DJANGO_HTTPS=0 LOG_FORMAT=text DJANGO_SECRET_KEY="$$(cat .data/secret-key)" \
	PUBLIC_BASE_URL=http://$(HOST):$(PORT) \
	WEBHOOK_ALLOWED_TARGET_NETWORKS="$(WEBHOOK_ALLOWED_TARGET_NETWORKS)" $(WITH_DB) sh -c '\
	  $(PY) manage.py migrate --noinput && \
	  $(PY) manage.py seed && \
	  $(PY) manage.py collectstatic --noinput -v0 || exit 1; \
	  echo "Serving on http://$(HOST):$(PORT)/ with the webhook worker (Ctrl-C stops both)"; \
	  echo "Webhook targets in $$WEBHOOK_ALLOWED_TARGET_NETWORKS are allowed: for local development only."; \
	  $(PY) manage.py run_worker & worker=$$!; \
	  HOST=$(HOST) PORT=$(PORT) WEB_CONCURRENCY=$(WEB_CONCURRENCY) \
	    .venv/bin/gunicorn --config config/gunicorn.py config.wsgi & web=$$!; \
	  trap "kill -TERM $$web $$worker 2>/dev/null" INT TERM; \
	  wait $$web; status=$$?; kill -TERM $$worker 2>/dev/null; wait $$worker; exit $$status'

.data/secret-key:
	@mkdir -p .data
	@$(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# The suite runs in one pytest-xdist worker per core, each on its own test database
# (PARALLEL= runs it in one process).
PARALLEL ?= -n auto --dist worksteal
# Every test process, and every server or command the tests start, imports Django and the
# test tools: their bytecode is kept in .data/pycache (git-ignored), also where
# PYTHONDONTWRITEBYTECODE is set, so that a run compiles each module once, not once a process.
PYCACHE := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.data/pycache

## Run the whole test suite (pass extra pytest arguments with ARGS="...")
test: install browser
	$(PYCACHE) $(WITH_DB) $(PY) -m pytest --create-db $(PARALLEL) $(ARGS)

## The tests but the slow ones (servers in other processes, the browser, the fuzzing, the
## query plans on a large dataset): for the inner loop; `make test` runs everything
test-fast: install
	$(PYCACHE) $(WITH_DB) $(PY) -m pytest --create-db $(PARALLEL) -m "not slow" $(ARGS)

## Retake the screenshots in docs/screenshots/ (the site's and the admin's browser tests)
screenshots: install browser
	SCREENSHOTS_TO_DOCS=1 $(PYCACHE) $(WITH_DB) $(PY) -m pytest --create-db \
	  tests/reader/test_reader_in_browser.py tests/admin/test_admin_polish_in_browser.py

# The browser tests drive Debian's Chromium. Install it when missing and we can.
CHROMIUM_PATH ?= /usr/bin/chromium
browser:
	@test -x "$(CHROMIUM_PATH)" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then SUDO=""; \
	  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "The browser test needs Chromium: install Debian's chromium package or set CHROMIUM_PATH." >&2; exit 0; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

## Lint, format check, types, migrations and the committed OpenAPI document
check: install lint typecheck migrations-check

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck:
	# mypy imports the settings but never connects to the database.
	DJANGO_DEBUG=1 DATABASE_URL=postgres://localhost/typecheck $(PY) -m mypy .

migrations-check:
	DJANGO_DEBUG=1 $(WITH_DB) $(PY) manage.py makemigrations --check --dry-run

## Check the Docker set-up without Docker: the compose file against the Compose
## Specification, .env.example, the Dockerfile's own steps, the entry point and the image's
## command on a scratch database with production settings, and a backup/restore drill
deploy-check: install
	UV="$(UV)" $(WITH_DB) $(PY) scripts/deploy_check.py

## Lint openapi.yaml with Redocly (recommended rules) and Spectral (spectral:oas), both at
## the versions tools/openapi-lint/package-lock.json pins; any finding fails. Needs Node.js.
LINT_TOOLS := tools/openapi-lint
lint-openapi: $(LINT_TOOLS)/node_modules/.installed
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	  $(LINT_TOOLS)/node_modules/.bin/redocly lint openapi.yaml --config $(LINT_TOOLS)/redocly.yaml --format=summary
	$(LINT_TOOLS)/node_modules/.bin/spectral lint openapi.yaml --ruleset $(LINT_TOOLS)/.spectral.yaml --fail-severity=hint

$(LINT_TOOLS)/node_modules/.installed: $(LINT_TOOLS)/package-lock.json
	npm ci --prefix $(LINT_TOOLS) --no-audit --no-fund --silent
	touch $@

## Regenerate the committed OpenAPI document after changing a serializer, view or filter
schema: install
	DJANGO_DEBUG=1 $(WITH_DB) $(PY) manage.py spectacular --validate --fail-on-warn --file openapi.yaml

## Start or stop the project-local PostgreSQL for ad-hoc commands
db: install
	$(PY) -m config.localdb start

db-stop:
	$(PY) -m config.localdb stop

## Any manage.py command against the configured database: make manage ARGS="createsuperuser"
manage: install
	@DJANGO_DEBUG=1 $(WITH_DB) $(PY) manage.py $(ARGS)

clean: db-stop
	rm -rf .data .venv $(TOOLS) staticfiles

## Fuzz the API from openapi.yaml deeper than the suite does (docs/reliability.md):
## FUZZ_EXAMPLES generated cases per operation (the suite runs 100) from a new seed each run,
## printed at the end, with the command that replays a failing run; FUZZ_SEED=N replays it
FUZZ_EXAMPLES ?= 1000
FUZZ_SEED ?= $(shell date +%s)
.PHONY: fuzz fuzz-ci
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(PYCACHE) $(WITH_DB) $(PY) -m pytest --create-db -q tests/reliability/test_schemathesis.py $(ARGS)

## The fuzzing with fixed seeds besides the suite's own (20180409), for CI: deterministic,
## and wider than one seed (the Royal Assent and the first commencement of the Act)
FUZZ_CI_SEEDS := 20190516 20220406
fuzz-ci: install
	for seed in $(FUZZ_CI_SEEDS); do \
	  $(MAKE) --no-print-directory fuzz FUZZ_SEED=$$seed FUZZ_EXAMPLES=100 || exit 1; done

## Benchmark against the plain-Django and the bare WSGI floors (bench/README.md): 10,000
## measures, a few minutes
.PHONY: bench bench-full
bench: install
	$(PY) -m bench.run --quick $(ARGS)

## The same at 1,000,000 measures / ~5 million events (generates them once, ~10 minutes)
bench-full: install
	$(PY) -m bench.run --full $(ARGS)
