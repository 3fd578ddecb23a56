"""Summarise py-spy raw (collapsed) stack files: ``python -m bench.profile FILE [N]``.

Prints the functions with the most samples, inclusive (anywhere on the stack) and exclusive
(the running frame), which is usually enough to see where a scenario's time goes.
"""

from __future__ import annotations

import sys
from collections import Counter


def summarise(path: str, top: int = 40) -> str:
    """The inclusive and exclusive sample counts of ``path`` as text."""
    inclusive: Counter[str] = Counter()
    exclusive: Counter[str] = Counter()
    total = 0
    with open(path) as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            samples = int(count)
            total += samples
            frames = stack.split(";")
            seen = set()
            for frame in frames:
                if frame not in seen:
                    inclusive[frame] += samples
                    seen.add(frame)
            exclusive[frames[-1]] += samples
    lines = [f"{total} samples", "-- inclusive"]
    def row(frame: str, n: int) -> str:
        return f"{n:6d} {100 * n / max(total, 1):5.1f}% {frame[:150]}"

    lines += [row(f, n) for f, n in inclusive.most_common(top)]
    lines.append("-- exclusive")
    lines += [row(f, n) for f, n in exclusive.most_common(top // 2)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarise(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40))
