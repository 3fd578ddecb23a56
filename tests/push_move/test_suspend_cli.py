"""``fedi user suspend`` / ``unsuspend`` as a real process, as an operator runs them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli.conftest import make_runner


def test_suspend_and_unsuspend_from_the_command_line(tmp_path: Path) -> None:
    run = make_runner(tmp_path, None)
    made = run("user", "create", "alice", "--email", "alice@example.org",
               "--password", "Vlinder-tulp-2024!")
    assert made.returncode == 0, made.stderr
    done = run("user", "suspend", "alice", "--reason", "spam")
    assert done.returncode == 0, done.stderr
    assert "suspended alice" in done.stdout
    assert _suspended_at(tmp_path) is not None
    missing = run("user", "suspend", "nobody")
    assert missing.returncode != 0 and "nobody" in (missing.stderr + missing.stdout)
    lifted = run("user", "unsuspend", "alice")
    assert lifted.returncode == 0 and "lifted the suspension of alice" in lifted.stdout
    assert _suspended_at(tmp_path) is None


def _suspended_at(tmp_path: Path) -> str | None:
    """alice's ``suspended_at`` as the command left it in the database."""
    with sqlite3.connect(tmp_path / "cli.sqlite3") as conn:
        row = conn.execute("SELECT suspended_at FROM actors WHERE username = 'alice'").fetchone()
    return row[0] if row else None
