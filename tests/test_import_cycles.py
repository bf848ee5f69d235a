"""No import cycle inside the package: every import statement of every module counts, deferred (inside a
function) and TYPE_CHECKING ones included, because a cycle hidden behind a deferred import is still a
tangle (the two modules cannot be understood, tested or moved apart).

`from sim import x` counts as an import of `sim.x` when x is a module, else of the package `sim`.
Implicit imports of parent packages are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sim"

# The SimPy core: processes change Network's counters directly and route lots by calling back into it,
# and Site holds process objects. Untangling it (issue 13, item 2: a counter ledger and a router between
# processes and Network) is the next step; until then this one cycle is allowed, with exactly these
# modules. Nothing may be added to it, and no other cycle may appear.
KNOWN_CORE_CYCLE = frozenset({
    "sim.model", "sim.entities.site", "sim.conservation", "sim.results.run_tables", "sim.processes.stage",
    "sim.processes.sewing", "sim.processes.quality", "sim.processes.certification", "sim.processes.supply",
    "sim.processes.distribution", "sim.processes.transport",
})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_walker_sees_deferred_and_type_checking_imports(tmp_path: Path) -> None:
    source = ("from __future__ import annotations\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
              "    from sim.b import B\ndef f():\n    from sim import c\n    import sim.d\n")
    path = tmp_path / "a.py"
    path.write_text(source)
    assert imports_of("sim.a", path, {"sim.a", "sim.b", "sim.c", "sim.d"}) == {"sim.b", "sim.c", "sim.d"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset({"a", "b", "c"})]


def test_no_import_cycle_but_the_known_core_one() -> None:
    found = cycles(graph())
    unexpected = [sorted(c) for c in found if c != KNOWN_CORE_CYCLE]
    assert not unexpected, f"import cycle(s): {unexpected}"
