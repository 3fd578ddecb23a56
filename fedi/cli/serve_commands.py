"""``fedi serve``: upgrade the database, seed demo content when asked, and serve over HTTP."""

from __future__ import annotations

import asyncio
import logging
import signal

import click
from hypercorn.asyncio import serve
from hypercorn.config import Config

from fedi.app import create_app
from fedi.cli.common import cli, load_settings
from fedi.settings import Settings


async def serve_app(settings: Settings) -> None:
    """Run the app until SIGINT or SIGTERM."""
    app = create_app(settings)
    await app.state.db.upgrade()
    if settings.demo:
        from fedi.demo import seed_demo

        await seed_demo(app.state)
    config = Config()
    config.bind = [settings.bind]
    config.accesslog = None
    config.errorlog = "-"
    config.graceful_timeout = 5
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"serving {settings.base_url} on {settings.bind}", err=True)
    await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]


@cli.command("serve", help="Serve the instance (runs database upgrades first).")
@click.option("--bind", default=None, help="host:port to listen on (default FEDI_BIND).")
def serve_command(bind: str | None) -> None:
    """Serve the instance."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if bind:
        settings = settings.with_changes(bind=bind)
    asyncio.run(serve_app(settings))
