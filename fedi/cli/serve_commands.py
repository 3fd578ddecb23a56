"""``fedi serve``: upgrade the database, seed demo content when asked, and serve over HTTP.

Two ASGI servers can run the app, chosen with ``FEDI_SERVER`` (or ``--server``):
``uvicorn`` (the default: uvloop + httptools, measured in BENCHMARKS.md at well over twice
the requests per second of the alternative on the same app) and ``hypercorn`` (pure Python;
kept for platforms without uvloop/httptools wheels). Both run Quart's start-up and shut-down
hooks through the ASGI lifespan protocol and stop gracefully on SIGINT/SIGTERM.

With ``FEDI_WEB_PROCESSES`` above 1 (uvicorn only), the server starts that many serving
processes in all: itself and web children (``fedi.cli.worker_child.WebChild``). Each opens
its own socket on the same address with ``SO_REUSEPORT``, so the kernel spreads new
connections over them without a balancer in front: one process answers the requests of one
core, and 32 members loading pages at once queue behind all of them instead of one
(BENCHMARKS.md, finding 15). One inherited socket would not do: uvloop accepts greedily, and
in a measurement the first process took all 32 connections while the other idled.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
from collections.abc import Coroutine
from typing import Any

import click

from fedi.app import create_app
from fedi.cli.common import cli, load_settings
from fedi.cli.worker_child import WEB_CHILD_ENV, SupervisedChild, WebChild, WorkerChild
from fedi.demo import seed_demo
from fedi.logging_setup import configure_logging
from fedi.settings import SERVERS, Settings

GRACEFUL_SECONDS = 5


def server_choice(name: str) -> str:
    """``name`` if it can run here; uvicorn falls back to Hypercorn without its wheels."""
    if name == "uvicorn":
        try:
            import httptools  # noqa: F401
            import uvicorn  # noqa: F401
            import uvloop  # noqa: F401
        except ImportError:  # a platform without the wheels: fall back, still correct
            return "hypercorn"
    return name


def _split_bind(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def shared_port_socket(bind: str) -> socket.socket:
    """A listening socket on ``bind`` that other processes may open too (``SO_REUSEPORT``):
    the kernel hands each new connection to one of them."""
    host, port = _split_bind(bind)
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def serve_asgi(app: Any, bind: str, server: str, *, shared_port: bool = False) -> None:
    """Serve the ASGI ``app`` on ``bind`` (``host:port``) until SIGINT or SIGTERM;
    ``shared_port`` (uvicorn): on a socket other serving processes share."""
    if server == "uvicorn":
        import uvicorn

        host, port = _split_bind(bind)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="none",  # the running loop (uvloop, see run_loop) is used as it is
            http="httptools",
            # The Mastodon streaming API's WebSocket (/api/v1/streaming) needs it; wsproto
            # is the pure-Python implementation Hypercorn uses too.
            ws="wsproto",
            lifespan="on",
            # One line per request comes from our own request log (fedi/http/ops), and
            # uvicorn's records go through the root logger's format (text or JSON).
            access_log=False,
            log_config=None,
            log_level="warning",
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
            backlog=2048,
            # Inboxes answer from behind proxies; the app builds URLs from settings, not Host.
            proxy_headers=False,
            server_header=False,
        )
        # uvicorn's serve() installs its own SIGINT/SIGTERM handlers for a graceful stop.
        sockets = [shared_port_socket(bind)] if shared_port else None
        await uvicorn.Server(config).serve(sockets=sockets)
        return
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    hyper_config = Config()
    hyper_config.bind = [bind]
    hyper_config.accesslog = None
    hyper_config.errorlog = logging.getLogger("hypercorn.error")
    hyper_config.graceful_timeout = GRACEFUL_SECONDS
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(app, hyper_config, shutdown_trigger=stop.wait)


def run_loop(coro: Coroutine[Any, Any, Any], server: str) -> Any:
    """Run ``coro`` on the event loop that suits ``server`` (uvloop for uvicorn)."""
    if server == "uvicorn":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


def run_asgi(app: Any, bind: str, server: str, *, install_signals: bool = True) -> None:
    """Serve a bare ASGI app (used by the benchmarks' baseline endpoint)."""
    del install_signals  # both servers handle SIGINT/SIGTERM themselves
    run_loop(serve_asgi(app, bind, server), server)


def web_processes_of(settings: Settings, server: str) -> int:
    """How many serving processes ``fedi serve`` runs in all: ``FEDI_WEB_PROCESSES`` with
    uvicorn, one with Hypercorn (whose own binding has no shared port)."""
    if settings.web_processes > 1 and server != "uvicorn":
        logging.getLogger(__name__).warning(
            "FEDI_WEB_PROCESSES=%s needs uvicorn; serving with one process (%s)",
            settings.web_processes, server,
        )
        return 1
    return settings.web_processes


async def serve_app(settings: Settings, server: str) -> None:
    """Run the app with ``server`` until SIGINT or SIGTERM.

    The first process upgrades the database, seeds the demo and starts its children (the
    worker, and the other web processes); a web child (``FEDI_WEB_CHILD_OF``) only serves.
    """
    web_child = bool(os.environ.get(WEB_CHILD_ENV))
    processes = web_processes_of(settings, server)
    app = create_app(settings)
    children: list[SupervisedChild] = []
    if not web_child:
        await app.state.db.upgrade()
        if settings.demo:
            await seed_demo(app.state)
        # Started (below) after the upgrade and the demo seed: they find the schema ready.
        if settings.worker_process:
            children.append(WorkerChild(niceness=settings.worker_niceness))
        children += [WebChild(number, settings.bind, server)
                     for number in range(2, processes + 1)]
        shown = f", {processes} processes" if processes > 1 else ""
        click.echo(f"serving {settings.base_url} on {settings.bind} ({server}{shown})", err=True)
    # What is loaded by now lives as long as the process: take it out of the cyclic garbage
    # collector's generations, so the collections that busy requests trigger only scan what
    # was made since (measured: about a third of the ORM time of a page of 120 comments).
    gc.freeze()
    for child in children:
        child.start()
    try:
        await serve_asgi(app, settings.bind, server, shared_port=processes > 1)
    finally:
        for child in children:
            await child.stop()


@cli.command("serve", help="Serve the instance (runs database upgrades first).")
@click.option("--bind", default=None, help="host:port to listen on (default FEDI_BIND).")
@click.option(
    "--server",
    type=click.Choice(SERVERS),
    default=None,
    help="ASGI server (default FEDI_SERVER, else uvicorn).",
)
def serve_command(bind: str | None, server: str | None) -> None:
    """Serve the instance."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    if bind:
        settings = settings.with_changes(bind=bind)
    chosen = server_choice(server or settings.server)
    run_loop(serve_app(settings, chosen), chosen)
