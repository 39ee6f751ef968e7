"""The package's modules import one another without a cycle (issue 13).

A cycle works only as long as its modules happen to be imported in one order, and it hides which of
two modules is the lower one. The graph is read from every import a module runs, at its top and
inside its functions (an import moved into a function does not make a cycle go away, it only hides
it); those under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("intake", "parsers")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            if "migrations" not in path.parts:
                out[_module_name(path)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module, name: str, is_pkg: bool, modules: set[str]) -> set[str]:
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
               for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_pkg else name.split(".")[:-1]
                here = here[: len(here) - node.level + 1]
                base = ".".join([*here, base] if base else here)
            subs = {f"{base}.{alias.name}" for alias in node.names}
            found.update(subs)
            if not subs <= modules:  # `from pkg import sub` runs pkg's __init__ first, but names sub
                found.add(base)
    return found


def graph() -> dict[str, set[str]]:
    mods = _modules()
    out: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps = {d for d in _imports(tree, name, path.name == "__init__.py", set(mods)) if d in mods and d != name}
        out[name] = deps
    return out


def cycle(g: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph (its modules in import order, the first repeated last), or []."""
    try:
        graphlib.TopologicalSorter(g).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return []


def test_the_finder_sees_a_cycle() -> None:
    found = cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert set(found) == {"a", "b", "c"} and found[0] == found[-1]
    assert cycle({"a": {"b"}, "b": set(), "d": {"a", "b"}}) == []


def test_no_import_cycle_in_intake_or_parsers() -> None:
    g = graph()
    assert len(g) > 100  # the walk found the package
    assert cycle(g) == []
