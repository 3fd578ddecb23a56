# Stand-in for caddy:2 where Docker Hub cannot be reached: Debian 12's Caddy 2.6, with the
# official image's paths (/etc/caddy/Caddyfile, certificates in /data, state in /config).
ARG BASE=partup-standin/bookworm
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends caddy ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV XDG_CONFIG_HOME=/config \
    XDG_DATA_HOME=/data
EXPOSE 80 443
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
