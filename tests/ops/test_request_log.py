"""The request log: one line per request, JSON lines, request ids on errors and the 500 page."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from fedi.app import create_app
from fedi.http.ops.request_log import remote_server
from fedi.logging_setup import RequestIdFilter, json_formatter
from fedi.settings import Settings
from fedi.state import FediApp


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the root logger writes meanwhile, formatted as with ``FEDI_LOG_FORMAT=json``."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Every line written, each parsed as one JSON object."""
    return [orjson.loads(line) for line in stream.getvalue().splitlines() if line]


@pytest.fixture
async def failing_app(settings: Settings) -> Any:
    """An app with one route that fails, as a bug would."""
    app = create_app(settings)

    async def boom() -> str:
        raise RuntimeError("a bug in a handler")

    app.add_url_rule("/ops-test/boom", "ops_test_boom", boom)
    await app.state.db.upgrade()
    async with app.test_app():
        yield app


async def test_one_json_line_per_request(ops_app: FediApp, json_log: io.StringIO) -> None:
    client = ops_app.test_client()
    response = await client.get("/healthz", headers={"X-Request-Id": "probe-12345678"})
    assert response.headers["X-Request-Id"] == "probe-12345678"
    records = [r for r in lines(json_log) if r["logger"] == "fedi.request"]
    assert len(records) == 1
    record = records[0]
    assert record["message"].startswith("GET /healthz 200 ")
    assert record["method"] == "GET" and record["path"] == "/healthz"
    assert record["status"] == 200 and record["duration_ms"] >= 0
    assert record["request_id"] == "probe-12345678"
    assert record["level"] == "INFO" and record["time"]
    assert "remote_server" not in record


async def test_the_query_string_is_not_logged(ops_app: FediApp, json_log: io.StringIO) -> None:
    await ops_app.test_client().get("/healthz?token=secret-value")
    assert "secret-value" not in json_log.getvalue()


async def test_a_failing_request_logs_its_id_and_shows_it(
    failing_app: FediApp, json_log: io.StringIO
) -> None:
    response = await failing_app.test_client().get("/ops-test/boom")
    assert response.status_code == 500
    request_id = response.headers["X-Request-Id"]
    page = await response.get_data(as_text=True)
    # The person sees the id (and no trace of the error) so they can quote it.
    assert request_id in page and "a bug in a handler" not in page
    records = lines(json_log)
    errors = [r for r in records if r["level"] == "ERROR"]
    assert errors, records
    assert errors[0]["request_id"] == request_id
    assert "RuntimeError: a bug in a handler" in errors[0]["exception"]
    access = [r for r in records if r["logger"] == "fedi.request"]
    assert access[0]["status"] == 500 and access[0]["request_id"] == request_id
    assert access[0]["level"] == "WARNING"


async def test_pages_that_work_do_not_show_a_request_id(ops_app: FediApp) -> None:
    response = await ops_app.test_client().get(
        "/no/such/page", headers={"Accept": "text/html"}
    )
    assert response.status_code == 404
    assert response.headers["X-Request-Id"] not in await response.get_data(as_text=True)


def test_the_remote_server_is_the_host_of_the_key_id() -> None:
    header = ('keyId="https://mastodon.example/users/ana#main-key",algorithm="rsa-sha256",'
              'headers="(request-target) host date digest",signature="abc="')
    assert remote_server(header) == "mastodon.example"
    assert remote_server('keyId="https://Lemmy.Example:8443/u/x#k",signature="x"') == (
        "lemmy.example:8443"
    )
    assert remote_server("signature=\"abc\"") is None
