"""The README's systemd installation, typed into a Debian 12 machine that systemd booted.

The machine is a container running ``/sbin/init`` (``systemd_host/Dockerfile``) with this
checkout copied to ``/opt/fedi``. The shell block of the README's Deployment section that
installs the units is run there as it stands, then the units are checked the way an operator
would: both services active under their hardening (a read-only ``/opt``, a private ``/tmp``),
the instance answering, the backup unit writing a private archive, and the README's restore
line bringing that archive back into an emptied data folder with the same keys.
"""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, missing_service
from tests.deploy.compose_helpers import (
    TEST_MACHINE_PREFIX,
    docker_engine_answers,
    ensure_base_images,
    remove_leftovers,
    run,
    wait_for,
)

HOST_IMAGE = "partup-test/systemd-host"
# What the README installs from: the image's own files plus the units.
CHECKOUT_PARTS = ("pyproject.toml", "README.md", "activitypub", "models", "fedi", "templates",
                  "deploy")
ENV = "set -a; . /etc/fedi/fedi.env; set +a"


@dataclass
class Machine:
    """A running container booted by systemd."""

    name: str

    def sh(self, script: str, *, user: str | None = None, check: bool = True) -> str:
        """Run ``script`` with ``sh -c`` in the machine (as ``user`` through runuser)."""
        prefix = ["runuser", "-u", user, "--"] if user else []
        done = run(["docker", "exec", self.name, *prefix, "sh", "-c", script], timeout=600,
                   check=check)
        return done.stdout

    def get(self, path: str, accept: str = "application/activity+json") -> str:
        """GET ``http://127.0.0.1:8000{path}`` inside the machine: the status, then the body."""
        return self.sh(
            "/opt/fedi/.venv/bin/python -c \"import sys, urllib.request as u;"
            f" q = u.Request('http://127.0.0.1:8000{path}', headers={{'Accept': '{accept}'}});"
            " r = u.urlopen(q, timeout=5); print(r.status); sys.stdout.write(r.read().decode())\""
        )

    def main_pid(self, unit: str) -> str:
        """The main process of ``unit``."""
        return self.sh(f"systemctl show -p MainPID --value {unit}").strip()


def _readme_systemd_block() -> str:
    """The README's shell block that installs the systemd units."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.S)
    return next(b for b in blocks if "systemctl enable --now" in b)


def _copy_checkout(target: Path) -> None:
    for part in CHECKOUT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, target / part,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(source, target / part)


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    """A booted machine with the checkout in /opt/fedi, removed afterwards."""
    if not docker_engine_answers():
        missing_service("a Docker engine (dockerd) to boot a machine with systemd")
    remove_leftovers()
    ensure_base_images()
    context = Path(__file__).resolve().parent / "systemd_host"
    run(["docker", "build", "-q", "-t", HOST_IMAGE, str(context)], timeout=900)
    name = f"{TEST_MACHINE_PREFIX}{secrets.token_hex(3)}"
    # systemd as PID 1 needs its cgroups and the right to mount (for ProtectSystem= and
    # PrivateTmp=); --privileged would also ask for capabilities this machine may withhold.
    run(["docker", "run", "-d", "--name", name, "--cap-add", "SYS_ADMIN",
         "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
         "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
         "--tmpfs", "/run", "--tmpfs", "/run/lock", HOST_IMAGE])
    booted = Machine(name)
    try:
        wait_for(lambda: booted.sh("systemctl is-system-running", check=False).strip()
                 in {"running", "degraded"}, timeout=60, what="systemd booting")
        checkout = tmp_path_factory.mktemp("checkout")
        # pytest makes its folders private (0700); a checkout in /opt is readable by all.
        checkout.chmod(0o755)
        _copy_checkout(checkout)
        run(["docker", "cp", f"{checkout}/.", f"{name}:/opt/fedi"])
        yield booted
    finally:
        run(["docker", "rm", "-f", name], check=False)


def test_readme_systemd_steps_install_a_running_hardened_instance(machine: Machine) -> None:
    machine.sh(f"set -e\n{_readme_systemd_block()}")
    wait_for(lambda: machine.get("/readyz").startswith("200"), timeout=120,
             what="fedi.service answering /readyz")
    assert machine.sh("systemctl is-active fedi.service fedi-worker.service").split() == [
        "active", "active",
    ]
    # Started together, they took turns with the schema: neither failed and restarted.
    restarts = machine.sh("systemctl show -p NRestarts --value fedi.service fedi-worker.service")
    assert restarts.split() == ["0", "0"]
    assert "fedi-backup.timer" in machine.sh("systemctl list-timers --all --no-legend")
    # Both run as the unprivileged user, and see the file system read-only but for their
    # state folder (ProtectSystem=strict), with a /tmp of their own (PrivateTmp=yes).
    for unit in ("fedi.service", "fedi-worker.service"):
        pid = machine.main_pid(unit)
        assert machine.sh(f"stat -c %U /proc/{pid}").strip() == "fedi"
        mounts = machine.sh(f"cat /proc/{pid}/mountinfo").splitlines()
        options = {line.split()[4]: line.split()[5] for line in mounts}
        assert options["/"].startswith("ro") and options["/var/lib/fedi"].startswith("rw")
        assert "/tmp" in options
    # The operator's commands, as the README gives them for the CLI (runuser for sudo -u).
    machine.sh(f"{ENV}; /opt/fedi/.venv/bin/fedi user create cas --email cas@example.org "
               "--password 'a long enough password'", user="fedi")
    finger = machine.get("/.well-known/webfinger?resource=acct:cas@social.example.org")
    assert finger.startswith("200") and "https://social.example.org/users/cas" in finger


def test_backup_unit_writes_a_private_archive_that_restores(machine: Machine) -> None:
    actor_before = machine.get("/users/cas")
    assert actor_before.startswith("200") and "BEGIN PUBLIC KEY" in actor_before
    machine.sh("systemctl start fedi-backup.service")
    listing = machine.sh("ls -ln /var/lib/fedi-backups").splitlines()
    archives = [line for line in listing if line.endswith(".tar.gz")]
    assert len(archives) == 1, listing
    fedi_uid = machine.sh("id -u fedi").strip()
    assert archives[0].startswith("-rw-------") and archives[0].split()[2] == fedi_uid
    archive = "/var/lib/fedi-backups/" + archives[0].split()[-1]

    # A new machine: stopped, the data folder emptied, the README's restore line.
    machine.sh("systemctl stop fedi fedi-worker && rm -rf /var/lib/fedi/* /var/lib/fedi/.[!.]*")
    machine.sh(f"{ENV}; /opt/fedi/.venv/bin/fedi restore {archive}", user="fedi")
    machine.sh("systemctl start fedi fedi-worker")
    wait_for(lambda: machine.get("/readyz").startswith("200"), timeout=120,
             what="fedi.service answering after the restore")
    assert machine.get("/users/cas") == actor_before
