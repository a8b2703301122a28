# syntax=docker/dockerfile:1
# The tracker under gunicorn: `docker compose up` (docker-compose.yml) or
#   docker build -t policy-measure-tracker . && docker run --env-file .env -p 8000:8000 policy-measure-tracker
# Environment variables: .env.example.

# ---- build: the locked dependencies and the collected static files
FROM python:3.13-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

# The same uv release as the Makefile's.
RUN pip install "uv==0.13.9"

WORKDIR /app

# Dependencies first, from the lock file only, so that a code change reuses this layer.
# No dev tools, and not the project-local PostgreSQL (the `local` group).
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-dev --no-group local --no-install-project

COPY . .
# Settings need a secret key and a database URL to load; collectstatic uses neither.
RUN DJANGO_SECRET_KEY=collectstatic-only DATABASE_URL=postgres://build/unused \
        /app/.venv/bin/python manage.py collectstatic --noinput --verbosity 0 \
    && /app/.venv/bin/python -m compileall -q config measures strategy

# ---- runtime: the slim base, the venv and the code, run as an unprivileged user
FROM python:3.13-slim-bookworm

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    PORT=8000

RUN groupadd --system --gid 10001 tracker \
    && useradd --system --uid 10001 --gid tracker --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tracker

WORKDIR /app
# Owned by root and only readable by the app: a compromised worker cannot change the code.
COPY --from=build /app /app

USER tracker:tracker
EXPOSE 8000

ENTRYPOINT ["/app/scripts/entrypoint.sh"]
CMD ["gunicorn", "--config", "config/gunicorn.py", "config.wsgi"]
