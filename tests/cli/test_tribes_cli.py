"""``fedi tribe create|list|members`` as real processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

PASSWORD = "Zonnebloem-42"

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_tribe_create_list_and_members(run_on_db: Run) -> None:
    run = run_on_db
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
