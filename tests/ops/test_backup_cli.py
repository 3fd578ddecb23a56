"""``fedi backup`` and ``fedi restore`` as an operator runs them, on SQLite.

The live round trip with federation (SQLite and PostgreSQL) is in ``test_backup_restore``;
these cover what an operator can get wrong: a backup taken while the database is being
written, restoring over data, a backup of another database kind, a file that is not a
backup, a backup from a newer version.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

FEDI = Path(sys.executable).parent / "fedi"


def fedi(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``fedi ARGS`` for the instance whose data folder is ``data_dir``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FEDI_")}
    environ.update(FEDI_DATA_DIR=str(data_dir), FEDI_TEST_CHEAP_HASHES="1", **env)
    return subprocess.run(
        [str(FEDI), *args], env=environ, capture_output=True, text=True, timeout=120,
        check=False,
    )


def make_instance(data_dir: Path, person: str) -> None:
    """An instance with one account and one uploaded file named after ``person``."""
    created = fedi(data_dir, "user", "create", person, "--email", f"{person}@example.org",
                   "--password", "correct horse battery 42")
    assert created.returncode == 0, created.stderr
    upload = data_dir / "uploads" / f"{person}.png"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(person.encode())


def people(data_dir: Path) -> list[str]:
    """The account names ``fedi user list`` shows."""
    listed = fedi(data_dir, "user", "list")
    return [line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()]


def test_backup_while_the_database_is_written_is_consistent(tmp_path: Path) -> None:
    source = tmp_path / "a"
    make_instance(source, "alice")
    database = source / "fedi.sqlite3"
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        # Another process's writes, as fedi serve would do them (WAL mode, short commits).
        with sqlite3.connect(database, timeout=30) as conn:
            while not stop.is_set():
                conn.execute(
                    "INSERT INTO audit_log (created_at, actor_label, action, target_type,"
                    " target_id, target_label, reason, details) VALUES"
                    " (CURRENT_TIMESTAMP, '', 'domain.block', 'domain', 'x', 'x', '', '{}')"
                )
                conn.commit()
                written.append(1)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        archive = tmp_path / "a.tar.gz"
        made = fedi(source, "backup", "--output", str(archive))
    finally:
        stop.set()
        thread.join()
    assert made.returncode == 0, made.stderr
    assert written, "the writer never wrote"

    target = tmp_path / "b"
    restored = fedi(target, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(target / "fedi.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        copied = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    # A snapshot from some moment during the writes: none torn, not more than were made.
    assert 0 <= copied <= len(written)
    assert people(target) == ["alice"]
    assert (target / "uploads" / "alice.png").read_bytes() == b"alice"
    assert (target / "fedi.sqlite3").stat().st_mode & 0o077 == 0


def test_restore_refuses_an_instance_with_data_unless_forced(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    make_instance(old, "alice")
    archive = tmp_path / "old.tar.gz"
    assert fedi(old, "backup", "--output", str(archive)).returncode == 0
    make_instance(new, "bob")

    refused = fedi(new, "restore", str(archive))
    assert refused.returncode == 1
    assert "not empty" in refused.stderr and "--force" in refused.stderr
    assert people(new) == ["bob"]

    forced = fedi(new, "restore", "--force", str(archive))
    assert forced.returncode == 0, forced.stderr
    assert people(new) == ["alice"]
    assert sorted(p.name for p in (new / "uploads").iterdir()) == ["alice.png"]
    assert (new / "secret_key").read_text() == (old / "secret_key").read_text()


def rewrite_archive(source: Path, target: Path, *, manifest: dict | None = None,
                    extra: tuple[str, bytes] | None = None,
                    link: tuple[str, str] | None = None) -> None:
    """A copy of ``source`` with another manifest, one more member or one symbolic link."""
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            data = old.extractfile(member) if member.isfile() else None
            if member.name == "manifest.json" and manifest is not None:
                body = json.dumps(manifest).encode()
                member.size = len(body)
                data = io.BytesIO(body)
            new.addfile(member, data)
        if extra is not None:
            info = tarfile.TarInfo(extra[0])
            info.size = len(extra[1])
            new.addfile(info, io.BytesIO(extra[1]))
        if link is not None:
            info = tarfile.TarInfo(link[0])
            info.type, info.linkname = tarfile.SYMTYPE, link[1]
            new.addfile(info)


def test_restore_refuses_what_it_cannot_restore(tmp_path: Path) -> None:
    old = tmp_path / "old"
    make_instance(old, "alice")
    archive = tmp_path / "old.tar.gz"
    assert fedi(old, "backup", "--output", str(archive)).returncode == 0
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]

    not_a_backup = tmp_path / "notes.tar.gz"
    not_a_backup.write_bytes(b"just some bytes")
    answer = fedi(tmp_path / "n1", "restore", str(not_a_backup))
    assert answer.returncode == 1 and "is not a fedi backup" in answer.stderr

    newer = tmp_path / "newer.tar.gz"
    rewrite_archive(archive, newer, manifest={**manifest, "alembic_revision": "9999"})
    answer = fedi(tmp_path / "n2", "restore", str(newer))
    assert answer.returncode == 1 and "revision 9999 is unknown" in answer.stderr

    escaping = tmp_path / "escaping.tar.gz"
    rewrite_archive(archive, escaping, extra=("../../outside.txt", b"x"))
    answer = fedi(tmp_path / "n3", "restore", str(escaping))
    assert answer.returncode == 1 and "unexpected file" in answer.stderr
    assert not (tmp_path / "outside.txt").exists()
    # Inside a known folder, too: nothing but plain files, none climbing out, no links (the
    # same refusal whether or not this Python has tarfile's extraction filters).
    climbing = tmp_path / "climbing.tar.gz"
    rewrite_archive(archive, climbing, extra=("uploads/../../climbed.txt", b"x"))
    answer = fedi(tmp_path / "n5", "restore", str(climbing))
    assert answer.returncode == 1 and "not a plain file" in answer.stderr
    assert not (tmp_path / "climbed.txt").exists()
    linking = tmp_path / "linking.tar.gz"
    rewrite_archive(archive, linking, link=("uploads/passwd", "/etc/passwd"))
    answer = fedi(tmp_path / "n6", "restore", str(linking))
    assert answer.returncode == 1 and "not a plain file" in answer.stderr

    other_kind = fedi(
        tmp_path / "n4", "restore", str(archive),
        FEDI_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test",
    )
    assert other_kind.returncode == 1
    assert "backup of a sqlite database" in other_kind.stderr


def test_backup_names_the_archive_by_time_when_not_told(tmp_path: Path) -> None:
    source = tmp_path / "a"
    make_instance(source, "alice")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FEDI_")}
    environ.update(FEDI_DATA_DIR=str(source))
    made = subprocess.run([str(FEDI), "backup"], env=environ, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    found = list(tmp_path.glob("fedi-backup-*Z.tar.gz"))
    assert len(found) == 1 and found[0].stat().st_mode & 0o777 == 0o600
