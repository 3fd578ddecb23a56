"""Running ``fedi`` as a real process against a test database, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FEDI = Path(sys.executable).parent / "fedi"
Run = Callable[..., subprocess.CompletedProcess[str]]


def make_runner(tmp_path: Path, target: Any | None) -> Run:
    """A function running ``fedi ARGS`` with settings from the environment, as in production."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDI_")}
    env.update(FEDI_DATA_DIR=str(tmp_path / "data"), FEDI_BASE_URL="http://localhost:8123",
               FEDI_TEST_CHEAP_HASHES="1")
    if target is None:
        env["FEDI_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    else:
        env["FEDI_DATABASE_URL"] = target.url
        if target.schema:
            env["FEDI_DATABASE_SCHEMA"] = target.schema

    def runner(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(FEDI), *args], env=env, capture_output=True, text=True, input=stdin,
            timeout=120, check=False,
        )

    return runner


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """``fedi ARGS`` against a fresh SQLite database."""
    return make_runner(tmp_path, None)


@pytest.fixture
def run_on_db(tmp_path: Path, db_target: Any) -> Run:
    """``fedi ARGS`` against the parametrised database (SQLite and PostgreSQL)."""
    return make_runner(tmp_path, db_target)
