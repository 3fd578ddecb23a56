"""The layers hold: imports run one way and close no circle.

Every import is read from the source (also those inside functions and under
``TYPE_CHECKING``: hiding an import there does not make the dependency go away), so a
module that imports against the layers, or two modules that need each other, fail here
with the path of the offending import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("activitypub", "models", "fedi")

# Higher layers may import lower ones, never the other way round. The first prefix that
# matches a module decides its layer; ``fedi`` alone is the shared base (settings, db, ...).
LAYERS: tuple[tuple[str, int], ...] = (
    ("activitypub", 0),
    ("models", 1),
    ("fedi.domain", 3),
    ("fedi.federation", 4),
    ("fedi.live", 4),
    ("fedi.http", 5),
    ("fedi.workers", 5),
    ("fedi.app", 6),
    ("fedi.cli", 6),
    ("fedi.demo", 6),
    ("fedi.demo_context", 6),
    ("fedi.demo_tribes", 6),
    ("fedi.demo_initiatives", 6),
    ("fedi", 2),
)
LAYER_NAMES = {
    0: "activitypub (protocol)",
    1: "models",
    2: "fedi base (settings, db, state, text)",
    3: "fedi.domain (rules)",
    4: "fedi.federation, fedi.live",
    5: "fedi.http / fedi.workers",
    6: "fedi.app / fedi.cli / fedi.demo",
}


def layer_of(module: str) -> int:
    """The layer number of a dotted module name of ours."""
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise AssertionError(f"{module} is in no layer")


def module_name(path: Path) -> str:
    """``fedi/domain/notes.py`` -> ``fedi.domain.notes`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    """Every module of our three packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic scripts are run by Alembic, not imported by us
            found[module_name(path)] = path
    return found


def imports_of(path: Path, name: str, known: set[str]) -> Iterator[tuple[str, int]]:
    """The modules of ours that ``path`` imports, with the line of each import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import module`` imports the module; ``from module import name`` the
            # module itself.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            # The nearest module of ours that the name lives in.
            candidate = target
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                yield candidate, node.lineno


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """Edges between our modules, and a line per import that runs against the layers."""
    modules = our_modules()
    known = set(modules)
    edges: dict[str, set[str]] = {name: set() for name in modules}
    wrong: list[str] = []
    for name, path in modules.items():
        for target, line in imports_of(path, name, known):
            edges[name].add(target)
            if layer_of(target) > layer_of(name):
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line} imports {target}: "
                    f"{LAYER_NAMES[layer_of(name)]} may not import "
                    f"{LAYER_NAMES[layer_of(target)]}"
                )
    return edges, sorted(set(wrong))


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _package_faces(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges without those into a package's own ``__init__`` from inside the package.

    Importing ``fedi.federation.incoming.registry`` runs ``fedi.federation``'s ``__init__``
    first; a package whose ``__init__`` wires its own submodules (as ``fedi.federation``
    registers its event subscribers) is one unit, not a circle.
    """
    return {
        node: {t for t in targets if not node.startswith(t + ".")}
        for node, targets in edges.items()
    }


def test_imports_follow_the_layers() -> None:
    """No module imports a layer above its own."""
    _, wrong = import_graph()
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_import_circle() -> None:
    """No two modules need each other, directly or through others."""
    edges, _ = import_graph()
    found = circles(_package_faces(edges))
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_checker_sees_a_circle_and_a_wrong_import() -> None:
    """The checker itself finds what it is for, on a made-up graph and on real layers."""
    made_up = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(made_up) == [["a", "b", "c"]]
    assert layer_of("fedi.federation.outgoing.publish") > layer_of("fedi.domain.notes")
    assert layer_of("fedi.settings") < layer_of("fedi.domain.notes")
    assert layer_of("activitypub.vocab") < layer_of("models.actor")
    edges, _ = import_graph()
    # Imports inside functions count: the inbox worker imports the handler registry.
    assert "fedi.federation.incoming.registry" in edges["fedi.workers.inbox"]
