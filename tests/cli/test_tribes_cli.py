"""``fedi tribe create|list|members`` as real processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FEDI = Path(sys.executable).parent / "fedi"
PASSWORD = "Zonnebloem-42"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path, db_target: Any) -> Run:
    """Run ``fedi ARGS`` against the parametrised database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDI_")}
    env.update(
        FEDI_DATA_DIR=str(tmp_path / "data"),
        FEDI_DATABASE_URL=db_target.url,
        FEDI_BASE_URL="http://localhost:8123",
    )
    if db_target.schema:
        env["FEDI_DATABASE_SCHEMA"] = db_target.schema

    def runner(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(FEDI), *args], env=env, capture_output=True, text=True, timeout=120, check=False,
        )

    return runner


def test_tribe_create_list_and_members(run: Run) -> None:
    created = run("user", "create", "fatima", "--email", "f@example.org", "--password", PASSWORD)
    assert created.returncode == 0, created.stderr
    made = run("tribe", "create", "Plein", "--name", "Plein Den Haag", "--owner", "fatima",
               "--join", "approval")
    assert made.returncode == 0, made.stderr
    assert "http://localhost:8123/tribes/plein" in made.stdout

    clash = run("tribe", "create", "fatima", "--name", "X", "--owner", "fatima")
    assert clash.returncode == 1 and "already taken" in clash.stderr
    nobody = run("tribe", "create", "zorg", "--name", "Zorg", "--owner", "nobody")
    assert nobody.returncode == 1 and "no local person" in nobody.stderr

    listing = run("tribe", "list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.strip().splitlines()
    assert lines[0].split() == ["slug", "name", "join", "members", "followers"]
    assert lines[1].split() == ["plein", "Plein", "Den", "Haag", "approval", "1", "0"]

    members = run("tribe", "members", "plein")
    assert members.returncode == 0, members.stderr
    assert members.stdout.strip().splitlines()[1].split() == [
        "fatima@localhost:8123", "admin", "active"
    ]
    missing = run("tribe", "members", "nope")
    assert missing.returncode == 1 and "no tribe called nope" in missing.stderr
