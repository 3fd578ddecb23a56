"""Bring up ``compose.yaml`` for real: the Docker engine, base images, the compose command.

The deployment test runs the operator's own commands (``docker compose up -d --build``,
``exec web fedi ...``, ``run --rm web fedi restore``) against a real Docker engine. Where Docker
Hub cannot be reached (this project's test machines reach only the package registries), the
three images ``compose.yaml`` starts from are built as stand-ins from Debian 12's own packages
(``standins/``): the same Python 3.11, PostgreSQL 15 and Caddy 2 major versions, so the
project's ``Dockerfile``, ``compose.yaml`` and ``deploy/Caddyfile`` run unchanged.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

STANDINS = Path(__file__).resolve().parent / "standins"
COMPOSE_FILE = Path(__file__).resolve().parents[2] / "compose.yaml"
# Names the deployment tests give their compose projects and booted machines.
TEST_PROJECT = re.compile(r"partup[0-9a-f]{6}")
TEST_MACHINE_PREFIX = "partup-systemd-"
STANDIN_BASE = "partup-standin/bookworm"
# Image compose.yaml (or the Dockerfile) starts from -> the stand-in's Dockerfile.
BASE_IMAGES = {
    "python:3.11-slim-bookworm": "python.Dockerfile",
    "postgres:15": "postgres.Dockerfile",
    "caddy:2": "caddy.Dockerfile",
}
# Certificate authorities the machine itself trusts beyond Debian's (an intercepting proxy in
# front of the package index): the stand-in images trust them too, so apt and pip work there.
LOCAL_CAS = Path("/usr/local/share/ca-certificates")


def run(args: Sequence[str], *, timeout: float = 600, check: bool = True,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, its output captured as text; on failure raise with what it printed."""
    done = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, input=input_text,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {done.returncode}\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return done


def docker_engine_answers() -> bool:
    """Whether a Docker engine (not only the client) is reachable."""
    if shutil.which("docker") is None:
        return False
    info = run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=30)
    return info.returncode == 0


def compose_command() -> list[str] | None:
    """``docker compose`` (v2) where the plugin is installed, else Debian's ``docker-compose``."""
    if shutil.which("docker"):
        if run(["docker", "compose", "version"], check=False, timeout=30).returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def remove_leftovers() -> None:
    """Remove what an interrupted earlier run left: its containers, networks and volumes.

    compose.yaml restarts its services unless stopped, so a run killed with the Docker engine
    would otherwise come back with the engine and hold ports 80 and 443. (Plain docker
    commands: `compose down` would want the run's own .env to read compose.yaml.)
    """
    listing = run(["docker", "ps", "-a", "--format",
                   '{{.Names}} {{.Label "com.docker.compose.project"}}'], timeout=60).stdout
    projects, machines = set(), []
    for line in listing.splitlines():
        name, _, project = line.partition(" ")
        if TEST_PROJECT.fullmatch(project):
            projects.add(project)
        elif name.startswith(TEST_MACHINE_PREFIX):
            machines.append(name)
    # Containers first: a network or volume in use cannot be removed.
    listers_and_removers = (
        (["docker", "ps", "-aq"], ["docker", "rm", "-f"]),
        (["docker", "network", "ls", "-q"], ["docker", "network", "rm"]),
        (["docker", "volume", "ls", "-q"], ["docker", "volume", "rm"]),
    )
    for project in sorted(projects):
        label = f"label=com.docker.compose.project={project}"
        for lister, remover in listers_and_removers:
            names = run([*lister, "--filter", label], timeout=60).stdout.split()
            if names:
                run([*remover, *names], check=False, timeout=120)
    if machines:
        run(["docker", "rm", "-f", *machines], check=False, timeout=120)


def _has_image(name: str) -> bool:
    return run(["docker", "image", "inspect", name], check=False, timeout=60).returncode == 0


def ensure_base_images() -> None:
    """Make every base image present: pulled where possible, else built as a stand-in.

    A stand-in carries the label ``org.partup.standin=1``.
    """
    for image, dockerfile in BASE_IMAGES.items():
        if _has_image(image):
            continue
        if run(["docker", "pull", image], check=False, timeout=300).returncode == 0:
            continue
        _build_standin(image, dockerfile)


def _build_standin(image: str, dockerfile: str) -> None:
    if not _has_image(STANDIN_BASE):
        _import_debian_base()
    with tempfile.TemporaryDirectory(prefix="standin-") as tmp:
        context = Path(tmp)
        for part in STANDINS.iterdir():
            shutil.copy(part, context / part.name)
        (context / "ca").mkdir()
        for cert in LOCAL_CAS.glob("*.crt"):
            shutil.copy(cert, context / "ca" / cert.name)
        run(["docker", "build", "-q", "--label", "org.partup.standin=1", "-t", image,
             "-f", str(context / dockerfile), str(context)], timeout=900)


def _import_debian_base() -> None:
    """Debian 12 (minbase) from Debian's own mirror, imported as the stand-ins' base."""
    if shutil.which("debootstrap") is None:
        raise AssertionError("the stand-in images need debootstrap (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="bookworm-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs)], timeout=900)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        try:
            run_import = subprocess.run(
                ["docker", "import", "-", STANDIN_BASE], stdin=tar.stdout, capture_output=True,
                text=True, timeout=600,
            )
        finally:
            if tar.stdout is not None:
                tar.stdout.close()
            tar.wait(timeout=60)
        if run_import.returncode != 0:
            raise AssertionError(f"docker import failed: {run_import.stderr}")


def wait_for(probe: Callable[[], object], *, timeout: float, what: str, every: float = 1.0) -> None:
    """Call ``probe()`` until it returns true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            if probe():
                return
        except Exception as exc:  # the service is not up yet: try again
            last = exc
        time.sleep(every)
    raise AssertionError(f"{what} not within {timeout:.0f} s (last error: {last!r})")
