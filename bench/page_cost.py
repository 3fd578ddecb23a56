"""What one member page costs in-process: ``python -m bench.page_cost [options]``.

Seeds the ``pages`` scenario's tribe (10,000 members, 1,000 initiatives, one initiative with
500 comments) into a temporary instance, builds the app as ``fedi serve`` does, and asks for
the initiative page (or, with ``--page tribe``, the tribe page) as the tribe's owner, through
the app's test client: no HTTP server, no network, no other process on the clock. Prints
the CPU milliseconds per page, the page's size and, with ``--profile FILE``, writes cProfile
statistics of the timed requests (read them with ``python -m pstats FILE``).

``--shown N`` sets how many messages of the history and comments on the initiative the page
shows (3 replies under each, none with 0; the page's own setting is 20). With ``--shown 0``
the page keeps everything but its conversation, which is how finding 16 of BENCHMARKS.md
measured the part of the page no conversation setting can remove.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import seed
from bench.instance import Instance

WARM_UP = 30


async def measure(
    root: Path, *, page: str = "initiative", shown: int | None = None, requests: int = 300,
    members: int = 10_000, initiatives: int = 1_000, comments: int = 500,
    profile: str | None = None,
) -> dict[str, Any]:
    """CPU ms per member page, its bytes and status, after ``WARM_UP`` untimed requests."""
    from fedi.app import create_app
    from fedi.http.web import initiatives as initiative_pages

    settings = Instance(root).settings()
    tribe = await seed.seed_tribe(
        settings, members=members, initiatives=initiatives, comments=comments
    )
    own = (initiative_pages.TIMELINE_SHOWN, initiative_pages.COMMENTS_SHOWN,
           initiative_pages.REPLIES_SHOWN)
    if shown is not None:
        initiative_pages.TIMELINE_SHOWN = initiative_pages.COMMENTS_SHOWN = shown
        initiative_pages.REPLIES_SHOWN = 3 if shown else 0
    app = create_app(settings)
    await app.startup()
    try:
        client = app.test_client()
        cookie = f"fedi_session_{hashlib.sha256(settings.host.encode()).hexdigest()[:8]}"
        path = (f"/initiatives/{tribe['initiative']}" if page == "initiative"
                else f"/tribes/{tribe['slug']}")
        headers = {"Accept": "text/html", "Host": settings.host,
                   "Cookie": f"{cookie}={tribe['session_token']}"}
        for _ in range(WARM_UP):
            response = await client.get(path, headers=headers)
        body = await response.get_data()
        profiler = cProfile.Profile() if profile else None
        started = time.process_time()
        if profiler:
            profiler.enable()
        for _ in range(requests):
            await client.get(path, headers=headers)
        if profiler and profile:
            profiler.disable()
            profiler.dump_stats(profile)
        used = time.process_time() - started
    finally:
        await app.shutdown()
        (initiative_pages.TIMELINE_SHOWN, initiative_pages.COMMENTS_SHOWN,
         initiative_pages.REPLIES_SHOWN) = own
    return {
        "path": path, "status": response.status_code, "bytes": len(body), "shown": shown,
        "requests": requests, "cpu_ms_per_page": round(1000 * used / requests, 2),
        "profiled": bool(profile),
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--page", choices=["initiative", "tribe"], default="initiative")
    parser.add_argument("--shown", type=int, default=None,
                        help="messages and comments the initiative page shows (default: its own)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", default=None, help="write cProfile statistics here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fedi-page-cost-") as folder:
        result = asyncio.run(measure(
            Path(folder), page=args.page, shown=args.shown, requests=args.requests,
            profile=args.profile,
        ))
    print(result)


if __name__ == "__main__":
    main()
