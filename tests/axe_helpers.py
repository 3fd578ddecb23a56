"""Accessibility checks in the browser tests: axe-core with the WCAG 2.1 A and AA rules.

axe-core comes from the npm registry (``npm install axe-core@4``) into ``.cache/axe`` in the
checkout on first use, so no page ever loads it from a CDN. The pages' Content-Security-Policy
(``script-src 'self'``) would block an injected ``<script>`` tag, so the library is evaluated
through the DevTools protocol (``page.evaluate``), which CSP does not govern; that also works in
contexts opened with ``java_script_enabled=False``.

Use::

    from axe_helpers import assert_accessible
    await assert_accessible(page, context="tribe page, phone")
"""

from __future__ import annotations

import asyncio
import fcntl
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "axe"
AXE_FILE = CACHE / "node_modules" / "axe-core" / "axe.min.js"
AXE_PACKAGE = "axe-core@4"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_source: str | None = None


def axe_source() -> str:
    """The text of ``axe.min.js``, installed with npm into :data:`CACHE` the first time.

    A file lock keeps two test processes from installing at once."""
    global _source
    if _source is not None:
        return _source
    if not AXE_FILE.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "axe-core is needed for the accessibility checks and npm is not installed "
                "(Debian: apt-get install npm; or run "
                f"`npm install --prefix {CACHE} {AXE_PACKAGE}`)"
            )
        CACHE.mkdir(parents=True, exist_ok=True)
        with open(CACHE / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not AXE_FILE.exists():
                done = subprocess.run(
                    [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund",
                     "--no-save", AXE_PACKAGE],
                    capture_output=True, text=True, timeout=300, check=False,
                )
                if done.returncode != 0 or not AXE_FILE.exists():
                    raise RuntimeError(
                        f"npm install {AXE_PACKAGE} failed:\n{done.stdout}\n{done.stderr}"
                    )
    _source = AXE_FILE.read_text(encoding="utf-8")
    return _source


def format_violations(violations: list[dict[str, Any]]) -> str:
    """A readable list: one block per rule, with the offending elements and axe's hint."""
    lines: list[str] = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'unknown'}): "
            f"{violation['help']}  [{violation.get('helpUrl', '')}]"
        )
        for node in violation.get("nodes", [])[:10]:
            target = " ".join(str(part) for part in node.get("target", []))
            lines.append(f"    at {target}")
            html = (node.get("html") or "").strip().replace("\n", " ")
            if html:
                lines.append(f"       {html[:200]}")
            summary = (node.get("failureSummary") or "").strip().replace("\n", " / ")
            if summary:
                lines.append(f"       {summary[:300]}")
        hidden = len(violation.get("nodes", [])) - 10
        if hidden > 0:
            lines.append(f"    ... and {hidden} more")
    return "\n".join(lines)


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core with the WCAG 2.1 A/AA tags on ``page`` and return its violations.

    In a context opened with ``java_script_enabled=False`` evaluation still works and promises
    settle, but timers never fire, so axe's run would wait for ever: on such a page short
    timers are replaced by microtasks first (the page runs none of its own scripts anyway)."""
    source = await asyncio.to_thread(axe_source)
    if not await page.evaluate(_SCRIPTING_ON):
        await page.evaluate(_TIMER_SHIM)
    return await _run_axe(page, source)


# With scripting off, the HTML parser reads <noscript>'s content as elements; with it on, as
# text. A public way to learn whether the page runs scripts.
_SCRIPTING_ON = """() => {
    const probe = document.createElement('div');
    probe.innerHTML = '<noscript><p>x</p></noscript>';
    return probe.querySelector('noscript p') === null;
}"""

# setTimeout for a page whose timers are frozen: short delays (axe's work queue) run as
# microtasks; long ones (axe's frame-message time-outs) never fire, as nothing waits on them.
_TIMER_SHIM = """() => {
    if (window.__axeTimerShim) return;
    window.__axeTimerShim = true;
    let next = 1;
    const cancelled = new Set();
    window.setTimeout = (callback, delay, ...args) => {
        const id = next++;
        if ((delay || 0) <= 1000) {
            Promise.resolve().then(() => {
                if (!cancelled.has(id)) {
                    typeof callback === 'function' ? callback(...args) : undefined;
                }
            });
        }
        return id;
    };
    window.clearTimeout = (id) => { cancelled.add(id); };
}"""


async def _run_axe(page: Any, source: str) -> list[dict[str, Any]]:
    """Load axe-core into ``page`` unless present, run it, return the violations."""
    loaded = await page.evaluate("() => typeof window.axe")
    if loaded != "object":
        # A statement list with a trailing expression, so Playwright evaluates it as a script.
        await page.evaluate(source + "\n;typeof window.axe;")
    result = await page.evaluate(
        """(tags) => window.axe.run(document, {
            runOnly: {type: 'tag', values: tags},
            resultTypes: ['violations'],
        }).then(r => r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target, html: n.html,
                                      failureSummary: n.failureSummary})),
        })))""",
        WCAG_TAGS,
    )
    return list(result)


async def assert_accessible(page: Any, *, context: str = "") -> None:
    """Fail when axe-core finds any WCAG 2.1 A/AA violation on the page as it is now."""
    violations = await axe_violations(page)
    if violations:
        where = f"{context} ({page.url})" if context else page.url
        raise AssertionError(
            f"{len(violations)} accessibility rule(s) violated on {where}:\n"
            + format_violations(violations)
        )
