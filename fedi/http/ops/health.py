"""``/healthz`` (the process is up) and ``/readyz`` (the instance can do its work).

``/healthz`` answers 200 whenever the process answers at all, for a supervisor that
restarts a hung process. ``/readyz`` answers 200 only when

* ``database``: the database answers a query,
* ``migrations``: its Alembic revision is the newest one this code knows (a process of
  newer code beside an old schema, or the other way round, is not ready), and
* ``queues``: neither the oldest due inbox activity nor the oldest due delivery (to a domain
  that is not paused) has waited longer than ``FEDI_READY_MAX_QUEUE_AGE_SECONDS``: the
  workers are running and keeping up;

otherwise 503, with a JSON body naming each check and what failed. Each check is bounded in
time, so a database that hangs makes the answer a 503, not a hung probe.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import orjson
from alembic.script import ScriptDirectory
from quart import Blueprint, Response
from sqlalchemy import text

from fedi.db import alembic_config
from fedi.http.ops.queues import read_queue_ages
from fedi.state import AppState, get_state
from models import utcnow

__all__ = ["blueprint", "readiness"]

blueprint = Blueprint("ops_health", __name__)

# How long one check may take before it counts as failed.
CHECK_SECONDS = 5.0


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, content_type="application/json")


@blueprint.get("/healthz")
async def healthz() -> Response:
    """200 while the process is up; it touches nothing else."""
    return _json({"status": "ok"})


@functools.cache
def migration_heads() -> frozenset[str]:
    """The newest revision(s) of the migrations shipped with this code (read once)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def _database(state: AppState) -> dict[str, Any]:
    async with state.db.session() as db:
        await db.execute(text("SELECT 1"))
    return {"ok": True}


async def _migrations(state: AppState) -> dict[str, Any]:
    async with state.db.session() as db:
        current = frozenset(
            str(rev) for rev in await db.scalars(text("SELECT version_num FROM alembic_version"))
        )
    heads = migration_heads()
    result: dict[str, Any] = {"ok": current == heads, "current": sorted(current)}
    if current != heads:
        result["expected"] = sorted(heads)
    return result


async def _queues(state: AppState) -> dict[str, Any]:
    limit = state.settings.ready_max_queue_age_seconds
    async with state.db.session() as db:
        ages = await read_queue_ages(db, utcnow())
    result: dict[str, Any] = {
        "ok": True,
        "max_age_seconds": limit,
        "inbox_oldest_due_seconds": round(ages.inbox_oldest_due_seconds, 1),
        "delivery_oldest_due_seconds": round(ages.delivery_oldest_due_seconds, 1),
    }
    stuck = [
        name for name, age in (
            ("inbox", ages.inbox_oldest_due_seconds),
            ("deliveries", ages.delivery_oldest_due_seconds),
        ) if age > limit
    ]
    if stuck:
        result.update(ok=False, stuck=stuck)
    return result


async def _run(check: Any, state: AppState) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await asyncio.wait_for(check(state), timeout=CHECK_SECONDS)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {CHECK_SECONDS:.0f} s"}
    except Exception as exc:  # a probe reports any failure instead of raising it
        return {"ok": False, "error": type(exc).__name__}
    return result


async def readiness(state: AppState) -> dict[str, Any]:
    """Run the checks in order (the later ones need the database); the report as a dict."""
    checks: dict[str, Any] = {"database": await _run(_database, state)}
    if checks["database"]["ok"]:
        checks["migrations"] = await _run(_migrations, state)
        checks["queues"] = await _run(_queues, state)
    failed = [name for name, result in checks.items() if not result["ok"]]
    return {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks}


@blueprint.get("/readyz")
async def readyz() -> Response:
    """200 when every check passes, 503 naming the failed ones (see the module notes)."""
    report = await readiness(get_state())
    return _json(report, 503 if report["failed"] else 200)
