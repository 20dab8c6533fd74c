# syntax=docker/dockerfile:1
# Production image: gunicorn by default; the same image runs migrate, the Celery worker and beat
# (see docker-compose.yml). Two stages: uv and gettext stay in the builder.

# Debian 12 (bookworm): its PostgreSQL client is 15, the major version of the `db` service. A newer
# pg_dump writes dumps a PostgreSQL 15 server refuses to restore (SET transaction_timeout).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: dependencies from the lock file, then the code, static files, translations ------
FROM ${PYTHON_IMAGE} AS builder

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app
# Only the lock and the project file: this layer is rebuilt when dependencies change, not code.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project --python /usr/local/bin/python3.11

COPY . .
# collectstatic and compilemessages import the settings: give them a throw-away key and
# addresses that are not localhost (the settings refuse those with DEBUG=0).
RUN DEBUG=0 SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-0000 \
    DATABASE_URL=postgres://build@localhost/build STATIC_ROOT=/app/staticfiles \
    SITE_URL=https://build.invalid DEFAULT_FROM_EMAIL=build@build.invalid \
    /app/.venv/bin/python manage.py collectstatic --noinput -v0 \
    && mkdir -p locale \
    && DEBUG=0 SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-0000 \
    DATABASE_URL=postgres://build@localhost/build \
    SITE_URL=https://build.invalid DEFAULT_FROM_EMAIL=build@build.invalid \
    /app/.venv/bin/python manage.py compilemessages --ignore=.venv -v0

# --- runtime -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# WeasyPrint needs Pango; DejaVu is the font the stylesheet and the PDFs ask for. `manage.py
# backup` needs pg_dump/pg_restore (the server's major version) and gpg.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
        postgresql-client-15 gpg gpg-agent \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 clspdr \
    && useradd --system --uid 10001 --gid clspdr --home-dir /app --no-create-home clspdr \
    && mkdir -p /data/media \
    && chown clspdr:clspdr /data/media

ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=clspdr.settings \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/data/media

WORKDIR /app
COPY --from=builder --chown=root:root /app /app

USER clspdr
EXPOSE 8000
# Bind, workers, timeouts and the proxies trusted for X-Forwarded-Proto: gunicorn.conf.py.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "clspdr.wsgi"]
