"""Configuration checked at start: every wrong value named, all at once, no traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from fedi.settings import Settings, SettingsError
from tests.conftest import FEDI_BIN

WRONG = {
    "FEDI_BASE_URL": "example.org/path",
    "FEDI_BIND": "localhost",
    "FEDI_DATABASE_URL": "mysql://root@localhost/fedi",
    "FEDI_RUN_WORKERS": "sometimes",
    "FEDI_SERVER": "gunicorn",
    "FEDI_DELIVERY_CONCURRENCY": "0",
    "FEDI_WORKER_LEASE_SECONDS": "soon",
    "FEDI_DEMO": "perhaps",
    "FEDI_DEFAULT_LOCALE": "fr",
    "FEDI_LOG_FORMAT": "xml",
    "FEDI_METRICS_TOKEN": "short",
    "FEDI_METRICS_ALLOW": "127.0.0.1, not-an-address",
    "FEDI_READY_MAX_QUEUE_AGE_SECONDS": "-5",
}


def test_every_wrong_value_is_reported_once(tmp_path: Path) -> None:
    env = dict(WRONG, FEDI_DATA_DIR=str(tmp_path / "data"))
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    problems = caught.value.problems
    for name in WRONG:
        assert sum(problem.startswith(name) for problem in problems) == 1, (name, problems)
    assert len(problems) == len(WRONG)
    assert "not-an-address" in str(caught.value)
    # Nothing was written for a configuration that does not start.
    assert not (tmp_path / "data" / "secret_key").exists()


def test_good_values_are_read(tmp_path: Path) -> None:
    settings = Settings.from_env({
        "FEDI_DATA_DIR": str(tmp_path / "data"),
        "FEDI_BASE_URL": "https://civic.example:8443/",
        "FEDI_DATABASE_URL": "postgres://fedi@db/fedi",
        "FEDI_RUN_WORKERS": "inline",
        "FEDI_LOG_FORMAT": "JSON",
        "FEDI_METRICS_TOKEN": "a-long-enough-metrics-token",
        "FEDI_METRICS_ALLOW": "10.0.0.1, 192.168.0.0/16, ::1",
        "FEDI_READY_MAX_QUEUE_AGE_SECONDS": "60",
    })
    assert settings.base_url == "https://civic.example:8443"
    assert settings.database_url == "postgresql+asyncpg://fedi@db/fedi"
    assert settings.run_workers and not settings.worker_process
    assert settings.log_format == "json"
    assert settings.metrics_allow == ("10.0.0.1/32", "192.168.0.0/16", "::1/128")
    assert settings.metrics_enabled and settings.ready_max_queue_age_seconds == 60


def test_defaults_leave_metrics_off(tmp_path: Path) -> None:
    settings = Settings.from_env({"FEDI_DATA_DIR": str(tmp_path / "data")})
    assert not settings.metrics_enabled
    assert settings.log_format == "text" and settings.request_log


@pytest.mark.parametrize("command", [["serve"], ["worker", "--once"], ["user", "list"]])
def test_a_command_with_wrong_settings_stops_with_every_message(
    tmp_path: Path, command: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDI_")}
    env.update(WRONG, FEDI_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [str(FEDI_BIN), *command], env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Error: the configuration has wrong values:"
    for name in WRONG:
        assert sum(line.strip().startswith(name) for line in lines[1:]) == 1, name
    assert len(lines) == len(WRONG) + 1
