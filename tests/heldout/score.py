"""An extraction against its ground truth, field by field.

Each field the truth has is `right`, `flagged` (a wrong value with a problem on that field: staff
will look), `silent` (a wrong value and no problem: it would go out unchecked) or `missing`. A value
read for a field the writer never gave (a middle name, a confirmation address) is wrong too.
Text compares case-insensitively with spaces collapsed; SSN and EIN by their digits.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["right", "flagged", "silent", "missing"]
OUTCOMES: tuple[Outcome, ...] = ("right", "flagged", "silent", "missing")
OPTIONAL = ("worker.middle_name", "confirmation_email")  # wrong when read but never written
_GROUPS = {"worker.name": ("worker.first_name", "worker.middle_name", "worker.last_name"),
           "assignment.period": ("assignment.start_date", "assignment.end_date")}


def flatten(node: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(node, dict):
        for k, v in node.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.update(flatten(v, f"{prefix[:-1]}[{i}]."))
    elif node is not None:
        out[prefix[:-1]] = ("true" if node else "false") if isinstance(node, bool) else str(node)
    return out


def same(path: str, want: str, got: str) -> bool:
    if path.endswith((".ssn", ".ein")):
        return re.sub(r"\D", "", want) == re.sub(r"\D", "", got)
    if path == "worker.middle_name" and len(got.strip(" .")) == 1:
        # Half the name styles (`writing._name_items`) write a middle name as its initial only: the
        # initial is then all a reader can know, and what a clerk would key.
        return got.strip(" .").casefold() == want.strip()[:1].casefold()
    return " ".join(want.split()).casefold() == " ".join(got.split()).casefold()


def flagged(path: str, problems: list[dict[str, Any]]) -> bool:
    for p in problems:
        f = p.get("field")
        if not f:
            continue
        if f == path or path.startswith(f + ".") or f.startswith(path + ".") or path in _GROUPS.get(f, ()):
            return True
    return False


@dataclass
class FieldResult:
    path: str
    outcome: Outcome
    want: str | None
    got: str | None


def score_request(truth: dict[str, str], request: dict[str, Any] | None) -> list[FieldResult]:
    """One truth against one extracted request (`coc-intake extract --json`'s request entry)."""
    if request is None:
        return [FieldResult(p, "missing", v, None) for p, v in truth.items()]
    got = flatten(request["request"])
    problems = request.get("problems", [])
    out = []
    for path, want in truth.items():
        value = got.get(path)
        if value is None:
            out.append(FieldResult(path, "missing", want, None))
        elif same(path, want, value):
            out.append(FieldResult(path, "right", want, value))
        else:
            out.append(FieldResult(path, "flagged" if flagged(path, problems) else "silent", want, value))
    for path in OPTIONAL:
        if path not in truth and got.get(path):
            out.append(FieldResult(path, "flagged" if flagged(path, problems) else "silent", None, got[path]))
    return out


def score_file(truths: list[dict[str, str]], requests: list[dict[str, Any]]) -> list[FieldResult]:
    """Each truth against the extracted request that agrees with it best (each used once)."""
    left = list(requests)
    out: list[FieldResult] = []
    for truth in truths:
        best = max(left, key=lambda r: sum(f.outcome == "right" for f in score_request(truth, r)), default=None)
        if best is not None:
            left.remove(best)
        out.extend(score_request(truth, best))
    return out


def tally(results: list[FieldResult]) -> Counter[str]:
    return Counter(r.outcome for r in results)


_SSN_SHAPE = re.compile(r"(?<!\d)\d{3}([- .]?)\d{2}([- .]?)(\d{4})(?!\d)")


def mask(value: str | None) -> str | None:
    """What a failure list may show of a value: anything SSN-shaped keeps its last four digits."""
    return None if value is None else _SSN_SHAPE.sub(r"***\1**\2\3", value)
