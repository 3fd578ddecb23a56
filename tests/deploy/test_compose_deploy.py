"""A new operator's deployment, for real: ``compose.yaml`` built and started by Docker.

What the README's Deployment section tells an operator to do is done here with the same
commands: build the image and start PostgreSQL, ``web``, ``worker`` and Caddy; create the
admin inside the container; scale out; back up, and restore into a fresh deployment that
signs with the keys it had. Everything is reached the way a resident's browser or another
server reaches it: over HTTPS on port 443, through Caddy, with the certificate Caddy issued.
The domain is ``localhost``, for which Caddy issues from its own local authority (Let's
Encrypt cannot reach a test machine); every other line of ``deploy/Caddyfile`` is as shipped.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import missing_service
from tests.deploy.compose_helpers import (
    COMPOSE_FILE,
    compose_command,
    docker_engine_answers,
    ensure_base_images,
    remove_leftovers,
    run,
    wait_for,
)

BASE = "https://localhost"
AP = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# Caddy keeps its local certificate authority under XDG_DATA_HOME (/data in the caddy image).
CADDY_ROOT_CERT = "/data/caddy/pki/authorities/local/root.crt"
METRICS_TOKEN = secrets.token_hex(16)


@dataclass
class Deployment:
    """One compose project of this checkout, and how to reach it."""

    compose: list[str]

    def __call__(self, *args: str, timeout: float = 900, check: bool = True,
                 input_text: str | None = None) -> str:
        """Run ``docker compose ARGS`` for this project; return what it printed."""
        done = run([*self.compose, *args], timeout=timeout, check=check, input_text=input_text)
        return done.stdout

    def fedi(self, *args: str, input_text: str | None = None) -> str:
        """``docker compose exec web fedi ARGS``, as the README shows the operator."""
        return self("exec", "-T", "web", "fedi", *args, input_text=input_text)

    def containers(self, service: str) -> list[str]:
        """The ids of the running containers of ``service``."""
        return self("ps", "-q", service).split()

    def client(self) -> httpx.Client:
        """An HTTPS client that trusts only the certificate authority of this Caddy."""
        root = self("exec", "-T", "caddy", "cat", CADDY_ROOT_CERT)
        trusted = ssl.create_default_context(cadata=root)
        return httpx.Client(base_url=BASE, verify=trusted, timeout=30)

    def up(self) -> None:
        """``up -d --build`` and wait until Caddy answers for a healthy ``web``."""
        self("up", "-d", "--build")
        wait_for(self._healthy, timeout=240, what="the instance behind Caddy")

    def _healthy(self) -> bool:
        with self.client() as client:
            return client.get("/readyz").status_code == 200


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """The compose project, built and started; removed with its volumes afterwards."""
    if not docker_engine_answers():
        missing_service("a Docker engine (dockerd) for the compose deployment")
    compose = compose_command()
    if compose is None:
        missing_service("docker compose (or docker-compose) for the compose deployment")
    remove_leftovers()
    ensure_base_images()
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    env_file.write_text(
        "FEDI_DOMAIN=localhost\n"
        f"POSTGRES_PASSWORD={secrets.token_hex(16)}\n"
        "FEDI_INSTANCE_NAME=Compose test\n"
        "FEDI_REGISTRATION=approval\n"
        f"FEDI_METRICS_TOKEN={METRICS_TOKEN}\n"
    )
    project = f"partup{secrets.token_hex(3)}"
    deployment = Deployment(
        compose=[*compose, "--project-name", project, "--env-file", str(env_file),
                 "--file", str(COMPOSE_FILE)],
    )
    try:
        deployment.up()
        yield deployment
    finally:
        deployment("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)


def _admin_token(deployment: Deployment, name: str) -> str:
    deployment.fedi("user", "create", name, "--email", f"{name}@example.org", "--admin",
                    "--password-stdin", input_text="a long enough password\n")
    return deployment.fedi("token", "create", name).strip().splitlines()[-1]


def _post_note(client: httpx.Client, name: str, token: str, text: str) -> str:
    """Post a public note through the C2S outbox; return the note's id."""
    resp = client.post(
        f"/users/{name}/outbox",
        content=json.dumps({"@context": "https://www.w3.org/ns/activitystreams", "type": "Note",
                            "content": text, "to": [PUBLIC]}),
        headers={"Content-Type": AP, "Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["object"]["id"])


def test_compose_serves_the_instance_over_tls_behind_caddy(deployment: Deployment) -> None:
    with deployment.client() as client:
        ready = client.get("/readyz").json()
        assert ready["status"] == "ok" and ready["checks"]["migrations"]["ok"]
        front = client.get("/")
        assert front.status_code == 200 and front.http_version in {"HTTP/1.1", "HTTP/2"}
        assert front.headers["server"] == "Caddy"
        # The instance's own security headers pass the proxy unchanged (HSTS: it is HTTPS).
        assert "max-age=" in front.headers["strict-transport-security"]
        assert front.headers["x-frame-options"] == "DENY"
        nodeinfo = client.get("/.well-known/nodeinfo").json()
        assert nodeinfo["links"][0]["href"].startswith(f"{BASE}/")
    # Plain HTTP is redirected to HTTPS by Caddy.
    plain = httpx.get("http://localhost/about", follow_redirects=False, timeout=10)
    assert plain.status_code in {301, 308} and plain.headers["location"] == f"{BASE}/about"
    # One `web` and one `worker` until the operator scales them.
    assert len(deployment.containers("web")) == 1 and len(deployment.containers("worker")) == 1


def test_compose_admin_made_in_the_container_posts_and_is_found(deployment: Deployment) -> None:
    token = _admin_token(deployment, "ada")
    with deployment.client() as client:
        finger = client.get("/.well-known/webfinger", params={"resource": "acct:ada@localhost"})
        assert finger.status_code == 200
        actor_url = next(link["href"] for link in finger.json()["links"] if link["rel"] == "self")
        actor = client.get(actor_url, headers={"Accept": AP}).json()
        assert actor["id"] == f"{BASE}/users/ada"
        assert "BEGIN PUBLIC KEY" in actor["publicKey"]["publicKeyPem"]
        note_id = _post_note(client, "ada", token, "Het plein krijgt bankjes")
        assert note_id.startswith(f"{BASE}/")
        assert "Het plein krijgt bankjes" in client.get(note_id, headers={"Accept": AP}).text
        # And as a page, for a resident's browser.
        page = client.get(note_id, headers={"Accept": "text/html"})
        assert page.headers["content-type"].startswith("text/html")
        assert "Het plein krijgt bankjes" in page.text


def test_compose_metrics_are_scraped_through_the_proxy_with_the_token(
    deployment: Deployment,
) -> None:
    with deployment.client() as client:
        assert client.get("/metrics").status_code == 401
        scrape = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    # The requests of the tests before this one, counted by the serving process.
    assert 'fedi_http_requests_total{method="GET",route="/readyz",status="200"}' in scrape.text
    # Queue figures come from the database that `web` and `worker` share.
    assert "fedi_inbox_pending " in scrape.text and "fedi_delivery_pending " in scrape.text


@pytest.mark.parametrize("port", [80, 443])
def test_compose_proxy_cuts_off_a_client_that_never_sends_all_headers(
    deployment: Deployment, port: int
) -> None:
    """deploy/Caddyfile's ``read_header 10s`` on both ports: `fedi serve` alone would wait."""
    started = time.monotonic()
    # A socket timeout (30 s) here would mean the proxy never closed the connection.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        sock = raw
        if port == 443:
            # The attacker needs no trust in the certificate to hold a connection open.
            careless = ssl.create_default_context()
            careless.check_hostname = False
            careless.verify_mode = ssl.CERT_NONE
            sock = careless.wrap_socket(raw, server_hostname="localhost")
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n")
        try:
            while sock.recv(4096):
                pass
        except (ConnectionResetError, ssl.SSLError):
            pass
    waited = time.monotonic() - started
    assert 8 <= waited <= 20, waited


def test_compose_scales_out_to_two_web_and_two_worker_processes(deployment: Deployment) -> None:
    deployment("up", "-d", "--no-build", "--scale", "web=2", "--scale", "worker=2")
    try:
        webs = deployment.containers("web")
        assert len(webs) == 2 and len(deployment.containers("worker")) == 2

        def both_serve() -> bool:
            marker = f"/.well-known/host-meta?probe={secrets.token_hex(4)}"
            with deployment.client() as client:
                for _ in range(12):
                    client.get(marker)
            # Caddy finds every `web` again every 10 s and spreads requests round robin.
            logs = [run(["docker", "logs", web]) for web in webs]
            return all("/.well-known/host-meta" in log.stdout + log.stderr for log in logs)

        wait_for(both_serve, timeout=120, every=5, what="requests reaching both web containers")
    finally:
        deployment("up", "-d", "--no-build", "--scale", "web=1", "--scale", "worker=1")
    # Back to one: Caddy still lists the stopped container until its next refresh, and tries
    # the request on the one left rather than answering 502.
    with deployment.client() as client:
        statuses = [client.get("/.well-known/host-meta").status_code for _ in range(20)]
    assert statuses == [200] * 20


def test_compose_backup_restores_into_a_fresh_deployment_with_its_keys(
    deployment: Deployment, tmp_path: Path
) -> None:
    token = _admin_token(deployment, "bea")
    with deployment.client() as client:
        note_id = _post_note(client, "bea", token, "Zorginkoop op Saba")
        actor = client.get("/users/bea", headers={"Accept": AP}).json()
        key_before = actor["publicKey"]["publicKeyPem"]
    deployment.fedi("backup", "--output", "/data/backup.tar.gz")
    archive = tmp_path / "backup.tar.gz"
    run(["docker", "cp", f"{deployment.containers('web')[0]}:/data/backup.tar.gz", str(archive)])
    assert archive.stat().st_size > 0

    # A fresh deployment: every volume gone, then the README's restore, then up.
    deployment("down", "--volumes", "--timeout", "10")
    os.chown(archive, 10001, 10001)
    restored = deployment("run", "--rm", "-v", f"{archive}:/backup.tar.gz:ro", "web",
                          "fedi", "restore", "/backup.tar.gz")
    assert "restored" in restored.lower(), restored
    deployment.up()
    with deployment.client() as client:
        actor = client.get("/users/bea", headers={"Accept": AP}).json()
        assert actor["publicKey"]["publicKeyPem"] == key_before
        assert "Zorginkoop op Saba" in client.get(note_id, headers={"Accept": AP}).text
