# Stand-in for python:3.11-slim-bookworm where Docker Hub cannot be reached: Debian 12's own
# Python 3.11 with venv, `python` on the PATH as in the official image. The build context's
# ca/ holds the certificate authorities of the machine's own network (an intercepting proxy
# in front of the package index, say), trusted by apt and pip in every image built on this.
ARG BASE=partup-standin/bookworm
FROM ${BASE}
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && ln -s /usr/bin/python3 /usr/local/bin/python \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
CMD ["python3"]
