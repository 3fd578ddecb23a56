"""``fedi domain block|unblock|list`` as real processes."""

from __future__ import annotations

from typing import Any


def test_block_list_unblock(run: Any) -> None:
    blocked = run("domain", "block", "https://Spam.Example/", "--reason", "spam waves")
    assert blocked.returncode == 0, blocked.stderr
    assert blocked.stdout.strip() == "blocked spam.example"

    again = run("domain", "block", "spam.example")
    assert again.returncode == 1 and "already blocked" in again.stderr
    nonsense = run("domain", "block", "not a domain")
    assert nonsense.returncode == 1 and "not a domain name" in nonsense.stderr

    listing = run("domain", "list")
    assert listing.returncode == 0
    assert listing.stdout.splitlines()[1].split()[0] == "spam.example"
    assert "spam waves" in listing.stdout

    lifted = run("domain", "unblock", "spam.example")
    assert lifted.returncode == 0 and "unblocked spam.example" in lifted.stdout
    assert run("domain", "list").stdout.strip() == "no blocked domains"
    missing = run("domain", "unblock", "spam.example")
    assert missing.returncode == 1 and "not blocked" in missing.stderr
