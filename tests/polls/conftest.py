"""The poll tests reuse the federation test helpers (fake and loopback Mastodon servers,
the live-instance helpers), which import each other by module name."""

from __future__ import annotations

import sys
from pathlib import Path

_FEDERATION = str(Path(__file__).resolve().parent.parent / "federation")
if _FEDERATION not in sys.path:
    sys.path.insert(0, _FEDERATION)
