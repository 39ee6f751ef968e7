"""The tests-only phrasings never enter the parsers' vocabulary (issue 12: measure generalisation).

The label vocabulary (`parsers/labels.py`) and every other list the matcher reads (any string in
parsers/*.py outside docstrings, any data file under parsers/, any file of intake/config that
parsers/ names) must not hold a *tests only* phrasing of phrasings.md or of
tests/heldout/phrasings.toml verbatim (case-insensitive): the held-out figure on them is the one
that says whether the matcher generalises, and it means nothing once they are learnt by heart.
A phrasing counts when it is a whole string (an entry of a list, a key, a data file's line), and
inside a pattern (a string with regex syntax, as the sentence reader's) as a whole-word run.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.heldout.vocab import HALVES, phrasings

ROOT = Path(__file__).resolve().parents[1]
PARSERS = ROOT / "parsers"
CONFIG = ROOT / "intake" / "config"
REFERENCE_MD = Path("/work/shared/reference/phrasings.md")

# Tests-only phrasings that main's vocabulary held when the split was set up (issue 12). The list
# may only shrink: a phrasing leaves it when the vocabulary drops it (a test below fails while it
# is still listed after that), and no other may join.
KNOWN_LEAKS: set[str] = {
    "address where work is performed", "departure date", "destination", "employed since",
    "employer's ein", "name of company abroad", "original hire date", "period of assignment from",
    "period of assignment to", "person to contact", "posting country", "prepared by",
    "receiving company", "submitted by", "through", "was the employee hired in the u.s.",
    "work location country",
}


_REGEX = re.compile(r"\\[bswd]|\(\?|\|")  # `\b`, `\s`, `(?:`, `a|b`: a pattern, not a label


def _norm(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split()).casefold()


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _py_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    skip = _docstrings(tree)
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


def _walk(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_walk(k), *_walk(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _walk(v)]
    return []


def _data_strings(path: Path) -> list[str]:
    text = path.read_text("utf-8", errors="replace")
    if path.suffix == ".toml":
        return _walk(tomllib.loads(text))
    if path.suffix == ".json":
        return _walk(json.loads(text))
    return text.splitlines()  # one entry a line (txt, csv, yaml...)


def matcher_strings() -> list[str]:
    """Every string the matcher could read: parsers' code constants and their data files."""
    out: list[str] = []
    sources = sorted(PARSERS.rglob("*.py"))
    names = " ".join(p.read_text("utf-8") for p in sources)
    for path in sources:
        out.extend(_py_strings(path))
    for path in sorted(PARSERS.rglob("*")):
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
            out.extend(_data_strings(path))
    for path in sorted(CONFIG.glob("*")):
        if path.is_file() and path.name in names:
            out.extend(_data_strings(path))
    return out


def leaks() -> set[str]:
    strings = {_norm(s) for s in matcher_strings()}
    found = set()
    for phrase in phrasings().of("tests_only"):
        p = _norm(phrase)
        if p in strings:
            found.add(p)
        else:
            pattern = re.compile(r"(?<!\w)" + re.escape(p) + r"(?!\w)")
            if any(pattern.search(s) for s in strings if _REGEX.search(s)):
                found.add(p)
    return found


def test_the_labels_module_is_read() -> None:
    """The scan sees the vocabulary at all (a scan that read nothing would pass anything)."""
    strings = {_norm(s) for s in matcher_strings()}
    assert {"social security number", "date of birth", "host company"} <= strings


def test_no_new_tests_only_phrasing_in_the_vocabulary() -> None:
    new = leaks() - {_norm(p) for p in KNOWN_LEAKS}
    assert not new, f"tests-only phrasings in the matcher's vocabulary: {sorted(new)}"


def test_known_leaks_are_still_leaks() -> None:
    """Once the vocabulary drops a known leak, it must leave KNOWN_LEAKS too (the list only shrinks)."""
    gone = {_norm(p) for p in KNOWN_LEAKS} - leaks()
    assert not gone, f"no longer in the vocabulary, remove from KNOWN_LEAKS: {sorted(gone)}"


def test_the_parsers_do_not_read_the_heldout_phrasings() -> None:
    """A matcher may learn the may-teach half by copying it, never by reading phrasings.toml: that
    file holds the tests-only half too."""
    readers = [p.name for p in sorted(PARSERS.rglob("*.py")) if re.search(r"heldout|phrasings\.(toml|md)",
                                                                          p.read_text("utf-8"))]
    assert not readers


def test_the_halves_are_apart() -> None:
    table = phrasings()
    teach, only = {_norm(p) for p in table.of("may_teach")}, {_norm(p) for p in table.of("tests_only")}
    assert not teach & only
    for field, halves in table.by_field.items():
        for half in HALVES:
            assert halves[half], f"{field} has no {half} phrasing"


@pytest.mark.skipif(not REFERENCE_MD.is_file(), reason="the shared reference is not on this machine (CI)")
def test_reference_table_is_phrasings_md() -> None:
    """[reference.*] of phrasings.toml is the table of phrasings.md, phrasing for phrasing."""
    names = {"worker name (whole)": "worker.name"}
    rows = [line.split("|")[1:-1] for line in REFERENCE_MD.read_text("utf-8").splitlines()
            if line.startswith("| ") and " · " in line]
    md = {names.get(f.strip(), f.strip()): {"may_teach": tuple(s.strip() for s in teach.split(" · ")),
                                            "tests_only": tuple(s.strip() for s in only.split(" · "))}
          for f, teach, only in rows}
    assert md == phrasings().reference
