"""``fedi worker``: run the inbox and delivery workers as a process of their own.

Run ``fedi serve`` with ``FEDI_RUN_WORKERS=off`` and one or more ``fedi worker`` beside it (on
PostgreSQL any number; their claims never overlap). The worker builds the same app as
``fedi serve`` (same settings, same federation runtime and HTTP client) but serves no HTTP.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

import click

from fedi.app import create_app
from fedi.cli.common import cli, load_settings
from fedi.cli.serve_commands import run_loop, server_choice
from fedi.cli.worker_child import parent_is_gone
from fedi.federation.runtime import get_federation
from fedi.logging_setup import configure_logging
from fedi.settings import Settings
from fedi.workers.runner import WorkerRunner
from fedi.workers.watch import watch_new_rows


async def run_worker(settings: Settings, *, once: bool) -> int:
    """Run the loops until SIGINT/SIGTERM (or one drain with ``once``); return items handled."""
    from models import Delivery, InboxItem

    # The in-process runner of create_app stays off; this process drives its own below.
    # It serves no pages, so it keeps no worker and no serving processes of its own
    # either (nor the SQLite watch that tells their pages what others wrote).
    app = create_app(
        settings.with_changes(run_workers=False, worker_process=False, web_processes=1)
    )
    await app.state.db.upgrade()
    await app.startup()
    try:
        runner = WorkerRunner(app.state)
        if once:
            total = 0
            while True:
                done = await runner.inbox.run_once() + await runner.delivery.run_once()
                total += done
                if not done:
                    return total
        # As in ``fedi serve``: the long-lived objects leave the collector's generations, so
        # the collections that handling thousands of ORM objects triggers stay small.
        gc.freeze()
        await runner.start()
        # Rows queued by ``fedi serve`` (deliveries, accepted inbox items) wake the loops at
        # once, not at their next poll.
        wakeup = get_federation(app.state).wakeup
        watches = [
            asyncio.create_task(watch_new_rows(app.state, wakeup.delivery, model=Delivery)),
            asyncio.create_task(watch_new_rows(app.state, wakeup.inbox, model=InboxItem)),
        ]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        watchdog = asyncio.create_task(_stop_when_parent_is_gone(stop))
        click.echo(f"worker running for {settings.base_url}", err=True)
        await stop.wait()
        watchdog.cancel()
        for watch in watches:
            watch.cancel()
        await runner.stop()
        return 0
    finally:
        await app.shutdown()


async def _stop_when_parent_is_gone(stop: asyncio.Event) -> None:
    """For a worker that ``fedi serve`` started: stop once that server has gone away."""
    while not stop.is_set():
        if parent_is_gone():
            logging.getLogger(__name__).warning("fedi serve has gone away; stopping")
            stop.set()
            return
        await asyncio.sleep(1.0)


@cli.command("worker", help="Run the inbox and delivery workers (without serving HTTP).")
@click.option("--once", is_flag=True, help="Process everything that is due now, then exit.")
def worker_command(once: bool) -> None:
    """Run the workers."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    # uvloop where its wheel is installed (as ``fedi serve`` with uvicorn): the delivery
    # worker's POSTs cost a quarter less event-loop CPU on it than on asyncio's own loop.
    total = run_loop(run_worker(settings, once=once), server_choice("uvicorn"))
    if once:
        click.echo(f"processed {total} item(s)")
