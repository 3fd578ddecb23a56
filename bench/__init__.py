"""The benchmark suite behind ``make bench`` (``python -m bench.run``).

Each run measures the machine's own limits (RSA, a bare ASGI endpoint, SQLite inserts) and
then our scenarios (inbox, fan-out, pages, memory) against real ``fedi serve`` / ``fedi worker``
processes over loopback, driven by a load generator in a process of its own. Results go to
``bench/results.json`` and ``BENCHMARKS.md``.
"""
