# The instance as an image: `fedi serve` by default; the same image runs `fedi worker`,
# `fedi backup`, `fedi restore` and every other command. See compose.yaml and the README.
#
#   docker build -t fedi-partup .
#
# Debian 12 pinned, so `postgresql-client` is version 15, the same as the database in
# compose.yaml (pg_dump refuses a server newer than itself).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    FEDI_DATA_DIR=/data \
    FEDI_BIND=0.0.0.0:8000

# pg_dump and pg_restore for `fedi backup` / `fedi restore` on PostgreSQL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home fedi \
    && mkdir /data \
    && chown fedi:fedi /data \
    && chmod 0750 /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY activitypub ./activitypub
COPY models ./models
COPY fedi ./fedi
COPY templates ./templates
# Installed in place (as `make run` does): the templates live beside the packages, not in
# them. The code stays owned by root and read-only for the user that runs it.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --config-settings editable_mode=compat -e . \
    && /opt/venv/bin/python -m compileall -q /app/activitypub /app/models /app/fedi

USER fedi
VOLUME ["/data"]
EXPOSE 8000

# /healthz answers whenever the process does; the port follows FEDI_BIND.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-c", \
    "import os, urllib.request; port = os.environ.get('FEDI_BIND', ':8000').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

CMD ["fedi", "serve"]
