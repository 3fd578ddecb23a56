"""The ``fedi user``, ``fedi token``, ``fedi invite`` and ``fedi registration`` commands.

They run as real processes, with the settings taken from the environment as in production.
"""

from __future__ import annotations

PASSWORD = "Zonnebloem-42"


def test_user_create_list_and_errors(run) -> None:  # type: ignore[no-untyped-def]
    created = run("user", "create", "Alice", "--email", "alice@example.org",
                  "--password", PASSWORD, "--admin")
    assert created.returncode == 0, created.stderr
    assert "http://localhost:8123/users/alice" in created.stdout

    duplicate = run("user", "create", "alice", "--email", "x@example.org", "--password", PASSWORD)
    assert duplicate.returncode == 1 and "already taken" in duplicate.stderr
    invalid = run("user", "create", "9lives", "--email", "n@example.org", "--password", PASSWORD)
    assert invalid.returncode == 1 and "starts with a letter" in invalid.stderr
    weak = run("user", "create", "bob", "--email", "bob@example.org", "--password", "password123")
    assert weak.returncode == 1 and "most used" in weak.stderr
    from_stdin = run("user", "create", "bob", "--email", "bob@example.org", "--password-stdin",
                     stdin=PASSWORD + "\n")
    assert from_stdin.returncode == 0, from_stdin.stderr

    listing = run("user", "list")
    assert listing.returncode == 0
    lines = listing.stdout.strip().splitlines()
    assert lines[0].split() == ["name", "email", "admin", "approved", "disabled", "created"]
    assert lines[1].split()[:4] == ["alice", "alice@example.org", "yes", "yes"]
    assert lines[2].split()[:4] == ["bob", "bob@example.org", "no", "yes"]

    last_admin = run("user", "remove-admin", "alice")
    assert last_admin.returncode == 1 and "last admin" in last_admin.stderr
    missing = run("user", "disable", "nobody")
    assert missing.returncode == 1 and "no account called nobody" in missing.stderr


def test_tokens_links_and_registration(run) -> None:  # type: ignore[no-untyped-def]
    assert run("user", "create", "alice", "--email", "a@example.org",
               "--password", PASSWORD).returncode == 0
    created = run("token", "create", "alice", "--label", "script")
    assert created.returncode == 0
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("fpt_") and " " not in token
    listing = run("token", "list", "alice")
    assert token[:12] in listing.stdout and "script" in listing.stdout
    assert token not in listing.stdout
    revoked = run("token", "revoke", "alice", "--prefix", token[:12])
    assert revoked.returncode == 0 and "revoked 1" in revoked.stdout
    assert run("token", "revoke", "alice", "--all").returncode == 1  # nothing left

    link = run("user", "reset-link", "alice")
    assert link.returncode == 0 and link.stdout.strip().startswith("http://localhost:8123/reset/")
    invite = run("invite", "create", "--uses", "3", "--days", "2")
    assert invite.stdout.strip().startswith("http://localhost:8123/register?invite=")

    assert run("registration", "mode", "approval").returncode == 0
    assert run("registration", "mode").stdout.strip() == "registration mode: approval"
    assert run("registration", "mode", "everyone").returncode != 0
