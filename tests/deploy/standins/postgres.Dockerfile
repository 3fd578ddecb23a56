# Stand-in for postgres:15 where Docker Hub cannot be reached: Debian 12's PostgreSQL 15 with
# the part of the official image's entry point that compose.yaml relies on (POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB on first start; data in /var/lib/postgresql/data; pg_isready).
ARG BASE=partup-standin/bookworm
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
RUN mkdir -p "$PGDATA" /var/run/postgresql \
    && chown -R postgres:postgres "$PGDATA" /var/run/postgresql
VOLUME /var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["sh", "/usr/local/bin/postgres-entrypoint.sh"]
