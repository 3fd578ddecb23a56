"""The default deployment while a hostile peer floods its inbox (the ``inbox_hostile`` scenario).

A friendly stream of the realistic mix from known actors arrives at a steady rate, first
alone (the baseline) and then while a hostile peer sends, as fast as the server answers,
requests that must all be refused:

* ``forged``: activities of known actors signed with another key (a valid shape, a signature
  that does not verify with the actor's key): 401;
* ``unsigned``: the same without any signature: 401;
* ``digest``: correctly signed, the body changed afterwards (the ``Digest`` header no longer
  matches): 401;
* ``malformed``: a signed body that is not JSON: 400;
* ``oversized``: a body over ``FEDI_MAX_BODY_BYTES``: 413;

and holds ``idle_connections`` connections open with half a request header each (a
"slowloris"). What it reports: the friendly accepts' latency in both phases (what the
attack costs everyone else), the hostile requests' statuses and rate, what a refused request
costs ``fedi serve`` in CPU, how many requests the attack made us send to the servers it
named (a forged signature makes us fetch the actor's key again once, in case it rotated), and
that nothing hostile was stored.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from activitypub.vocab import ACTIVITY_JSON
from bench import mix, seed
from bench.default_inbox import _latencies, _quantiles, sign_all
from bench.instance import Instance, MachineBusy, run_async
from bench.scenarios import (
    _inbox_counts,
    _wait_processed,
    cpu_ms_per,
    finish_loadgen,
    start_loadgen,
)

HOSTILE_KINDS = ("forged", "unsigned", "digest", "malformed", "oversized")


def _unsigned(host: str, body: bytes) -> bytes:
    head = (f"POST /inbox HTTP/1.1\r\nHost: {host}\r\nContent-Type: {ACTIVITY_JSON}\r\n"
            f"Content-Length: {len(body)}\r\nUser-Agent: fedi-bench\r\n\r\n")
    return head.encode("latin-1") + body


def _with_body(signed: bytes, body: bytes) -> bytes:
    """A framed request with its body replaced (headers, signature and Digest kept)."""
    head, _, _ = signed.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n")
             if not line.lower().startswith(b"content-length:")]
    lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def hostile_requests(
    host: str, world: mix.MixWorld, pairs: list[tuple[str, str]], fast_ports: list[int],
    count: int, max_body: int, kinds: tuple[str, ...] = HOSTILE_KINDS,
) -> tuple[list[bytes], dict[str, int]]:
    """``count`` hostile requests of ``kinds`` in turn (oversized ones one in 20: they are
    large)."""
    items, _ = mix.build_mix(world, fast_ports, count, seed_value=7, tag="h",
                             senders=world.known)
    forged_items = [
        (key_id, str((int(key) + 1) % len(pairs)), body) for key_id, key, body in items
    ]
    forged = sign_all(host, pairs, forged_items)
    honest = sign_all(host, pairs, items[: count // 4 + 1])
    oversized_body = b'{"type": "Note", "content": "' + b"x" * (max_body + 1024) + b'"}'
    out: list[bytes] = []
    counts = dict.fromkeys(kinds, 0)
    small = [kind for kind in kinds if kind != "oversized"] or ["oversized"]
    for index in range(count):
        large = "oversized" in kinds and index % 20 == 0
        kind = "oversized" if large else small[index % len(small)]
        if kind == "forged":
            raw = forged[index]
        elif kind == "unsigned":
            raw = _unsigned(host, items[index][2])
        elif kind == "digest":
            raw = _with_body(honest[index // 4], items[index][2].replace(b"Note", b"Page", 1))
        elif kind == "malformed":
            raw = _with_body(honest[index // 4], b'{"type": "Create", "actor": ')
        else:
            raw = _unsigned(host, oversized_body)
        counts[kind] += 1
        out.append(raw)
    return out, counts


class IdleConnections:
    """Connections that send half a request header and then nothing (a "slowloris")."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"POST /inbox HTTP/1.1\r\nHost: localhost\r\nContent-Type: ")
            self.sockets.append(sock)

    def still_open(self) -> int:
        """How many the server has not closed (a closed one reads as end of stream)."""
        open_now = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                open_now += 1 if sock.recv(1) else 0
            except BlockingIOError:
                open_now += 1
            except OSError:
                pass
        return open_now

    def close(self) -> None:
        """Close every connection."""
        for sock in self.sockets:
            sock.close()


def inbox_hostile(
    root: Path, *, server: str, known: int, domains: int, friendly_rate: float,
    phase_s: float, hostile_connections: int, idle_connections: int,
    hostile_distinct: int = 400, kinds: tuple[str, ...] = HOSTILE_KINDS,
) -> dict[str, Any]:
    """Friendly accepts at ``friendly_rate`` for ``phase_s`` alone, then as long again while
    a hostile peer floods the inbox on ``hostile_connections`` and holds
    ``idle_connections`` half-open."""
    pairs = seed.keypairs()
    remotes = mix.start_remotes(pairs, domains)
    instance = Instance(root, db="sqlite", server=server)
    idle: IdleConnections | None = None
    try:
        settings = instance.settings()
        world = run_async(mix.seed_world(settings, remotes, known=known, unknown=0,
                                         tribe_followers=0))
        friendly_count = int(friendly_rate * phase_s)
        warm_items, _ = mix.build_mix(world, remotes.fast, known, seed_value=5, tag="w",
                                      senders=world.known)
        calm_items, _ = mix.build_mix(world, remotes.fast, friendly_count, seed_value=8,
                                      tag="b", senders=world.known)
        attack_items, _ = mix.build_mix(world, remotes.fast, friendly_count, seed_value=9,
                                        tag="a", senders=world.known)
        warm = sign_all(instance.host, pairs, warm_items)
        calm = sign_all(instance.host, pairs, calm_items)
        attack = sign_all(instance.host, pairs, attack_items)
        hostile, hostile_counts = hostile_requests(
            instance.host, world, pairs, remotes.fast, hostile_distinct,
            settings.max_body_bytes, kinds,
        )
        instance.start(separate_worker=False, mode="process")
        # Every known actor's key in the server's cache, as in steady state.
        finish_loadgen(start_loadgen(instance.port, warm, 16, None))
        stored_before = sum(run_async(_inbox_counts(instance)).values())
        folder = root / f"hostile-{instance.port}"
        folder.mkdir()
        calm_file, attack_file = str(folder / "calm.json"), str(folder / "attack.json")

        gets_0 = remotes.stats()
        cpu_0 = instance.cpu().get("serve")
        busy = MachineBusy()
        calm_result = finish_loadgen(start_loadgen(
            instance.port, calm, 32, None, calm_file, rate=friendly_rate))
        calm_busy = busy.cores()
        cpu_1 = instance.cpu().get("serve")
        gets_1 = remotes.stats()

        idle = IdleConnections(instance.port, idle_connections)
        busy = MachineBusy()
        flood = start_loadgen(instance.port, hostile, hostile_connections, phase_s + 0.5)
        attack_result = finish_loadgen(start_loadgen(
            instance.port, attack, 32, None, attack_file, rate=friendly_rate))
        flood_result = finish_loadgen(flood)
        attack_busy = busy.cores()
        cpu_2 = instance.cpu().get("serve")
        gets_2 = remotes.stats()
        idle_open = idle.still_open()
        idle.close()
        idle = None

        friendly_accepted = (calm_result["statuses"].get("202", 0)
                             + attack_result["statuses"].get("202", 0))
        reached, counts = run_async(_wait_processed(
            instance, stored_before + friendly_accepted, 120))
        calm_lat, attack_lat = _latencies(calm_file), _latencies(attack_file)
        folder.rmdir()
        peaks = instance.stop()
        hostile_done = flood_result["completed"]
        # What the hostile requests cost fedi serve: its CPU in the attack phase beyond what
        # the same friendly stream cost it alone.
        extra_cpu = None
        if cpu_0 is not None and cpu_1 is not None and cpu_2 is not None:
            extra_cpu = max(0.0, (cpu_2 - cpu_1) - (cpu_1 - cpu_0))
        forged_done = hostile_done * hostile_counts.get("forged", 0) / max(1, len(hostile))
        refetches = gets_2.get("fast_get", 0) - gets_1.get("fast_get", 0)
        return {
            "server": server,
            "known_actors": known,
            "friendly_rate_per_s": friendly_rate,
            "phase_s": phase_s,
            "hostile_connections": hostile_connections,
            "idle_connections": idle_connections,
            "hostile_mix": hostile_counts,
            "friendly_alone": {**_quantiles(calm_lat), "statuses": calm_result["statuses"],
                               "busy_cores": calm_busy},
            "friendly_under_attack": {**_quantiles(attack_lat),
                                      "statuses": attack_result["statuses"],
                                      "busy_cores": attack_busy},
            "hostile": {
                "completed": hostile_done,
                "per_s": flood_result["requests_per_s"],
                "statuses": flood_result["statuses"],
                "errors": flood_result["errors"],
                "p50_ms": flood_result["p50_ms"],
                "p99_ms": flood_result["p99_ms"],
            },
            "serve_cpu_ms_per_hostile": cpu_ms_per(extra_cpu, hostile_done),
            # GETs the remote servers answered: before the attack (the friendly mix's own
            # parents) and during it.
            "remote_gets_alone": gets_1.get("fast_get", 0) - gets_0.get("fast_get", 0),
            "remote_gets_under_attack": refetches,
            "remote_gets_per_forged": round(refetches / forged_done, 3) if forged_done else None,
            "idle_connections_still_open": idle_open,
            # Inbox rows beyond the friendly activities (every row, in any state, once the
            # friendly ones are processed): anything hostile that was stored.
            "stored_beyond_friendly": sum(counts.values()) - stored_before - friendly_accepted,
            "drained": reached is not None,
            "item_states": counts,
            "peak_rss_mb": peaks,
        }
    finally:
        if idle is not None:
            idle.close()
        remotes.stop()
        run_async(instance.cleanup())
