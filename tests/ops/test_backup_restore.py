"""``fedi backup`` of a live instance, ``fedi restore`` into a fresh one, federation goes on.

Instance A (SQLite, or PostgreSQL in its own schema) has alice, followed by bob on instance
B. A is backed up while it serves, stopped, and its data folder (or database schema) is
thrown away. A fresh data folder (and a fresh PostgreSQL database) on the same base URL
gets the backup with ``fedi restore``; the restored instance serves alice with the same key,
her old bearer token still works, and B accepts the note she then posts: B verifies it with
the key it has known since before the backup.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import tarfile
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from live_helpers import (
    AP,
    AS,
    PUBLIC,
    alice_and_bob,
    collection_items,
    inbox_items,
    outbox_post,
    wait_for,
)

pytestmark = pytest.mark.live


def inbox_ids(client: httpx.Client, actor_id: str, token: str) -> set[str]:
    """Ids of the activities in a person's inbox (read with their token)."""
    return {item["id"] for item in inbox_items(client, actor_id, token)}


def post_note(client: httpx.Client, server: Any, token: str, text: str) -> str:
    """alice posts a public note through her outbox; returns the Create's id."""
    actor_id = f"{server.base_url}/users/alice"
    response = outbox_post(client, server, "alice", token, {
        "@context": AS, "type": "Create", "to": [PUBLIC], "cc": [f"{actor_id}/followers"],
        "object": {"type": "Note", "content": text},
    })
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def pg_admin(statement: str, url: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_restored_instance_federates_with_the_keys_it_had(
    live_server_factory: Any, tmp_path: Path, db: str
) -> None:
    one, two, alice_token, bob_token = alice_and_bob(live_server_factory, db)
    servers = [one, two]
    alice_id = f"{one.base_url}/users/alice"
    bob_id = f"{two.base_url}/users/bob"
    fresh_db: str | None = None
    admin_url = one.env.get("FEDI_DATABASE_URL", "")
    try:
        with httpx.Client(timeout=10) as client:
            followed = outbox_post(client, two, "bob", bob_token,
                                   {"@context": AS, "type": "Follow", "object": alice_id})
            assert followed.status_code == 201, followed.text
            wait_for(lambda: collection_items(client, f"{bob_id}/following") == [alice_id],
                     "bob to receive alice's Accept", servers)
            before = post_note(client, one, alice_token, "Before the backup")
            wait_for(lambda: before in inbox_ids(client, bob_id, bob_token),
                     "alice's first note at bob", servers)
            key_before = client.get(alice_id, headers={"Accept": AP}).json()["publicKey"]

            upload = one.data_dir / "uploads" / "avatars" / "alice.png"
            upload.parent.mkdir(parents=True)
            upload.write_bytes(b"\x89PNG not really")
            archive = tmp_path / "backups" / "a.tar.gz"
            # Taken while A serves (SQLite: online backup API; PostgreSQL: pg_dump).
            one.cli("backup", "--output", str(archive))
            with tarfile.open(archive) as tar:
                names = set(tar.getnames())
                manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
            assert {"manifest.json", "secret_key", "uploads/avatars/alice.png"} <= names
            assert ("database.sqlite3" if db == "sqlite" else "database.pgdump") in names
            assert manifest["base_url"] == one.base_url and manifest["alembic_revision"]
            assert archive.stat().st_mode & 0o077 == 0, "the archive holds private keys"
            secret = one.env["FEDI_SECRET_KEY"]

            # A is gone: its process, its data folder, its database schema.
            one.stop()
            shutil.rmtree(one.data_dir)
            fresh_dir = tmp_path / "restored" / "data"
            fresh_dir.mkdir(parents=True)
            one.data_dir = fresh_dir
            one.env["FEDI_DATA_DIR"] = str(fresh_dir)
            # The restored instance reads its secret key from the restored file.
            del one.env["FEDI_SECRET_KEY"]
            if db == "postgresql":
                schema = one.env["FEDI_DATABASE_SCHEMA"]
                asyncio.run(pg_admin(f'DROP SCHEMA "{schema}" CASCADE', admin_url))
                fresh_db = "fedi_restore_" + secrets.token_hex(5)
                asyncio.run(pg_admin(f'CREATE DATABASE "{fresh_db}"', admin_url))
                one.env["FEDI_DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + "/" + fresh_db

            restored = one.cli("restore", str(archive))
            assert "restored the backup of " + one.base_url in restored.stdout
            # A second restore would overwrite what is there now: refused without --force.
            again = one.cli("restore", str(archive), check=False)
            assert again.returncode != 0 and "not empty" in again.stderr
            assert (fresh_dir / "secret_key").read_text() == secret
            restored_upload = fresh_dir / "uploads" / "avatars" / "alice.png"
            assert restored_upload.read_bytes() == b"\x89PNG not really"

            one.start()
            key_after = client.get(alice_id, headers={"Accept": AP}).json()["publicKey"]
            assert key_after == key_before
            assert collection_items(client, f"{alice_id}/followers") == [bob_id]
            # Her old token still works; B verifies the delivery with the key it cached.
            after = post_note(client, one, alice_token, "After the restore")
            wait_for(lambda: after in inbox_ids(client, bob_id, bob_token),
                     "alice's note after the restore at bob", servers)
    finally:
        one.stop()
        if fresh_db:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{fresh_db}" WITH (FORCE)', admin_url))
